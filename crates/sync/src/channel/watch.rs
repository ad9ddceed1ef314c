//! The latest value, with change notification (`tokio::sync::watch`).
//!
//! The sender replaces the value and bumps a version; each receiver remembers the version it
//! last saw. `changed` waits until the version moves past it. Intermediate values may be
//! skipped: a watch channel carries state, not a stream of events.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::error::{RecvError, RecvTimeoutError, SendError};
use super::subscriber::{Subscribed, Subscriber};
use crate::loom::{self, Mutex, MutexGuard};
use crate::wait::{NotifyAll, WaitList, WakeList};

struct State<T> {
    value: T,
    version: u64,
    sender_alive: bool,
    receivers: usize,
    waiters: WaitList<()>,
}

impl<T> NotifyAll for State<T> {
    fn waiters(&mut self) -> &mut WaitList<()> {
        &mut self.waiters
    }
}

impl<T> Subscribed for State<T> {
    fn receivers(&mut self) -> &mut usize {
        &mut self.receivers
    }
}

/// Creates a watch channel holding `initial`.
///
/// # Examples
///
/// ```
/// let (tx, mut rx) = c10k_sync::channel::watch::channel("red");
/// std::thread::spawn(move || tx.send("green").unwrap());
/// rx.changed_blocking().unwrap();
/// assert_eq!(*rx.borrow_and_update(), "green");
/// ```
pub fn channel<T>(initial: T) -> (Sender<T>, Receiver<T>) {
    let state = Arc::new(Mutex::new(State {
        value: initial,
        version: 0,
        sender_alive: true,
        receivers: 1,
        waiters: WaitList::new(),
    }));
    (
        Sender {
            state: state.clone(),
        },
        Receiver {
            sub: Subscriber::counted(state),
            seen: 0,
        },
    )
}

/// The single sending half.
pub struct Sender<T> {
    state: Arc<Mutex<State<T>>>,
}

/// A receiving half; clones remember the version their original had seen.
pub struct Receiver<T> {
    sub: Subscriber<State<T>>,
    /// The version of the value last seen.
    seen: u64,
}

/// A borrow of the current value. It holds the channel's internal lock: keep it short and
/// never hold it across an `.await` or a blocking call.
pub struct Ref<'a, T> {
    guard: MutexGuard<'a, State<T>>,
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.guard.value, f)
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver")
            .field("seen", &self.seen)
            .finish()
    }
}

impl<T> Sender<T> {
    /// Replaces the value and notifies the receivers.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if every receiver is gone (the value is not stored).
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if loom::lock(&self.state).receivers == 0 {
            return Err(SendError(value));
        }
        drop(self.send_replace(value));
        Ok(())
    }

    /// Replaces the value even with no receiver, returning the old one.
    pub fn send_replace(&self, value: T) -> T {
        let mut old = value;
        self.send_modify(|v| std::mem::swap(v, &mut old));
        old
    }

    /// Modifies the value in place and notifies the receivers.
    pub fn send_modify(&self, f: impl FnOnce(&mut T)) {
        let mut wakes = WakeList::new();
        {
            let mut s = loom::lock(&self.state);
            f(&mut s.value);
            s.version += 1;
            s.waiters.notify_all(&mut wakes);
        }
        wakes.wake_all();
    }

    /// The current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: loom::lock(&self.state),
        }
    }

    /// A new receiver that has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut s = loom::lock(&self.state);
        s.receivers += 1;
        Receiver {
            sub: Subscriber::counted(self.state.clone()),
            seen: s.version,
        }
    }

    /// Receivers now (a snapshot).
    pub fn receiver_count(&self) -> usize {
        loom::lock(&self.state).receivers
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut wakes = WakeList::new();
        {
            let mut s = loom::lock(&self.state);
            s.sender_alive = false;
            s.waiters.notify_all(&mut wakes);
        }
        wakes.wake_all();
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver {
            sub: self.sub.clone(),
            seen: self.seen,
        }
    }
}

impl<T> Receiver<T> {
    /// The current value, without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.sub.lock(),
        }
    }

    /// The current value, marking it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.sub.lock();
        self.seen = guard.version;
        Ref { guard }
    }

    /// Whether a value newer than the last seen one is there.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender is gone.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let s = self.sub.lock();
        if !s.sender_alive {
            return Err(RecvError);
        }
        Ok(s.version != self.seen)
    }

    /// Waits until a value newer than the last seen one is there, and marks it seen.
    ///
    /// Cancellation safety: nothing is consumed until completion.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender is gone (and no unseen value is left).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = c10k_sync::channel::watch::channel(0);
    /// std::thread::spawn(move || {
    ///     tx.send(1).unwrap();
    /// });
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(rx.changed()).unwrap();
    /// assert_eq!(*rx.borrow_and_update(), 1);
    /// ```
    pub fn changed(&mut self) -> Changed<'_, T> {
        Changed { rx: self }
    }

    /// Blocks the thread until a newer value is there, and marks it seen.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender is gone.
    pub fn changed_blocking(&mut self) -> Result<(), RecvError> {
        self.blocking(None).map_err(|_| RecvError)
    }

    /// Blocks for at most `timeout` for a newer value.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] or [`RecvTimeoutError::Disconnected`].
    pub fn changed_blocking_timeout(&mut self, timeout: Duration) -> Result<(), RecvTimeoutError> {
        self.blocking(Some(Instant::now() + timeout))
    }

    fn blocking(&mut self, deadline: Option<Instant>) -> Result<(), RecvTimeoutError> {
        let seen = &mut self.seen;
        match self.sub.block(deadline, |s| check(seen, s)) {
            Some(r) => r.map_err(|_| RecvTimeoutError::Disconnected),
            None => Err(RecvTimeoutError::Timeout),
        }
    }
}

/// Marks a version newer than `*seen` seen (`Some(Ok)`), or says the sender is gone
/// (`Some(Err)`), or that nothing changed yet (`None`).
fn check<T>(seen: &mut u64, s: &State<T>) -> Option<Result<(), RecvError>> {
    if s.version != *seen {
        *seen = s.version;
        Some(Ok(()))
    } else if !s.sender_alive {
        Some(Err(RecvError))
    } else {
        None
    }
}

/// Future of [`Receiver::changed`].
#[must_use = "futures do nothing unless polled"]
pub struct Changed<'a, T> {
    rx: &'a mut Receiver<T>,
}

impl<T> fmt::Debug for Changed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Changed").finish_non_exhaustive()
    }
}

impl<T> Future for Changed<'_, T> {
    type Output = Result<(), RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Receiver { sub, seen } = &mut *self.get_mut().rx;
        sub.poll(cx, crate::waiting::ChannelKind::Watch, |s| check(seen, s))
    }
}

impl<T> Drop for Changed<'_, T> {
    fn drop(&mut self) {
        self.rx.sub.cancel();
    }
}
