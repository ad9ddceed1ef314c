//! The time driver: the timing wheel of one runtime, its clock, and the hooks the IO driver
//! calls around each park.
//!
//! # Protocol with the runtime's driver loop
//!
//! 1. After every park, [`TimeDriver::process`] fires the timers that are due: it takes the
//!    lock, pops up to [`BATCH`] due entries, releases the lock and wakes their wakers, and
//!    repeats until none is due. Waking outside the lock means a waker that re-enters the
//!    driver (a task polled inline, a `Sleep` dropped by the wake) cannot deadlock.
//! 2. When no task is runnable and the IO poll found nothing, [`TimeDriver::auto_advance`]
//!    moves a paused clock straight to the next deadline.
//! 3. Before parking, [`TimeDriver::next_timeout`] says how long the IO driver may block and
//!    records the tick it is parked until. A timer inserted later with an earlier deadline
//!    (necessarily from another thread, since the parked thread runs no task) calls the
//!    unpark function installed by [`TimeDriver::set_unpark`]; `process` clears the record,
//!    so inserts made while the driver is awake cost no system call.
//!
//! # Per-timer state
//!
//! A timer is one wheel entry holding `Option<Waker>`; its [`Key`] is owned by exactly one
//! `Sleep`, which is the only one to remove it (on completion, `reset`, or drop). So the
//! entry needs no reference count and no generation: the wheel's "fired" mark says whether
//! the deadline has come, and `Sleep` reads it under the lock.
//!
//! # Ticks
//!
//! The wheel counts [`TICK`]s (1 µs) from the driver's creation. Deadlines are rounded
//! *up* to a tick and "now" *down*, so an entry fires only when `now >= deadline`.

use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant as StdInstant};

use super::clock::Clock;
use super::wheel::{Key, Wheel};

/// Length of one wheel tick.
pub(crate) const TICK: Duration = Duration::from_micros(1);

/// Nanoseconds per tick, for the conversions.
const TICK_NANOS: u128 = TICK.as_nanos();

/// Wakers collected under the lock before it is released to wake them.
const BATCH: usize = 32;

/// The function that wakes a parked IO driver.
type Unpark = Arc<dyn Fn() + Send + Sync>;

/// The timers of one runtime. `Send + Sync`; shared through an `Arc` by the runtime.
pub(crate) struct TimeDriver {
    /// Instant of tick 0.
    origin: StdInstant,
    /// The runtime's clock (pausable).
    clock: Clock,
    /// The wheel and the park record, under one lock.
    inner: Mutex<Inner>,
}

/// State guarded by [`TimeDriver::inner`].
struct Inner {
    /// The timers; each value is the waker of the task waiting on it.
    wheel: Wheel<Option<Waker>>,
    /// The tick the IO driver is parked until (`u64::MAX`: no timeout), or `None` while it is
    /// awake. Set by `next_timeout`, cleared by `process`.
    parked_until: Option<u64>,
    /// Wakes the parked IO driver; set once by the runtime.
    unpark: Option<Unpark>,
}

impl std::fmt::Debug for TimeDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("TimeDriver")
            .field("origin", &self.origin)
            .field("clock", &self.clock)
            .field("elapsed_ticks", &inner.wheel.elapsed())
            .field("pending", &inner.wheel.pending())
            .field("parked_until", &inner.parked_until)
            .finish()
    }
}

impl TimeDriver {
    /// A driver with no timers, its clock running.
    pub(crate) fn new() -> TimeDriver {
        let clock = Clock::new();
        TimeDriver {
            origin: clock.now(),
            clock,
            inner: Mutex::new(Inner {
                wheel: Wheel::new(),
                parked_until: None,
                unpark: None,
            }),
        }
    }

    /// Installs the function that wakes the IO driver while it is parked.
    pub(crate) fn set_unpark(&self, unpark: Arc<dyn Fn() + Send + Sync>) {
        self.lock().unpark = Some(unpark);
    }

    /// Allows (`true`, the default) or forbids `time::pause()`; a multi-thread runtime
    /// forbids it.
    pub(crate) fn set_pausable(&self, pausable: bool) {
        self.clock.set_pausable(pausable);
    }

    /// The runtime clock's current time.
    pub(crate) fn now(&self) -> StdInstant {
        self.clock.now()
    }

    /// How long the IO driver may block before a timer is due: `None` if there is no timer,
    /// `Some(ZERO)` if one is already due. Rounded up to the tick, never early. Records that
    /// the caller is about to park (see the module docs).
    pub(crate) fn next_timeout(&self) -> Option<Duration> {
        let mut inner = self.lock();
        let next = inner.wheel.next_expiration().map(|e| e.deadline);
        inner.parked_until = Some(next.unwrap_or(u64::MAX));
        drop(inner);
        let deadline = self.tick_instant(next?)?;
        Some(deadline.saturating_duration_since(self.clock.now()))
    }

    /// Fires every timer whose deadline is `<= now`, waking its task. Returns how many fired.
    pub(crate) fn process(&self) -> usize {
        let now = self.now_tick();
        let mut fired = 0;
        let mut wakers: [Option<Waker>; BATCH] = Default::default();
        loop {
            let mut count = 0;
            let mut inner = self.lock();
            inner.parked_until = None;
            let mut done = true;
            while let Some(key) = inner.wheel.poll(now) {
                fired += 1;
                if let Some(waker) = inner.wheel.get_mut(key).take() {
                    wakers[count] = Some(waker);
                    count += 1;
                    if count == BATCH {
                        done = false;
                        break;
                    }
                }
            }
            drop(inner);
            for waker in wakers.iter_mut().take(count) {
                if let Some(waker) = waker.take() {
                    waker.wake();
                }
            }
            if done {
                return fired;
            }
        }
    }

    /// With a paused clock, moves it to the next timer's deadline and fires the timers due
    /// then. Returns `true` if timers fired (their tasks were woken), `false` if the clock is
    /// not paused or no timer is pending. Call it only when no task is runnable.
    pub(crate) fn auto_advance(&self) -> bool {
        if !self.clock.is_paused() {
            return false;
        }
        loop {
            let next = self.lock().wheel.next_expiration().map(|e| e.deadline);
            let Some(next) = next else { return false };
            if let Some(at) = self.tick_instant(next) {
                self.clock.advance_to(at);
            }
            // An upper-level slot only cascades; keep going until something fires.
            if self.process() > 0 {
                return true;
            }
        }
    }

    /// Moves a paused clock forward by `by` and fires what became due.
    ///
    /// # Panics
    ///
    /// Panics if the clock is not paused.
    pub(crate) fn advance(&self, by: Duration) {
        self.clock.advance(by);
        self.process();
    }

    /// Freezes the clock. See `time::pause`.
    pub(crate) fn pause(&self) {
        self.clock.pause();
    }

    /// Unfreezes the clock. See `time::resume`.
    pub(crate) fn resume(&self) {
        self.clock.resume();
    }

    /// Registers a timer for `deadline` that wakes `waker`. `None` if it is already due (the
    /// caller completes at once).
    pub(crate) fn register(&self, deadline: StdInstant, waker: &Waker) -> Option<Key> {
        let tick = self.deadline_tick(deadline);
        let mut inner = self.lock();
        let key = inner.wheel.insert(tick, Some(waker.clone())).ok()?;
        let unpark = inner.take_unpark_if_earlier(tick);
        drop(inner);
        if let Some(unpark) = unpark {
            unpark();
        }
        Some(key)
    }

    /// Polls a registered timer: `true` (and the key is removed) if it fired; otherwise
    /// stores `waker` if it differs from the stored one and returns `false`.
    pub(crate) fn poll_registered(&self, key: Key, waker: &Waker) -> bool {
        let mut inner = self.lock();
        // Wakers replaced or removed are dropped after the lock is released: dropping the last
        // reference to a task may drop its future, and with it another `Sleep` of this driver.
        let old = if inner.wheel.is_fired(key) {
            let old = inner.wheel.remove(key);
            drop(inner);
            drop(old);
            return true;
        } else {
            let slot = inner.wheel.get_mut(key);
            match slot {
                Some(old) if old.will_wake(waker) => None,
                _ => slot.replace(waker.clone()),
            }
        };
        drop(inner);
        drop(old);
        false
    }

    /// Moves a registered timer to `deadline`, keeping its waker. Returns `false` if the
    /// new deadline is already due (the timer is then fired; the next poll completes).
    pub(crate) fn reset(&self, key: Key, deadline: StdInstant) -> bool {
        let tick = self.deadline_tick(deadline);
        let mut inner = self.lock();
        if !inner.wheel.reset(key, tick) {
            return false;
        }
        let unpark = inner.take_unpark_if_earlier(tick);
        drop(inner);
        if let Some(unpark) = unpark {
            unpark();
        }
        true
    }

    /// Cancels and forgets a registered timer. O(1).
    pub(crate) fn cancel(&self, key: Key) {
        let waker = self.lock().wheel.remove(key);
        // Dropped outside the lock (see `poll_registered`).
        drop(waker);
    }

    /// Number of timers not yet fired.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.lock().wheel.pending()
    }

    /// `deadline` in ticks since `origin`, rounded up.
    fn deadline_tick(&self, deadline: StdInstant) -> u64 {
        let nanos = deadline.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(nanos.div_ceil(TICK_NANOS)).unwrap_or(u64::MAX)
    }

    /// The clock's current time in ticks since `origin`, rounded down.
    fn now_tick(&self) -> u64 {
        let nanos = self.clock.now().saturating_duration_since(self.origin).as_nanos();
        u64::try_from(nanos / TICK_NANOS).unwrap_or(u64::MAX)
    }

    /// The instant of `tick`, or `None` if it is not representable (no deadline then).
    fn tick_instant(&self, tick: u64) -> Option<StdInstant> {
        let nanos = u64::try_from(u128::from(tick) * TICK_NANOS).ok()?;
        self.origin.checked_add(Duration::from_nanos(nanos))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update of `Inner` is completed before any code that may panic runs (wakers
        // are called outside the lock), so a poisoned lock holds consistent state.
        self.inner.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}

impl Inner {
    /// If the IO driver is parked past `tick`, records the earlier wake-up and returns the
    /// unpark function to call once the lock is released.
    fn take_unpark_if_earlier(&mut self, tick: u64) -> Option<Unpark> {
        match self.parked_until {
            Some(until) if tick < until => {
                self.parked_until = Some(tick);
                self.unpark.clone()
            }
            _ => None,
        }
    }
}
