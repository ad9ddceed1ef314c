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
use crate::loom::{self, Mutex, MutexGuard};
use crate::wait::{block_until, cancel_wait, poll_until, NotifyAll, WaitList, WakeList};

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

struct Shared<T> {
    state: Mutex<State<T>>,
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
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            value: initial,
            version: 0,
            sender_alive: true,
            receivers: 1,
            waiters: WaitList::new(),
        }),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            seen: 0,
            key: None,
        },
    )
}

/// The single sending half.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A receiving half; clones remember the version their original had seen.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    seen: u64,
    key: Option<usize>,
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
        if loom::lock(&self.shared.state).receivers == 0 {
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
            let mut s = loom::lock(&self.shared.state);
            f(&mut s.value);
            s.version += 1;
            s.waiters.notify_all(&mut wakes);
        }
        wakes.wake_all();
    }

    /// The current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: loom::lock(&self.shared.state),
        }
    }

    /// A new receiver that has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut s = loom::lock(&self.shared.state);
        s.receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            seen: s.version,
            key: None,
        }
    }

    /// Receivers now (a snapshot).
    pub fn receiver_count(&self) -> usize {
        loom::lock(&self.shared.state).receivers
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut wakes = WakeList::new();
        {
            let mut s = loom::lock(&self.shared.state);
            s.sender_alive = false;
            s.waiters.notify_all(&mut wakes);
        }
        wakes.wake_all();
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        loom::lock(&self.shared.state).receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
            key: None,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut s = loom::lock(&self.shared.state);
        if let Some(k) = self.key.take() {
            s.waiters.remove(k);
        }
        s.receivers -= 1;
    }
}

impl<T> Receiver<T> {
    /// The current value, without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: loom::lock(&self.shared.state),
        }
    }

    /// The current value, marking it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = loom::lock(&self.shared.state);
        self.seen = guard.version;
        Ref { guard }
    }

    /// Whether a value newer than the last seen one is there.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender is gone.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let s = loom::lock(&self.shared.state);
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

    fn check(&mut self, s: &State<T>) -> Option<Result<(), RecvError>> {
        if s.version != self.seen {
            self.seen = s.version;
            Some(Ok(()))
        } else if !s.sender_alive {
            Some(Err(RecvError))
        } else {
            None
        }
    }

    fn blocking(&mut self, deadline: Option<Instant>) -> Result<(), RecvTimeoutError> {
        let shared = self.shared.clone();
        match block_until(&shared.state, deadline, |s| self.check(s)) {
            Some(r) => r.map_err(|_| RecvTimeoutError::Disconnected),
            None => Err(RecvTimeoutError::Timeout),
        }
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
        let rx = &mut *self.get_mut().rx;
        let shared = rx.shared.clone();
        let mut key = rx.key.take();
        let r = poll_until(&shared.state, &mut key, cx, |s| rx.check(s));
        rx.key = key;
        r
    }
}

impl<T> Drop for Changed<'_, T> {
    fn drop(&mut self) {
        cancel_wait(&self.rx.shared.state, &mut self.rx.key);
    }
}
