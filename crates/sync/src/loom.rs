//! The one place where the crate picks its atomics, locks and thread handles.
//!
//! Under `--cfg loom` every type here is loom's model-checked twin, so the models in
//! `tests/loom_*.rs` explore the interleavings of the real code; otherwise they are `std`'s.
//! Timed parking is not modelled by loom: `park_timeout` parks without a deadline there, and
//! the models never use timeouts.

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering,
};
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};
#[cfg(loom)]
pub(crate) use loom::thread::{current, park, Thread};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::thread::{current, Thread};

/// Parks the current thread, or the coroutine running on it if a parking hook runs it
/// (`park.rs`).
#[cfg(not(loom))]
pub(crate) fn park() {
    if !crate::park::hooked_park(None) {
        std::thread::park();
    }
}

/// `std::cell::UnsafeCell` with loom's closure API (`with`, `with_mut`), so that the lock-free
/// stores (`ring.rs`, `list.rs`) read the same under both configurations and loom can track
/// every access to a slot.
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

/// One step of a busy-wait (loom: a yield, so that the model lets the awaited thread run).
#[inline]
pub(crate) fn spin_loop() {
    #[cfg(not(loom))]
    std::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// The fast paths' half of the engine's store-buffering handshake, placed between a
/// `SeqCst` read-modify-write (the store's claim) and a `SeqCst` load of the engine's
/// `waiting` word. In the C++20 model that pair needs no fence (`engine.rs` gives the
/// argument), and on x86 a fence here would be an `mfence` that drains the store buffer,
/// waiting for the slot's cache line, which the peer spinning on it holds. loom models
/// `SeqCst` accesses as acquire/release only, so under loom this is a `SeqCst` fence: the
/// models then check the handshake with the guarantee the real code gets from `SeqCst`.
#[inline]
pub(crate) fn seq_cst_pair_fence() {
    #[cfg(loom)]
    fence(Ordering::SeqCst);
}

/// Gives the CPU away.
#[inline]
pub(crate) fn yield_now() {
    #[cfg(not(loom))]
    std::thread::yield_now();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// Parks the current thread for at most `dur` (loom: without a deadline).
#[cfg(not(loom))]
pub(crate) fn park_timeout(dur: std::time::Duration) {
    if !crate::park::hooked_park(Some(dur)) {
        std::thread::park_timeout(dur);
    }
}

/// Parks the current thread for at most `dur` (loom: without a deadline).
#[cfg(loom)]
pub(crate) fn park_timeout(_dur: std::time::Duration) {
    loom::thread::park();
}

/// Locks a shim mutex, ignoring poisoning.
///
/// Our internal critical sections never call user code, so a panic inside one is a bug in
/// this crate; the state they guard stays consistent between statements, and recovering
/// the guard keeps one panicking thread from cascading into every other user.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}
