//! Event, Notify, Condvar and Barrier with threads and tasks.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use c10k_sync::{Barrier, Condvar, Event, Mutex, Notify};
use util::{block_on, poll_once, CountWaker};

#[test]
fn event_set_wakes_tasks_and_threads() {
    let ev = Arc::new(Event::new());
    let rt = util::tokio_rt();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let ev = ev.clone();
            rt.spawn(async move { ev.wait().await })
        })
        .collect();
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| ev.wait_blocking());
        }
        ev.set();
    });
    for t in tasks {
        rt.block_on(t).unwrap();
    }
}

#[test]
fn event_waiter_queued_before_set_returns_even_after_clear() {
    let ev = Event::new();
    let (_c, w) = CountWaker::new();
    let mut wait = ev.wait();
    assert!(poll_once(&mut wait, &w).is_pending());
    ev.set();
    ev.clear();
    assert!(poll_once(&mut wait, &w).is_ready());
    assert!(!ev.wait_timeout(Duration::from_millis(1)));
}

#[test]
fn notify_one_is_stored_and_passed_on_by_cancelled_waiters() {
    let n = Notify::new();
    let (c, w) = CountWaker::new();
    let mut a = n.notified();
    let mut b = n.notified();
    assert!(poll_once(&mut a, &w).is_pending());
    assert!(poll_once(&mut b, &w).is_pending());
    n.notify_one();
    assert_eq!(c.count(), 1);
    drop(a); // it had the notification: it must reach b
    assert!(poll_once(&mut b, &w).is_ready());
    n.notify_one();
    n.notify_one(); // at most one permit is stored
    block_on(n.notified());
    assert!(!n.notified_blocking_timeout(Duration::from_millis(1)));
}

#[test]
fn condvar_producer_consumer_threads_and_tasks() {
    let state = Arc::new((Mutex::new(Vec::<u32>::new()), Condvar::new()));
    let rt = util::tokio_rt();
    let consumed = Arc::new(AtomicUsize::new(0));
    let consumer = {
        let (state, consumed) = (state.clone(), consumed.clone());
        rt.spawn(async move {
            let (m, cv) = &*state;
            for _ in 0..100 {
                let mut g = cv.wait_while(m.lock().await, |v| v.is_empty()).await;
                g.pop().unwrap();
                consumed.fetch_add(1, Ordering::SeqCst);
                cv.notify_all();
            }
        })
    };
    let (m, cv) = &*state;
    for i in 0..100 {
        let mut g = cv.wait_while_blocking(m.lock_blocking(), |v| v.len() >= 2);
        g.push(i);
        drop(g);
        cv.notify_all();
    }
    rt.block_on(consumer).unwrap();
    assert_eq!(consumed.load(Ordering::SeqCst), 100);
}

#[test]
fn condvar_cancelled_waiter_passes_notify_one_on() {
    let m = Mutex::new(());
    let cv = Condvar::new();
    let (_c, w) = CountWaker::new();
    let mut a = cv.wait(m.try_lock().unwrap());
    let mut b = cv.wait(m.try_lock().unwrap());
    assert!(poll_once(&mut a, &w).is_pending());
    assert!(poll_once(&mut b, &w).is_pending());
    cv.notify_one();
    drop(a);
    assert!(matches!(poll_once(&mut b, &w), Poll::Ready(_)));
}

#[test]
fn condvar_timeout_reports_timed_out() {
    let m = Mutex::new(0);
    let cv = Condvar::new();
    let (g, r) = cv.wait_timeout_blocking(m.lock_blocking(), Duration::from_millis(5));
    assert!(r.timed_out());
    drop(g);
    let (g, r) =
        cv.wait_timeout_while_blocking(m.lock_blocking(), Duration::from_millis(5), |v| *v == 0);
    assert!(r.timed_out());
    assert_eq!(*g, 0);
}

#[test]
fn barrier_has_one_leader_per_generation_and_is_reusable() {
    let b = Arc::new(Barrier::new(3));
    let leaders = Arc::new(AtomicUsize::new(0));
    let rt = util::tokio_rt();
    let task = {
        let (b, leaders) = (b.clone(), leaders.clone());
        rt.spawn(async move {
            for _ in 0..10 {
                if b.wait().await.is_leader() {
                    leaders.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
    };
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..10 {
                    if b.wait_blocking().is_leader() {
                        leaders.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    rt.block_on(task).unwrap();
    assert_eq!(leaders.load(Ordering::SeqCst), 10);
}

#[test]
fn barrier_cancelled_party_withdraws() {
    let b = Barrier::new(2);
    let (_c, w) = CountWaker::new();
    let mut a = b.wait();
    assert!(poll_once(&mut a, &w).is_pending());
    drop(a);
    let mut c = b.wait();
    assert!(
        poll_once(&mut c, &w).is_pending(),
        "the dropped arrival must not count"
    );
    assert!(b.wait_blocking().is_leader());
    assert!(poll_once(&mut c, &w).is_ready());
}
