//! Model of the coalescing protocol: a thread publishes work and wakes,
//! while the owner handles the completion of the previous wake.
//!
//! The eventfd is modelled by a `SeqCst` counter (writing adds, the ring's
//! read takes it all); the work by a `Relaxed` flag, so that only the
//! protocol's own orderings can make it visible to the owner.

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

use super::super::Pending;

struct Model {
    pending: Pending,
    eventfd: AtomicUsize,
    work: AtomicBool,
}

/// `Waker::wake` after publishing work.
fn wake(m: &Model) {
    m.work.store(true, Relaxed);
    if m.pending.set() {
        m.eventfd.fetch_add(1, SeqCst);
    }
}

/// The owner: the eventfd read completes (taking the counter), `reap`
/// clears the flag, then the caller looks at its queue.
fn owner_turn(m: &Model) -> bool {
    m.eventfd.swap(0, SeqCst);
    m.pending.clear();
    m.work.load(Relaxed)
}

/// Whatever the interleaving, the owner either saw the work in this turn
/// or an eventfd write is there to end its next wait.
fn check(m: &Model, saw_work: bool) {
    assert!(
        saw_work || m.eventfd.load(SeqCst) > 0,
        "lost wake: work published, flag swallowed it, no eventfd write"
    );
}

#[test]
fn loom_wake_while_owner_reaps_previous_wake() {
    loom::model(|| {
        // A previous wake is in flight: flag set, eventfd written.
        let m = Arc::new(Model {
            pending: Pending::new(),
            eventfd: AtomicUsize::new(0),
            work: AtomicBool::new(false),
        });
        assert!(m.pending.set());
        m.eventfd.fetch_add(1, SeqCst);

        let waker = {
            let m = Arc::clone(&m);
            thread::spawn(move || wake(&m))
        };
        let saw_work = owner_turn(&m);
        waker.join().unwrap();
        check(&m, saw_work);
    });
}

#[test]
fn loom_two_wakers_one_write_enough() {
    loom::model(|| {
        let m = Arc::new(Model {
            pending: Pending::new(),
            eventfd: AtomicUsize::new(0),
            work: AtomicBool::new(false),
        });
        let wakers: Vec<_> = (0..2)
            .map(|_| {
                let m = Arc::clone(&m);
                thread::spawn(move || wake(&m))
            })
            .collect();
        for w in wakers {
            w.join().unwrap();
        }
        // Coalesced: both wakes, one write.
        assert_eq!(m.eventfd.load(SeqCst), 1);
        let saw_work = owner_turn(&m);
        check(&m, saw_work);
        assert!(saw_work);
    });
}
