//! Exponential backoff for the lock-free stores' retry loops, and cache-line padding.
//!
//! A caller that loses a race (a failed compare-and-swap) *spins* a little before retrying;
//! one that waits for another thread (a slot being written, a full or empty store before it
//! parks) *snoozes*: spins for the first rounds, then yields the CPU, and after
//! `YIELD_LIMIT` rounds reports [`Backoff::is_completed`], the hint to park instead. The
//! schedule is the one crossbeam's `Backoff` made standard (spin 2^step, up to 2^6, then
//! yield, for ten rounds).

use crate::loom;

/// Rounds of pure spinning (2^step iterations each).
#[cfg(not(loom))]
const SPIN_LIMIT: u32 = 6;
/// Rounds before [`Backoff::is_completed`] says "park now".
#[cfg(not(loom))]
const YIELD_LIMIT: u32 = 10;
/// Under loom every spin is a yield: keep the rounds to a minimum so models stay small.
#[cfg(loom)]
const SPIN_LIMIT: u32 = 0;
#[cfg(loom)]
const YIELD_LIMIT: u32 = 1;

/// Exponential backoff state of one retry loop.
#[derive(Debug)]
pub(crate) struct Backoff {
    step: u32,
}

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff { step: 0 }
    }

    /// Backs off after a lost race.
    #[inline]
    pub(crate) fn spin(&mut self) {
        for _ in 0..1u32 << self.step.min(SPIN_LIMIT) {
            loom::spin_loop();
        }
        if self.step <= SPIN_LIMIT {
            self.step += 1;
        }
    }

    /// Backs off while waiting for another thread to make progress.
    #[inline]
    pub(crate) fn snooze(&mut self) {
        if self.step <= SPIN_LIMIT {
            for _ in 0..1u32 << self.step {
                loom::spin_loop();
            }
        } else {
            loom::yield_now();
        }
        if self.step <= YIELD_LIMIT {
            self.step += 1;
        }
    }

    /// Whether waiting longer is better done parked.
    #[inline]
    pub(crate) fn is_completed(&self) -> bool {
        self.step > YIELD_LIMIT
    }
}

/// Pads and aligns a value to 128 bytes (two cache lines: x86's adjacent-line prefetcher
/// pulls pairs), so that the head and tail indices, written by different threads, never
/// share a line.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}
