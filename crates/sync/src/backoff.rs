//! Backoff for the lock-free stores' retry loops and the blocking waits, and cache-line
//! padding.
//!
//! A caller that loses a race (a failed compare-and-swap) *spins* a little before retrying:
//! 2^step `spin_loop` hints, up to 2^`SPIN_LIMIT`, which spreads out the retries of
//! contending threads (as crossbeam's `Backoff::spin`).
//!
//! One that waits for another thread (a slot being written, a full or empty store before it
//! parks) *snoozes*: it polls after a single `spin_loop` hint for the first
//! `SNOOZE_SPIN_ROUNDS` rounds, then yields the CPU, and after `YIELD_LIMIT` rounds reports
//! [`Backoff::is_completed`], the hint to park instead. This differs from crossbeam's
//! `snooze`, which spins 2^step hints per round, up to 2^6 (127 hints in all), before its
//! first yield. Two measured reasons (`BENCHMARKS.md`, "Spin policy"):
//!
//! - A waiter reacts only between rounds. In a bounded channel running at its bound, the
//!   producer waits once per message for the slot the consumer frees, so rounds of 2^k
//!   hints add up to 2^k hints of latency *per message*. One hint per poll keeps the
//!   reaction within one hint.
//! - The peer a waiter waits for is often not running (more runnable threads than cores).
//!   Then spinning cannot help, and yielding hands the core over at once. When the peer is
//!   running on another core, a hand-over is a cache-line transfer (well under a
//!   microsecond), which the first polls cover; after that, a `sched_yield` with nothing
//!   else runnable returns within a fraction of a microsecond, so the yielding rounds still
//!   poll often.

use crate::loom;

/// Largest step of [`Backoff::spin`] (2^step hints).
#[cfg(not(loom))]
const SPIN_LIMIT: u32 = 6;
/// Rounds of [`Backoff::snooze`] that poll after one hint, before it starts yielding.
#[cfg(not(loom))]
const SNOOZE_SPIN_ROUNDS: u32 = 4;
/// Rounds before [`Backoff::is_completed`] says "park now".
#[cfg(not(loom))]
const YIELD_LIMIT: u32 = 10;
/// Under loom every spin is a yield: keep the rounds to a minimum so models stay small.
#[cfg(loom)]
const SPIN_LIMIT: u32 = 0;
#[cfg(loom)]
const SNOOZE_SPIN_ROUNDS: u32 = 1;
#[cfg(loom)]
const YIELD_LIMIT: u32 = 1;

/// Backoff state of one retry or wait loop.
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
        if self.step < SNOOZE_SPIN_ROUNDS {
            loom::spin_loop();
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
