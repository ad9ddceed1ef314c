//! The one place where the crate picks its atomics, locks, cells and thread handles.
//!
//! Under `--cfg loom` every type here is loom's model-checked twin, so the models in
//! `src/future/loom_state.rs` explore the interleavings of the real state machine; otherwise
//! they are `std`'s. Timed parking is not modelled by loom: `park_timeout` parks without a
//! deadline there, and the models never use timeouts.

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};
#[cfg(loom)]
pub(crate) use loom::thread::{current, park, Thread};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::thread::{current, park, Thread};

/// `std::cell::UnsafeCell` with loom's closure API (`with`, `with_mut`), so the state machine
/// reads the same under both configurations and loom can track every access to the outcome.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Runs `f` with a shared pointer to the contents.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a unique pointer to the contents.
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Parks the current thread for at most `dur` (loom: without a deadline).
#[cfg(not(loom))]
pub(crate) fn park_timeout(dur: std::time::Duration) {
    std::thread::park_timeout(dur);
}

/// Parks the current thread for at most `dur` (loom: without a deadline).
#[cfg(loom)]
pub(crate) fn park_timeout(_dur: std::time::Duration) {
    loom::thread::park();
}

/// One step of a short busy-wait (loom: a yield, so the awaited thread can run).
#[inline]
pub(crate) fn spin_loop() {
    #[cfg(not(loom))]
    std::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// Gives the CPU away.
#[inline]
pub(crate) fn yield_now() {
    #[cfg(not(loom))]
    std::thread::yield_now();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// Locks a shim mutex, ignoring poisoning.
///
/// The critical sections of this crate never call user code (callbacks and wakers run after
/// the guard is dropped), so a poisoned lock means a bug here, and the guarded state is
/// consistent between statements; recovering the guard keeps one panic from cascading.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}
