//! Cooks and customers on a joinable queue (the tutorials' producer-consumer with
//! `q.task_done()` / `q.join()`): three cooks (threads) make buns into a bounded queue, three
//! customers (async tasks) eat them; each cook waits with `join` until every bun it and the
//! others made has been eaten. Bounded: 5 buns per cook.

use std::sync::Arc;

use c10k_sync::Queue;

/// Runs the demo (public so that `tests/examples_run.rs` can run it in-process).
pub(crate) fn main() {
    let counter = Arc::new(Queue::bounded(4));
    let rt = c10k_runtime::Builder::new()
        .multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let customers: Vec<_> = (1..=3)
        .map(|n| {
            let counter = counter.clone();
            rt.spawn(async move {
                let mut eaten = 0;
                while let Ok(bun) = counter.get().await {
                    println!("customer {n} eats {bun}");
                    eaten += 1;
                    counter.task_done().expect("one task_done per bun");
                }
                eaten
            })
        })
        .collect();
    let cooks: Vec<_> = ["hetan", "liuyao", "xxxx"]
        .into_iter()
        .map(|cook| {
            let counter = counter.clone();
            std::thread::spawn(move || {
                for count in 1..=5 {
                    let bun = format!("{cook}'s bun #{count}");
                    println!("cook {cook} made {bun}");
                    counter.put_blocking(bun).expect("the shop is open");
                }
                counter.join_blocking();
                println!("cook {cook}: all buns have been eaten");
            })
        })
        .collect();
    for c in cooks {
        c.join().expect("cook thread");
    }
    counter.shutdown(false); // closing time: customers finish and go home
    let eaten: usize = customers
        .into_iter()
        .map(|c| rt.block_on(c).expect("customer task"))
        .sum();
    println!(
        "{eaten} buns eaten, {} left, {} unfinished",
        counter.len(),
        counter.unfinished_tasks()
    );
    assert_eq!(eaten, 15, "every bun is eaten exactly once");
}
