//! What a scheduler thread does when waiting for IO fails.
//!
//! A scheduler thread waits for IO in its driver's `park` (`epoll_wait` and friends; the
//! selector already retries `EINTR`). Any other error must neither be discarded (a driver
//! that fails at once on every call would spin a core at 100 % with nothing said) nor kill
//! the runtime on the first hiccup (`ENOMEM` passes). So:
//!
//! 1. A failed park counts as a wait that returned no events: the loop goes on, so tasks and
//!    timers keep running, and the next park retries.
//! 2. Before that retry the thread pauses, [`FIRST_BACKOFF`] after the first failure of a
//!    streak, doubling up to [`MAX_BACKOFF`].
//! 3. The first failure of a streak is reported on stderr (`c10k: ...`), once; a successful
//!    park ends the streak.
//! 4. The [`MAX_CONSECUTIVE_FAILURES`]th failure in a row (about a second of retrying) is
//!    final: [`Streak::check`] returns the error, and the scheduler ends `block_on` with a
//!    panic that carries it (a current-thread runtime panics in `block_on` directly; a
//!    multi-thread worker leaves its loop and the threads in `block_on` panic). Like tokio,
//!    a panic rather than an `io::Result` from `block_on`: there is no output to return and
//!    nothing the caller could retry that the runtime has not already.
//!
//! Tests inject failures with [`Handle::inject_park_failures`](super::Handle), a counter of
//! parks to fail, consumed before the real park (so each injected failure costs no
//! system call).

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Failures in a row after which a scheduler gives up.
pub(crate) const MAX_CONSECUTIVE_FAILURES: u32 = 12;
/// The pause after the first failure of a streak.
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_millis(1);
/// The longest pause between two attempts.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_millis(200);

/// A counter of parks to fail (fault injection for tests; 0 in production, one relaxed load
/// per park).
#[derive(Debug, Default)]
pub(crate) struct Faults(AtomicU32);

impl Faults {
    pub(crate) fn add(&self, n: u32) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Takes one injected failure, if any is left.
    fn take(&self) -> bool {
        self.0.load(Ordering::Relaxed) != 0
            && self
                .0
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
    }
}

/// The failure streak of one scheduler thread.
#[derive(Debug, Default)]
pub(crate) struct Streak {
    failures: u32,
}

impl Streak {
    /// Parks through `park` (unless `faults` injects a failure) and applies the protocol of
    /// the module docs: `Ok(events)` on success, `Ok(0)` after a failure that is retried,
    /// `Err` when the failures are final.
    ///
    /// # Errors
    ///
    /// The [`MAX_CONSECUTIVE_FAILURES`]th failure in a row, with the last error's kind and
    /// a message saying so.
    pub(crate) fn check(
        &mut self,
        faults: &Faults,
        park: impl FnOnce() -> io::Result<usize>,
    ) -> io::Result<usize> {
        let res = if faults.take() {
            Err(io::Error::other("injected park failure"))
        } else {
            park()
        };
        // Every turn of both schedulers' loops comes through here (a blocking park or a
        // non-blocking look at IO): the turn's time, for the dump's poll stamps.
        crate::task::dump::tick();
        crate::trace::driver_turn(&res);
        let e = match res {
            Ok(n) => {
                self.failures = 0;
                return Ok(n);
            }
            Err(e) => e,
        };
        self.failures += 1;
        if self.failures >= MAX_CONSECUTIVE_FAILURES {
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "the c10k runtime cannot wait for IO: its IO driver failed \
                     {MAX_CONSECUTIVE_FAILURES} times in a row (last error: {e})"
                ),
            ));
        }
        if self.failures == 1 {
            eprintln!("c10k: waiting for IO failed: {e}; retrying with backoff");
        }
        std::thread::sleep(backoff(self.failures));
        Ok(0)
    }
}

/// The pause after the `n`th failure in a row (`n >= 1`).
fn backoff(n: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << (n - 1).min(16))
        .min(MAX_BACKOFF)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Guards the documented budget: the streak gives up after about a second, not at once
    /// and not after minutes.
    #[test]
    fn backoff_grows_to_its_cap_and_the_whole_streak_lasts_about_a_second() {
        assert_eq!(backoff(1), FIRST_BACKOFF);
        assert_eq!(backoff(2), FIRST_BACKOFF * 2);
        assert_eq!(backoff(30), MAX_BACKOFF);
        let total: Duration = (1..MAX_CONSECUTIVE_FAILURES).map(backoff).sum();
        assert!(
            total >= Duration::from_millis(500) && total <= Duration::from_secs(2),
            "{total:?}"
        );
    }
}
