//! A flag that tasks and threads wait on (Python's `threading.Event` / `asyncio.Event`).
//!
//! `set` stores the flag and hands a notification to every queued waiter under the internal
//! lock, so a waiter that was queued when `set` ran returns even if `clear` follows before it
//! gets to run (the same guarantee as Python's `Event.wait() -> True`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::loom::{self, AtomicBool, Mutex, Ordering};
use crate::wait::{park_while_queued, WaitList, WakeList, Wakeup};

/// A settable, clearable flag with waiters.
///
/// # Examples
///
/// The bus and its passengers: everyone waits until the door opens.
///
/// ```
/// use c10k_sync::Event;
///
/// let door = Event::new();
/// std::thread::scope(|s| {
///     for _ in 0..3 {
///         s.spawn(|| door.wait_blocking());
///     }
///     door.set();
/// });
/// assert!(door.is_set());
/// ```
pub struct Event {
    flag: AtomicBool,
    waiters: Mutex<WaitList<()>>,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish()
    }
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl Event {
    /// A new event, not set.
    pub fn new() -> Event {
        Event {
            flag: AtomicBool::new(false),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    /// Whether the flag is set (a snapshot).
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Sets the flag and wakes every waiter; later waits return at once until [`clear`](Self::clear).
    pub fn set(&self) {
        let mut wakes = WakeList::new();
        {
            let mut list = loom::lock(&self.waiters);
            self.flag.store(true, Ordering::Release);
            list.notify_all(&mut wakes);
        }
        wakes.wake_all();
    }

    /// Clears the flag: later waits block until the next [`set`](Self::set).
    pub fn clear(&self) {
        let _list = loom::lock(&self.waiters);
        self.flag.store(false, Ordering::Release);
    }

    /// Waits until the flag is set.
    ///
    /// Cancellation safety: dropping the future only removes the waiter; an event wakes all
    /// waiters, so nothing needs passing on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let ev = Arc::new(c10k_sync::Event::new());
    /// let ev2 = ev.clone();
    /// std::thread::spawn(move || ev2.set());
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(ev.wait());
    /// assert!(ev.is_set());
    /// ```
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            key: None,
        }
    }

    /// Blocks the thread until the flag is set.
    pub fn wait_blocking(&self) {
        self.wait_blocking_inner(None);
    }

    /// Blocks for at most `timeout`; returns whether the event was set (`false`: timed out).
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_blocking_inner(Some(Instant::now() + timeout))
    }

    fn wait_blocking_inner(&self, deadline: Option<Instant>) -> bool {
        if self.is_set() {
            return true;
        }
        let key = {
            let mut list = loom::lock(&self.waiters);
            if self.flag.load(Ordering::Acquire) {
                return true;
            }
            list.push_back((), Wakeup::thread())
        };
        park_while_queued(&self.waiters, deadline, |l| l.is_queued(key));
        let (_, queued) = loom::lock(&self.waiters).remove(key);
        !queued
    }
}

/// Future of [`Event::wait`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct EventWait<'a> {
    event: &'a Event,
    key: Option<usize>,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let p = Self::unrecorded_poll(self, cx);
        crate::waiting::sync(cx, &p, crate::waiting::SyncKind::Event, None);
        p
    }
}

impl EventWait<'_> {
    /// The poll itself; `poll` records what it waits on for task dumps (`waiting.rs`).
    #[inline]
    fn unrecorded_poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut list = loom::lock(&this.event.waiters);
        match this.key {
            None => {
                if this.event.flag.load(Ordering::Acquire) {
                    return Poll::Ready(());
                }
                this.key = Some(list.push_back((), Wakeup::Task(cx.waker().clone())));
                Poll::Pending
            }
            Some(key) => {
                if list.is_queued(key) {
                    list.set_waker(key, cx.waker());
                    return Poll::Pending;
                }
                list.remove(key);
                this.key = None;
                Poll::Ready(())
            }
        }
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            loom::lock(&self.event.waiters).remove(key);
        }
    }
}
