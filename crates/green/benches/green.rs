//! Stackful coroutines against their references, same machine, same run:
//!
//! - `switch`: one resume + yield round trip. A green thread yielding to its hub
//!   (`green::yield_now`, gevent's `sleep(0)`), a generator `resume`, against a raw
//!   `corosensei` resume/suspend and against an async task's `yield_now().await` on the c10k
//!   current-thread runtime.
//! - `iterate`: summing 0..N through a generator's `Iterator`, a hand-written `Iterator`,
//!   and an async stream (`futures_util::stream::unfold`) polled by hand with a no-op waker.
//!
//! `cargo bench -p c10k-green --bench green`; BENCHMARKS.md records the ratios.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use c10k_green::generator::Generator;
use c10k_green::{self as green};
use corosensei::{Coroutine, Yielder};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_core::Stream;

fn switch(c: &mut Criterion) {
    let mut g = c.benchmark_group("switch");
    g.throughput(Throughput::Elements(1));

    g.bench_function("corosensei_raw", |b| {
        let mut co: Coroutine<(), (), ()> = Coroutine::new(|y: &Yielder<(), ()>, ()| loop {
            y.suspend(());
        });
        b.iter(|| black_box(co.resume(())));
    });

    g.bench_function("generator_resume", |b| {
        let mut gen: Generator<(), u64, ()> = Generator::new(|co| {
            let mut i = 0u64;
            loop {
                co.yield_(i)?;
                i += 1;
            }
        });
        b.iter(|| black_box(gen.resume().ok()));
    });

    g.bench_function("green_yield_now", |b| {
        b.iter_custom(|iters| {
            green::run(move || {
                let start = Instant::now();
                for _ in 0..iters {
                    green::yield_now();
                }
                start.elapsed()
            })
            .expect("hub")
        });
    });

    g.bench_function("c10k_task_yield_now", |b| {
        let rt = c10k_runtime::Runtime::builder()
            .current_thread()
            .build()
            .expect("runtime");
        // Spawned inside `block_on` (a task of the runtime, not the `block_on` future), so
        // each yield goes through the scheduler's run queue.
        b.iter_custom(|iters| {
            rt.block_on(async move {
                c10k_runtime::spawn(async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        c10k_runtime::task::yield_now().await;
                    }
                    start.elapsed()
                })
                .await
                .expect("no panic")
            })
        });
    });
    g.finish();
}

const N: u64 = 10_000;

struct Counter {
    i: u64,
    end: u64,
}

impl Iterator for Counter {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        if self.i < self.end {
            self.i += 1;
            Some(self.i - 1)
        } else {
            None
        }
    }
}

fn iterate(c: &mut Criterion) {
    let mut g = c.benchmark_group("iterate");
    g.throughput(Throughput::Elements(N));

    g.bench_function("hand_written_iterator", |b| {
        b.iter(|| {
            let it = Counter {
                i: 0,
                end: black_box(N),
            };
            black_box(it.map(black_box).sum::<u64>())
        });
    });

    g.bench_function("generator_iterator", |b| {
        b.iter(|| {
            let end = black_box(N);
            let gen: Generator<(), u64, ()> = Generator::new(move |co| {
                for i in 0..end {
                    co.yield_(i)?;
                }
                Ok(())
            });
            black_box(gen.map(|r| black_box(r.unwrap_or(0))).sum::<u64>())
        });
    });

    g.bench_function("async_stream_by_hand", |b| {
        b.iter(|| {
            let end = black_box(N);
            let stream = futures_util::stream::unfold(0u64, move |i| async move {
                (i < end).then_some((i, i + 1))
            });
            let mut stream = pin!(stream);
            let mut cx = Context::from_waker(Waker::noop());
            let mut sum = 0u64;
            loop {
                match stream.as_mut().poll_next(&mut cx) {
                    Poll::Ready(Some(v)) => sum += black_box(v),
                    Poll::Ready(None) => break,
                    Poll::Pending => unreachable!("unfold over a ready future never pends"),
                }
            }
            black_box(sum)
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = switch, iterate
}
criterion_main!(benches);
