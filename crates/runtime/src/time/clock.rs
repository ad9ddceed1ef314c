//! The runtime's clock: the OS monotonic clock, which tests can pause and advance.
//!
//! The clock reads `std::time::Instant::now()` until it is first paused. From then on it is
//! `base_now + (os_now - base_os)` while running and `base_now` while paused, so that
//!
//! 1. it never goes backwards (a `resume` continues from the paused value, keeping whatever
//!    was added with `advance`), and
//! 2. the common case, a clock never paused, costs one relaxed atomic load and the OS read.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant as StdInstant};

/// A per-runtime clock that can be frozen and moved by hand.
#[derive(Debug)]
pub(crate) struct Clock {
    /// Set (never cleared) the first time the clock is paused; until then `now()` is the OS
    /// clock without taking the lock.
    adjusted: AtomicBool,
    /// Whether `pause` is allowed (a current-thread runtime); set by the runtime.
    pausable: AtomicBool,
    /// Mirror of `state.paused`, written under the lock, so that the driver loop can ask
    /// "paused?" at every idle transition with one atomic load.
    paused: AtomicBool,
    /// The adjusted clock. Only touched once `adjusted` is set.
    state: Mutex<State>,
}

/// The adjusted clock's reference points.
#[derive(Debug)]
struct State {
    /// Whether the clock is frozen at `base_now`.
    paused: bool,
    /// OS instant at which the clock read `base_now` (meaningful while running).
    base_os: StdInstant,
    /// Clock value at `base_os`, or the frozen value while paused.
    base_now: StdInstant,
}

impl Clock {
    /// A running clock that follows the OS clock.
    pub(crate) fn new() -> Clock {
        let now = StdInstant::now();
        Clock {
            adjusted: AtomicBool::new(false),
            pausable: AtomicBool::new(true),
            paused: AtomicBool::new(false),
            state: Mutex::new(State {
                paused: false,
                base_os: now,
                base_now: now,
            }),
        }
    }

    /// The current time of this clock.
    pub(crate) fn now(&self) -> StdInstant {
        // Relaxed: `adjusted` is only set under the `state` lock by the thread that pauses,
        // and a reader that misses it reads the OS clock, which is what the clock was.
        if !self.adjusted.load(Ordering::Relaxed) {
            return StdInstant::now();
        }
        let state = self.lock();
        if state.paused {
            state.base_now
        } else {
            state.base_now + StdInstant::now().saturating_duration_since(state.base_os)
        }
    }

    /// Whether the clock is frozen.
    pub(crate) fn is_paused(&self) -> bool {
        // Pause and resume happen on the runtime's own thread (current-thread runtimes
        // only), the thread that asks, so a relaxed load sees its latest value.
        self.paused.load(Ordering::Relaxed)
    }

    /// Allows or forbids [`pause`](Self::pause).
    pub(crate) fn set_pausable(&self, pausable: bool) {
        self.pausable.store(pausable, Ordering::Relaxed);
    }

    /// Freezes the clock at its current value.
    ///
    /// # Panics
    ///
    /// Panics if it is already paused, or if the runtime forbids pausing.
    pub(crate) fn pause(&self) {
        assert!(
            self.pausable.load(Ordering::Relaxed),
            "c10k::time::pause() needs a current-thread runtime: \
             a paused clock on a multi-thread runtime would race with its workers"
        );
        let mut state = self.lock();
        assert!(
            !state.paused,
            "c10k::time::pause(): the clock is already paused"
        );
        let os = StdInstant::now();
        let frozen = if self.adjusted.load(Ordering::Relaxed) {
            state.base_now + os.saturating_duration_since(state.base_os)
        } else {
            os
        };
        state.paused = true;
        state.base_now = frozen;
        state.base_os = os;
        self.adjusted.store(true, Ordering::Relaxed);
        self.paused.store(true, Ordering::Relaxed);
    }

    /// Lets the clock run again from its frozen value.
    ///
    /// # Panics
    ///
    /// Panics if it is not paused.
    pub(crate) fn resume(&self) {
        let mut state = self.lock();
        assert!(
            state.paused,
            "c10k::time::resume(): the clock is not paused"
        );
        state.paused = false;
        state.base_os = StdInstant::now();
        self.paused.store(false, Ordering::Relaxed);
    }

    /// Moves a paused clock forward by `by`.
    ///
    /// # Panics
    ///
    /// Panics if the clock is not paused.
    pub(crate) fn advance(&self, by: Duration) {
        let mut state = self.lock();
        assert!(
            self.adjusted.load(Ordering::Relaxed) && state.paused,
            "c10k::time::advance() needs a paused clock: call time::pause() first"
        );
        state.base_now += by;
    }

    /// Moves a paused clock forward to `to` if it is earlier; returns whether it moved.
    pub(crate) fn advance_to(&self, to: StdInstant) -> bool {
        let mut state = self.lock();
        if state.paused && to > state.base_now {
            state.base_now = to;
            true
        } else {
            false
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is plain data updated in one step: a panic elsewhere cannot leave it torn.
        crate::loom::lock(&self.state)
    }
}
