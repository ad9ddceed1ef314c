//! c10k runtime vs tokio, same machine, same run: spawn/join, chained spawn, yield, ping-pong.
//!
//! Both runtimes get the *same* minimal synchronisation helpers (a shared-state oneshot and
//! a notify flag built on `std` and `Waker`), so what differs is only the scheduler.
//!
//! `cargo bench -p c10k-runtime --bench runtime`

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

mod util;
use util::{yield_once, Slot};

/// A runtime-agnostic oneshot: a value slot and a waker slot under one mutex.
struct Oneshot<T> {
    inner: Arc<Mutex<(Option<T>, Option<Waker>)>>,
}

fn oneshot<T>() -> (Oneshot<T>, Oneshot<T>) {
    let inner = Arc::new(Mutex::new((None, None)));
    (
        Oneshot {
            inner: Arc::clone(&inner),
        },
        Oneshot { inner },
    )
}

impl<T> Oneshot<T> {
    fn send(&self, v: T) {
        let w = {
            let mut g = self.inner.lock().unwrap();
            g.0 = Some(v);
            g.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
}

impl<T> Future for Oneshot<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut g = self.inner.lock().unwrap();
        match g.0.take() {
            Some(v) => Poll::Ready(v),
            None => {
                g.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

const SPAWN_N: usize = 100_000;
const CHAIN_N: usize = 10_000;
const YIELD_TASKS: usize = 200;
const YIELD_EACH: usize = 500;
const PING_PONGS: u64 = 10_000;

fn c10k_ct() -> c10k_runtime::Runtime {
    c10k_runtime::Runtime::builder()
        .current_thread()
        .build()
        .unwrap()
}
fn c10k_mt() -> c10k_runtime::Runtime {
    c10k_runtime::Runtime::builder()
        .multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}
/// With long-poll detection on (off by default): its cost is the difference to `c10k`.
fn c10k_ct_long_poll() -> c10k_runtime::Runtime {
    c10k_runtime::Runtime::builder()
        .current_thread()
        .long_poll_threshold(std::time::Duration::from_millis(100))
        .build()
        .unwrap()
}
fn c10k_mt_long_poll() -> c10k_runtime::Runtime {
    c10k_runtime::Runtime::builder()
        .multi_thread()
        .worker_threads(2)
        .long_poll_threshold(std::time::Duration::from_millis(100))
        .build()
        .unwrap()
}
fn tokio_ct() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
fn tokio_mt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

macro_rules! both {
    ($group:expr, $name:literal, $c10k:expr, $tokio:expr, |$spawn:ident| $body:expr) => {{
        both!($group, $name, $c10k, $tokio, |$spawn| $body, extra: [])
    }};
    ($group:expr, $name:literal, $c10k:expr, $tokio:expr, |$spawn:ident| $body:expr,
     extra: [$($label:literal => $rt:expr),*]) => {{
        $(
            let rt = $rt;
            $group.bench_function(BenchmarkId::new($label, $name), |b| {
                b.iter(|| {
                    rt.block_on(async {
                        #[allow(unused)]
                        use c10k_runtime::spawn as $spawn;
                        $body
                    })
                })
            });
            drop(rt);
        )*
        let rt = $c10k;
        $group.bench_function(BenchmarkId::new("c10k", $name), |b| {
            b.iter(|| {
                rt.block_on(async {
                    #[allow(unused)]
                    use c10k_runtime::spawn as $spawn;
                    $body
                })
            })
        });
        drop(rt);
        let rt = $tokio;
        $group.bench_function(BenchmarkId::new("tokio", $name), |b| {
            b.iter(|| {
                rt.block_on(async {
                    #[allow(unused)]
                    use tokio::spawn as $spawn;
                    $body
                })
            })
        });
    }};
}

fn spawn_join(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_join_100k");
    g.throughput(Throughput::Elements(SPAWN_N as u64));
    g.sample_size(20);
    both!(g, "current_thread", c10k_ct(), tokio_ct(), |spawn| {
        let handles: Vec<_> = (0..SPAWN_N).map(|i| spawn(async move { i })).collect();
        let mut s = 0;
        for h in handles {
            s += h.await.unwrap();
        }
        s
    });
    both!(g, "multi_thread", c10k_mt(), tokio_mt(), |spawn| {
        // Spawned from a task, as servers do (not from the block_on thread).
        spawn(async {
            let handles: Vec<_> = (0..SPAWN_N).map(|i| spawn(async move { i })).collect();
            let mut s = 0;
            for h in handles {
                s += h.await.unwrap();
            }
            s
        })
        .await
        .unwrap()
    });
    g.finish();
}

fn chained_spawn(c: &mut Criterion) {
    let mut g = c.benchmark_group("chained_spawn_10k");
    g.throughput(Throughput::Elements(CHAIN_N as u64));
    g.sample_size(20);
    fn c10k_chain(n: usize, done: Oneshot<()>) {
        if n == 0 {
            done.send(());
        } else {
            drop(c10k_runtime::spawn(async move { c10k_chain(n - 1, done) }));
        }
    }
    fn tokio_chain(n: usize, done: Oneshot<()>) {
        if n == 0 {
            done.send(());
        } else {
            drop(tokio::spawn(async move { tokio_chain(n - 1, done) }));
        }
    }
    for (flavor, c, t) in [
        ("current_thread", c10k_ct(), tokio_ct()),
        ("multi_thread", c10k_mt(), tokio_mt()),
    ] {
        g.bench_function(BenchmarkId::new("c10k", flavor), |b| {
            b.iter(|| {
                c.block_on(async {
                    let (tx, rx) = oneshot();
                    c10k_chain(CHAIN_N, tx);
                    rx.await
                })
            })
        });
        g.bench_function(BenchmarkId::new("tokio", flavor), |b| {
            b.iter(|| {
                t.block_on(async {
                    let (tx, rx) = oneshot();
                    tokio_chain(CHAIN_N, tx);
                    rx.await
                })
            })
        });
    }
    g.finish();
}

fn yield_many(c: &mut Criterion) {
    let mut g = c.benchmark_group("yield_many");
    g.throughput(Throughput::Elements((YIELD_TASKS * YIELD_EACH) as u64));
    g.sample_size(20);
    both!(g, "current_thread", c10k_ct(), tokio_ct(), |spawn| {
        let handles: Vec<_> = (0..YIELD_TASKS)
            .map(|_| {
                spawn(async {
                    for _ in 0..YIELD_EACH {
                        yield_once().await;
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
    }, extra: ["c10k-long-poll" => c10k_ct_long_poll()]);
    both!(g, "multi_thread", c10k_mt(), tokio_mt(), |spawn| {
        let handles: Vec<_> = (0..YIELD_TASKS)
            .map(|_| {
                spawn(async {
                    for _ in 0..YIELD_EACH {
                        yield_once().await;
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
    }, extra: ["c10k-long-poll" => c10k_mt_long_poll()]);
    g.finish();
}

fn ping_pong(c: &mut Criterion) {
    let mut g = c.benchmark_group("ping_pong_10k");
    g.throughput(Throughput::Elements(PING_PONGS));
    g.sample_size(20);
    both!(g, "current_thread", c10k_ct(), tokio_ct(), |spawn| {
        let (ping, pong) = (Slot::new(), Slot::new());
        let (p2, q2) = (ping.clone(), pong.clone());
        let echo = spawn(async move {
            for _ in 0..PING_PONGS {
                let v = p2.take().await;
                q2.put(v + 1);
            }
        });
        let driver = spawn(async move {
            let mut v = 0;
            for _ in 0..PING_PONGS {
                ping.put(v);
                v = pong.take().await;
            }
            v
        });
        echo.await.unwrap();
        driver.await.unwrap()
    }, extra: ["c10k-long-poll" => c10k_ct_long_poll()]);
    both!(g, "multi_thread", c10k_mt(), tokio_mt(), |spawn| {
        let (ping, pong) = (Slot::new(), Slot::new());
        let (p2, q2) = (ping.clone(), pong.clone());
        let echo = spawn(async move {
            for _ in 0..PING_PONGS {
                let v = p2.take().await;
                q2.put(v + 1);
            }
        });
        let driver = spawn(async move {
            let mut v = 0;
            for _ in 0..PING_PONGS {
                ping.put(v);
                v = pong.take().await;
            }
            v
        });
        echo.await.unwrap();
        driver.await.unwrap()
    }, extra: ["c10k-long-poll" => c10k_mt_long_poll()]);
    g.finish();
}

/// Many independent message-passing pairs on the multi-thread runtime: the LIFO slot and the
/// work stealing matter here.
fn fan_out(c: &mut Criterion) {
    let mut g = c.benchmark_group("fan_out_1k_tasks_x_100_wakes");
    g.throughput(Throughput::Elements(100_000));
    g.sample_size(20);
    both!(g, "multi_thread", c10k_mt(), tokio_mt(), |spawn| {
        let counter = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..1000)
            .map(|_| {
                let counter = Arc::clone(&counter);
                spawn(async move {
                    for _ in 0..100 {
                        counter.fetch_add(1, Ordering::Relaxed);
                        yield_once().await;
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        counter.load(Ordering::Relaxed)
    });
    g.finish();
}

criterion_group!(
    benches,
    spawn_join,
    chained_spawn,
    yield_many,
    ping_pong,
    fan_out
);
criterion_main!(benches);
