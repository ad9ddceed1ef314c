//! The parking hook: how a `_blocking` method waits when the caller is not a plain thread.
//!
//! Every `_blocking` method of the crate waits the same way (`wait.rs`): it registers a
//! wake-up for "the current thread", then parks the thread until that wake-up fires (or a
//! deadline passes). Code running on a green thread (a stackful coroutine, `c10k-green`)
//! must not park its OS thread: the other green threads of that thread would stop with it.
//! So the waiting goes through this hook.
//!
//! A scheduler of coroutines installs a [`Park`] for its OS thread with [`set_parker`]. From
//! then on, each blocking wait asks the parker first:
//!
//! 1. [`Park::waker`]: a [`Waker`] that resumes the caller, or `None` if the caller is not one
//!    of the parker's coroutines (then the wait uses the thread, exactly as without a hook).
//! 2. [`Park::park`] / [`Park::park_timeout`]: suspend the caller until that waker is woken,
//!    the deadline passes, or spuriously (the waits re-check their condition and wait again,
//!    as they do after a stray `unpark`). They return `false` to decline (the caller is not
//!    theirs), and the thread parks instead.
//!
//! A wait asks both questions within one call, with no switch in between, so the two answers
//! agree. The hook is read from a thread-local `Cell` only on the slow path, after the
//! primitive decided to block; with no parker installed it costs one thread-local load per
//! park, next to a `futex` system call. This crate still depends on no runtime: the parker is
//! a trait object the scheduler provides.

use std::cell::Cell;
use std::task::Waker;
use std::time::Duration;

/// A scheduler's way of suspending the code it runs: see the [module docs](self).
pub trait Park: Sync {
    /// A waker that resumes the caller, or `None` if the caller is not run by this parker.
    fn waker(&self) -> Option<Waker>;
    /// Suspends the caller until its waker is woken (spurious returns are allowed).
    /// Returns `false`, without suspending, if the caller is not run by this parker.
    fn park(&self) -> bool;
    /// As [`park`](Park::park), returning after `timeout` at the latest.
    fn park_timeout(&self, timeout: Duration) -> bool;
}

thread_local! {
    static PARKER: Cell<Option<&'static dyn Park>> = const { Cell::new(None) };
}

/// Installs `parker` as this thread's parking hook (`None` removes it) and returns the one
/// it replaces.
pub fn set_parker(parker: Option<&'static dyn Park>) -> Option<&'static dyn Park> {
    PARKER.with(|p| p.replace(parker))
}

/// The waker of the hooked caller, if a parker is installed and runs the caller.
#[inline]
#[cfg_attr(loom, allow(dead_code))]
pub(crate) fn hooked_waker() -> Option<Waker> {
    PARKER.with(Cell::get).and_then(|p| p.waker())
}

/// Parks through the hook; `false` if there is none or it declined.
#[inline]
#[cfg_attr(loom, allow(dead_code))]
pub(crate) fn hooked_park(timeout: Option<Duration>) -> bool {
    match PARKER.with(Cell::get) {
        None => false,
        Some(p) => match timeout {
            None => p.park(),
            Some(t) => p.park_timeout(t),
        },
    }
}
