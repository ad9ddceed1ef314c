//! loom models of oneshot, watch, broadcast and ReentrantMutex.
#![cfg(loom)]

mod util;

use std::cell::Cell;

use c10k_sync::channel::{broadcast, oneshot, watch};
use c10k_sync::ReentrantMutex;
use loom::sync::Arc;
use loom::thread;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b.check(f);
}

#[test]
fn oneshot_value_arrives_whoever_runs_first() {
    model(|| {
        let (tx, rx) = oneshot::channel();
        let t = thread::spawn(move || tx.send(1));
        let got = util::loom_block_on(rx);
        let sent = t.join().unwrap();
        // The receiver lives until it completes: the send succeeds and the value arrives,
        // whichever side runs first.
        match (got, sent) {
            (Ok(1), Ok(())) => {}
            other => panic!("unexpected outcome {other:?}"),
        }
    });
}

#[test]
fn oneshot_dropped_sender_wakes_a_blocked_receiver() {
    model(|| {
        let (tx, rx) = oneshot::channel::<u8>();
        let t = thread::spawn(move || drop(tx));
        assert!(rx.recv_blocking().is_err());
        t.join().unwrap();
    });
}

#[test]
fn watch_receiver_sees_the_last_value() {
    model(|| {
        let (tx, mut rx) = watch::channel(0);
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        let mut last = 0;
        while rx.changed_blocking().is_ok() {
            last = *rx.borrow_and_update();
        }
        t.join().unwrap();
        assert_eq!(last, 2);
    });
}

#[test]
fn broadcast_receiver_gets_every_message_within_capacity() {
    model(|| {
        let (tx, mut rx) = broadcast::channel(2);
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        assert_eq!(util::loom_block_on(rx.recv()), Ok(1));
        assert_eq!(rx.recv_blocking(), Ok(2));
        assert!(rx.recv_blocking().is_err());
        t.join().unwrap();
    });
}

#[test]
fn reentrant_mutex_nests_and_excludes() {
    model(|| {
        let m = Arc::new(ReentrantMutex::new(Cell::new(0)));
        let m2 = m.clone();
        let t = thread::spawn(move || {
            let g = m2.lock_blocking();
            let inner = m2.lock_blocking();
            inner.set(inner.get() + 1);
            drop(inner);
            g.set(g.get() + 1);
        });
        {
            let g = m.lock_blocking();
            let inner = m.lock_blocking();
            inner.set(inner.get() + 1);
            drop(g);
            inner.set(inner.get() + 1);
        }
        t.join().unwrap();
        assert_eq!(m.lock_blocking().get(), 4);
    });
}
