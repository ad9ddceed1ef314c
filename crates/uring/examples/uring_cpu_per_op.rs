//! User and system CPU per operation: `c10k-uring` against the bare
//! `io-uring` crate, side by side, three rounds.
//!
//! Each side runs 20 000 turns of 64 nops (push 64, one `io_uring_enter`
//! that submits them and waits for all, reap 64) on a ring with the same
//! setup flags. `getrusage` splits the CPU time into user and system, so
//! the difference in user time is this crate's bookkeeping per operation
//! (op table slot, generation-checked user data, a `Completion` per CQE),
//! and it is less disturbed by a busy machine than wall-clock time.
//!
//! Run: `cargo run --release -p c10k-uring --example uring_cpu_per_op`.

use std::io;

use c10k_uring::{Op, Ring};
use io_uring::{opcode, IoUring};

const TURNS: u32 = 20_000;
const BATCH: u32 = 64;

/// (user, system) CPU seconds of this process so far.
fn cpu() -> (f64, f64) {
    // SAFETY: `rusage` is plain old data; getrusage fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a `rusage`; RUSAGE_SELF cannot fail.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(usage.ru_utime), secs(usage.ru_stime))
}

fn c10k_turns() -> io::Result<u64> {
    let mut ring = Ring::builder().entries(256).build()?;
    let mut sum = 0;
    for _ in 0..TURNS {
        for i in 0..BATCH {
            ring.push(Op::nop(), u64::from(i))?;
        }
        ring.submit_and_wait(BATCH, None)?;
        ring.reap(|c| sum += c.tag());
    }
    Ok(sum)
}

fn bare_turns() -> io::Result<u64> {
    let mut ring: IoUring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .setup_coop_taskrun()
        .setup_taskrun_flag()
        .setup_submit_all()
        .setup_cqsize(1024)
        .build(256)?;
    let mut sum = 0;
    for _ in 0..TURNS {
        {
            let mut sq = ring.submission();
            for i in 0..BATCH {
                let nop = opcode::Nop::new().build().user_data(u64::from(i));
                // SAFETY: a nop carries no pointers; the SQ has 256 entries.
                unsafe { sq.push(&nop) }.map_err(io::Error::other)?;
            }
        }
        ring.submit_and_wait(BATCH as usize)?;
        for cqe in ring.completion() {
            sum += cqe.user_data();
        }
    }
    Ok(sum)
}

fn main() -> io::Result<()> {
    let ops = f64::from(TURNS * BATCH);
    let ns = |secs: f64| secs / ops * 1e9;
    println!("ns of CPU per nop (user / system), {TURNS} turns of {BATCH}");
    for round in 1..=3 {
        let (u0, s0) = cpu();
        let a = c10k_turns()?;
        let (u1, s1) = cpu();
        let b = bare_turns()?;
        let (u2, s2) = cpu();
        assert_eq!(a, b, "both sides completed every nop");
        println!(
            "round {round}: c10k-uring {:>4.0} / {:>4.0}   io-uring (bare) {:>4.0} / {:>4.0}",
            ns(u1 - u0),
            ns(s1 - s0),
            ns(u2 - u1),
            ns(s2 - s1),
        );
    }
    Ok(())
}
