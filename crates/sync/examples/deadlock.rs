//! The tutorials' deadlock (two scientists, two locks, opposite orders) and its fix.
//!
//! Run: `cargo run -p c10k-sync --example deadlock --features deadlock-detection`
//! (without the feature the example shows the deadlock being avoided by a timeout instead).
//!
//! 1. Scientist 1 takes lock A then lock B; scientist 2 takes B then A. If each gets its first
//!    lock before the other's second, both wait forever.
//! 2. With `deadlock-detection`, the second scientist's `lock_blocking(A)` while holding B
//!    closes the cycle A → B → A in the lock-order graph and panics with both sites, even
//!    though in this run scientist 1 finished before scientist 2 started (no real deadlock).
//! 3. The fix from the tutorial: one re-entrant lock (`RLock`) guarding both resources, taken
//!    again in nested calls by the thread that holds it.

use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use c10k_sync::{Mutex, ReentrantMutex};

fn scientist(
    name: &str,
    first: &Mutex<u32>,
    second: &Mutex<u32>,
    first_name: &str,
    second_name: &str,
) {
    let mut g1 = first.lock_blocking();
    println!("{name}: took {first_name}");
    *g1 += 1;
    // Without detection: give up after a while instead of hanging forever.
    match second.lock_blocking_timeout(Duration::from_millis(200)) {
        Some(mut g2) => {
            *g2 += 1;
            println!("{name}: took {second_name}, ate the noodles");
        }
        None => println!("{name}: waited too long for {second_name}: this is the deadlock"),
    }
}

/// Runs the demo (public so that `tests/examples_run.rs` can run it in-process).
pub(crate) fn main() {
    let a = Arc::new(Mutex::new(0));
    let b = Arc::new(Mutex::new(0));

    println!("-- two locks, opposite orders --");
    let (a1, b1) = (a.clone(), b.clone());
    std::thread::Builder::new()
        .name("scientist-1".into())
        .spawn(move || scientist("scientist-1", &a1, &b1, "A", "B"))
        .expect("spawn")
        .join()
        .expect("scientist-1 keeps the order A, B");
    let (a2, b2) = (a.clone(), b.clone());
    // The report is printed below; keep the default hook from printing it a second time.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let second = std::thread::Builder::new()
        .name("scientist-2".into())
        .spawn(move || scientist("scientist-2", &b2, &a2, "B", "A"))
        .expect("spawn")
        .join();
    std::panic::set_hook(default_hook);
    match second {
        Ok(()) => println!("no deadlock this time (build with --features deadlock-detection to catch the inversion)"),
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "scientist-2 panicked".to_string());
            println!("caught before it could happen:\n{msg}");
        }
    }

    println!("-- the fix: one re-entrant lock --");
    let both = Arc::new(ReentrantMutex::new((Cell::new(0u32), Cell::new(0u32))));
    let threads: Vec<_> = (0..10)
        .map(|_| {
            let both = both.clone();
            std::thread::spawn(move || {
                let run1 = || {
                    let g = both.lock_blocking();
                    g.0.set(g.0.get() + 1);
                };
                let run2 = || {
                    let g = both.lock_blocking();
                    g.1.set(g.1.get() + 1);
                };
                let _outer = both.lock_blocking(); // run3 holds the lock ...
                run1(); // ... and its callees take it again
                run2();
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no deadlock with a re-entrant lock");
    }
    let g = both.lock_blocking();
    println!(
        "all threads done: num = {}, num2 = {}",
        g.0.get(),
        g.1.get()
    );
}
