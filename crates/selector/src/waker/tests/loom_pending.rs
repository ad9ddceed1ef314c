//! Model of the wake protocol: wakers on other threads, one selector.
//!
//! The notifier (an `eventfd`) is modelled by a `SeqCst` boolean: writing
//! it sets it, draining clears it; the real system calls are at least that
//! strongly ordered.

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

use super::Pending;

struct Model {
    pending: Pending,
    notifier: AtomicBool,
    wakes: AtomicUsize,
    reported: AtomicUsize,
}

impl Model {
    fn new() -> Arc<Model> {
        Arc::new(Model {
            pending: Pending::new(),
            notifier: AtomicBool::new(false),
            wakes: AtomicUsize::new(0),
            reported: AtomicUsize::new(0),
        })
    }

    /// `Waker::wake`.
    fn wake(&self) {
        self.wakes.fetch_add(1, SeqCst);
        if self.pending.set() {
            self.notifier.store(true, SeqCst);
        }
    }

    /// One `select` that finds the notifier readable: drain, then take.
    fn select(&self) {
        if self.notifier.load(SeqCst) {
            self.notifier.store(false, SeqCst);
            if self.pending.take() {
                self.reported.fetch_add(1, SeqCst);
            }
        }
    }

    /// After all wakers returned: nothing lost, nothing invented.
    fn check(&self) {
        // A wake not yet reported is visible to the next select.
        if self.pending.is_set() {
            assert!(
                self.notifier.load(SeqCst),
                "lost wake: flag set, notifier drained"
            );
        }
        let reported = self.reported.load(SeqCst);
        assert!(reported <= self.wakes.load(SeqCst), "invented wake");
        // Every wake is reported by now or by the next select.
        assert!(
            reported >= 1 || self.pending.is_set(),
            "lost the only wakes"
        );
    }
}

#[test]
fn loom_one_waker_races_select() {
    loom::model(|| {
        let m = Model::new();
        let w = {
            let m = Arc::clone(&m);
            thread::spawn(move || m.wake())
        };
        m.select();
        m.select();
        w.join().unwrap();
        m.check();
    });
}

#[test]
fn loom_two_wakers_race_select() {
    loom::model(|| {
        let m = Model::new();
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let m = Arc::clone(&m);
                thread::spawn(move || m.wake())
            })
            .collect();
        m.select();
        for t in threads {
            t.join().unwrap();
        }
        m.check();
        // The next select (the notifier is readable if anything is pending)
        // reports whatever is left, exactly once.
        m.select();
        assert!(!m.pending.is_set());
        assert!(m.reported.load(SeqCst) >= 1);
    });
}
