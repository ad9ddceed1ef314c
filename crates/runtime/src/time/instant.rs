//! [`Instant`]: a point on the runtime's clock.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

/// A measurement of the runtime's monotonic clock.
///
/// It wraps [`std::time::Instant`] and differs in one way: inside a runtime whose clock is
/// paused ([`pause`](fn@super::pause)), [`Instant::now`] returns the paused clock's value, which
/// only [`advance`](fn@super::advance) and auto-advance move. Outside a runtime, or while the clock
/// runs, it is the OS monotonic clock (plus whatever a paused period added with `advance`).
/// Use it for the deadlines given to [`sleep_until`](fn@super::sleep_until),
/// [`timeout_at`](fn@super::timeout_at) and [`interval_at`](fn@super::interval_at), so that tests
/// with a paused clock stay deterministic.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use c10k_runtime::time::Instant;
///
/// let start = Instant::now();
/// let later = start + Duration::from_millis(5);
/// assert_eq!(later - start, Duration::from_millis(5));
/// assert!(later.checked_duration_since(start).is_some());
/// assert_eq!(start.checked_duration_since(later), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(std::time::Instant);

impl Instant {
    /// The current time of the runtime's clock (see the type docs for the paused clock).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::time::{self, Instant};
    /// let wall = Instant::now(); // outside a runtime: the system clock
    /// c10k_runtime::run(async {
    ///     time::pause();
    ///     let t = Instant::now();
    ///     assert_eq!(Instant::now(), t); // a paused clock stands still
    /// });
    /// assert!(wall <= Instant::now());
    /// ```
    pub fn now() -> Instant {
        Instant(
            crate::context::try_with_time_driver(|driver| driver.now())
                .unwrap_or_else(std::time::Instant::now),
        )
    }

    /// Wraps a standard instant.
    ///
    /// # Examples
    ///
    /// ```
    /// let std_now = std::time::Instant::now();
    /// assert_eq!(c10k_runtime::time::Instant::from_std(std_now).into_std(), std_now);
    /// ```
    pub fn from_std(instant: std::time::Instant) -> Instant {
        Instant(instant)
    }

    /// The standard instant this wraps.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::time::Instant;
    /// let t = Instant::now();
    /// assert_eq!(Instant::from_std(t.into_std()), t);
    /// ```
    pub fn into_std(self) -> std::time::Instant {
        self.0
    }

    /// Time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time::Instant;
    /// let a = Instant::now();
    /// let b = a + Duration::from_millis(3);
    /// assert_eq!(b.duration_since(a), Duration::from_millis(3));
    /// assert_eq!(a.duration_since(b), Duration::ZERO);
    /// ```
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// Time elapsed from `earlier` to `self`, or `None` if `earlier` is later.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time::Instant;
    /// let a = Instant::now();
    /// let b = a + Duration::from_millis(3);
    /// assert_eq!(b.checked_duration_since(a), Some(Duration::from_millis(3)));
    /// assert_eq!(a.checked_duration_since(b), None);
    /// ```
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.0.checked_duration_since(earlier.0)
    }

    /// Same as [`duration_since`](Self::duration_since): zero if `earlier` is later.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time::Instant;
    /// let a = Instant::now();
    /// let b = a + Duration::from_millis(3);
    /// assert_eq!(a.saturating_duration_since(b), Duration::ZERO);
    /// ```
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }

    /// Time elapsed since `self` on the runtime's clock (zero if `self` is in the future).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time::Instant;
    /// let future = Instant::now() + Duration::from_secs(60);
    /// assert_eq!(future.elapsed(), Duration::ZERO); // not reached yet
    /// let start = Instant::now();
    /// assert!(start.elapsed() <= Instant::now() - start);
    /// ```
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// `self + duration`, or `None` if it overflows the platform's instant.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time::Instant;
    /// let t = Instant::now();
    /// assert_eq!(t.checked_add(Duration::from_millis(2)), Some(t + Duration::from_millis(2)));
    /// assert_eq!(t.checked_add(Duration::MAX), None);
    /// ```
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.0.checked_add(duration).map(Instant)
    }

    /// `self - duration`, or `None` if it underflows the platform's instant.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time::Instant;
    /// let t = Instant::now() + Duration::from_millis(2);
    /// assert_eq!(t.checked_sub(Duration::from_millis(2)), Some(t - Duration::from_millis(2)));
    /// assert_eq!(t.checked_sub(Duration::MAX), None);
    /// ```
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        self.0.checked_sub(duration).map(Instant)
    }

    /// An instant about 30 years ahead: the deadline used for "never".
    pub(crate) fn far_future() -> Instant {
        Instant::now() + Duration::from_secs(86_400 * 365 * 30)
    }
}

impl From<std::time::Instant> for Instant {
    fn from(instant: std::time::Instant) -> Instant {
        Instant(instant)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(instant: Instant) -> std::time::Instant {
        instant.0
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    ///
    /// Panics on overflow, like `std::time::Instant`; see [`Instant::checked_add`].
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0 + rhs)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        self.0 += rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    ///
    /// Panics on underflow, like `std::time::Instant`; see [`Instant::checked_sub`].
    fn sub(self, rhs: Duration) -> Instant {
        Instant(self.0 - rhs)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, rhs: Duration) {
        self.0 -= rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// Saturates to zero if `rhs` is later, like `std::time::Instant` does.
    fn sub(self, rhs: Instant) -> Duration {
        self.duration_since(rhs)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
