//! loom models of the lock engine: Mutex (blocking and async) and the Semaphore's FIFO
//! hand-over with cancellation.
//!
//! `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p c10k-sync --release --test 'loom_*'`
#![cfg(loom)]

mod util;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc as StdArc;
use std::task::{Context, Poll, Wake, Waker};

use c10k_sync::{Mutex, Semaphore};
use loom::sync::Arc;
use loom::thread;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b.check(f);
}

struct Noop;

impl Wake for Noop {
    fn wake(self: StdArc<Self>) {}
}

#[test]
fn mutex_excludes_threads_and_tasks() {
    model(|| {
        let m = Arc::new(Mutex::new(0));
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let m = m.clone();
                thread::spawn(move || {
                    *m.lock_blocking() += 1;
                })
            })
            .collect();
        util::loom_block_on(async {
            *m.lock().await += 1;
        });
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(*m.lock_blocking(), 3);
    });
}

#[test]
fn semaphore_handover_survives_cancellation() {
    // A waiter that is handed the permit while it gives up must pass it on: after everyone is
    // done, the permit is back, whatever the interleaving.
    model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.try_acquire().unwrap();
        held.forget(); // released by hand below
        let s2 = sem.clone();
        let t = thread::spawn(move || {
            let waker = Waker::from(StdArc::new(Noop));
            let mut fut = pin!(s2.acquire());
            match fut.as_mut().poll(&mut Context::from_waker(&waker)) {
                Poll::Ready(p) => drop(p.unwrap()),
                Poll::Pending => {} // dropped while queued, maybe already handed the permit
            }
        });
        sem.add_permits(1);
        t.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
    });
}

#[test]
fn semaphore_blocking_waiters_all_get_through() {
    model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let sem = sem.clone();
                thread::spawn(move || drop(sem.acquire_blocking().unwrap()))
            })
            .collect();
        drop(sem.acquire_blocking().unwrap());
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(sem.available_permits(), 1);
    });
}

#[test]
fn rwlock_writer_and_readers_exclude() {
    model(|| {
        let lock = Arc::new(c10k_sync::RwLock::new(0));
        let l2 = lock.clone();
        let writer = thread::spawn(move || {
            *l2.write_blocking() += 1;
        });
        let l3 = lock.clone();
        let reader = thread::spawn(move || {
            let v = *l3.read_blocking();
            assert!(v == 0 || v == 1);
        });
        let v = util::loom_block_on(async { *lock.read().await });
        assert!(v == 0 || v == 1);
        writer.join().unwrap();
        reader.join().unwrap();
        assert_eq!(*lock.read_blocking(), 1);
    });
}
