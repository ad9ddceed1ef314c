//! The receiving half that [`broadcast`](super::broadcast) and [`watch`](super::watch) share.
//!
//! Both channels keep one state behind a mutex, with a count of live receivers and a list of
//! waiting receivers; each receiver adds only its own position (the next message, the version
//! seen). The rest of a receiver is a [`Subscriber`]: the shared state plus the key of its
//! in-flight wait, shared by the futures of that receiver (at most one at a time, as they
//! borrow the receiver mutably). The protocol:
//!
//! 1. Every receiver is counted in the state: the sender counts one it subscribes (before
//!    [`Subscriber::counted`]), [`Clone`] counts the clone, and `Drop` uncounts it (and leaves
//!    the wait list), so the sender sees when nobody listens any more.
//! 2. Waiting runs the channel's check under the lock: [`Subscriber::poll`] for a task (the
//!    waiter is registered, or its waker refreshed, when the check says "not yet"),
//!    [`Subscriber::block`] for a thread.
//! 3. A future dropped before completion calls [`Subscriber::cancel`], which leaves the wait
//!    list; nothing was consumed, so nothing is lost.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use crate::loom::{self, Mutex, MutexGuard};
use crate::wait::{block_until, cancel_wait, poll_until, NotifyAll};

/// A channel state with a receiver count and a wait list.
pub(super) trait Subscribed: NotifyAll {
    /// How many receivers are alive.
    fn receivers(&mut self) -> &mut usize;
}

/// The channel state and the in-flight wait of one receiver (see the module docs).
pub(super) struct Subscriber<S: Subscribed> {
    state: Arc<Mutex<S>>,
    key: Option<usize>,
}

impl<S: Subscribed> Subscriber<S> {
    /// The subscriber of a receiver the caller has already counted in `receivers`.
    pub(super) fn counted(state: Arc<Mutex<S>>) -> Self {
        Subscriber { state, key: None }
    }

    /// Locks the channel state.
    pub(super) fn lock(&self) -> MutexGuard<'_, S> {
        loom::lock(&self.state)
    }

    /// As a task: `Ready` with what `check` returns once it returns something; otherwise
    /// this receiver waits (step 2).
    pub(super) fn poll<R>(
        &mut self,
        cx: &mut Context<'_>,
        kind: crate::waiting::ChannelKind,
        check: impl FnOnce(&S) -> Option<R>,
    ) -> Poll<R> {
        let p = poll_until(&self.state, &mut self.key, cx, check);
        crate::waiting::channel(cx, &p, kind, crate::waiting::ChannelOp::Recv);
        p
    }

    /// As a thread: blocks until `check` returns something, or `None` once `deadline` passes.
    pub(super) fn block<R>(
        &self,
        deadline: Option<Instant>,
        check: impl FnMut(&S) -> Option<R>,
    ) -> Option<R> {
        block_until(&self.state, deadline, check)
    }

    /// Leaves the wait list, for a future dropped before completion (step 3).
    pub(super) fn cancel(&mut self) {
        cancel_wait(&self.state, &mut self.key);
    }
}

impl<S: Subscribed> Clone for Subscriber<S> {
    fn clone(&self) -> Self {
        *self.lock().receivers() += 1;
        Subscriber::counted(self.state.clone())
    }
}

impl<S: Subscribed> Drop for Subscriber<S> {
    fn drop(&mut self) {
        let mut s = loom::lock(&self.state);
        if let Some(k) = self.key.take() {
            s.waiters().remove(k);
        }
        *s.receivers() -= 1;
    }
}
