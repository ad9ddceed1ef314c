//! The ticket booth: 100 threads each sell one of 100 tickets under a lock (the tutorials'
//! `num -= 1` with `threading.Lock`), plus 100 async tasks on a second booth sharing the same
//! kind of lock. Every ticket is sold exactly once.

use std::sync::Arc;

use c10k_sync::Mutex;

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

    let booth = Arc::new(Mutex::new(100u32));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let booth = booth.clone();
                tokio::spawn(async move {
                    let mut left = booth.lock().await;
                    tokio::task::yield_now().await; // hold the lock across an await: still safe
                    *left -= 1;
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("seller task");
        }
    });
    let left = *booth.lock_blocking();
    println!("tasks: tickets left = {left}");
    assert_eq!(left, 0, "every ticket sold exactly once");
}
