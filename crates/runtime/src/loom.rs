//! The one place where concurrency primitives are chosen: `std` in normal builds, `loom`'s
//! model-checked twins under `--cfg loom`.
//!
//! The task state machine, the run queues and the injector take their atomics, mutexes and
//! cells from here, so that the loom models in `src/**/tests/loom_*.rs` exercise the very code
//! that ships. Everything else in the crate (driver, blocking pool) uses `std` directly: those
//! parts talk to the kernel, which loom cannot model.

#[cfg(not(loom))]
pub(crate) mod sync {
    pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
    }
}

#[cfg(loom)]
pub(crate) mod sync {
    pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};

    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
    }
}

/// An `UnsafeCell` with loom's closure-based access API, so that loom can check every access
/// for data races. The closures receive raw pointers; dereferencing them is the caller's
/// `unsafe` and must be argued at the call site.
#[cfg(not(loom))]
pub(crate) mod cell {
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }

        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(loom)]
pub(crate) mod cell {
    pub(crate) use loom::cell::UnsafeCell;
}

/// Locks a mutex, ignoring poisoning: every critical section in this crate leaves the
/// protected data consistent before it can panic, so a poisoned lock carries valid data.
pub(crate) fn lock<T>(m: &sync::Mutex<T>) -> sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}
