//! The ticket booth: 100 threads each sell one of 100 tickets under a lock (the tutorials'
//! `num -= 1` with `threading.Lock`), then 100 async tasks on a second booth sharing the same
//! kind of lock. Every ticket is sold exactly once.
//!
//! `c10k-sync` does not depend on any runtime, so the async booth runs twice, unchanged: on
//! c10k's runtime and on tokio's. The lock is the same type in all three cases.

use std::future::Future;
use std::sync::Arc;

use c10k_sync::Mutex;

/// One seller task: takes the lock, yields while holding it (still safe: the others wait
/// in the lock's queue, not on the thread), sells one ticket.
async fn sell(booth: Arc<Mutex<u32>>, yield_now: impl Future<Output = ()>) {
    let mut left = booth.lock().await;
    yield_now.await;
    *left -= 1;
}

/// Runs the demo (public so that `tests/examples_run.rs` can run it in-process).
pub(crate) fn main() {
    let tickets = Arc::new(Mutex::new(100u32));
    let threads: Vec<_> = (0..100)
        .map(|_| {
            let tickets = tickets.clone();
            std::thread::spawn(move || {
                let mut left = tickets.lock_blocking();
                *left -= 1; // read-modify-write, safe under the lock
            })
        })
        .collect();
    for t in threads {
        t.join().expect("seller thread");
    }
    let left = *tickets.lock_blocking();
    println!("threads: tickets left = {left}");
    assert_eq!(left, 0, "every ticket sold exactly once");

    // On c10k's runtime.
    let booth = Arc::new(Mutex::new(100u32));
    let rt = c10k_runtime::Builder::new()
        .multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tasks: Vec<_> = (0..100)
            .map(|_| c10k_runtime::spawn(sell(booth.clone(), c10k_runtime::task::yield_now())))
            .collect();
        for t in tasks {
            t.await.expect("seller task");
        }
    });
    let left = *booth.lock_blocking();
    println!("c10k tasks: tickets left = {left}");
    assert_eq!(left, 0, "every ticket sold exactly once");

    // The same tasks on tokio's runtime: the primitives are runtime-agnostic.
    let booth = Arc::new(Mutex::new(100u32));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tasks: Vec<_> = (0..100)
            .map(|_| tokio::spawn(sell(booth.clone(), tokio::task::yield_now())))
            .collect();
        for t in tasks {
            t.await.expect("seller task");
        }
    });
    let left = *booth.lock_blocking();
    println!("tokio tasks: tickets left = {left}");
    assert_eq!(left, 0, "every ticket sold exactly once");
}
