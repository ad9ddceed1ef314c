//! Locks and semaphores against `std::sync` and `tokio::sync`, in the same run.
//!
//! - `mutex_uncontended`: one thread, lock + unlock.
//! - `mutex_contended_2threads`: two threads each do `OPS` lock/increment/unlock.
//! - `semaphore_uncontended`: acquire + release of one permit.
//! - `semaphore_contended_2tasks`, `mutex_contended_2tasks`: two tasks on a 2-worker tokio
//!   runtime each do `TASK_OPS` acquire / yield / release on a 1-permit semaphore or a mutex
//!   (the yield while holding makes the other task queue: a real hand-over every time).
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use futures_util::FutureExt;

const OPS: u64 = 10_000;
const TASK_OPS: u64 = 2_000;

fn two_threads(iters: u64, op: impl Fn() + Sync) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..OPS {
                        op();
                    }
                });
            }
        });
    }
    start.elapsed()
}

fn mutex(c: &mut Criterion) {
    let mut g = c.benchmark_group("mutex_uncontended");
    let ours = c10k_sync::Mutex::new(0u64);
    g.bench_function("c10k lock_blocking", |b| {
        b.iter(|| *ours.lock_blocking() += 1)
    });
    g.bench_function("c10k lock().await", |b| {
        b.iter(|| *ours.lock().now_or_never().unwrap() += 1)
    });
    let std_m = std::sync::Mutex::new(0u64);
    g.bench_function("std", |b| b.iter(|| *std_m.lock().unwrap() += 1));
    let tokio_m = tokio::sync::Mutex::new(0u64);
    g.bench_function("tokio lock().await", |b| {
        b.iter(|| *tokio_m.lock().now_or_never().unwrap() += 1)
    });
    g.finish();

    let mut g = c.benchmark_group("mutex_contended_2threads");
    g.throughput(criterion::Throughput::Elements(2 * OPS));
    g.bench_function(BenchmarkId::new("c10k lock_blocking", OPS), |b| {
        let m = c10k_sync::Mutex::new(0u64);
        b.iter_custom(|iters| two_threads(iters, || *m.lock_blocking() += 1));
    });
    g.bench_function(BenchmarkId::new("std", OPS), |b| {
        let m = std::sync::Mutex::new(0u64);
        b.iter_custom(|iters| two_threads(iters, || *m.lock().unwrap() += 1));
    });
    g.bench_function(BenchmarkId::new("tokio blocking_lock", OPS), |b| {
        let m = tokio::sync::Mutex::new(0u64);
        b.iter_custom(|iters| two_threads(iters, || *m.blocking_lock() += 1));
    });
    g.finish();
}

fn semaphore(c: &mut Criterion) {
    let mut g = c.benchmark_group("semaphore_uncontended");
    let ours = c10k_sync::Semaphore::new(1);
    g.bench_function("c10k try_acquire", |b| {
        b.iter(|| drop(ours.try_acquire().unwrap()))
    });
    g.bench_function("c10k acquire().await", |b| {
        b.iter(|| drop(ours.acquire().now_or_never().unwrap()))
    });
    let theirs = tokio::sync::Semaphore::new(1);
    g.bench_function("tokio try_acquire", |b| {
        b.iter(|| drop(theirs.try_acquire().unwrap()))
    });
    g.bench_function("tokio acquire().await", |b| {
        b.iter(|| drop(theirs.acquire().now_or_never().unwrap()))
    });
    g.finish();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let mut g = c.benchmark_group("semaphore_contended_2tasks");
    g.throughput(criterion::Throughput::Elements(2 * TASK_OPS));
    g.bench_function(BenchmarkId::new("c10k", TASK_OPS), |b| {
        let sem = Arc::new(c10k_sync::Semaphore::new(1));
        b.iter_custom(|iters| {
            let sem = sem.clone();
            two_tasks(&rt, iters, move || {
                let sem = sem.clone();
                async move {
                    let p = sem.acquire().await.unwrap();
                    tokio::task::yield_now().await;
                    drop(p);
                }
            })
        });
    });
    g.bench_function(BenchmarkId::new("tokio", TASK_OPS), |b| {
        let sem = Arc::new(tokio::sync::Semaphore::new(1));
        b.iter_custom(|iters| {
            let sem = sem.clone();
            two_tasks(&rt, iters, move || {
                let sem = sem.clone();
                async move {
                    let p = sem.acquire().await.unwrap();
                    tokio::task::yield_now().await;
                    drop(p);
                }
            })
        });
    });
    g.finish();

    let mut g = c.benchmark_group("mutex_contended_2tasks");
    g.throughput(criterion::Throughput::Elements(2 * TASK_OPS));
    g.bench_function(BenchmarkId::new("c10k lock().await", TASK_OPS), |b| {
        let m = Arc::new(c10k_sync::Mutex::new(0u64));
        b.iter_custom(|iters| {
            let m = m.clone();
            two_tasks(&rt, iters, move || {
                let m = m.clone();
                async move {
                    let mut g = m.lock().await;
                    tokio::task::yield_now().await;
                    *g += 1;
                }
            })
        });
    });
    g.bench_function(BenchmarkId::new("tokio lock().await", TASK_OPS), |b| {
        let m = Arc::new(tokio::sync::Mutex::new(0u64));
        b.iter_custom(|iters| {
            let m = m.clone();
            two_tasks(&rt, iters, move || {
                let m = m.clone();
                async move {
                    let mut g = m.lock().await;
                    tokio::task::yield_now().await;
                    *g += 1;
                }
            })
        });
    });
    g.finish();
}

/// Two tasks on a 2-worker runtime each run `op` `TASK_OPS` times. Each `op` yields while
/// holding the lock or permit, so the other task really finds it taken and queues.
fn two_tasks<F, Fut>(rt: &tokio::runtime::Runtime, iters: u64, op: F) -> Duration
where
    F: Fn() -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let start = Instant::now();
    for _ in 0..iters {
        rt.block_on(async {
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let op = op.clone();
                    tokio::spawn(async move {
                        for _ in 0..TASK_OPS {
                            op().await;
                        }
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        });
    }
    start.elapsed()
}

criterion_group!(benches, mutex, semaphore);
criterion_main!(benches);
