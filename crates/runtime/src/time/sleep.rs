//! [`Sleep`]: the future returned by [`sleep`](fn@super::sleep) and
//! [`sleep_until`](fn@super::sleep_until).
//!
//! # Life of a `Sleep`
//!
//! 1. Created: it holds its deadline and, inside a runtime, a handle to the runtime's time
//!    driver. Nothing is registered yet, so a `Sleep` that is never polled (a `timeout` whose
//!    future finished first) costs no wheel operation.
//! 2. First poll: it inserts one wheel entry holding the task's waker (O(1)); if the wheel
//!    has already passed the deadline it completes at once instead.
//! 3. Later polls: under the driver's lock, it checks the entry's "fired" mark; if not fired,
//!    it replaces the waker when the task's waker changed.
//! 4. Fired: the driver woke the task; the next poll removes the entry and completes (after
//!    spending one unit of the task's cooperative budget: with none left, it yields once
//!    first). Polling again keeps returning `Ready`.
//! 5. Drop while registered: the entry is unlinked and freed (O(1)); the waker is dropped and
//!    never called.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::driver::TimeDriver;
use super::wheel::Key;
use super::Instant;

/// Waits until a deadline; created by [`sleep`](fn@super::sleep) or
/// [`sleep_until`](fn@super::sleep_until).
///
/// The deadline is a lower bound: when the future completes, [`Instant::now`] is at or past
/// it. How much later it completes depends on the IO driver's wait resolution (the wheel
/// itself is exact to the nanosecond; see the [module docs](super)) and on the scheduler.
///
/// `Sleep` is `Send`, `Sync` and `Unpin`, so it can be awaited through `&mut sleep` and moved
/// between polls. Dropping it cancels the timer in O(1).
///
/// A `Sleep` belongs to the runtime it was created in (or, if created outside any, the one
/// it is first polled in): that runtime's driver wakes it, even when it is polled from
/// another thread.
///
/// # Panics
///
/// Polling a `Sleep` outside a c10k runtime panics (creating one does not).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use c10k_runtime::time::{self, Instant};
///
/// c10k_runtime::run(async {
///     let start = Instant::now();
///     time::sleep(Duration::from_millis(10)).await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
#[must_use = "a Sleep does nothing unless polled or awaited"]
pub struct Sleep {
    /// When it completes.
    deadline: Instant,
    /// The runtime's time driver, bound at creation inside a runtime or at first poll.
    driver: Option<Arc<TimeDriver>>,
    /// Where the timer is.
    state: State,
}

/// Registration state of a [`Sleep`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No wheel entry (not polled since creation or `reset`).
    Idle,
    /// This `Sleep` owns wheel entry `Key`.
    Registered(Key),
    /// The deadline was reached and the entry removed.
    Elapsed,
}

impl Sleep {
    /// A `Sleep` completing at `deadline`.
    pub(crate) fn new(deadline: Instant) -> Sleep {
        Sleep::with_driver(deadline, crate::context::try_with_time_driver(Arc::clone))
    }

    /// A `Sleep` completing at `deadline`, bound to `driver` if given (else at first poll).
    pub(crate) fn with_driver(deadline: Instant, driver: Option<Arc<TimeDriver>>) -> Sleep {
        Sleep {
            deadline,
            driver,
            state: State::Idle,
        }
    }

    /// The instant at which this future completes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time::{self, Instant};
    /// c10k_runtime::run(async {
    ///     let at = Instant::now() + Duration::from_millis(1);
    ///     let sleep = time::sleep_until(at);
    ///     assert_eq!(sleep.deadline(), at);
    /// });
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether this future has completed (been polled to `Ready`). It says nothing about a
    /// deadline that has passed while the future was not polled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// c10k_runtime::run(async {
    ///     let mut sleep = c10k_runtime::time::sleep(Duration::from_millis(1));
    ///     assert!(!sleep.is_elapsed());
    ///     (&mut sleep).await;
    ///     assert!(sleep.is_elapsed());
    /// });
    /// ```
    pub fn is_elapsed(&self) -> bool {
        self.state == State::Elapsed
    }

    /// Sets a new deadline, earlier or later, keeping the registered waker.
    ///
    /// Works on a completed `Sleep` too: it becomes pending again until the new deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time::{self, Instant};
    ///
    /// c10k_runtime::run(async {
    ///     let start = Instant::now();
    ///     let mut sleep = time::sleep(Duration::from_secs(3600));
    ///     sleep.reset(start + Duration::from_millis(5));
    ///     (&mut sleep).await;
    ///     assert!(Instant::now() >= start + Duration::from_millis(5));
    /// });
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        match self.state {
            State::Idle => {}
            State::Elapsed => self.state = State::Idle,
            State::Registered(key) => {
                if let Some(driver) = &self.driver {
                    // `false` means already due: the entry is marked fired and the next poll
                    // completes, so there is nothing more to do either way.
                    driver.reset(key, deadline.into_std());
                }
            }
        }
    }

    /// Like [`reset`](Self::reset) relative to now: the new deadline is `Instant::now() + d`.
    ///
    /// # Examples
    ///
    /// A sleep as an idle timer, pushed back at every activity:
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time::{self, Instant};
    /// c10k_runtime::run(async {
    ///     time::pause();
    ///     let start = Instant::now();
    ///     let mut idle = time::sleep(Duration::from_secs(30));
    ///     time::advance(Duration::from_secs(20)).await;
    ///     idle.reset_after(Duration::from_secs(30)); // activity
    ///     (&mut idle).await;
    ///     assert_eq!(Instant::now(), start + Duration::from_secs(50));
    /// });
    /// ```
    pub fn reset_after(&mut self, d: Duration) {
        self.reset(Instant::now() + d);
    }

    /// The driver, bound on first use.
    fn driver(&mut self) -> &Arc<TimeDriver> {
        self.driver
            .get_or_insert_with(|| crate::context::with_time_driver(Arc::clone))
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let elapsed = match this.state {
            State::Elapsed => return Poll::Ready(()),
            State::Idle => {
                let deadline = this.deadline.into_std();
                match this.driver().register(deadline, cx.waker()) {
                    Some(key) => {
                        this.state = State::Registered(key);
                        false
                    }
                    None => true,
                }
            }
            State::Registered(key) => this.driver().poll_registered(key, cx.waker()),
        };
        if !elapsed {
            crate::task::dump::record_timer(cx, this.deadline.into_std());
            return Poll::Pending;
        }
        this.state = State::Elapsed;
        // A task looping over timers that are already due (a late `Burst` interval, zero
        // sleeps) spends its cooperative budget, so it still yields to its neighbours. The
        // task is woken by `poll_proceed`, and its next poll completes from `Elapsed`.
        crate::task::coop::poll_proceed(cx)
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let (State::Registered(key), Some(driver)) = (self.state, &self.driver) {
            driver.cancel(key);
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("state", &self.state)
            .finish()
    }
}

/// Compile-time checks of the auto traits promised in the docs.
#[allow(dead_code)]
fn _assert_auto_traits() {
    fn send_sync_unpin<T: Send + Sync + Unpin>() {}
    send_sync_unpin::<Sleep>();
}
