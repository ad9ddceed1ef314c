//! What the op table, the ownership protocol and `Completion`s cost over the
//! bare `io-uring` crate, side by side in the same run.
//!
//! One turn = push `batch` nops, one `io_uring_enter` that submits them and
//! waits for all of them, and reaping every completion. Both sides build
//! their ring with the same flags (`SINGLE_ISSUER | DEFER_TASKRUN |
//! COOP_TASKRUN | TASKRUN_FLAG | SUBMIT_ALL`), so the difference is this
//! crate's user-space bookkeeping: a slab slot per op, generation-checked
//! user data, a `Completion` per CQE. With `batch = 1` the system call
//! dominates; with `batch = 64` the per-op costs show.
//!
//! Run: `cargo bench -p c10k-uring --bench ring_overhead`.

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use io_uring::{opcode, IoUring};

use c10k_uring::{Op, Ring};

const BATCHES: [u32; 2] = [1, 64];

fn bare_ring() -> IoUring {
    IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .setup_coop_taskrun()
        .setup_taskrun_flag()
        .setup_submit_all()
        .setup_cqsize(1024)
        .build(256)
        .expect("bare io_uring")
}

fn nop_turn(c: &mut Criterion) {
    let mut group = c.benchmark_group("nop_turn");
    for batch in BATCHES {
        group.throughput(Throughput::Elements(u64::from(batch)));
        group.bench_with_input(
            BenchmarkId::new("c10k-uring", batch),
            &batch,
            |b, &batch| {
                let mut ring = Ring::builder().entries(256).build().expect("ring");
                b.iter(|| {
                    for i in 0..batch {
                        ring.push(Op::nop(), u64::from(i)).expect("push");
                    }
                    ring.submit_and_wait(batch, None).expect("submit");
                    let mut sum = 0u64;
                    ring.reap(|c| sum += c.tag());
                    sum
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("io-uring (bare)", batch),
            &batch,
            |b, &batch| {
                let mut ring = bare_ring();
                b.iter(|| {
                    {
                        let mut sq = ring.submission();
                        for i in 0..batch {
                            let e = opcode::Nop::new().build().user_data(u64::from(i));
                            // SAFETY: a nop carries no pointers.
                            unsafe { sq.push(&e).expect("room") };
                        }
                    }
                    ring.submit_and_wait(batch as usize).expect("submit");
                    let mut sum = 0u64;
                    for cqe in ring.completion() {
                        sum += cqe.user_data();
                    }
                    sum
                });
            },
        );
    }
    group.finish();
}

fn benches() {
    let mut c = Criterion::default().configure_from_args();
    nop_turn(&mut c);
}

criterion_main!(benches);
