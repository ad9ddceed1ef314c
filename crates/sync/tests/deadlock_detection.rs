//! Lock-order inversion detection (feature `deadlock-detection`).
//!
//! Run with `cargo test -p c10k-sync --features deadlock-detection`.
#![cfg(feature = "deadlock-detection")]

use std::sync::Arc;

use c10k_sync::{Mutex, ReentrantMutex, RwLock};

fn panic_message(e: Box<dyn std::any::Any + Send>) -> String {
    match e.downcast::<String>() {
        Ok(s) => *s,
        Err(e) => e
            .downcast::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    }
}

#[test]
fn inversion_is_caught_even_when_no_deadlock_happens() {
    let a = Arc::new(Mutex::new(0));
    let b = Arc::new(Mutex::new(0));
    // Thread 1 runs alone to completion: A then B. No deadlock can happen in this run.
    let (a1, b1) = (a.clone(), b.clone());
    std::thread::Builder::new()
        .name("scientist-1".into())
        .spawn(move || {
            let _ga = a1.lock_blocking();
            let _gb = b1.lock_blocking();
        })
        .unwrap()
        .join()
        .unwrap();
    // Thread 2: B then A. The order is inverted: reported at once, before blocking.
    let (a2, b2) = (a.clone(), b.clone());
    let err = std::thread::Builder::new()
        .name("scientist-2".into())
        .spawn(move || {
            let _gb = b2.lock_blocking();
            let _ga = a2.lock_blocking();
        })
        .unwrap()
        .join()
        .expect_err("the inversion must be reported");
    let msg = panic_message(err);
    assert!(msg.contains("lock-order inversion"), "{msg}");
    assert!(
        msg.contains("scientist-1") && msg.contains("scientist-2"),
        "{msg}"
    );
    assert!(
        msg.contains("deadlock_detection.rs"),
        "acquisition sites are named: {msg}"
    );
}

#[test]
fn consistent_order_is_accepted() {
    let a = Mutex::new(0);
    let b = RwLock::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    let _ga = a.lock_blocking();
                    let _gb = b.write_blocking();
                }
            });
        }
    });
}

#[test]
fn relocking_a_mutex_on_the_same_thread_is_reported() {
    let m = Arc::new(Mutex::new(()));
    let m2 = m.clone();
    let err = std::thread::spawn(move || {
        let _g1 = m2.lock_blocking();
        let _g2 = m2.lock_blocking();
    })
    .join()
    .expect_err("self-deadlock must be reported");
    let msg = panic_message(err);
    assert!(
        msg.contains("already holds it") && msg.contains("ReentrantMutex"),
        "{msg}"
    );
    // The panic unlocked the mutex on unwinding.
    assert!(m.try_lock().is_ok());
}

#[test]
fn reentrant_mutex_reentry_is_not_a_cycle() {
    let r = ReentrantMutex::new(());
    let m = Mutex::new(());
    let _g1 = r.lock_blocking();
    let _gm = m.lock_blocking();
    let _g2 = r.lock_blocking();
}

#[test]
fn three_lock_cycle_is_caught() {
    let locks: Arc<Vec<Mutex<()>>> = Arc::new((0..3).map(|_| Mutex::new(())).collect());
    for (x, y) in [(0, 1), (1, 2)] {
        let l = locks.clone();
        std::thread::spawn(move || {
            let _gx = l[x].lock_blocking();
            let _gy = l[y].lock_blocking();
        })
        .join()
        .unwrap();
    }
    let l = locks.clone();
    let err = std::thread::spawn(move || {
        let _g2 = l[2].lock_blocking();
        let _g0 = l[0].lock_blocking();
    })
    .join()
    .expect_err("2 -> 0 closes 0 -> 1 -> 2");
    assert!(panic_message(err).contains("lock-order inversion"));
}
