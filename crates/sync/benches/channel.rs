//! mpsc throughput against crossbeam-channel, flume, `std::sync::mpsc` and tokio, in the same
//! run: one producer thread sends `MSGS` integers, the consumer (the bench thread) receives
//! them all; bounded (capacity 64) and unbounded.
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const MSGS: u64 = 20_000;
const CAP: usize = 64;

fn run<S: Send, R>(
    iters: u64,
    make: impl Fn() -> (S, R),
    send: impl Fn(&S, u64) + Sync,
    recv: impl Fn(&mut R) -> u64,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let (tx, mut rx) = make();
        let start = Instant::now();
        std::thread::scope(|s| {
            let send = &send;
            s.spawn(move || {
                for i in 0..MSGS {
                    send(&tx, i);
                }
            });
            let mut sum = 0;
            for _ in 0..MSGS {
                sum += recv(&mut rx);
            }
            assert_eq!(sum, MSGS * (MSGS - 1) / 2);
        });
        total += start.elapsed();
    }
    total
}

fn bounded(c: &mut Criterion) {
    let mut g = c.benchmark_group("mpsc_bounded_64_1p1c");
    g.throughput(Throughput::Elements(MSGS));
    g.bench_function(BenchmarkId::new("c10k", MSGS), |b| {
        b.iter_custom(|it| {
            run(
                it,
                || c10k_sync::channel::mpsc::bounded(CAP),
                |t, v| t.send_blocking(v).unwrap(),
                |r| r.recv_blocking().unwrap(),
            )
        })
    });
    g.bench_function(BenchmarkId::new("crossbeam", MSGS), |b| {
        b.iter_custom(|it| {
            run(
                it,
                || crossbeam_channel::bounded(CAP),
                |t, v| t.send(v).unwrap(),
                |r| r.recv().unwrap(),
            )
        })
    });
    g.bench_function(BenchmarkId::new("flume", MSGS), |b| {
        b.iter_custom(|it| {
            run(
                it,
                || flume::bounded(CAP),
                |t, v| t.send(v).unwrap(),
                |r| r.recv().unwrap(),
            )
        })
    });
    g.bench_function(BenchmarkId::new("std sync_channel", MSGS), |b| {
        b.iter_custom(|it| {
            run(
                it,
                || std::sync::mpsc::sync_channel(CAP),
                |t, v| t.send(v).unwrap(),
                |r| r.recv().unwrap(),
            )
        })
    });
    g.bench_function(BenchmarkId::new("tokio blocking", MSGS), |b| {
        b.iter_custom(|it| {
            run(
                it,
                || tokio::sync::mpsc::channel(CAP),
                |t, v| t.blocking_send(v).unwrap(),
                |r| r.blocking_recv().unwrap(),
            )
        })
    });
    g.finish();
}

fn unbounded(c: &mut Criterion) {
    let mut g = c.benchmark_group("mpsc_unbounded_1p1c");
    g.throughput(Throughput::Elements(MSGS));
    g.bench_function(BenchmarkId::new("c10k", MSGS), |b| {
        b.iter_custom(|it| {
            run(
                it,
                c10k_sync::channel::mpsc::unbounded,
                |t, v| t.try_send(v).unwrap(),
                |r| r.recv_blocking().unwrap(),
            )
        })
    });
    g.bench_function(BenchmarkId::new("crossbeam", MSGS), |b| {
        b.iter_custom(|it| {
            run(
                it,
                crossbeam_channel::unbounded,
                |t, v| t.send(v).unwrap(),
                |r| r.recv().unwrap(),
            )
        })
    });
    g.bench_function(BenchmarkId::new("flume", MSGS), |b| {
        b.iter_custom(|it| {
            run(
                it,
                flume::unbounded,
                |t, v| t.send(v).unwrap(),
                |r| r.recv().unwrap(),
            )
        })
    });
    g.bench_function(BenchmarkId::new("std channel", MSGS), |b| {
        b.iter_custom(|it| {
            run(
                it,
                std::sync::mpsc::channel,
                |t, v| t.send(v).unwrap(),
                |r| r.recv().unwrap(),
            )
        })
    });
    g.bench_function(BenchmarkId::new("tokio blocking", MSGS), |b| {
        b.iter_custom(|it| {
            run(
                it,
                tokio::sync::mpsc::unbounded_channel,
                |t, v| t.send(v).unwrap(),
                |r| r.blocking_recv().unwrap(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bounded, unbounded);
criterion_main!(benches);
