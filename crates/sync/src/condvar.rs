//! A condition variable for [`Mutex`](crate::Mutex) (Python's `Condition`), async and blocking.
//!
//! # Protocol (why no notification is lost)
//!
//! 1. `wait(guard)` queues the waiter on the condvar **before** it unlocks the mutex, so a
//!    `notify_*` made by anyone who locks the mutex after that point finds the waiter queued.
//! 2. A notification is handed to the oldest waiter (`notify_one`) or to all (`notify_all`).
//! 3. The woken waiter re-locks the mutex (FIFO among the mutex's waiters) and returns its guard.
//! 4. A future dropped after it was handed a `notify_one` passes it to the next waiter, so a
//!    cancelled consumer cannot swallow the only wake-up meant for the others.
//!
//! There are no spurious wake-ups from this implementation, but another waiter may have
//! changed the state before you re-lock: loop on your condition, or use `wait_while`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::loom::{self, Mutex};
use crate::mutex::{Lock, MutexGuard};
use crate::wait::{park_while_queued, WaitList, WakeList, Wakeup};

/// A condition variable working with [`MutexGuard`].
///
/// # Examples
///
/// ```
/// use c10k_sync::{Condvar, Mutex};
///
/// let ready = Mutex::new(false);
/// let cv = Condvar::new();
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         *ready.lock_blocking() = true;
///         cv.notify_all();
///     });
///     let g = cv.wait_while_blocking(ready.lock_blocking(), |r| !*r);
///     assert!(*g);
/// });
/// ```
pub struct Condvar {
    waiters: Mutex<WaitList<bool>>,
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar")
            .field("waiters", &loom::lock(&self.waiters).len())
            .finish()
    }
}

impl Default for Condvar {
    fn default() -> Self {
        Condvar::new()
    }
}

/// Whether a timed condvar wait gave up (`std::sync::WaitTimeoutResult`'s twin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// `true` if the wait ended by timeout rather than by a notification.
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

impl Condvar {
    /// A new condition variable.
    pub fn new() -> Condvar {
        Condvar {
            waiters: Mutex::new(WaitList::new()),
        }
    }

    /// Wakes the oldest waiter, if any. Nothing is stored if nobody waits.
    pub fn notify_one(&self) {
        let mut wakes = WakeList::new();
        self.give_one(&mut loom::lock(&self.waiters), &mut wakes);
        wakes.wake_all();
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        let mut wakes = WakeList::new();
        {
            let mut list = loom::lock(&self.waiters);
            while let Some(k) = list.front() {
                *list.data_mut(k) = false;
                wakes.push(list.notify(k));
            }
        }
        wakes.wake_all();
    }

    fn give_one(&self, list: &mut WaitList<bool>, wakes: &mut WakeList) {
        if let Some(k) = list.front() {
            *list.data_mut(k) = true;
            wakes.push(list.notify(k));
        }
    }

    /// Unlocks the mutex, waits for a notification, re-locks and returns the guard.
    ///
    /// The waiter is queued and the mutex unlocked when this is *called*, not when first
    /// polled; see the module docs. Cancellation safety: dropping the future gives up the
    /// guard (the mutex stays unlocked) and passes a received `notify_one` on.
    ///
    /// # Examples
    ///
    /// A task waits for a thread to fill a vector:
    ///
    /// ```
    /// use std::sync::Arc;
    /// use c10k_sync::{Condvar, Mutex};
    ///
    /// let shared = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
    /// let s2 = shared.clone();
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let v = rt.block_on(async {
    ///     let (m, cv) = &*shared;
    ///     let mut g = m.lock().await;
    ///     std::thread::spawn(move || {
    ///         s2.0.lock_blocking().push(42);
    ///         s2.1.notify_one();
    ///     });
    ///     while g.is_empty() {
    ///         g = cv.wait(g).await;
    ///     }
    ///     g.pop()
    /// });
    /// assert_eq!(v, Some(42));
    /// ```
    pub fn wait<'a, T: ?Sized>(&'a self, guard: MutexGuard<'a, T>) -> CondvarWait<'a, T> {
        let key = loom::lock(&self.waiters).push_back(false, Wakeup::Nobody);
        let mutex = MutexGuard::unlock(guard);
        CondvarWait {
            cv: self,
            state: WaitState::Waiting { key, mutex },
        }
    }

    /// Waits until `condition` is false, re-checking after every notification.
    ///
    /// Cancellation safety: as [`wait`](Self::wait); if dropped while re-locking, the lock
    /// future passes the mutex on.
    pub async fn wait_while<'a, T: ?Sized, F>(
        &'a self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> MutexGuard<'a, T>
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut *guard) {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// Blocks the thread: unlocks, waits for a notification, re-locks.
    pub fn wait_blocking<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.wait_blocking_inner(guard, None).0
    }

    /// Blocks until `condition` is false.
    pub fn wait_while_blocking<'a, T: ?Sized, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> MutexGuard<'a, T>
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut *guard) {
            guard = self.wait_blocking(guard);
        }
        guard
    }

    /// Blocks for at most `timeout` waiting for a notification.
    pub fn wait_timeout_blocking<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, WaitTimeoutResult) {
        self.wait_blocking_inner(guard, Some(Instant::now() + timeout))
    }

    /// Blocks until `condition` is false or `timeout` has elapsed in total.
    pub fn wait_timeout_while_blocking<'a, T: ?Sized, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        timeout: Duration,
        mut condition: F,
    ) -> (MutexGuard<'a, T>, WaitTimeoutResult)
    where
        F: FnMut(&mut T) -> bool,
    {
        let deadline = Instant::now() + timeout;
        while condition(&mut *guard) {
            let (g, r) = self.wait_blocking_inner(guard, Some(deadline));
            guard = g;
            if r.timed_out() {
                let still = condition(&mut *guard);
                return (guard, WaitTimeoutResult(still));
            }
        }
        (guard, WaitTimeoutResult(false))
    }

    fn wait_blocking_inner<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        deadline: Option<Instant>,
    ) -> (MutexGuard<'a, T>, WaitTimeoutResult) {
        let key = loom::lock(&self.waiters).push_back(false, Wakeup::thread());
        let mutex = MutexGuard::unlock(guard);
        park_while_queued(&self.waiters, deadline, |l| l.is_queued(key));
        let (_, queued) = loom::lock(&self.waiters).remove(key);
        (mutex.lock_blocking(), WaitTimeoutResult(queued))
    }
}

enum WaitState<'a, T: ?Sized> {
    Waiting {
        key: usize,
        mutex: &'a crate::Mutex<T>,
    },
    Locking(Lock<'a, T>),
    Done,
}

/// Future of [`Condvar::wait`].
#[must_use = "futures do nothing unless polled"]
pub struct CondvarWait<'a, T: ?Sized> {
    cv: &'a Condvar,
    state: WaitState<'a, T>,
}

impl<T: ?Sized> fmt::Debug for CondvarWait<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self.state {
            WaitState::Waiting { .. } => "waiting",
            WaitState::Locking(_) => "locking",
            WaitState::Done => "done",
        };
        f.debug_struct("CondvarWait").field("state", &s).finish()
    }
}

impl<'a, T: ?Sized> Future for CondvarWait<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let p = Self::unrecorded_poll(self, cx);
        crate::waiting::sync(cx, &p, crate::waiting::SyncKind::Condvar, None);
        p
    }
}

impl<'a, T: ?Sized> CondvarWait<'a, T> {
    /// The poll itself; `poll` records what it waits on for task dumps (`waiting.rs`).
    #[inline]
    fn unrecorded_poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<<Self as Future>::Output> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                WaitState::Waiting { key, mutex } => {
                    let (key, mutex) = (*key, *mutex);
                    {
                        let mut list = loom::lock(&this.cv.waiters);
                        if list.is_queued(key) {
                            list.set_waker(key, cx.waker());
                            return Poll::Pending;
                        }
                        list.remove(key);
                    }
                    this.state = WaitState::Locking(mutex.lock());
                }
                WaitState::Locking(lock) => {
                    let guard = std::task::ready!(Pin::new(lock).poll(cx));
                    this.state = WaitState::Done;
                    return Poll::Ready(guard);
                }
                WaitState::Done => panic!("CondvarWait polled after completion"),
            }
        }
    }
}

impl<T: ?Sized> Drop for CondvarWait<'_, T> {
    fn drop(&mut self) {
        if let WaitState::Waiting { key, .. } = self.state {
            let mut wakes = WakeList::new();
            {
                let mut list = loom::lock(&self.cv.waiters);
                let (got_one, queued) = list.remove(key);
                if !queued && got_one {
                    self.cv.give_one(&mut list, &mut wakes);
                }
            }
            wakes.wake_all();
        }
    }
}
