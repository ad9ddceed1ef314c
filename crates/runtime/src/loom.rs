//! The one place where concurrency primitives are chosen: `std` in normal builds, `loom`'s
//! model-checked twins under `--cfg loom`.
//!
//! The task state machine, the run queues and the injector take their atomics, mutexes and
//! cells from here, so that the loom models in `src/**/tests/loom_*.rs` exercise the very code
//! that ships. Everything else in the crate (driver, blocking pool) uses `std` directly: those
//! parts talk to the kernel, which loom cannot model.

#[cfg(not(loom))]
pub(crate) mod sync {
    pub(crate) use std::sync::{Arc, Mutex};

    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
    }
}

#[cfg(loom)]
pub(crate) mod sync {
    pub(crate) use loom::sync::{Arc, Mutex};

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
///
/// The crate's one such helper: it takes `std`'s mutex (the driver, the blocking pool, the
/// schedulers' bookkeeping) and, under `--cfg loom`, loom's (the model-checked cores).
pub(crate) fn lock<M: Lock + ?Sized>(m: &M) -> M::Guard<'_> {
    m.lock_ignoring_poison()
}

/// A mutex that [`lock`] can lock.
pub(crate) trait Lock {
    type Guard<'a>
    where
        Self: 'a;
    fn lock_ignoring_poison(&self) -> Self::Guard<'_>;
}

impl<T: ?Sized> Lock for std::sync::Mutex<T> {
    type Guard<'a>
        = std::sync::MutexGuard<'a, T>
    where
        Self: 'a;
    #[inline]
    fn lock_ignoring_poison(&self) -> Self::Guard<'_> {
        self.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(loom)]
impl<T> Lock for loom::sync::Mutex<T> {
    type Guard<'a>
        = loom::sync::MutexGuard<'a, T>
    where
        Self: 'a;
    fn lock_ignoring_poison(&self) -> Self::Guard<'_> {
        self.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
