//! Wake-up signals without a value (tokio's `Notify`, shared with threads).
//!
//! [`Notify::notify_one`] hands one notification to the oldest waiter, or stores it as a
//! single permit if nobody waits (several `notify_one` with no waiter still store one).
//! [`Notify::notify_waiters`] wakes everyone waiting now and stores nothing.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::loom::{self, Mutex};
use crate::wait::{park_while_queued, WaitList, WakeList, Wakeup};

/// What a waiter was handed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Given {
    Nothing,
    One,
    All,
}

#[derive(Debug)]
struct State {
    permit: bool,
    list: WaitList<Given>,
}

/// Notifies one waiter or all waiters, from tasks or threads.
///
/// # Examples
///
/// ```
/// use c10k_sync::Notify;
///
/// let ready = Notify::new();
/// ready.notify_one(); // stored: nobody waits yet
/// ready.notified_blocking(); // consumes the stored permit, returns at once
/// ```
pub struct Notify {
    state: Mutex<State>,
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = loom::lock(&self.state);
        f.debug_struct("Notify")
            .field("permit", &s.permit)
            .field("waiters", &s.list.len())
            .finish()
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl State {
    fn give_one(&mut self, wakes: &mut WakeList) {
        match self.list.front() {
            Some(k) => {
                *self.list.data_mut(k) = Given::One;
                wakes.push(self.list.notify(k));
            }
            None => self.permit = true,
        }
    }
}

impl Notify {
    /// A new `Notify` with no stored permit.
    pub fn new() -> Notify {
        Notify {
            state: Mutex::new(State {
                permit: false,
                list: WaitList::new(),
            }),
        }
    }

    /// Wakes the oldest waiter, or stores one permit for the next `notified`.
    pub fn notify_one(&self) {
        let mut wakes = WakeList::new();
        loom::lock(&self.state).give_one(&mut wakes);
        wakes.wake_all();
    }

    /// Wakes every current waiter; stores nothing for later ones.
    pub fn notify_waiters(&self) {
        let mut wakes = WakeList::new();
        {
            let mut s = loom::lock(&self.state);
            while let Some(k) = s.list.front() {
                *s.list.data_mut(k) = Given::All;
                wakes.push(s.list.notify(k));
            }
        }
        wakes.wake_all();
    }

    /// Waits for a notification. The waiter is queued at the first poll.
    ///
    /// Cancellation safety: a dropped future that had been handed a `notify_one` passes it on
    /// to the next waiter (or stores it as the permit), so no `notify_one` is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let n = Arc::new(c10k_sync::Notify::new());
    /// let n2 = n.clone();
    /// std::thread::spawn(move || n2.notify_one());
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(n.notified()); // a notify_one before the wait is kept as a permit
    /// ```
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            key: None,
        }
    }

    /// Blocks the thread until notified.
    pub fn notified_blocking(&self) {
        self.blocking(None);
    }

    /// Blocks for at most `timeout`; returns whether a notification arrived.
    pub fn notified_blocking_timeout(&self, timeout: Duration) -> bool {
        self.blocking(Some(Instant::now() + timeout))
    }

    fn blocking(&self, deadline: Option<Instant>) -> bool {
        let key = {
            let mut s = loom::lock(&self.state);
            if std::mem::take(&mut s.permit) {
                return true;
            }
            s.list.push_back(Given::Nothing, Wakeup::thread())
        };
        park_while_queued(&self.state, deadline, |s| s.list.is_queued(key));
        let (_, queued) = loom::lock(&self.state).list.remove(key);
        !queued
    }
}

/// Future of [`Notify::notified`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Notified<'a> {
    notify: &'a Notify,
    key: Option<usize>,
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let p = Self::unrecorded_poll(self, cx);
        crate::waiting::sync(cx, &p, crate::waiting::SyncKind::Notify, None);
        p
    }
}

impl Notified<'_> {
    /// The poll itself; `poll` records what it waits on for task dumps (`waiting.rs`).
    #[inline]
    fn unrecorded_poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut s = loom::lock(&this.notify.state);
        match this.key {
            None => {
                if std::mem::take(&mut s.permit) {
                    return Poll::Ready(());
                }
                this.key = Some(
                    s.list
                        .push_back(Given::Nothing, Wakeup::Task(cx.waker().clone())),
                );
                Poll::Pending
            }
            Some(key) => {
                if s.list.is_queued(key) {
                    s.list.set_waker(key, cx.waker());
                    return Poll::Pending;
                }
                s.list.remove(key);
                this.key = None;
                Poll::Ready(())
            }
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut wakes = WakeList::new();
            {
                let mut s = loom::lock(&self.notify.state);
                let (given, queued) = s.list.remove(key);
                if !queued && given == Given::One {
                    s.give_one(&mut wakes);
                }
            }
            wakes.wake_all();
        }
    }
}
