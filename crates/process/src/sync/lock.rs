//! [`Lock`] and [`RLock`]: process-shared robust mutexes (see `mutex.rs`).

use std::io;
use std::marker::PhantomData;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::mutex::{Acquired, RawMutex};
use crate::shm::Shm;

/// The previous holder of a lock died holding it (its process exited or was killed, or its
/// thread ended). The lock is yours anyway (the guard is inside) and usable again; the data
/// it protects may be half-updated.
#[derive(Debug)]
pub struct OwnerDied<G> {
    guard: G,
}

impl<G> OwnerDied<G> {
    /// The guard: the lock is held.
    pub fn into_guard(self) -> G {
        self.guard
    }

    /// The guard, borrowed.
    pub fn guard(&self) -> &G {
        &self.guard
    }
}

impl<G> std::fmt::Display for OwnerDied<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the previous holder of the lock died holding it; the lock is recovered")
    }
}

impl<G: std::fmt::Debug> std::error::Error for OwnerDied<G> {}

/// What acquiring a cross-process lock returns: the guard, or the guard wrapped in
/// [`OwnerDied`] when the previous holder died holding the lock.
pub type LockResult<G> = Result<G, OwnerDied<G>>;

pub(crate) fn wrap<G>(how: Acquired, guard: impl FnOnce() -> G) -> Option<LockResult<G>> {
    match how {
        Acquired::Yes => Some(Ok(guard())),
        Acquired::OwnerDied => Some(Err(OwnerDied { guard: guard() })),
        Acquired::No => None,
    }
}

macro_rules! robust_lock {
    ($(#[$doc:meta])* $name:ident, $guard:ident, $recursive:expr, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone, Serialize, Deserialize)]
        pub struct $name {
            shm: Shm,
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }

        impl $name {
            /// A new, unlocked lock in its own shared memory.
            ///
            /// # Errors
            ///
            /// The system's error creating or mapping the memory.
            pub fn new() -> io::Result<$name> {
                let shm = Shm::new($label, std::mem::size_of::<RawMutex>())?;
                // SAFETY: the region is new, ours alone, and sized for a `RawMutex`.
                unsafe { shm.header::<RawMutex>().init($recursive)? };
                Ok($name { shm })
            }

            fn raw(&self) -> &RawMutex {
                // SAFETY: initialized in `new` (by the creator, before sharing).
                unsafe { self.shm.header::<RawMutex>() }
            }

            /// Acquires the lock, waiting as long as it takes.
            ///
            /// # Errors
            ///
            /// [`OwnerDied`] (holding the guard) if the previous holder died holding it.
            pub fn acquire(&self) -> LockResult<$guard<'_>> {
                wrap(self.raw().lock(), || $guard { lock: self, _not_send: PhantomData }).expect("lock waits")
            }

            /// Acquires the lock if it is free: `None` if it is held.
            pub fn try_acquire(&self) -> Option<LockResult<$guard<'_>>> {
                wrap(self.raw().try_lock(), || $guard { lock: self, _not_send: PhantomData })
            }

            /// Acquires the lock, waiting at most `timeout`: `None` if it stayed held.
            pub fn acquire_timeout(&self, timeout: Duration) -> Option<LockResult<$guard<'_>>> {
                wrap(self.raw().lock_timeout(timeout), || $guard { lock: self, _not_send: PhantomData })
            }
        }

        /// Holds the lock; releases it when dropped (in the thread that acquired it).
        #[must_use = "the lock is released as soon as the guard is dropped"]
        pub struct $guard<'a> {
            lock: &'a $name,
            _not_send: PhantomData<*const ()>,
        }

        impl std::fmt::Debug for $guard<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($guard), " { .. }"))
            }
        }

        impl Drop for $guard<'_> {
            fn drop(&mut self) {
                // SAFETY: the guard exists only while this thread holds the lock, and it
                // is not `Send`, so it drops on the thread that locked.
                unsafe { self.lock.raw().unlock() };
            }
        }
    };
}

robust_lock!(
    /// A lock shared by processes (Python's `multiprocessing.Lock`): a robust,
    /// process-shared pthread mutex in shared memory. Pass a clone to a child as an
    /// argument of [`Process::spawn`](crate::Process::spawn).
    ///
    /// Unlike Python's, it is owned: the thread that acquired it releases it, by dropping
    /// the guard. If the holder dies (its process exits or is killed while holding it),
    /// the next `acquire` gets the lock wrapped in [`OwnerDied`] instead of hanging.
    ///
    /// Relocking it in the thread that holds it is a deadlock, reported as a panic
    /// (`EDEADLK`); use [`RLock`] for re-entrant locking.
    ///
    /// A guard stays on the thread that locked (robust mutexes are owned by a thread):
    ///
    /// ```compile_fail
    /// let lock = c10k_process::Lock::new().unwrap();
    /// let guard = lock.acquire().unwrap();
    /// std::thread::scope(|s| {
    ///     s.spawn(move || drop(guard)); // error: `LockGuard` is not `Send`
    /// });
    /// ```
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = c10k_process::Lock::new()?;
    /// {
    ///     let _held = lock.acquire().expect("nobody died holding it");
    ///     assert!(lock.try_acquire().is_none()); // held (here by this very thread)
    /// }
    /// assert!(lock.try_acquire().is_some());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    Lock,
    LockGuard,
    false,
    "c10k-lock"
);

robust_lock!(
    /// A re-entrant lock shared by processes (Python's `multiprocessing.RLock`): the
    /// thread that holds it may acquire it again; it is free once every guard is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = c10k_process::RLock::new()?;
    /// let a = lock.acquire().unwrap();
    /// let b = lock.acquire().unwrap(); // the same thread again
    /// drop(b);
    /// drop(a);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    RLock,
    RLockGuard,
    true,
    "c10k-rlock"
);
