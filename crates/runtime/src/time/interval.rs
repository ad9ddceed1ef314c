//! [`Interval`]: ticks at a fixed period, with a policy for ticks missed while the task was
//! busy ([`MissedTickBehavior`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{Instant, Sleep};

/// What an [`Interval`] does when the task was late enough to miss one or more ticks.
///
/// A tick is *missed* when, at the moment the interval notices that tick `k` is due, the
/// instant of tick `k + 1` has already passed as well (the task was busy for at least a whole
/// period). Being late by less than a period is not a miss: the schedule is kept.
///
/// In the diagrams, the period is 10 ms, the interval starts at 0, `=` is the time the task
/// spent elsewhere between two calls of `tick()` (from 12 ms to 47 ms), and `^` marks when
/// each `tick()` returns. The value a tick returns is the instant it was scheduled for.
///
/// ```text
/// time (ms)      0         10        20        30        40        50        60        70
/// schedule       |         |         |         |         |         |         |         |
/// busy                       ===================================
/// Burst          ^         ^                                  ^^^  ^         ^         ^
/// Delay          ^         ^                                    ^         ^         ^         ^
/// Skip           ^         ^                                    ^  ^         ^         ^
/// ```
///
/// * Burst: ticks 20, 30 and 40 are all returned at 47, back to back; then 50, 60, 70 on
///   the original schedule.
/// * Delay: tick 20 is returned at 47, then 57, 67, 77: the schedule has shifted by 27 ms.
/// * Skip: tick 20 is returned at 47, then 50, 60, 70: ticks 30 and 40 are dropped.
///
/// The default is [`Burst`](Self::Burst), as in tokio: no tick is lost, which suits counting
/// and rate accounting. [`Delay`](Self::Delay) suits "at least a period between two runs"
/// (polling a resource); [`Skip`](Self::Skip) suits "on the period's grid, and only the
/// latest" (a clock display, a periodic flush).
///
/// # Examples
///
/// With the paused clock, so that the instants are exact:
///
/// ```
/// use std::time::Duration;
/// use c10k_runtime::time::{self, Instant, MissedTickBehavior};
///
/// c10k_runtime::run(async {
///     time::pause();
///     let start = Instant::now();
///     let ms = Duration::from_millis;
///     let mut ticks = time::interval(ms(10));
///     ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
///     assert_eq!(ticks.tick().await - start, ms(0));
///     time::advance(ms(35)).await; // busy until 35 ms
///     assert_eq!(ticks.tick().await - start, ms(10)); // returned late, at 35 ms
///     assert_eq!(ticks.tick().await - start, ms(40)); // 20 and 30 skipped
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MissedTickBehavior {
    /// Return the missed ticks one after the other, as fast as they are polled, until the
    /// interval has caught up with its original schedule.
    #[default]
    Burst,
    /// Return one tick now, then restart the schedule: the next tick is a period after now.
    Delay,
    /// Return one tick now, then continue on the original grid at its next instant after now,
    /// dropping the ticks in between.
    Skip,
}

impl MissedTickBehavior {
    /// The instant of the tick after `timeout` (the tick just returned), observed at `now`,
    /// when at least one tick was missed (`now >= timeout + period`).
    fn next_timeout(self, timeout: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => add_or_far(timeout, period),
            MissedTickBehavior::Delay => add_or_far(now, period),
            MissedTickBehavior::Skip => {
                // The first grid point strictly after `now`.
                let late = (now - timeout).as_nanos();
                let periods = late / period.as_nanos() + 1;
                let offset = period.as_nanos().saturating_mul(periods);
                match u64::try_from(offset) {
                    Ok(nanos) => add_or_far(timeout, Duration::from_nanos(nanos)),
                    Err(_) => Instant::far_future(),
                }
            }
        }
    }
}

/// `at + d`, or a far-future instant if that overflows.
fn add_or_far(at: Instant, d: Duration) -> Instant {
    at.checked_add(d).unwrap_or_else(Instant::far_future)
}

/// Ticks every `period`; created by [`interval`](fn@super::interval) or
/// [`interval_at`](fn@super::interval_at).
///
/// The ticks are scheduled on a fixed grid (`start`, `start + period`, ...) so that the
/// time the task spends between two ticks does not make the interval drift; what happens
/// when the task falls a whole period behind is set by [`MissedTickBehavior`].
///
/// `Interval` is also a [`Stream`](futures_core::Stream) of the scheduled instants; the
/// stream never ends.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use c10k_runtime::time::{self, Instant};
///
/// c10k_runtime::run(async {
///     let start = Instant::now();
///     let mut ticks = time::interval(Duration::from_millis(2));
///     ticks.tick().await; // the first tick completes at once
///     ticks.tick().await;
///     ticks.tick().await;
///     assert!(start.elapsed() >= Duration::from_millis(4));
/// });
/// ```
pub struct Interval {
    /// The timer of the next tick; its deadline is that tick's instant.
    delay: Sleep,
    /// Time between two ticks.
    period: Duration,
    /// Policy for missed ticks.
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// An interval whose first tick is at `start`.
    pub(crate) fn new(start: Instant, period: Duration) -> Interval {
        assert!(
            period > Duration::ZERO,
            "c10k::time::interval: period must be non-zero"
        );
        Interval {
            delay: Sleep::new(start),
            period,
            missed_tick_behavior: MissedTickBehavior::default(),
        }
    }

    /// Waits for the next tick and returns the instant it was scheduled for (not the instant
    /// it was observed, which is at or after it).
    ///
    /// Cancel safe: dropping the returned future before it completes loses no tick.
    ///
    /// # Examples
    ///
    /// The first tick completes at once; later ones never early:
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time::{self, Instant};
    /// c10k_runtime::run(async {
    ///     let start = Instant::now();
    ///     let mut iv = time::interval(Duration::from_millis(2));
    ///     let first = iv.tick().await;
    ///     let second = iv.tick().await;
    ///     assert_eq!(second - first, Duration::from_millis(2));
    ///     assert!(Instant::now() >= start + Duration::from_millis(2));
    /// });
    /// ```
    pub fn tick(&mut self) -> Tick<'_> {
        Tick { interval: self }
    }

    /// Polls for the next tick; the poll-based form of [`tick`](Self::tick). On `Pending`,
    /// the task is woken when the tick is due.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::time::Duration;
    /// c10k_runtime::run(async {
    ///     let mut iv = c10k_runtime::time::interval(Duration::from_millis(1));
    ///     let a = poll_fn(|cx| iv.poll_tick(cx)).await;
    ///     let b = poll_fn(|cx| iv.poll_tick(cx)).await;
    ///     assert!(b > a);
    /// });
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.delay).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let timeout = self.delay.deadline();
        let now = Instant::now();
        let scheduled = add_or_far(timeout, self.period);
        let next = if now >= scheduled {
            self.missed_tick_behavior
                .next_timeout(timeout, now, self.period)
        } else {
            scheduled
        };
        self.delay.reset(next);
        Poll::Ready(timeout)
    }

    /// Restarts the schedule: the next tick is a period from now.
    ///
    /// # Examples
    ///
    /// On the paused clock, so that the arithmetic is exact:
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time::{self, Instant};
    /// c10k_runtime::run(async {
    ///     time::pause();
    ///     let mut iv = time::interval(Duration::from_secs(10));
    ///     iv.tick().await;
    ///     time::advance(Duration::from_secs(3)).await;
    ///     iv.reset(); // next tick 10 s from now, not 7 s
    ///     let now = Instant::now();
    ///     assert_eq!(iv.tick().await, now + Duration::from_secs(10));
    /// });
    /// ```
    pub fn reset(&mut self) {
        self.delay.reset(add_or_far(Instant::now(), self.period));
    }

    /// Restarts the schedule: the next tick is now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time::{self, Instant};
    /// c10k_runtime::run(async {
    ///     time::pause();
    ///     let mut iv = time::interval(Duration::from_secs(10));
    ///     iv.tick().await;
    ///     iv.reset_immediately();
    ///     let now = Instant::now();
    ///     assert_eq!(iv.tick().await, now); // no wait
    /// });
    /// ```
    pub fn reset_immediately(&mut self) {
        self.delay.reset(Instant::now());
    }

    /// Restarts the schedule: the next tick is `after` from now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time::{self, Instant};
    /// c10k_runtime::run(async {
    ///     time::pause();
    ///     let mut iv = time::interval(Duration::from_secs(10));
    ///     iv.tick().await;
    ///     let now = Instant::now();
    ///     iv.reset_after(Duration::from_secs(1));
    ///     assert_eq!(iv.tick().await, now + Duration::from_secs(1));
    ///     assert_eq!(iv.tick().await, now + Duration::from_secs(11)); // then every period
    /// });
    /// ```
    pub fn reset_after(&mut self, after: Duration) {
        self.delay.reset(add_or_far(Instant::now(), after));
    }

    /// Restarts the schedule: the next tick is at `deadline`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time::{self, Instant};
    /// c10k_runtime::run(async {
    ///     time::pause();
    ///     let mut iv = time::interval(Duration::from_secs(10));
    ///     let at = Instant::now() + Duration::from_secs(4);
    ///     iv.reset_at(at);
    ///     assert_eq!(iv.tick().await, at);
    /// });
    /// ```
    pub fn reset_at(&mut self, deadline: Instant) {
        self.delay.reset(deadline);
    }

    /// The period.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time;
    /// c10k_runtime::run(async {
    ///     let iv = time::interval(Duration::from_millis(250));
    ///     assert_eq!(iv.period(), Duration::from_millis(250));
    /// });
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The policy for missed ticks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time::{self, MissedTickBehavior};
    /// c10k_runtime::run(async {
    ///     let iv = time::interval(Duration::from_millis(250));
    ///     assert_eq!(iv.missed_tick_behavior(), MissedTickBehavior::Burst); // the default
    /// });
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets the policy for missed ticks; it applies from the next tick on.
    ///
    /// # Examples
    ///
    /// With `Skip`, a task that was busy for several periods gets one tick, and the schedule
    /// continues on the original grid:
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time::{self, MissedTickBehavior};
    /// c10k_runtime::run(async {
    ///     time::pause();
    ///     let mut iv = time::interval(Duration::from_secs(1));
    ///     iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
    ///     assert_eq!(iv.missed_tick_behavior(), MissedTickBehavior::Skip);
    ///     assert_eq!(iv.period(), Duration::from_secs(1));
    ///     let t0 = iv.tick().await;
    ///     time::advance(Duration::from_millis(3500)).await; // busy: missed 3 ticks
    ///     assert_eq!(iv.tick().await, t0 + Duration::from_secs(1)); // the late one, at once
    ///     assert_eq!(iv.tick().await, t0 + Duration::from_secs(4)); // back on the grid
    /// });
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }
}

impl futures_core::Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("next", &self.delay.deadline())
            .field("period", &self.period)
            .field("missed_tick_behavior", &self.missed_tick_behavior)
            .finish()
    }
}

/// Future returned by [`Interval::tick`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use c10k_runtime::time;
/// c10k_runtime::run(async {
///     let mut iv = time::interval(Duration::from_millis(1));
///     let tick: time::Tick<'_> = iv.tick(); // the first tick completes at once
///     let first = tick.await;
///     assert!(iv.tick().await >= first + Duration::from_millis(1));
/// });
/// ```
#[must_use = "a Tick does nothing unless polled or awaited"]
#[derive(Debug)]
pub struct Tick<'a> {
    interval: &'a mut Interval,
}

impl Future for Tick<'_> {
    type Output = Instant;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        self.get_mut().interval.poll_tick(cx)
    }
}
