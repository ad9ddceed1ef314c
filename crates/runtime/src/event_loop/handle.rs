//! Cancellation handles of scheduled callbacks.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::time::Instant;

/// A callback scheduled by [`call_soon`](super::LoopHandle::call_soon) or
/// [`call_soon_threadsafe`](super::RemoteHandle::call_soon_threadsafe): asyncio's `Handle`.
///
/// Dropping the handle does not cancel the callback; [`cancel`](Self::cancel) does, if it
/// has not run yet. It is `Send`, so a callback scheduled from another thread can be
/// cancelled from there too.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// let ev = c10k_runtime::event_loop::EventLoop::new()?;
/// let h = ev.handle();
/// let ran = Rc::new(Cell::new(false));
/// let r = ran.clone();
/// let cb = h.call_soon(move || r.set(true));
/// cb.cancel();
/// assert!(cb.cancelled());
/// h.stop();
/// ev.run_forever();
/// assert!(!ran.get());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct CallbackHandle {
    pub(crate) cancelled: Arc<AtomicBool>,
}

impl CallbackHandle {
    pub(crate) fn new() -> CallbackHandle {
        CallbackHandle {
            cancelled: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Cancels the callback: it will not run if it has not started yet. Idempotent.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// let cb = h.call_soon(|| unreachable!("cancelled"));
    /// cb.cancel();
    /// cb.cancel(); // idempotent
    /// h.stop();
    /// ev.run_forever();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// let cb = h.call_soon(|| {});
    /// assert!(!cb.cancelled());
    /// cb.clone().cancel(); // clones share the flag
    /// assert!(cb.cancelled());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

impl fmt::Debug for CallbackHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackHandle")
            .field("cancelled", &self.cancelled())
            .finish()
    }
}

/// A callback scheduled at a time by [`call_later`](super::LoopHandle::call_later) or
/// [`call_at`](super::LoopHandle::call_at): asyncio's `TimerHandle`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let ev = c10k_runtime::event_loop::EventLoop::new()?;
/// let h = ev.handle();
/// let never = h.call_later(Duration::from_secs(3600), || unreachable!());
/// never.cancel();
/// assert!(never.cancelled());
/// let h2 = h.clone();
/// h.call_later(Duration::from_millis(1), move || h2.stop());
/// ev.run_forever();
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct TimerHandle {
    pub(crate) inner: CallbackHandle,
    pub(crate) when: Instant,
}

impl TimerHandle {
    /// Cancels the timer: the callback will not run if it has not started yet.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// let t = h.call_later(Duration::from_millis(1), || unreachable!("cancelled"));
    /// t.cancel();
    /// let h2 = h.clone();
    /// h.call_later(Duration::from_millis(2), move || h2.stop());
    /// ev.run_forever();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// let t = h.call_later(Duration::from_secs(60), || {});
    /// assert!(!t.cancelled());
    /// t.cancel();
    /// assert!(t.cancelled());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cancelled(&self) -> bool {
        self.inner.cancelled()
    }

    /// When the callback is scheduled to run (not earlier).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// let before = h.time();
    /// let t = h.call_later(Duration::from_secs(60), || {});
    /// assert!(t.when() >= before + Duration::from_secs(60));
    /// t.cancel();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn when(&self) -> Instant {
        self.when
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerHandle")
            .field("when", &self.when)
            .field("cancelled", &self.cancelled())
            .finish()
    }
}
