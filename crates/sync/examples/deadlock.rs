//! The tutorials' deadlock (two scientists, two locks, opposite orders) and its fix.
//!
//! Run: `cargo run -p c10k-sync --example deadlock` (the deadlock happens and a timeout
//! detects it), then `cargo run -p c10k-sync --example deadlock --features deadlock-detection`
//! (the lock-order inversion is reported instead).
//!
//! 1. Scientist 1 takes lock A then lock B; scientist 2 takes B then A. A barrier makes sure
//!    each holds its first lock before either asks for its second: the real deadlock. Each
//!    waits at most 200 ms (`lock_blocking_timeout`), which is how the demo tells that it
//!    hung: the one whose wait runs out first gives up and releases its lock, and only then
//!    can the other go on. Without the timeout both would wait forever.
//! 2. With `deadlock-detection`, the second scientist's request closes the cycle A → B → A in
//!    the lock-order graph, and that request panics with both acquisition sites instead of
//!    waiting; its lock is released as the panic unwinds, and the first scientist goes on.
//! 3. The fix from the tutorial: one re-entrant lock (`RLock`) guarding both resources, taken
//!    again in nested calls by the thread that holds it.

use std::cell::Cell;
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::Duration;

use c10k_sync::{Mutex, ReentrantMutex};

/// What happened to one scientist.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Got both locks and ate.
    Ate,
    /// Waited 200 ms for the second lock: the deadlock, detected by a timeout.
    TimedOut,
    /// Asked for the second lock and was told (a panic) that it closes a cycle.
    Reported(String),
}

fn scientist(
    name: &'static str,
    locks: (Arc<Mutex<u32>>, Arc<Mutex<u32>>),
    names: (&'static str, &'static str),
    both_hold_one: Arc<Barrier>,
) -> JoinHandle<Outcome> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let (first, second) = locks;
            let mut g1 = first.lock_blocking();
            println!("{name}: took {}", names.0);
            *g1 += 1;
            both_hold_one.wait();
            let outcome = match second.lock_blocking_timeout(Duration::from_millis(200)) {
                Some(mut g2) => {
                    *g2 += 1;
                    println!("{name}: took {}, ate the noodles", names.1);
                    Outcome::Ate
                }
                None => {
                    println!(
                        "{name}: waited 200 ms for {} while holding {}: deadlock; giving up",
                        names.1, names.0
                    );
                    Outcome::TimedOut
                }
            };
            outcome
        })
        .expect("spawn")
}

/// Runs the demo (public so that `tests/examples_run.rs` can run it in-process) and returns
/// what happened to the two scientists.
pub(crate) fn demo() -> [Outcome; 2] {
    let a = Arc::new(Mutex::new(0));
    let b = Arc::new(Mutex::new(0));

    println!("-- two locks, opposite orders, both taken at once --");
    let barrier = Arc::new(Barrier::new(2));
    // A report is printed below; keep the default hook from printing it a second time.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let one = scientist(
        "scientist-1",
        (a.clone(), b.clone()),
        ("A", "B"),
        barrier.clone(),
    );
    let two = scientist("scientist-2", (b.clone(), a.clone()), ("B", "A"), barrier);
    let outcomes = [one.join(), two.join()].map(|joined| {
        joined.unwrap_or_else(|e| {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "a scientist panicked".to_string());
            println!("reported instead of waiting:\n{msg}");
            Outcome::Reported(msg)
        })
    });
    std::panic::set_hook(default_hook);
    if outcomes.contains(&Outcome::TimedOut) {
        println!(
            "the deadlock happened; the timeout detected it \
             (build with --features deadlock-detection to have it reported)"
        );
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
    outcomes
}

#[allow(dead_code)] // the test calls `demo`
pub(crate) fn main() {
    demo();
}
