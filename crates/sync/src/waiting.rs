//! What a task waiting on this crate's primitives waits on, for task dumps.
//!
//! The crate stays runtime-agnostic: it records through `c10k_wait`, which any executor
//! may honour (c10k's runtime does: its `Handle::dump` shows, per task, the primitive it
//! waits on and a lock's holder) and which costs a load and a compare of the waker's
//! vtable under an executor that does not (tokio, plain threads). Each future of the crate
//! calls [`sync`] or [`channel`] when it is about to return `Pending`; locks also remember
//! the task that took them last ([`Holder`]) so that a waiter can name it. An mpsc sender
//! shares mpmc's send future and shows as `mpmc`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

pub(crate) use c10k_wait::{ChannelKind, ChannelOp, SyncKind};

/// Records a wait on a primitive if `p` is `Pending`.
#[inline]
pub(crate) fn sync<T>(cx: &Context<'_>, p: &Poll<T>, kind: SyncKind, holder: Option<&Holder>) {
    if p.is_pending() {
        c10k_wait::record(
            cx,
            c10k_wait::Reason::Sync {
                kind,
                holder: holder.and_then(Holder::get),
            },
        );
    }
}

/// Records a wait on a channel if `p` is `Pending`.
#[inline]
pub(crate) fn channel<T>(cx: &Context<'_>, p: &Poll<T>, kind: ChannelKind, op: ChannelOp) {
    if p.is_pending() {
        c10k_wait::record(cx, c10k_wait::Reason::Channel { kind, op });
    }
}

/// The task that acquired a lock last, exclusively (0: a thread, a `try_` or shared
/// acquisition, or nobody yet). Written on every acquisition, read by waiters when they
/// queue; never cleared on release, since a waiter only reads it while the lock is held.
#[derive(Debug, Default)]
pub(crate) struct Holder(AtomicU64);

impl Holder {
    pub(crate) const fn new() -> Holder {
        Holder(AtomicU64::new(0))
    }

    /// The lock was just taken by a thread, or without waiting (no task to name).
    #[inline]
    pub(crate) fn acquired(&self) {
        self.0.store(0, Ordering::Relaxed);
    }

    /// The lock was just taken, exclusively or not, by the task `waker` wakes.
    #[inline]
    pub(crate) fn acquired_by(&self, waker: &Waker, exclusive: bool) {
        let id = if exclusive {
            c10k_wait::task_of(waker).unwrap_or(0)
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
