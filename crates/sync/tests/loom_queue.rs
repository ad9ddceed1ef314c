//! loom models of the queue engine: bounded mpsc hand-over and Queue task_done/join.
#![cfg(loom)]

use c10k_sync::channel::mpsc;
use c10k_sync::Queue;
use loom::sync::Arc;
use loom::thread;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b.check(f);
}

#[test]
fn bounded_mpsc_delivers_in_order_under_back_pressure() {
    model(|| {
        let (tx, mut rx) = mpsc::bounded(1);
        let t = thread::spawn(move || {
            tx.send_blocking(1).unwrap();
            tx.send_blocking(2).unwrap();
        });
        assert_eq!(rx.recv_blocking(), Ok(1));
        assert_eq!(loom::future::block_on(rx.recv()), Ok(2));
        assert!(rx.recv_blocking().is_err());
        t.join().unwrap();
    });
}

#[test]
fn queue_join_waits_for_every_task_done() {
    model(|| {
        let q = Arc::new(Queue::bounded(1));
        let producer = {
            let q = q.clone();
            thread::spawn(move || {
                q.put_blocking(1).unwrap();
                q.put_blocking(2).unwrap();
            })
        };
        let consumer = {
            let q = q.clone();
            thread::spawn(move || {
                let mut sum = 0;
                for _ in 0..2 {
                    sum += q.get_blocking().unwrap();
                    q.task_done().unwrap();
                }
                sum
            })
        };
        producer.join().unwrap();
        q.join_blocking();
        assert_eq!(q.unfinished_tasks(), 0);
        assert_eq!(consumer.join().unwrap(), 3);
    });
}
