//! Timers: [`sleep`](fn@sleep), [`timeout`](fn@timeout), [`interval`](fn@interval), the
//! runtime's [`Instant`], and a paused clock for deterministic tests ([`pause`](fn@pause),
//! [`advance`](fn@advance), auto-advance).
//!
//! asyncio's `asyncio.sleep`, `wait_for` and `timeout` map to [`sleep`](fn@sleep),
//! [`timeout`](fn@timeout) and [`timeout_at`](fn@timeout_at).
//!
//! # Design
//!
//! Each runtime owns one time driver: a hierarchical timing wheel (Varghese & Lauck,
//! "Hashed and Hierarchical Timing Wheels", SOSP 1987) behind a mutex, and a pausable clock.
//!
//! * **Wheel** (`wheel.rs`): 10 levels of 64 slots over 1 ns ticks, so the slots of level
//!   `L` span `64^L` ns (1 ns, 64 ns, 4.1 µs, 262 µs, 16.8 ms, 1.07 s, 68.7 s, 73 min, 78 h,
//!   208 days) and the wheel covers `2^60` ns, 36.5 years; later deadlines wait in an
//!   overflow list. Entries sit in a slab with intrusive `prev`/`next` indices, so insert and
//!   cancel are O(1) (no search, no allocation once the slab has grown), and the next
//!   expiration comes from one occupied-slot bitmap per level and `trailing_zeros`: at most
//!   10 bit scans, whatever the number of timers.
//! * **Sleep** (`sleep.rs`): holds its deadline, an `Arc` of the driver and the key of its
//!   wheel entry; the entry holds the task's waker. No per-timer reference count: the key is
//!   owned by the one `Sleep`, which removes it when it completes or is dropped.
//! * **Driver hooks** (`driver.rs`): the runtime's IO driver asks `next_timeout()` before
//!   parking, calls `process()` after, and `auto_advance()` when idle with a paused clock.
//!
//! # Resolution, and never early
//!
//! A timer never completes before its deadline: the wheel keeps deadlines exact to the
//! nanosecond and fires an entry only when the clock reads `now >= deadline`. It completes
//! later by the OS wait resolution plus scheduling: the IO driver blocks for
//! `next_timeout()`, and every backend passes it with sub-millisecond precision (`epoll`
//! through `epoll_pwait2(2)`, falling back to `epoll_wait(2)` rounded up to whole
//! milliseconds on kernels before 5.11; `poll` and `select` through `ppoll`/`pselect`),
//! hrtimers with Linux's default 50 µs timer slack. tokio rounds every deadline up to its
//! 1 ms wheel tick whatever the backend could do. Measured here (200 sleeps each, loaded
//! 2-vCPU VM, median lateness): a 100 µs sleep ends 82 µs late on `epoll`, 99 µs on `poll`,
//! 98 µs on `select`, and 1.02 ms on tokio (before `epoll_pwait2`, `epoll` was 1.01 ms late).
//!
//! The price of the fine tick, honestly: a timer that *fires* after a delay `d` is moved
//! down the levels at most `log64(d / 1 ns)` times (4 for a second, 3 for a millisecond,
//! where tokio's 1 ms tick needs 1 and 0), each move an unlink and a link of a few ns (the
//! bench found no measurable difference with 1 µs ticks). A timer cancelled before it
//! fires, the usual fate of a timeout, pays none of this: insert and cancel do not depend on
//! the tick.
//!
//! The driver parks until the exact earliest deadline, not until the start of the slot that
//! holds it: the wheel remembers the earliest deadline (a min kept by inserts, forgotten
//! when that timer leaves, refound by reading the earliest slot when it holds at most 32
//! timers). With slot starts alone, which are up to `64^L` ns early at level `L`, a lone
//! 1 s timer cost 2.7 wake-ups on epoll and 5.7 on a ns-precise wait; now it costs one.
//!
//! # Cost
//!
//! Measured by `benches/timers.rs`, ratios in `time/BENCH.md`:
//!
//! * memory per timer: a [`Sleep`] is 32 bytes, and its wheel entry 48 (deadline, links,
//!   list tag, waker; 50 with the slab's growth slack at 1M timers): 82 bytes, against 112
//!   for tokio's `Sleep`, which embeds its entry. The wheel's fixed part is 2.6 KiB.
//! * 1M sleeps created, polled once (registered) and dropped (cancelled), deadlines spread
//!   from 1 ms to 10 s: 1.55 to 2.4 times faster than tokio in the same run (93 ns against
//!   144 ns a timer on a quiet machine). The bare wheel does an insert and a cancel in about
//!   50 ns, 12 to 15 times faster than a `BTreeMap`; firing 1M timers, cascades included,
//!   is 1.7 to 2.2 times faster than a `BTreeMap` and 1.3 to 1.8 times faster than a
//!   `BinaryHeap` (which cannot cancel in place at all).
//! * 100k sleeps fired together through the runtime (register, wait 1 ms, fire, wake,
//!   re-poll): 1.5 times faster than tokio, most of the rest being `join_all`'s own work.
//!
//! # The paused clock
//!
//! [`pause`](fn@pause) freezes the runtime's [`Instant::now`]; [`advance`](fn@advance) moves
//! it forward and fires what became due; [`resume`](fn@resume) lets it run again from there.
//! While the clock is paused and no task can run, the runtime *auto-advances*: it jumps the
//! clock to the next timer's deadline, so `sleep(Duration::from_secs(3600)).await`
//! completes at once and tests of timeouts and intervals run instantly and deterministically.
//! The clock belongs to the runtime (the time driver), so two runtimes in one process do not
//! share it. Pausing needs a current-thread runtime: on a multi-thread runtime `pause`
//! panics.

mod clock;
mod driver;
mod error;
mod instant;
mod interval;
mod sleep;
mod timeout;
mod wheel;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

pub(crate) use driver::TimeDriver;
pub use error::Elapsed;
pub use instant::Instant;
pub use interval::{Interval, MissedTickBehavior, Tick};
pub use sleep::Sleep;
pub use timeout::Timeout;

/// Waits until `duration` has elapsed on the runtime's clock.
///
/// Equivalent to `sleep_until(Instant::now() + duration)`; a duration too large for the
/// platform's clock means "practically never" (about 30 years).
///
/// The returned [`Sleep`] registers its timer when first polled, and cancels it when
/// dropped.
///
/// # Panics
///
/// Awaiting it outside a c10k runtime panics.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use c10k_runtime::time;
///
/// c10k_runtime::run(async {
///     time::sleep(Duration::from_millis(1)).await;
///     println!("1 ms later (or a little more, never less)");
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    // One look-up of the runtime gives both the clock and the driver to bind.
    let (now, driver) = match crate::context::try_with_time_driver(|d| (d.now(), Arc::clone(d))) {
        Some((now, driver)) => (Instant::from_std(now), Some(driver)),
        None => (Instant::now(), None),
    };
    let deadline = now
        .checked_add(duration)
        .unwrap_or_else(Instant::far_future);
    Sleep::with_driver(deadline, driver)
}

/// Waits until `deadline` on the runtime's clock; completes at the first poll if it has
/// passed.
///
/// # Panics
///
/// Awaiting it outside a c10k runtime panics.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use c10k_runtime::time::{self, Instant};
///
/// c10k_runtime::run(async {
///     let deadline = Instant::now() + Duration::from_millis(3);
///     time::sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline)
}

/// Runs `future` for at most `duration`: `Ok(output)` if it completes first, `Err(Elapsed)`
/// otherwise (the future is then dropped when the [`Timeout`] is).
///
/// asyncio's `wait_for(aw, timeout)`.
///
/// # Panics
///
/// Awaiting it outside a c10k runtime panics once the timer is needed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use c10k_runtime::time;
///
/// c10k_runtime::run(async {
///     let slow = time::sleep(Duration::from_secs(10));
///     assert!(time::timeout(Duration::from_millis(1), slow).await.is_err());
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    let now = Instant::now();
    let deadline = now
        .checked_add(duration)
        .unwrap_or_else(Instant::far_future);
    Timeout::new(future, deadline)
}

/// Runs `future` until `deadline`: `Ok(output)` if it completes first, `Err(Elapsed)`
/// otherwise.
///
/// # Panics
///
/// Awaiting it outside a c10k runtime panics once the timer is needed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use c10k_runtime::time::{self, Instant};
///
/// c10k_runtime::run(async {
///     let deadline = Instant::now() + Duration::from_secs(1);
///     assert_eq!(time::timeout_at(deadline, async { 42 }).await, Ok(42));
/// });
/// ```
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout::new(future, deadline)
}

/// An [`Interval`] ticking every `period`, the first tick at once.
///
/// # Panics
///
/// Panics if `period` is zero.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use c10k_runtime::time;
///
/// c10k_runtime::run(async {
///     let mut every = time::interval(Duration::from_millis(1));
///     for _ in 0..3 {
///         every.tick().await;
///     }
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    Interval::new(Instant::now(), period)
}

/// An [`Interval`] ticking every `period`, the first tick at `start`.
///
/// # Panics
///
/// Panics if `period` is zero.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use c10k_runtime::time::{self, Instant};
///
/// c10k_runtime::run(async {
///     let start = Instant::now() + Duration::from_millis(2);
///     let mut every = time::interval_at(start, Duration::from_millis(1));
///     assert_eq!(every.tick().await, start);
///     assert_eq!(every.tick().await, start + Duration::from_millis(1));
/// });
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    Interval::new(start, period)
}

/// Freezes the current runtime's clock: [`Instant::now`] stops moving until
/// [`advance`](fn@advance), auto-advance or [`resume`](fn@resume) moves it.
///
/// While paused, a runtime with no runnable task jumps the clock to the next timer's
/// deadline instead of waiting for it (auto-advance), so tests of timers run instantly and
/// deterministically.
///
/// # Panics
///
/// Panics outside a runtime, on a multi-thread runtime, or if the clock is already paused.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use c10k_runtime::time::{self, Instant};
///
/// c10k_runtime::run(async {
///     time::pause();
///     let start = Instant::now();
///     time::sleep(Duration::from_secs(3600)).await; // completes at once: auto-advance
///     assert_eq!(start.elapsed(), Duration::from_secs(3600));
/// });
/// ```
pub fn pause() {
    crate::context::with_time_driver(|driver| driver.pause());
}

/// Lets the current runtime's clock run again, from its paused value (time added by
/// [`advance`](fn@advance) is kept; the clock never goes backwards).
///
/// # Panics
///
/// Panics outside a runtime or if the clock is not paused.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use c10k_runtime::time::{self, Instant};
/// c10k_runtime::run(async {
///     time::pause();
///     let start = Instant::now();
///     time::advance(Duration::from_secs(60)).await;
///     time::resume();
///     // Real time runs again, from the advanced value.
///     time::sleep(Duration::from_millis(1)).await;
///     assert!(start.elapsed() >= Duration::from_secs(60) + Duration::from_millis(1));
/// });
/// ```
pub fn resume() {
    crate::context::with_time_driver(|driver| driver.resume());
}

/// Moves the paused clock forward by `duration`, fires the timers that became due, and
/// yields once so that the tasks they woke run before the caller continues.
///
/// All timers due within `duration` fire in that one step, and their tasks see the clock
/// at its new value (at or past their deadlines).
///
/// # Panics
///
/// Panics (when polled) outside a runtime or if the clock is not paused.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use c10k_runtime::time::{self, Instant};
///
/// c10k_runtime::run(async {
///     time::pause();
///     let start = Instant::now();
///     time::advance(Duration::from_millis(250)).await;
///     assert_eq!(Instant::now() - start, Duration::from_millis(250));
/// });
/// ```
pub fn advance(duration: Duration) -> impl Future<Output = ()> {
    Advance {
        duration,
        advanced: false,
    }
}

/// The future of [`advance`](fn@advance): advances on its first poll, then yields once.
#[derive(Debug)]
struct Advance {
    duration: Duration,
    advanced: bool,
}

impl Future for Advance {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.advanced {
            return Poll::Ready(());
        }
        let duration = self.duration;
        crate::context::with_time_driver(|driver| driver.advance(duration));
        self.advanced = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
