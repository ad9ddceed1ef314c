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

fn current_thread_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[test]
fn inversion_between_tracked_tasks_names_the_tasks() {
    use c10k_sync::deadlock::track;
    let (a, b) = (Mutex::new(0), Mutex::new(0));
    let rt = current_thread_rt();
    rt.block_on(track("cook", async {
        let _ga = a.lock().await;
        let _gb = b.lock().await;
    }));
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(track("customer", async {
            let _gb = b.lock().await;
            let _ga = a.lock().await;
        }))
    }))
    .expect_err("the inversion between tasks must be reported");
    let msg = panic_message(err);
    assert!(
        msg.contains("task 'customer'") && msg.contains("task 'cook'"),
        "{msg}"
    );
}

#[test]
fn tracked_tasks_sharing_a_thread_do_not_invent_edges() {
    use c10k_sync::deadlock::track;
    let (a, b) = (Arc::new(Mutex::new(())), Arc::new(Mutex::new(())));
    let rt = current_thread_rt();
    rt.block_on(async {
        let (a1, b2) = (a.clone(), b.clone());
        let holder = track("holder", async move {
            let _ga = a1.lock().await;
            tokio::task::yield_now().await; // the other task runs while A is held
        });
        let other = track("other", async move {
            let _gb = b2.lock().await; // does not hold A: no edge A -> B
        });
        futures_util::future::join(holder, other).await;
    });
    // B then A on a thread is therefore no inversion.
    let _gb = b.lock_blocking();
    let _ga = a.lock_blocking();
}
