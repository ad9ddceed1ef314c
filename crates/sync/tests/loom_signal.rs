//! loom models of Event and Notify: no lost wake-up.
#![cfg(loom)]

mod util;

use c10k_sync::{Barrier, Condvar, Event, Mutex, Notify};
use loom::sync::Arc;
use loom::thread;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b.check(f);
}

#[test]
fn event_set_reaches_blocking_and_async_waiters() {
    model(|| {
        let ev = Arc::new(Event::new());
        let e1 = ev.clone();
        let t = thread::spawn(move || e1.wait_blocking());
        let e2 = ev.clone();
        let setter = thread::spawn(move || e2.set());
        util::loom_block_on(ev.wait());
        setter.join().unwrap();
        t.join().unwrap();
    });
}

#[test]
fn notify_one_is_never_lost() {
    model(|| {
        let n = Arc::new(Notify::new());
        let n2 = n.clone();
        let t = thread::spawn(move || n2.notify_one());
        util::loom_block_on(n.notified());
        t.join().unwrap();
    });
}

#[test]
fn condvar_wait_while_sees_the_change() {
    model(|| {
        let state = Arc::new((Mutex::new(false), Condvar::new()));
        let s2 = state.clone();
        let t = thread::spawn(move || {
            *s2.0.lock_blocking() = true;
            s2.1.notify_one();
        });
        let (m, cv) = &*state;
        let g = cv.wait_while_blocking(m.lock_blocking(), |ready| !*ready);
        assert!(*g);
        drop(g);
        t.join().unwrap();
    });
}

#[test]
fn barrier_releases_everyone_with_one_leader() {
    model(|| {
        let b = Arc::new(Barrier::new(2));
        let b2 = b.clone();
        let t = thread::spawn(move || b2.wait_blocking().is_leader());
        let me = util::loom_block_on(b.wait()).is_leader();
        let other = t.join().unwrap();
        assert!(me ^ other, "exactly one leader");
    });
}
