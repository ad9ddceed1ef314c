//! loom models of the queue engine: bounded mpsc hand-over and Queue task_done/join.
#![cfg(loom)]

mod util;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc as StdArc;
use std::task::{Context, Poll, Wake, Waker};

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
        assert_eq!(util::loom_block_on(rx.recv()), Ok(2));
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

struct Noop;

impl Wake for Noop {
    fn wake(self: StdArc<Self>) {}
}

#[test]
fn dropped_get_future_never_loses_a_value() {
    model(|| {
        let q = Arc::new(Queue::new());
        let q2 = q.clone();
        let getter = thread::spawn(move || {
            let waker = Waker::from(StdArc::new(Noop));
            let mut fut = pin!(q2.get());
            match fut.as_mut().poll(&mut Context::from_waker(&waker)) {
                Poll::Ready(v) => Some(v.unwrap()),
                // Dropped while queued, possibly after the value was handed to it.
                Poll::Pending => None,
            }
        });
        q.try_put(7).unwrap();
        let got = getter.join().unwrap();
        let left = q.try_get().ok();
        assert_eq!(got.or(left), Some(7));
        assert!(got.is_none() || left.is_none(), "received twice");
    });
}

/// Guards the bounded receiver's batch accounting: with capacity 2 the receiver lends itself
/// a message; a sender parked for room must be let in as soon as that message is consumed
/// (the `putters_waiting` / `consumed` handshake), even if the receiver then stops receiving.
#[test]
fn bounded_mpsc_batch_frees_room_for_a_parked_sender() {
    model(|| {
        let (tx, mut rx) = mpsc::bounded(2);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        // Takes 1 and lends itself 2, which still counts against the capacity.
        assert_eq!(rx.try_recv(), Ok(1));
        let t = thread::spawn(move || {
            tx.send_blocking(3).unwrap();
            tx.send_blocking(4).unwrap(); // full until 2 is consumed
        });
        assert_eq!(rx.recv_blocking(), Ok(2));
        // Only 3 and 4 are buffered now: the sender must finish without another receive.
        t.join().unwrap();
        assert_eq!(rx.recv_blocking(), Ok(3));
        assert_eq!(rx.recv_blocking(), Ok(4));
        assert!(rx.recv_blocking().is_err());
    });
}
