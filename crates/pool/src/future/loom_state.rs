//! Loom models of the future's state machine (`state.rs`): completion against cancel,
//! callback registration, blocking waiters, wakers and groups.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom LOOM_MAX_PREEMPTIONS=2 \
//!     cargo test --release -p c10k-pool --lib loom
//! ```

use std::sync::Arc;
use std::task::{Wake, Waker};

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::thread;

use super::state::{Group, Inner};
use crate::error::PoolError;

/// What the callbacks saw: 0 = not run, 1 = Ok(7), 2 = Cancelled; `runs` counts calls.
struct Seen {
    runs: AtomicUsize,
    what: AtomicUsize,
}

fn recording(seen: &Arc<Seen>) -> super::state::Callback<u32> {
    let seen = seen.clone();
    Box::new(move |r: Result<&u32, &PoolError>| {
        seen.runs.fetch_add(1, Ordering::SeqCst);
        let what = match r {
            Ok(7) => 1,
            Err(PoolError::Cancelled) => 2,
            _ => 3,
        };
        seen.what.store(what, Ordering::SeqCst);
    })
}

/// A worker runs the task while another thread cancels and the owner adds a callback: the
/// callback runs exactly once, and sees the outcome of whichever of run and cancel won.
#[test]
fn loom_complete_vs_cancel_vs_callback() {
    loom::model(|| {
        let inner = Arc::new(Inner::<u32>::new());
        let seen = Arc::new(Seen {
            runs: AtomicUsize::new(0),
            what: AtomicUsize::new(0),
        });
        let worker = {
            let inner = inner.clone();
            thread::spawn(move || {
                if inner.set_running() {
                    assert!(inner.complete(Ok(7)));
                    true
                } else {
                    false
                }
            })
        };
        let canceller = {
            let inner = inner.clone();
            thread::spawn(move || inner.cancel())
        };
        inner.add_callback(recording(&seen));
        let ran = worker.join().unwrap();
        let cancelled = canceller.join().unwrap();
        assert!(ran != cancelled, "exactly one of run and cancel wins");
        assert!(inner.is_done());
        assert_eq!(seen.runs.load(Ordering::SeqCst), 1);
        assert_eq!(seen.what.load(Ordering::SeqCst), if ran { 1 } else { 2 });
        assert_eq!(inner.is_cancelled(), cancelled);
        // SAFETY: the model is the only owner now; no reader is alive.
        let outcome = unsafe { inner.take() };
        assert_eq!(
            outcome,
            Some(if ran {
                Ok(7)
            } else {
                Err(PoolError::Cancelled)
            })
        );
    });
}

/// Two registrants add callbacks while the task completes: each runs exactly once.
#[test]
fn loom_callbacks_from_two_threads_vs_complete() {
    loom::model(|| {
        let inner = Arc::new(Inner::<u32>::new());
        let seen = Arc::new(Seen {
            runs: AtomicUsize::new(0),
            what: AtomicUsize::new(0),
        });
        let completer = {
            let inner = inner.clone();
            thread::spawn(move || {
                assert!(inner.complete(Ok(7)));
            })
        };
        let adder = {
            let inner = inner.clone();
            let cb = recording(&seen);
            thread::spawn(move || inner.add_callback(cb))
        };
        inner.add_callback(recording(&seen));
        completer.join().unwrap();
        adder.join().unwrap();
        assert_eq!(seen.runs.load(Ordering::SeqCst), 2);
        assert_eq!(seen.what.load(Ordering::SeqCst), 1);
    });
}

/// A thread blocks in `wait_blocking` while the task completes: it always wakes (loom
/// reports a deadlock otherwise) and then finds the value.
#[test]
fn loom_blocking_wait_vs_complete() {
    loom::model(|| {
        let inner = Arc::new(Inner::<u32>::new());
        let completer = {
            let inner = inner.clone();
            thread::spawn(move || {
                inner.set_running();
                inner.complete(Ok(7));
            })
        };
        assert!(inner.wait_blocking(None));
        assert_eq!(inner.outcome(), Some(Ok(&7)));
        completer.join().unwrap();
    });
}

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A task's waker registered while the task completes: either registration reports done,
/// or the waker is woken. Never neither (a task that would sleep forever).
#[test]
fn loom_waker_vs_complete() {
    loom::model(|| {
        let inner = Arc::new(Inner::<u32>::new());
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let completer = {
            let inner = inner.clone();
            thread::spawn(move || {
                inner.complete(Ok(7));
            })
        };
        let registered = inner.register_waker(None, &waker).is_some();
        completer.join().unwrap();
        if registered {
            assert!(flag.0.load(Ordering::SeqCst), "registered but never woken");
        }
        assert!(inner.is_done());
    });
}

/// Two futures of one group complete on two threads while the watcher waits: it gets both
/// indices, each once.
#[test]
fn loom_group_vs_two_completions() {
    loom::model(|| {
        let group = Arc::new(Group::new());
        let a = Arc::new(Inner::<u32>::new());
        let b = Arc::new(Inner::<u32>::new());
        for (i, f) in [&a, &b].into_iter().enumerate() {
            if f.register(None, super::Waiter::Group(group.clone(), i))
                .is_err()
            {
                group.push_ready(i);
            }
        }
        let ta = {
            let a = a.clone();
            thread::spawn(move || {
                a.complete(Ok(1));
            })
        };
        let tb = {
            let b = b.clone();
            thread::spawn(move || {
                b.complete(Ok(2));
            })
        };
        let first = group.next_blocking(None).unwrap();
        let second = group.next_blocking(None).unwrap();
        assert_eq!(first + second, 1);
        assert_ne!(first, second);
        ta.join().unwrap();
        tb.join().unwrap();
    });
}
