//! More Queue and channel edge cases: bounded LIFO/priority with waiting putters, async
//! getters woken by shutdown, Notify::notify_waiters, watch and broadcast corner cases.

mod util;

use std::task::Poll;
use std::time::Duration;

use c10k_sync::channel::{broadcast, oneshot, watch, RecvTimeoutError, SendError, TryRecvError};
use c10k_sync::queue::{GetError, TryPutError};
use c10k_sync::{Notify, Queue, RwLock};
use util::{poll_once, CountWaker};

#[test]
fn bounded_priority_queue_orders_values_of_waiting_putters() {
    let q = Queue::priority_with(Some(2), |a: &u32, b: &u32| a.cmp(b));
    q.try_put(5).unwrap();
    q.try_put(3).unwrap();
    assert_eq!(q.try_put(1), Err(TryPutError::Full(1)));
    let (_c, w) = CountWaker::new();
    let mut p1 = q.put(1);
    let mut p9 = q.put(9);
    assert!(poll_once(&mut p1, &w).is_pending());
    assert!(poll_once(&mut p9, &w).is_pending());
    assert_eq!(q.try_get(), Ok(3)); // 1 moves in
    assert_eq!(q.try_get(), Ok(1)); // 9 moves in
    assert!(matches!(poll_once(&mut p1, &w), Poll::Ready(Ok(()))));
    assert!(matches!(poll_once(&mut p9, &w), Poll::Ready(Ok(()))));
    assert_eq!(q.try_get(), Ok(5));
    assert_eq!(q.try_get(), Ok(9));
    assert_eq!(q.unfinished_tasks(), 4);
}

#[test]
fn bounded_lifo_serves_newest_first() {
    let q = Queue::lifo(Some(3));
    for i in 0..3 {
        q.try_put(i).unwrap();
    }
    assert!(q.is_full());
    assert_eq!(q.get_blocking_timeout(Duration::from_secs(5)), Ok(2));
    q.put_blocking_timeout(7, Duration::from_secs(5)).unwrap();
    assert_eq!(q.try_get(), Ok(7));
    assert_eq!(q.try_get(), Ok(1));
}

#[test]
fn async_getters_are_woken_by_shutdown() {
    let q = Queue::<u8>::new();
    let (c, w) = CountWaker::new();
    let mut a = q.get();
    let mut b = q.get();
    assert!(poll_once(&mut a, &w).is_pending());
    assert!(poll_once(&mut b, &w).is_pending());
    q.shutdown(false);
    assert_eq!(c.count(), 2);
    assert!(matches!(
        poll_once(&mut a, &w),
        Poll::Ready(Err(GetError::Closed))
    ));
    assert!(matches!(
        poll_once(&mut b, &w),
        Poll::Ready(Err(GetError::Closed))
    ));
}

#[test]
fn notify_waiters_wakes_current_waiters_only() {
    let n = Notify::new();
    let (c, w) = CountWaker::new();
    let mut a = n.notified();
    let mut b = n.notified();
    assert!(poll_once(&mut a, &w).is_pending());
    assert!(poll_once(&mut b, &w).is_pending());
    n.notify_waiters();
    assert_eq!(c.count(), 2);
    assert!(poll_once(&mut a, &w).is_ready());
    assert!(poll_once(&mut b, &w).is_ready());
    let mut late = n.notified();
    assert!(
        poll_once(&mut late, &w).is_pending(),
        "notify_waiters stores no permit"
    );
}

#[test]
fn rwlock_timeouts_and_async_readers() {
    let lock = RwLock::new(1);
    let r = lock.read_blocking();
    std::thread::scope(|s| {
        s.spawn(|| {
            assert!(lock
                .write_blocking_timeout(Duration::from_millis(5))
                .is_none())
        });
    });
    let (_c, w) = CountWaker::new();
    let mut r2 = lock.read();
    assert!(
        matches!(poll_once(&mut r2, &w), Poll::Ready(_)),
        "readers share"
    );
    drop(r2);
    drop(r);
    assert_eq!(
        *lock.write_blocking_timeout(Duration::from_secs(5)).unwrap(),
        1
    );
}

#[test]
fn oneshot_close_and_try_recv() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(tx.send(1), Err(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn watch_send_fails_without_receivers_but_send_replace_stores() {
    let (tx, rx) = watch::channel(1);
    drop(rx);
    assert_eq!(tx.send(2), Err(SendError(2)));
    assert_eq!(tx.send_replace(3), 1);
    assert_eq!(*tx.borrow(), 3);
    let mut rx = tx.subscribe();
    assert_eq!(
        rx.changed_blocking_timeout(Duration::from_millis(2)),
        Err(RecvTimeoutError::Timeout)
    );
}

#[test]
fn broadcast_without_receivers_hands_value_back_and_times_out() {
    let (tx, rx) = broadcast::channel::<u8>(2);
    drop(rx);
    assert_eq!(tx.send(1), Err(SendError(1)));
    let mut rx = tx.subscribe();
    assert_eq!(
        rx.recv_blocking_timeout(Duration::from_millis(2)),
        Err(broadcast::RecvTimeoutError::Timeout)
    );
    tx.send(2).unwrap();
    assert_eq!(rx.recv_blocking_timeout(Duration::from_secs(5)), Ok(2));
    drop(tx);
    assert_eq!(rx.recv_blocking(), Err(broadcast::RecvError::Closed));
}
