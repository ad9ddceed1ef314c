//! Channel throughput against crossbeam-channel, flume, `std::sync::mpsc` and tokio, in the
//! same run:
//!
//! - `mpsc_*_1p1c`: one producer thread sends `MSGS` integers, the consumer (the bench
//!   thread) receives them all; bounded (capacity 64) and unbounded.
//! - `mpmc_bounded_64_4p4c`: four producer threads, four consumer threads, `MSGS` in all.
//! - `mpsc_async_*`: a producer task and a consumer task on a tokio runtime (current-thread,
//!   and multi-thread with 2 workers), c10k's `send().await`/`recv().await` against tokio's
//!   mpsc.
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

/// `producers` threads send `MSGS` in all; `consumers` threads receive them.
fn run_mpmc<S: Clone + Send, R: Clone + Send>(
    iters: u64,
    producers: u64,
    consumers: u64,
    make: impl Fn() -> (S, R),
    send: impl Fn(&S, u64) + Sync,
    recv: impl Fn(&R) -> u64 + Sync,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let (tx, rx) = make();
        let start = Instant::now();
        let sum: u64 = std::thread::scope(|s| {
            for p in 0..producers {
                let (tx, send) = (tx.clone(), &send);
                s.spawn(move || {
                    for i in (p..MSGS).step_by(producers as usize) {
                        send(&tx, i);
                    }
                });
            }
            let hs: Vec<_> = (0..consumers)
                .map(|_| {
                    let (rx, recv) = (rx.clone(), &recv);
                    s.spawn(move || (0..MSGS / consumers).map(|_| recv(&rx)).sum::<u64>())
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum()
        });
        total += start.elapsed();
        assert_eq!(sum, MSGS * (MSGS - 1) / 2);
    }
    total
}

fn mpmc_4p4c(c: &mut Criterion) {
    let mut g = c.benchmark_group("mpmc_bounded_64_4p4c");
    g.throughput(Throughput::Elements(MSGS));
    g.bench_function(BenchmarkId::new("c10k", MSGS), |b| {
        b.iter_custom(|it| {
            run_mpmc(
                it,
                4,
                4,
                || c10k_sync::channel::mpmc::bounded(CAP),
                |t, v| t.send_blocking(v).unwrap(),
                |r| r.recv_blocking().unwrap(),
            )
        })
    });
    g.bench_function(BenchmarkId::new("crossbeam", MSGS), |b| {
        b.iter_custom(|it| {
            run_mpmc(
                it,
                4,
                4,
                || crossbeam_channel::bounded(CAP),
                |t, v| t.send(v).unwrap(),
                |r| r.recv().unwrap(),
            )
        })
    });
    g.bench_function(BenchmarkId::new("flume", MSGS), |b| {
        b.iter_custom(|it| {
            run_mpmc(
                it,
                4,
                4,
                || flume::bounded(CAP),
                |t, v| t.send(v).unwrap(),
                |r| r.recv().unwrap(),
            )
        })
    });
    g.finish();
}

/// A producer task sends `MSGS`, the consumer (the `block_on` future) receives them.
fn run_async<S, R, SF, RF>(
    iters: u64,
    rt: &tokio::runtime::Runtime,
    make: impl Fn() -> (S, R),
    send: impl Fn(S) -> SF,
    recv: impl Fn(R) -> RF,
) -> Duration
where
    SF: std::future::Future<Output = ()> + Send + 'static,
    RF: std::future::Future<Output = u64>,
{
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let (tx, rx) = make();
        let start = Instant::now();
        let sum = rt.block_on(async {
            let producer = tokio::spawn(send(tx));
            let sum = recv(rx).await;
            producer.await.unwrap();
            sum
        });
        total += start.elapsed();
        assert_eq!(sum, MSGS * (MSGS - 1) / 2);
    }
    total
}

fn async_group(c: &mut Criterion, name: &str, rt: &tokio::runtime::Runtime, bounded: bool) {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(MSGS));
    g.bench_function(BenchmarkId::new("c10k await", MSGS), |b| {
        b.iter_custom(|it| {
            run_async(
                it,
                rt,
                || {
                    if bounded {
                        c10k_sync::channel::mpsc::bounded(CAP)
                    } else {
                        c10k_sync::channel::mpsc::unbounded()
                    }
                },
                |tx| async move {
                    for i in 0..MSGS {
                        tx.send(i).await.unwrap();
                    }
                },
                |mut rx| async move {
                    let mut sum = 0;
                    while let Ok(v) = rx.recv().await {
                        sum += v;
                    }
                    sum
                },
            )
        })
    });
    if bounded {
        g.bench_function(BenchmarkId::new("tokio await", MSGS), |b| {
            b.iter_custom(|it| {
                run_async(
                    it,
                    rt,
                    || tokio::sync::mpsc::channel(CAP),
                    |tx| async move {
                        for i in 0..MSGS {
                            tx.send(i).await.unwrap();
                        }
                    },
                    |mut rx| async move {
                        let mut sum = 0;
                        while let Some(v) = rx.recv().await {
                            sum += v;
                        }
                        sum
                    },
                )
            })
        });
    } else {
        g.bench_function(BenchmarkId::new("tokio await", MSGS), |b| {
            b.iter_custom(|it| {
                run_async(
                    it,
                    rt,
                    tokio::sync::mpsc::unbounded_channel,
                    |tx| async move {
                        for i in 0..MSGS {
                            tx.send(i).unwrap();
                        }
                    },
                    |mut rx| async move {
                        let mut sum = 0;
                        while let Some(v) = rx.recv().await {
                            sum += v;
                        }
                        sum
                    },
                )
            })
        });
    }
    g.bench_function(BenchmarkId::new("flume await", MSGS), |b| {
        b.iter_custom(|it| {
            run_async(
                it,
                rt,
                || {
                    if bounded {
                        flume::bounded(CAP)
                    } else {
                        flume::unbounded()
                    }
                },
                |tx| async move {
                    for i in 0..MSGS {
                        tx.send_async(i).await.unwrap();
                    }
                },
                |rx| async move {
                    let mut sum = 0;
                    while let Ok(v) = rx.recv_async().await {
                        sum += v;
                    }
                    sum
                },
            )
        })
    });
    g.finish();
}

fn async_ends(c: &mut Criterion) {
    let current = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    async_group(c, "mpsc_async_bounded_64_current_thread", &current, true);
    async_group(c, "mpsc_async_unbounded_current_thread", &current, false);
    async_group(c, "mpsc_async_bounded_64_multi_thread", &multi, true);
    async_group(c, "mpsc_async_unbounded_multi_thread", &multi, false);
}

criterion_group!(benches, bounded, unbounded, mpmc_4p4c, async_ends);
criterion_main!(benches);
