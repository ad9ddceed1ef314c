//! [`Pending`]: the per-waker flag that makes wakes coalesce without loss.
//!
//! Separated from the descriptor it guards so that loom can check the
//! protocol (steps numbered as in the [module docs](super)):
//!
//! 1. `wake`: [`Pending::set`]; if it returns `true`, write the notifier.
//! 2. `select`, having seen the notifier readable: drain the notifier, *then*
//!    [`Pending::take`] each flag and report those that were set.
//!
//! Invariant, checked by the model: once every `wake` has returned, a flag
//! that is still set implies a readable notifier, so the next `select`
//! reports it (no lost wake); and each `take` that reports consumed at least
//! one `wake` (no invented wake).

use crate::loom::{AtomicBool, Ordering};

/// Whether a wake happened that no `select` has reported yet.
#[derive(Debug)]
pub(crate) struct Pending(AtomicBool);

impl Pending {
    pub(crate) fn new() -> Pending {
        Pending(AtomicBool::new(false))
    }

    /// Step 1. Returns whether the caller must write the notifier: only the
    /// wake that finds the flag clear does, so a burst costs one write.
    ///
    /// `AcqRel`: the notifier write follows the flag in program order, and
    /// the `select` whose `take` sees the flag also sees what the waking
    /// thread did before waking.
    pub(crate) fn set(&self) -> bool {
        !self.0.swap(true, Ordering::AcqRel)
    }

    /// Step 2, after draining the notifier. Returns whether a wake is to be
    /// reported, and clears the flag.
    pub(crate) fn take(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }

    /// Whether a wake is waiting (without consuming it).
    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

#[cfg(all(test, loom))]
#[path = "tests/loom_pending.rs"]
mod loom_pending;
