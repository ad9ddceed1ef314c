//! Which workers sleep, and how many search for work.
//!
//! Waking a worker costs a system call on each side, so the scheduler wakes one only when
//! nobody is already looking: a worker that makes work available calls `worker_to_notify`,
//! which picks a sleeper only if no worker is *searching* (stealing). A woken worker starts
//! searching; when a searcher finds work and it was the last searcher, it wakes one more if
//! more work waits to be stolen. At most half of the workers search at once. This keeps the
//! number of wakes close to the number that are useful, instead of waking everybody for
//! each task (the thundering herd).

use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Mutex;

/// `num_unparked << UNPARK_SHIFT | num_searching`.
const UNPARK_SHIFT: usize = 16;
const SEARCH_MASK: usize = (1 << UNPARK_SHIFT) - 1;

pub(crate) struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    num_workers: usize,
}

fn searching(s: usize) -> usize {
    s & SEARCH_MASK
}

fn unparked(s: usize) -> usize {
    s >> UNPARK_SHIFT
}

impl Idle {
    pub(crate) fn new(num_workers: usize) -> Idle {
        Idle {
            state: AtomicUsize::new(num_workers << UNPARK_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
            num_workers,
        }
    }

    fn should_notify(&self) -> bool {
        // A read-modify-write, not a load: it orders the caller's earlier push (a plain
        // `Release` store of a queue index) before this read, so that either we see the
        // searcher that is about to park, or that searcher sees our task (it re-checks every
        // queue after its own read-modify-write in `transition_worker_to_parked`).
        let s = self.state.fetch_add(0, SeqCst);
        searching(s) == 0 && unparked(s) < self.num_workers
    }

    /// A worker to wake for newly available work, if waking one is useful. The returned
    /// worker is counted as unparked and searching.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        if !self.should_notify() {
            return None;
        }
        let mut sleepers = crate::loom::lock(&self.sleepers);
        if !self.should_notify() {
            return None;
        }
        let w = sleepers.pop()?;
        self.state.fetch_add((1 << UNPARK_SHIFT) | 1, SeqCst);
        Some(w)
    }

    /// A worker goes to sleep. Returns true if it was the last searcher (it must then check
    /// every queue once more, so that work pushed while it searched is not left behind).
    pub(crate) fn transition_worker_to_parked(&self, worker: usize, is_searching: bool) -> bool {
        let mut sleepers = crate::loom::lock(&self.sleepers);
        let dec = (1 << UNPARK_SHIFT) | is_searching as usize;
        let prev = self.state.fetch_sub(dec, SeqCst);
        sleepers.push(worker);
        is_searching && searching(prev) == 1
    }

    /// A worker without local work wants to steal. Refused when half the workers already
    /// search.
    pub(crate) fn transition_worker_to_searching(&self) -> bool {
        let s = self.state.load(SeqCst);
        if 2 * searching(s) >= self.num_workers {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// A searcher found work. Returns true if it was the last searcher.
    pub(crate) fn transition_worker_from_searching(&self) -> bool {
        searching(self.state.fetch_sub(1, SeqCst)) == 1
    }

    /// A worker woke up by itself (IO, timer) while still listed as sleeping: unlist it.
    /// Returns false if a notifier already took it off the list (it is then searching).
    pub(crate) fn unpark_self(&self, worker: usize) -> bool {
        let mut sleepers = crate::loom::lock(&self.sleepers);
        match sleepers.iter().position(|&w| w == worker) {
            Some(i) => {
                sleepers.swap_remove(i);
                self.state.fetch_add(1 << UNPARK_SHIFT, SeqCst);
                true
            }
            None => false,
        }
    }

    /// Whether `worker` is still listed as sleeping (nobody notified it).
    pub(crate) fn is_parked(&self, worker: usize) -> bool {
        crate::loom::lock(&self.sleepers).contains(&worker)
    }

    /// Wakes every sleeper (shutdown). Returns them.
    pub(crate) fn take_all(&self) -> Vec<usize> {
        let mut sleepers = crate::loom::lock(&self.sleepers);
        let all = std::mem::take(&mut *sleepers);
        self.state.fetch_add(all.len() << UNPARK_SHIFT, SeqCst);
        all
    }
}

impl std::fmt::Debug for Idle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.load(SeqCst);
        f.debug_struct("Idle")
            .field("searching", &searching(s))
            .field("unparked", &unparked(s))
            .finish()
    }
}
