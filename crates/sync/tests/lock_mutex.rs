//! Mutex and Semaphore: exclusion, FIFO hand-over, cancellation, threads and tasks mixed.

mod util;

use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use c10k_sync::{AcquireError, Mutex, Semaphore, TryAcquireError};
use util::{block_on, poll_once, CountWaker};

#[test]
fn threads_and_tasks_share_one_mutex() {
    let m = Arc::new(Mutex::new(0u64));
    let rt = util::tokio_rt();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let m = m.clone();
        tasks.push(rt.spawn(async move {
            for _ in 0..500 {
                let mut g = m.lock().await;
                *g += 1;
                tokio::task::yield_now().await;
            }
        }));
    }
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                for _ in 0..500 {
                    *m.lock_blocking() += 1;
                }
            });
        }
    });
    for t in tasks {
        rt.block_on(t).unwrap();
    }
    assert_eq!(*m.lock_blocking(), 3500);
}

#[test]
fn unlock_hands_over_in_fifo_order() {
    let m = Mutex::new(());
    let g = m.try_lock().unwrap();
    let (c, w) = CountWaker::new();
    let mut a = m.lock();
    let mut b = m.lock();
    assert!(poll_once(&mut a, &w).is_pending());
    assert!(poll_once(&mut b, &w).is_pending());
    drop(g);
    assert_eq!(c.count(), 1, "exactly the first waiter is woken");
    // The lock now belongs to `a`: neither try_lock nor `b` can take it.
    assert!(m.try_lock().is_err());
    assert!(poll_once(&mut b, &w).is_pending());
    let ga = match poll_once(&mut a, &w) {
        Poll::Ready(g) => g,
        Poll::Pending => panic!("a was handed the lock"),
    };
    drop(ga);
    assert!(poll_once(&mut b, &w).is_ready());
}

#[test]
fn dropped_future_passes_the_lock_on() {
    let m = Mutex::new(1);
    let g = m.try_lock().unwrap();
    let (_c, w) = CountWaker::new();
    let mut a = m.lock();
    let mut b = m.lock();
    assert!(poll_once(&mut a, &w).is_pending());
    assert!(poll_once(&mut b, &w).is_pending());
    drop(g); // handed to `a`
    drop(a); // `a` gives up: the lock must reach `b`, not be lost
    assert!(matches!(poll_once(&mut b, &w), Poll::Ready(_)));
}

#[test]
fn lock_blocking_timeout_times_out_and_then_succeeds() {
    let m = Mutex::new(5);
    let g = m.lock_blocking();
    // Another thread: relocking on this one would be a self-deadlock (and is reported as such
    // with the `deadlock-detection` feature).
    std::thread::scope(|s| {
        s.spawn(|| assert!(m.lock_blocking_timeout(Duration::from_millis(10)).is_none()));
    });
    drop(g);
    assert_eq!(
        *m.lock_blocking_timeout(Duration::from_secs(60)).unwrap(),
        5
    );
}

#[test]
fn semaphore_acquire_many_is_fifo_and_not_starved() {
    let sem = Semaphore::new(2);
    let p1 = sem.try_acquire().unwrap();
    let (_c, w) = CountWaker::new();
    let mut big = sem.acquire_many(2);
    assert!(poll_once(&mut big, &w).is_pending());
    // One permit is free, but the big waiter is ahead: no barging.
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    let mut small = sem.acquire();
    assert!(poll_once(&mut small, &w).is_pending());
    drop(p1);
    let big_permit = match poll_once(&mut big, &w) {
        Poll::Ready(Ok(p)) => p,
        other => panic!("big waiter should hold 2 permits, got {other:?}"),
    };
    assert_eq!(big_permit.num_permits(), 2);
    assert!(poll_once(&mut small, &w).is_pending());
    drop(big_permit);
    assert!(matches!(poll_once(&mut small, &w), Poll::Ready(Ok(_))));
}

#[test]
fn cancelled_head_waiter_unblocks_smaller_ones() {
    let sem = Semaphore::new(1);
    let (_c, w) = CountWaker::new();
    let mut big = sem.acquire_many(3);
    let mut small = sem.acquire();
    assert!(poll_once(&mut big, &w).is_pending());
    assert!(poll_once(&mut small, &w).is_pending());
    drop(big);
    assert!(matches!(poll_once(&mut small, &w), Poll::Ready(Ok(_))));
}

#[test]
fn close_wakes_waiters_with_an_error() {
    let sem = Arc::new(Semaphore::new(0));
    let s2 = sem.clone();
    let t = std::thread::spawn(move || s2.acquire_blocking().map(|p| p.num_permits()));
    // Whether the thread is already queued or not, it must end with `Closed`.
    sem.close();
    assert_eq!(t.join().unwrap(), Err(AcquireError::Closed));
    assert_eq!(block_on(sem.acquire()).unwrap_err(), AcquireError::Closed);
}

#[test]
fn permits_are_given_back_by_owned_guards_on_other_threads() {
    let sem = Arc::new(Semaphore::new(3));
    let permits: Vec<_> = (0..3)
        .map(|_| block_on(sem.clone().acquire_owned(1)).unwrap())
        .collect();
    assert_eq!(sem.available_permits(), 0);
    std::thread::spawn(move || drop(permits)).join().unwrap();
    assert_eq!(sem.available_permits(), 3);
    sem.add_permits(2);
    assert_eq!(sem.available_permits(), 5);
}

#[test]
fn semaphore_bounds_concurrency_of_mixed_waiters() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let sem = Arc::new(Semaphore::new(3));
    let inside = Arc::new(AtomicUsize::new(0));
    let rt = util::tokio_rt();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (sem, inside) = (sem.clone(), inside.clone());
        tasks.push(rt.spawn(async move {
            for _ in 0..100 {
                let _p = sem.acquire().await.unwrap();
                assert!(inside.fetch_add(1, Ordering::SeqCst) < 3);
                tokio::task::yield_now().await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }
        }));
    }
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..100 {
                    let _p = sem.acquire_blocking().unwrap();
                    assert!(inside.fetch_add(1, Ordering::SeqCst) < 3);
                    std::thread::yield_now();
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
            });
        }
    });
    for t in tasks {
        rt.block_on(t).unwrap();
    }
    assert_eq!(sem.available_permits(), 3);
}
