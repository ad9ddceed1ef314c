//! The tutorials' producers and consumers (seed 001: `queue.Queue` with `task_done` and
//! `join`, and the "baozi" generator version) as tasks sharing a [`c10k::sync::Queue`].
//!
//! Three producers put numbered items into a bounded queue (a full queue makes a producer
//! wait: back-pressure); two consumers get items and call `task_done` for each; the main
//! task waits with `join` until every item put has been processed, then shuts the queue
//! down, which ends the consumers' loops.
//!
//! `cargo run -p c10k --example producer_consumer`

use std::sync::Arc;

use c10k::sync::Queue;

/// Items made by each producer.
pub(crate) const ITEMS: u32 = 5;

/// Puts `ITEMS` items tagged with the producer's name.
pub(crate) async fn producer(name: &'static str, q: Arc<Queue<(String, u32)>>) {
    for n in 1..=ITEMS {
        println!("producer {name} produced a new task: {n}");
        if q.put((name.to_owned(), n)).await.is_err() {
            return; // shut down
        }
    }
}

/// Gets items until the queue is shut down; returns how many it processed.
pub(crate) async fn consumer(id: u32, q: Arc<Queue<(String, u32)>>) -> u32 {
    let mut done = 0;
    while let Ok((from, n)) = q.get().await {
        println!("consumer {id} got task {n} from {from}");
        // Yield like the tutorial's `time.sleep(1)`, without blocking the thread.
        c10k::task::yield_now().await;
        done += 1;
        q.task_done().expect("one task_done per get");
    }
    done
}

fn main() {
    c10k::run(async {
        let q = Arc::new(Queue::bounded(2));
        let consumers: Vec<_> = (1..=2)
            .map(|id| c10k::spawn(consumer(id, Arc::clone(&q))))
            .collect();
        let producers: Vec<_> = ["hetan", "liuyao", "xxxx"]
            .into_iter()
            .map(|name| c10k::spawn(producer(name, Arc::clone(&q))))
            .collect();
        for p in producers {
            p.await.expect("producer panicked");
        }
        q.join().await; // every item was task_done'd
        println!("all tasks have been consumed by consumers");
        q.shutdown(false);
        let mut total = 0;
        for c in consumers {
            total += c.await.expect("consumer panicked");
        }
        assert_eq!(total, 3 * ITEMS);
        println!("consumers processed {total} items");
    });
}
