//! Futex waits and wakes on words in shared memory (not `FUTEX_PRIVATE_FLAG`: the kernel
//! keys them by the physical page, so every process that maps the page meets there).
//!
//! A wait returns when woken, when the word no longer holds the expected value, on a
//! signal, spuriously, or at the deadline: callers always recheck their condition.

use std::io;
use std::sync::atomic::AtomicU32;
use std::time::Instant;

use rustix::thread::futex;

/// Waits while `word` holds `expected`, at most until `deadline`. Returns `false` if the
/// deadline passed.
pub(crate) fn wait(word: &AtomicU32, expected: u32, deadline: Option<Instant>) -> io::Result<bool> {
    let timeout = match deadline {
        None => None,
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            Some(crate::sys::timespec(left))
        }
    };
    match futex::wait(word, futex::Flags::empty(), expected, timeout.as_ref()) {
        Ok(()) | Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::INTR) => Ok(true),
        Err(rustix::io::Errno::TIMEDOUT) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Wakes at most `n` waiters of `word`.
pub(crate) fn wake(word: &AtomicU32, n: u32) {
    // Errors: EFAULT/EINVAL only for a bad address, which a `&AtomicU32` is not.
    let _ = futex::wake(word, futex::Flags::empty(), n);
}

/// Wakes every waiter of `word`.
pub(crate) fn wake_all(word: &AtomicU32) {
    wake(word, i32::MAX as u32);
}
