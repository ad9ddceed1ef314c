//! What a task waiting on this crate's primitives waits on, for task dumps.
//!
//! The crate stays runtime-agnostic: it records through `c10k_wait`, which any executor
//! may honour (c10k's runtime does: its `Handle::dump` shows, per task, the primitive it
//! waits on and a lock's holder) and which costs a thread-local read and an untaken branch
//! under an executor that does not (tokio, plain threads). Each future of the crate calls
//! [`sync`] or [`channel`] when it is about to return `Pending`; locks also remember the
//! task that took them last ([`Holder`]) so that a waiter can name it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;

pub(crate) use c10k_wait::{ChannelKind, ChannelOp, SyncKind};

/// Records a wait on a primitive if `p` is `Pending`.
#[inline]
pub(crate) fn sync<T>(p: &Poll<T>, kind: SyncKind, holder: Option<&Holder>) {
    if p.is_pending() {
        c10k_wait::record(c10k_wait::Reason::Sync {
            kind,
            holder: holder.and_then(Holder::get),
        });
    }
}

/// Records a wait on a channel if `p` is `Pending`.
#[inline]
pub(crate) fn channel<T>(p: &Poll<T>, kind: ChannelKind, op: ChannelOp) {
    if p.is_pending() {
        c10k_wait::record(c10k_wait::Reason::Channel { kind, op });
    }
}

/// The task that acquired a lock last, exclusively (0: a thread, a shared acquisition, or
/// nobody yet). Written on every acquisition, read by waiters when they queue; never
/// cleared on release, since a waiter only reads it while the lock is held.
#[derive(Debug, Default)]
pub(crate) struct Holder(AtomicU64);

impl Holder {
    pub(crate) const fn new() -> Holder {
        Holder(AtomicU64::new(0))
    }

    /// The lock was just taken, exclusively or not, by the caller.
    #[inline]
    pub(crate) fn acquired(&self, exclusive: bool) {
        let id = if exclusive {
            c10k_wait::current_task().unwrap_or(0)
        } else {
            0
        };
        self.0.store(id, Ordering::Relaxed);
    }

    fn get(&self) -> Option<u64> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            id => Some(id),
        }
    }
}
