//! TCP echo ping-pong over loopback in one process: c10k on every IO backend (select, poll,
//! epoll, uring) vs tokio, each on a current-thread runtime (and, in `tcp_echo_100conn_mt2`,
//! on a 2-worker multi-thread runtime with one client task per connection, c10k on epoll and
//! uring), in the same run.
//!
//! Setup per runtime: a listener, one echo task per connection (kept across iterations),
//! `N` connected clients with `TCP_NODELAY`. One iteration = every client does `ROUNDS`
//! round trips of a 64-byte message (write it, read the 64 bytes back), all clients
//! concurrently (`join_all` inside one `block_on`). Client and server share the thread, so
//! each figure is the whole cost of a request: two sends, two receives, the driver's
//! waits (`epoll_wait`, or the ring's one `io_uring_enter` per turn) and the task switches.
//!
//! `cargo bench -p c10k-runtime --bench net_echo`; ratios go to `BENCH-net.md`.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::net::SocketAddr;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures_util::future::join_all;

const MSG: usize = 64;

/// (connections, round trips per connection per iteration)
const CASES: [(usize, usize); 2] = [(1, 100), (100, 10)];

mod ours {
    use super::*;
    use c10k_runtime::driver::Backend;
    use c10k_runtime::net::{TcpListener, TcpStream};
    use c10k_runtime::Runtime;

    pub(crate) struct Setup {
        pub(crate) rt: Runtime,
        pub(crate) clients: Vec<TcpStream>,
    }

    pub(crate) fn setup(conns: usize, workers: usize, backend: Backend) -> Setup {
        let rt = if workers == 0 {
            Runtime::builder()
                .current_thread()
                .backend(backend)
                .build()
                .unwrap()
        } else {
            Runtime::builder()
                .multi_thread()
                .worker_threads(workers)
                .backend(backend)
                .build()
                .unwrap()
        };
        let clients = rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr: SocketAddr = listener.local_addr().unwrap();
            let _server = c10k_runtime::spawn(async move {
                loop {
                    let Ok((s, _)) = listener.accept().await else {
                        return;
                    };
                    s.set_nodelay(true).unwrap();
                    let _conn = c10k_runtime::spawn(async move {
                        let mut buf = [0u8; 4096];
                        loop {
                            match s.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => {
                                    if s.write_all(&buf[..n]).await.is_err() {
                                        return;
                                    }
                                }
                            }
                        }
                    });
                }
            });
            let mut clients = Vec::new();
            for _ in 0..conns {
                let c = TcpStream::connect(addr).await.unwrap();
                c.set_nodelay(true).unwrap();
                clients.push(c);
            }
            clients
        });
        Setup { rt, clients }
    }

    pub(crate) fn iteration(s: &Setup, rounds: usize) {
        s.rt.block_on(join_all(s.clients.iter().map(|c| async move {
            let msg = [7u8; MSG];
            let mut buf = [0u8; MSG];
            for _ in 0..rounds {
                c.write_all(&msg).await.unwrap();
                c.read_exact(&mut buf).await.unwrap();
            }
        })));
    }

    /// Multi-thread: one spawned task per client (so clients run on the workers too).
    pub(crate) fn iteration_mt(s: &mut Setup, rounds: usize) {
        let clients = std::mem::take(&mut s.clients);
        s.clients = s.rt.block_on(async move {
            let tasks: Vec<_> = clients
                .into_iter()
                .map(|c| {
                    c10k_runtime::spawn(async move {
                        let msg = [7u8; MSG];
                        let mut buf = [0u8; MSG];
                        for _ in 0..rounds {
                            c.write_all(&msg).await.unwrap();
                            c.read_exact(&mut buf).await.unwrap();
                        }
                        c
                    })
                })
                .collect();
            let mut back = Vec::with_capacity(tasks.len());
            for t in tasks {
                back.push(t.await.unwrap());
            }
            back
        });
    }
}

mod reference {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::runtime::Runtime;

    pub(crate) struct Setup {
        pub(crate) rt: Runtime,
        pub(crate) clients: Vec<TcpStream>,
    }

    pub(crate) fn setup(conns: usize, workers: usize) -> Setup {
        let mut builder = if workers == 0 {
            tokio::runtime::Builder::new_current_thread()
        } else {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(workers);
            b
        };
        let rt = builder.enable_all().build().unwrap();
        let clients = rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr: SocketAddr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                loop {
                    let Ok((mut s, _)) = listener.accept().await else {
                        return;
                    };
                    s.set_nodelay(true).unwrap();
                    tokio::spawn(async move {
                        let mut buf = [0u8; 4096];
                        loop {
                            match s.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => {
                                    if s.write_all(&buf[..n]).await.is_err() {
                                        return;
                                    }
                                }
                            }
                        }
                    });
                }
            });
            let mut clients = Vec::new();
            for _ in 0..conns {
                let c = TcpStream::connect(addr).await.unwrap();
                c.set_nodelay(true).unwrap();
                clients.push(c);
            }
            clients
        });
        Setup { rt, clients }
    }

    pub(crate) fn iteration(s: &mut Setup, rounds: usize) {
        s.rt.block_on(join_all(s.clients.iter_mut().map(|c| async move {
            let msg = [7u8; MSG];
            let mut buf = [0u8; MSG];
            for _ in 0..rounds {
                c.write_all(&msg).await.unwrap();
                c.read_exact(&mut buf).await.unwrap();
            }
        })));
    }

    /// Multi-thread: one spawned task per client.
    pub(crate) fn iteration_mt(s: &mut Setup, rounds: usize) {
        let clients = std::mem::take(&mut s.clients);
        s.clients = s.rt.block_on(async move {
            let tasks: Vec<_> = clients
                .into_iter()
                .map(|mut c| {
                    tokio::spawn(async move {
                        let msg = [7u8; MSG];
                        let mut buf = [0u8; MSG];
                        for _ in 0..rounds {
                            c.write_all(&msg).await.unwrap();
                            c.read_exact(&mut buf).await.unwrap();
                        }
                        c
                    })
                })
                .collect();
            let mut back = Vec::with_capacity(tasks.len());
            for t in tasks {
                back.push(t.await.unwrap());
            }
            back
        });
    }
}

/// The backends measured: every one available here.
fn backends() -> Vec<c10k_runtime::driver::Backend> {
    c10k_runtime::driver::Backend::ALL
        .into_iter()
        .filter(|b| b.is_available())
        .collect()
}

/// The bench id of c10k on `b` (`c10k` alone for the default, as in earlier records).
fn ours_id(b: c10k_runtime::driver::Backend) -> String {
    if b == c10k_runtime::driver::Backend::best() {
        "c10k".into()
    } else {
        format!("c10k-{b}")
    }
}

fn net_echo(c: &mut Criterion) {
    for (conns, rounds) in CASES {
        let mut g = c.benchmark_group(format!("tcp_echo_{conns}conn"));
        g.throughput(Throughput::Elements((conns * rounds) as u64));
        for backend in backends() {
            let ours = ours::setup(conns, 0, backend);
            g.bench_with_input(
                BenchmarkId::new(ours_id(backend), conns),
                &rounds,
                |b, &r| b.iter(|| ours::iteration(&ours, r)),
            );
            drop(ours);
        }
        let mut theirs = reference::setup(conns, 0);
        g.bench_with_input(BenchmarkId::new("tokio", conns), &rounds, |b, &r| {
            b.iter(|| reference::iteration(&mut theirs, r))
        });
        g.finish();
    }
    // Multi-thread, 2 workers, clients as tasks: per-worker selectors (c10k) against one
    // shared driver (tokio).
    let (conns, rounds) = (100, 10);
    let mut g = c.benchmark_group(format!("tcp_echo_{conns}conn_mt2"));
    g.throughput(Throughput::Elements((conns * rounds) as u64));
    for backend in backends()
        .into_iter()
        .filter(|b| b.name() == "epoll" || b.name() == "uring")
    {
        let mut ours = ours::setup(conns, 2, backend);
        g.bench_with_input(
            BenchmarkId::new(ours_id(backend), conns),
            &rounds,
            |b, &r| b.iter(|| ours::iteration_mt(&mut ours, r)),
        );
        drop(ours);
    }
    let mut theirs = reference::setup(conns, 2);
    g.bench_with_input(BenchmarkId::new("tokio", conns), &rounds, |b, &r| {
        b.iter(|| reference::iteration_mt(&mut theirs, r))
    });
    g.finish();
}

criterion_group!(benches, net_echo);
criterion_main!(benches);
