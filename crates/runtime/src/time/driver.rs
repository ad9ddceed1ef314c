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
//!    unpark function installed by [`TimeDriver::set_unpark`]; `process`, called by the same
//!    thread once awake, clears the record, so inserts made while the driver is awake cost
//!    no system call. (`process` on other threads, a multi-thread runtime's maintenance,
//!    leaves it: the parked worker still needs waking.)
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
//! The wheel counts nanoseconds from the driver's creation: a deadline is exactly its
//! instant, with no rounding, so an entry fires only when `now >= deadline`, and a paused
//! clock auto-advances to the exact deadline of the earliest timer. (A coarser tick would save
//! one or two cascades per fired timer but make the paused clock land past deadlines; the
//! resolution that matters is the OS wait's, see the module docs of `time`.)

use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant as StdInstant};

use super::clock::Clock;
use super::wheel::{Key, Wheel};

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
    /// The tick the IO driver is parked until (`u64::MAX`: no timeout) and the thread parked,
    /// or `None` while it is awake. Set by `next_timeout`, cleared by `process` on that same
    /// thread: on a multi-thread runtime other workers call `process` too, and must not
    /// forget that the timer-owning worker is still asleep.
    parked_until: Option<(u64, ThreadId)>,
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
            .field("memory_bytes", &inner.wheel.memory_bytes())
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
    #[allow(dead_code)] // Called by the multi-thread scheduler.
    pub(crate) fn set_pausable(&self, pausable: bool) {
        self.clock.set_pausable(pausable);
    }

    /// Whether the clock is paused: one atomic load, for the driver loop's idle path (only
    /// then is `auto_advance` worth a zero-timeout IO poll first).
    pub(crate) fn is_paused(&self) -> bool {
        self.clock.is_paused()
    }

    /// The runtime clock's current time.
    pub(crate) fn now(&self) -> StdInstant {
        self.clock.now()
    }

    /// How long the IO driver may block before a timer is due: `None` if there is no timer,
    /// `Some(ZERO)` if one is already due. Exactly the earliest deadline in the usual case;
    /// never later than it (with more than 32 timers in the earliest slot of the wheel, the
    /// slot's start, after which they are cascaded closer). Records that
    /// the caller is about to park (see the module docs).
    pub(crate) fn next_timeout(&self) -> Option<Duration> {
        let mut inner = self.lock();
        let next = inner.wheel.next_deadline();
        inner.parked_until = Some((next.unwrap_or(u64::MAX), thread::current().id()));
        drop(inner);
        let deadline = self.tick_instant(next?)?;
        Some(deadline.saturating_duration_since(self.clock.now()))
    }

    /// Fires every timer whose deadline is `<= now`, waking its task. Returns how many fired.
    pub(crate) fn process(&self) -> usize {
        let now = self.now_tick();
        let me = thread::current().id();
        let mut fired = 0;
        let mut wakers: [Option<Waker>; BATCH] = Default::default();
        loop {
            let mut count = 0;
            let mut inner = self.lock();
            if inner.parked_until.is_some_and(|(_, parker)| parker == me) {
                inner.parked_until = None;
            }
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
            let next = self.lock().wheel.next_deadline();
            let Some(next) = next else { return false };
            // An instant past the platform's range cannot be reached: stop rather than spin.
            let Some(at) = self.tick_instant(next) else {
                return false;
            };
            self.clock.advance_to(at);
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

    /// `deadline` in ticks (nanoseconds) since `origin`; 0 for instants before it.
    fn deadline_tick(&self, deadline: StdInstant) -> u64 {
        let nanos = deadline.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX)
    }

    /// The clock's current time in ticks since `origin`.
    fn now_tick(&self) -> u64 {
        self.deadline_tick(self.clock.now())
    }

    /// The instant of `tick`, or `None` if it is not representable (no deadline then).
    fn tick_instant(&self, tick: u64) -> Option<StdInstant> {
        self.origin.checked_add(Duration::from_nanos(tick))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update of `Inner` is completed before any code that may panic runs (wakers
        // are called outside the lock), so a poisoned lock holds consistent state.
        crate::loom::lock(&self.inner)
    }
}

impl Inner {
    /// If the IO driver is parked past `tick`, records the earlier wake-up and returns the
    /// unpark function to call once the lock is released.
    fn take_unpark_if_earlier(&mut self, tick: u64) -> Option<Unpark> {
        match self.parked_until {
            Some((until, parker)) if tick < until => {
                self.parked_until = Some((tick, parker));
                self.unpark.clone()
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    /// A waker counting its wakes.
    #[derive(Default)]
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn counting() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count::default());
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn process_fires_due_timers_once_and_cancelled_never() {
        let driver = TimeDriver::new();
        driver.pause();
        let now = driver.now();
        let (fired, waker) = counting();
        let (cancelled, other) = counting();
        let a = driver
            .register(now + Duration::from_millis(5), &waker)
            .unwrap();
        let b = driver
            .register(now + Duration::from_millis(5), &other)
            .unwrap();
        driver.cancel(b);
        assert_eq!(driver.process(), 0);
        driver.advance(Duration::from_millis(4));
        assert_eq!(fired.0.load(Ordering::SeqCst), 0, "fired early");
        driver.advance(Duration::from_millis(1));
        assert_eq!(fired.0.load(Ordering::SeqCst), 1);
        assert_eq!(driver.process(), 0);
        assert!(driver.poll_registered(a, &waker));
        assert_eq!(cancelled.0.load(Ordering::SeqCst), 0);
        assert_eq!(driver.pending(), 0);
    }

    #[test]
    fn already_due_registration_is_refused() {
        let driver = TimeDriver::new();
        let (_, waker) = counting();
        assert!(driver
            .register(driver.now() - Duration::from_nanos(1), &waker)
            .is_some());
        driver.pause();
        driver.advance(Duration::from_millis(1));
        assert!(driver.register(driver.now(), &waker).is_none());
    }

    #[test]
    fn next_timeout_is_exact_and_auto_advance_lands_on_the_deadline() {
        let driver = TimeDriver::new();
        driver.pause();
        assert_eq!(driver.next_timeout(), None);
        let start = driver.now();
        let (fired, waker) = counting();
        let deadline = start + Duration::from_secs(3600) + Duration::from_nanos(7);
        let key = driver.register(deadline, &waker).unwrap();
        // A higher-level slot start is a lower bound of the deadline.
        let timeout = driver.next_timeout().unwrap();
        assert!(timeout <= deadline - start);
        assert!(driver.auto_advance());
        assert_eq!(driver.now(), deadline);
        assert_eq!(fired.0.load(Ordering::SeqCst), 1);
        assert!(driver.poll_registered(key, &waker));
        assert!(!driver.auto_advance(), "nothing left to advance to");
    }

    /// Regression guard: a lone timer must be reached in one park, not one per wheel level
    /// (slot starts are up to `64^L` ns early; before `next_deadline` a 1 s timer took 5.7
    /// waits on a ns-precise backend and 2.7 on epoll).
    #[test]
    fn a_lone_timer_needs_exactly_one_wait() {
        for (i, ms) in [1u64, 10, 1000, 30_000, 3_600_000].into_iter().enumerate() {
            let driver = TimeDriver::new();
            driver.pause();
            driver.advance(Duration::from_nanos(7_919_123 * i as u64));
            let (fired, waker) = counting();
            let key = driver
                .register(driver.now() + Duration::from_millis(ms), &waker)
                .unwrap();
            let wait = driver.next_timeout().unwrap();
            assert_eq!(wait, Duration::from_millis(ms));
            driver.advance(wait);
            assert_eq!(
                fired.0.load(Ordering::SeqCst),
                1,
                "{ms} ms timer needed another wait"
            );
            assert!(driver.poll_registered(key, &waker));
        }
    }

    #[test]
    fn auto_advance_is_a_no_op_on_a_running_clock() {
        let driver = TimeDriver::new();
        let (_, waker) = counting();
        let key = driver
            .register(driver.now() + Duration::from_secs(60), &waker)
            .unwrap();
        assert!(!driver.auto_advance());
        driver.cancel(key);
    }

    #[test]
    fn earlier_insert_unparks_only_a_parked_driver() {
        let driver = TimeDriver::new();
        let unparks = Arc::new(AtomicUsize::new(0));
        let counter = unparks.clone();
        driver.set_unpark(Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        let (_, waker) = counting();
        let now = driver.now();
        // Awake: no unpark.
        let a = driver
            .register(now + Duration::from_secs(10), &waker)
            .unwrap();
        assert_eq!(unparks.load(Ordering::SeqCst), 0);
        // Parked until about +10 s: a later timer does not unpark, an earlier one does, once.
        assert!(driver.next_timeout().is_some());
        let b = driver
            .register(now + Duration::from_secs(20), &waker)
            .unwrap();
        assert_eq!(unparks.load(Ordering::SeqCst), 0);
        let c = driver
            .register(now + Duration::from_secs(1), &waker)
            .unwrap();
        assert_eq!(unparks.load(Ordering::SeqCst), 1);
        let d = driver
            .register(now + Duration::from_secs(2), &waker)
            .unwrap();
        assert_eq!(unparks.load(Ordering::SeqCst), 1);
        // Another thread's `process` (a multi-thread worker's maintenance) keeps the record.
        std::thread::scope(|s| {
            s.spawn(|| driver.process());
        });
        let e = driver
            .register(now + Duration::from_millis(500), &waker)
            .unwrap();
        assert_eq!(unparks.load(Ordering::SeqCst), 2);
        // The parked thread's own `process` (it woke up) clears it.
        driver.process();
        // Measured from a fresh `now`: on a loaded machine `now + 1 ms` may already be due,
        // and `register` refuses a due deadline.
        let f = driver
            .register(driver.now() + Duration::from_millis(100), &waker)
            .unwrap();
        assert_eq!(unparks.load(Ordering::SeqCst), 2);
        for key in [a, b, c, d, e, f] {
            driver.cancel(key);
        }
    }

    #[test]
    fn reset_keeps_the_waker() {
        let driver = TimeDriver::new();
        driver.pause();
        let (fired, waker) = counting();
        let now = driver.now();
        let key = driver
            .register(now + Duration::from_secs(60), &waker)
            .unwrap();
        assert!(driver.reset(key, now + Duration::from_millis(1)));
        driver.advance(Duration::from_millis(1));
        assert_eq!(fired.0.load(Ordering::SeqCst), 1);
        assert!(driver.poll_registered(key, &waker));
    }

    #[test]
    fn many_timers_fire_in_batches() {
        let driver = TimeDriver::new();
        driver.pause();
        let (fired, waker) = counting();
        let now = driver.now();
        let keys: Vec<_> = (0..1000u64)
            .map(|i| {
                driver
                    .register(now + Duration::from_micros(i + 1), &waker)
                    .unwrap()
            })
            .collect();
        driver.advance(Duration::from_millis(1));
        assert_eq!(fired.0.load(Ordering::SeqCst), 1000);
        for key in keys {
            assert!(driver.poll_registered(key, &waker));
        }
        assert_eq!(driver.pending(), 0);
    }
}
