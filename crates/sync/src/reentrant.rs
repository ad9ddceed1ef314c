//! A lock that the thread holding it may take again (Python's `RLock`).
//!
//! # Why per thread and not per task
//!
//! Re-entrancy needs to know *who* is asking. A thread has an identity the lock can read at
//! any time; an async task, in a runtime-agnostic crate, does not: several tasks share one
//! thread (so "same thread" would let task B walk into task A's critical section) and one task
//! may move between threads (so "same thread" would make it deadlock with itself). Offering
//! `lock().await` on this type would therefore be unsound in spirit if not in memory, and it is
//! not offered. In async code, structure the call tree so that the guard (or `&mut T`) is
//! passed down instead of re-locking, which is what the re-entrant lock was standing in for.
//!
//! # Algorithm
//!
//! An owner token (a per-thread number, never reused) and a depth
//! counter sit beside a one-permit [`Semaphore`]. The owner re-entering
//! bumps the depth; anyone else acquires the permit (FIFO, like [`Mutex`](crate::Mutex)). The
//! guard is `!Send`, so a re-entrant guard is always released by the thread that owns it.
#![allow(unsafe_code)]

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::panic::Location;
use std::time::Duration;

use crate::deadlock::LockId;
use crate::loom::{AtomicUsize, Ordering};
use crate::mutex::TryLockError;
use crate::semaphore::Semaphore;

static NEXT_TOKEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

#[cfg(not(loom))]
thread_local! {
    static TOKEN: usize = NEXT_TOKEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

// loom runs its threads as coroutines: only its own thread-locals are per model thread.
#[cfg(loom)]
loom::thread_local! {
    static TOKEN: usize = NEXT_TOKEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// A number unique to the calling thread for the life of the process (never 0).
fn thread_token() -> usize {
    TOKEN.with(|t| *t)
}

/// A mutex that the owning thread can lock again without deadlocking itself.
///
/// It hands out `&T` only (several guards of one thread coexist); put a `Cell` or `RefCell`
/// inside for mutation, as with `std`'s re-entrant locks. Blocking and `try_` forms only: see
/// the module docs for why tasks get no `async` form.
///
/// # Examples
///
/// The tutorials' `run3` locks, then calls `run1` and `run2`, which lock again:
///
/// ```
/// use c10k_sync::ReentrantMutex;
/// use std::cell::Cell;
///
/// let lock = ReentrantMutex::new((Cell::new(0), Cell::new(0)));
/// let run1 = || { let g = lock.lock_blocking(); g.0.set(g.0.get() + 1); };
/// let run2 = || { let g = lock.lock_blocking(); g.1.set(g.1.get() + 1); };
/// let run3 = || { let _g = lock.lock_blocking(); run1(); run2(); };
/// std::thread::scope(|s| { for _ in 0..10 { s.spawn(run3); } });
/// let g = lock.lock_blocking();
/// assert_eq!((g.0.get(), g.1.get()), (10, 10));
/// ```
pub struct ReentrantMutex<T: ?Sized> {
    sem: Semaphore,
    owner: AtomicUsize,
    depth: AtomicUsize,
    id: LockId,
    data: T,
}

// SAFETY: `&T` is only handed out (by guards) to the thread that owns the permit; guards are
// `!Send`, so at any time all live `&T` are on one thread, and ownership moves between
// threads one at a time. That is exactly what `T: Send` allows; `T: Sync` is not needed.
unsafe impl<T: ?Sized + Send> Sync for ReentrantMutex<T> {}

impl<T> ReentrantMutex<T> {
    /// Creates an unlocked re-entrant mutex.
    #[track_caller]
    pub fn new(value: T) -> ReentrantMutex<T> {
        ReentrantMutex {
            sem: Semaphore::new(1),
            owner: AtomicUsize::new(0),
            depth: AtomicUsize::new(0),
            id: LockId::new("ReentrantMutex", Location::caller()),
            data: value,
        }
    }

    /// Consumes the mutex, returning the value.
    pub fn into_inner(self) -> T {
        self.data
    }
}

impl<T: ?Sized> ReentrantMutex<T> {
    fn reenter(&self) -> Option<ReentrantMutexGuard<'_, T>> {
        // Only the owner thread can observe its own token here: another thread's token
        // differs, and the owner wrote it before any re-entry.
        if self.owner.load(Ordering::Relaxed) == thread_token() {
            self.depth.fetch_add(1, Ordering::Relaxed);
            return Some(ReentrantMutexGuard {
                lock: self,
                _not_send: PhantomData,
            });
        }
        None
    }

    fn first(&self, site: &'static Location<'static>) -> ReentrantMutexGuard<'_, T> {
        self.owner.store(thread_token(), Ordering::Relaxed);
        self.depth.store(1, Ordering::Relaxed);
        self.id.acquired_blocking(site);
        ReentrantMutexGuard {
            lock: self,
            _not_send: PhantomData,
        }
    }

    /// Blocks until the calling thread owns the lock (at once if it already does).
    #[track_caller]
    pub fn lock_blocking(&self) -> ReentrantMutexGuard<'_, T> {
        if let Some(g) = self.reenter() {
            return g;
        }
        let site = Location::caller();
        self.id.before_acquire(site);
        if self.sem.try_take(1).is_err() {
            self.sem.acquire_blocking().expect("never closed").forget();
        }
        self.first(site)
    }

    /// Blocks for at most `timeout`; `None` if another thread kept the lock that long.
    #[track_caller]
    pub fn lock_blocking_timeout(&self, timeout: Duration) -> Option<ReentrantMutexGuard<'_, T>> {
        if let Some(g) = self.reenter() {
            return Some(g);
        }
        let site = Location::caller();
        self.id.before_acquire(site);
        self.sem.acquire_blocking_timeout(1, timeout).ok()?.forget();
        Some(self.first(site))
    }

    /// Locks if free, or if the calling thread already owns it.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if another thread holds or waits for it.
    #[track_caller]
    pub fn try_lock(&self) -> Result<ReentrantMutexGuard<'_, T>, TryLockError> {
        if let Some(g) = self.reenter() {
            return Ok(g);
        }
        self.sem.try_take(1).map_err(|_| TryLockError)?;
        Ok(self.first(Location::caller()))
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for ReentrantMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_lock() {
            Ok(g) => f
                .debug_struct("ReentrantMutex")
                .field("data", &&*g)
                .finish(),
            Err(_) => f
                .debug_struct("ReentrantMutex")
                .field("data", &format_args!("<locked>"))
                .finish(),
        }
    }
}

/// Shared access to a [`ReentrantMutex`]'s value; the last guard of the owner unlocks.
///
/// It cannot leave its thread (re-entrancy is per thread):
///
/// ```compile_fail
/// let m = c10k_sync::ReentrantMutex::new(0);
/// let g = m.lock_blocking();
/// std::thread::scope(|s| {
///     s.spawn(move || drop(g)); // error: the guard is not `Send`
/// });
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ReentrantMutexGuard<'a, T: ?Sized> {
    lock: &'a ReentrantMutex<T>,
    // A re-entrant guard must be dropped by its owner thread.
    _not_send: PhantomData<*const ()>,
}

impl<T: ?Sized> Deref for ReentrantMutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.lock.data
    }
}

impl<T: ?Sized> Drop for ReentrantMutexGuard<'_, T> {
    fn drop(&mut self) {
        if self.lock.depth.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.lock.owner.store(0, Ordering::Relaxed);
            self.lock.id.released();
            self.lock.sem.release(1);
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for ReentrantMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
