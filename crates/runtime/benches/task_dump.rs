//! `Handle::dump` of 10 000 live tasks (issue 15's target: at most 10 ms), on both
//! schedulers: tasks waiting on timers (the dump reads their headers only), and the same
//! with 1 000 of them waiting on socket reads (the dump also asks the kernel for each
//! socket's peer, one `getpeername` each).
//!
//! `cargo bench -p c10k-runtime --bench task_dump`

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::time::Duration;

use c10k_runtime::net::{TcpListener, TcpStream};
use c10k_runtime::task::dump::WaitOn;
use c10k_runtime::Runtime;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

const TASKS: usize = 10_000;
const SOCKETS: usize = 1_000;

/// Spawns `TASKS` tasks on `rt`, `sockets` of them reading from a connection that stays
/// silent, the others sleeping for an hour; returns once every one of them waits (and what
/// keeps the connections open).
fn populate(rt: &Runtime, sockets: usize) -> Vec<TcpStream> {
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut clients = Vec::with_capacity(sockets);
        for _ in 0..sockets {
            clients.push(TcpStream::connect(addr).await.unwrap());
            let (server, _) = listener.accept().await.unwrap();
            drop(c10k_runtime::spawn(async move {
                let mut buf = [0u8; 8];
                let _ = server.read(&mut buf).await;
            }));
        }
        for _ in sockets..TASKS {
            drop(c10k_runtime::spawn(c10k_runtime::time::sleep(
                Duration::from_secs(3600),
            )));
        }
        // Until every task has reached its await.
        loop {
            let dump = c10k_runtime::Handle::current().dump();
            let waiting = dump
                .tasks()
                .iter()
                .filter(|t| {
                    matches!(
                        t.waiting_on(),
                        Some(WaitOn::Read { .. } | WaitOn::Timer { .. })
                    )
                })
                .count();
            if waiting == TASKS {
                break;
            }
            c10k_runtime::time::sleep(Duration::from_millis(1)).await;
        }
        clients
    })
}

fn dump(c: &mut Criterion) {
    let mut g = c.benchmark_group("dump_10k_tasks");
    g.sample_size(20);
    for (flavor, multi) in [("current_thread", false), ("multi_thread", true)] {
        for sockets in [0, SOCKETS] {
            let builder = Runtime::builder();
            let rt = if multi {
                builder.multi_thread().worker_threads(2).build().unwrap()
            } else {
                builder.current_thread().build().unwrap()
            };
            let clients = populate(&rt, sockets);
            let id = BenchmarkId::new(flavor, format!("{sockets}_sockets"));
            g.bench_function(id, |b| {
                b.iter(|| {
                    let d = rt.handle().dump();
                    assert_eq!(d.tasks().len(), TASKS);
                    d
                })
            });
            drop(clients);
        }
    }
    g.finish();
}

criterion_group!(benches, dump);
criterion_main!(benches);
