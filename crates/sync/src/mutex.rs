//! An async-and-blocking mutual exclusion lock.
//!
//! `Mutex<T>` is a [`Semaphore`] with one permit plus the protected value: locking is
//! acquiring the permit, the guard gives it back on drop. It inherits the semaphore's FIFO
//! hand-over, its single-CAS fast paths and its cancellation protocol.
//!
//! The value sits in an `UnsafeCell`; this module and [`rwlock`](crate::rwlock) are the only
//! places of the crate with `unsafe`, each block arguing from "the guard holds the permit".
#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::deadlock::LockId;
use crate::semaphore::{lock_future, Semaphore};
use crate::waiting::Holder;

/// A mutual exclusion lock usable from async tasks and from threads alike.
///
/// - `lock().await` in tasks, [`lock_blocking`](Self::lock_blocking) in threads,
///   [`try_lock`](Self::try_lock) anywhere; the same lock serves both at once.
/// - **Fair**: waiters get the lock in the order they started waiting (FIFO). An unlock
///   hands the lock directly to the oldest waiter, so a thread that unlocks and immediately
///   locks again queues behind the others instead of barging in. `try_lock` fails while
///   anyone waits.
/// - The guard is `Send` (for `T: Send`): it may be held across `.await` on a multi-threaded
///   executor and dropped on another thread. Unlike `std::sync::Mutex` there is no poisoning:
///   a panic while holding the guard simply unlocks.
/// - Async timeouts are the caller runtime's business (`time::timeout(m.lock())`); threads
///   have [`lock_blocking_timeout`](Self::lock_blocking_timeout).
///
/// # Examples
///
/// The tutorials' ticket counter: 100 threads each take one ticket, none is sold twice.
///
/// ```
/// use c10k_sync::Mutex;
///
/// let tickets = Mutex::new(100);
/// std::thread::scope(|s| {
///     for _ in 0..100 {
///         s.spawn(|| *tickets.lock_blocking() -= 1);
///     }
/// });
/// assert_eq!(tickets.into_inner(), 0);
/// ```
///
/// In a task (any executor):
///
/// ```
/// # futures_util::FutureExt::now_or_never(async {
/// let m = c10k_sync::Mutex::new(vec![1]);
/// m.lock().await.push(2);
/// assert_eq!(*m.lock().await, [1, 2]);
/// # }).unwrap();
/// ```
pub struct Mutex<T: ?Sized> {
    sem: Semaphore,
    id: LockId,
    /// The task that took the lock last, for task dumps (`waiting.rs`).
    holder: Holder,
    data: UnsafeCell<T>,
}

// SAFETY: the `UnsafeCell` is only reached through a guard, and at most one guard exists at a
// time (it holds the semaphore's only permit). Sharing the mutex therefore only ever moves
// exclusive access to `T` between threads, which needs `T: Send` and nothing more.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: the mutex owns its `T`; moving it moves the `T`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

/// Why [`Mutex::try_lock`] (or another `try_` lock) failed: the lock is held or waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryLockError;

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("lock is held or has waiters")
    }
}

impl std::error::Error for TryLockError {}

impl<T> Mutex<T> {
    /// Creates an unlocked mutex holding `value`.
    #[track_caller]
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            sem: Semaphore::new(1),
            id: LockId::new("Mutex", Location::caller()),
            holder: Holder::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex, returning the value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock.
    ///
    /// Cancellation safety: dropping the future before it completes leaves the queue; if the
    /// lock had already been handed to it, the lock passes to the next waiter. Nothing else
    /// happens, so `lock()` is safe to use in `select!` and under timeouts.
    ///
    /// # Examples
    ///
    /// A task and a thread share one counter:
    ///
    /// ```
    /// use std::sync::Arc;
    /// use c10k_sync::Mutex;
    ///
    /// let hits = Arc::new(Mutex::new(0));
    /// let h2 = hits.clone();
    /// let thread = std::thread::spawn(move || *h2.lock_blocking() += 1);
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async { *hits.lock().await += 1 });
    /// thread.join().unwrap();
    /// assert_eq!(*hits.lock_blocking(), 2);
    /// ```
    #[track_caller]
    pub fn lock(&self) -> Lock<'_, T> {
        Lock::new(self, 1)
    }

    /// Waits for the lock through an `Arc`, returning a guard that owns the `Arc` and can
    /// therefore move into a spawned task or thread. Same fairness and cancellation safety
    /// as [`lock`](Self::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(c10k_sync::Mutex::new(0));
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let mut guard = rt.block_on(m.clone().lock_owned());
    /// std::thread::spawn(move || *guard += 1).join().unwrap();
    /// assert_eq!(*m.lock_blocking(), 1);
    /// ```
    #[track_caller]
    pub fn lock_owned(self: Arc<Self>) -> LockOwned<T> {
        LockOwned::new(self, 1)
    }

    /// Blocks the thread until the lock is handed over.
    ///
    /// # Panics
    ///
    /// With the `deadlock-detection` feature, if this acquisition inverts an order of
    /// acquisitions seen before (see [`deadlock`](crate#deadlock-detection)).
    #[track_caller]
    pub fn lock_blocking(&self) -> MutexGuard<'_, T> {
        let site = Location::caller();
        self.id.before_acquire(site);
        self.sem
            .take_blocking(1, None)
            .expect("a mutex's semaphore is never closed");
        self.guard(site)
    }

    /// Blocks for at most `timeout`; `None` if the lock was not handed over in time.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let m = c10k_sync::Mutex::new(());
    /// let held = m.lock_blocking();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| assert!(m.lock_blocking_timeout(Duration::from_millis(1)).is_none()));
    /// });
    /// drop(held);
    /// assert!(m.lock_blocking_timeout(Duration::from_secs(1)).is_some());
    /// ```
    #[track_caller]
    pub fn lock_blocking_timeout(&self, timeout: Duration) -> Option<MutexGuard<'_, T>> {
        let site = Location::caller();
        self.id.before_acquire(site);
        self.sem
            .take_blocking(1, Some(Instant::now() + timeout))
            .ok()?;
        Some(self.guard(site))
    }

    /// Takes the lock if it is free and nobody waits.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = c10k_sync::Mutex::new(1);
    /// let g = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_err());
    /// drop(g);
    /// assert_eq!(*m.try_lock().unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        self.sem.try_take(1).map_err(|_| TryLockError)?;
        Ok(self.guard(Location::caller()))
    }

    /// Mutable access without locking: `&mut self` proves nobody else holds it.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    fn guard(&self, site: &'static Location<'static>) -> MutexGuard<'_, T> {
        self.id.acquired_blocking(site);
        self.holder.acquired();
        MutexGuard {
            mutex: self,
            _marker: PhantomData,
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: a permit of the mutex's semaphore gives exclusive access to `data`.
        unsafe { fmt_lock(f, "Mutex", &self.sem, &self.data) }
    }
}

lock_future! {
    /// Future of [`Mutex::lock`].
    Lock<'a, T> { mutex: &'a Mutex<T> } => MutexGuard<'a, T>, Mutex,
    "a mutex's semaphore is never closed",
    |this| MutexGuard {
        mutex: this.mutex,
        _marker: PhantomData,
    }
}

/// Exclusive access to a [`Mutex`]'s value; unlocks (handing over to the next waiter) on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    // Sync for the guard must require `T: Sync` (it hands out `&T`); `&mut T` says that.
    _marker: PhantomData<&'a mut T>,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard locks (to re-lock it after a [`Condvar`](crate::Condvar) wait).
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.mutex
    }

    /// Unlocks without running the guard's destructor logic twice; used by `Condvar`.
    pub(crate) fn unlock(this: Self) -> &'a Mutex<T> {
        let m = this.mutex;
        drop(this);
        m
    }
}

lock_guard!(exclusive MutexGuard<'a, T>, mutex, 1);

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

lock_future! {
    /// Future of [`Mutex::lock_owned`].
    LockOwned<T> { mutex: Arc<Mutex<T>> } => OwnedMutexGuard<T>, Mutex,
    "a mutex's semaphore is never closed",
    |this| OwnedMutexGuard {
        mutex: this.mutex.clone(),
        _marker: PhantomData,
    }
}

/// Exclusive access to an `Arc<Mutex<T>>`'s value that owns the `Arc`; unlocks on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedMutexGuard<T: ?Sized> {
    mutex: Arc<Mutex<T>>,
    // Makes the guard `Sync` only for `T: Sync` (it hands out `&T`), `Send` for `T: Send`.
    _marker: PhantomData<T>,
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.mutex
    }
}

lock_guard!(exclusive OwnedMutexGuard<T>, mutex, 1);

/// Formats a lock as `Name { data: .. }`: the value if a permit can be taken at once (and is
/// given back right after), `<locked>` otherwise. Shared by [`Mutex`] and
/// [`RwLock`](crate::RwLock), whose `Debug` must not wait.
///
/// # Safety
///
/// Holding one permit of `sem` must give at least shared access to `data` (no `&mut` to it
/// exists elsewhere meanwhile).
pub(crate) unsafe fn fmt_lock<T: ?Sized + fmt::Debug>(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    sem: &Semaphore,
    data: &UnsafeCell<T>,
) -> fmt::Result {
    let mut d = f.debug_struct(name);
    match sem.try_take(1) {
        Ok(()) => {
            // SAFETY: we hold a permit until the `release` below, which by the caller's
            // contract means nobody writes to `data` meanwhile.
            d.field("data", &unsafe { &*data.get() });
            sem.release(1);
        }
        Err(_) => {
            d.field("data", &format_args!("<locked>"));
        }
    }
    d.finish()
}

/// Generates `Deref`, `Drop` and `Debug` of a lock guard (and `DerefMut` for an `exclusive`
/// one): the guard reaches its lock through field `$field` (a lock with `sem`, `id` and
/// `data`), holds `$permits` permits of its semaphore and gives them back on drop, after
/// telling deadlock detection. A `shared` guard's permits keep writers out, an `exclusive`
/// guard's keep everybody else out; the `unsafe` blocks argue from that.
macro_rules! lock_guard {
    (exclusive $guard:ident<$($lt:lifetime,)? T>, $field:ident, $permits:expr) => {
        lock_guard!(shared $guard<$($lt,)? T>, $field, $permits);

        impl<$($lt,)? T: ?Sized> std::ops::DerefMut for $guard<$($lt,)? T> {
            fn deref_mut(&mut self) -> &mut T {
                // SAFETY: an exclusive guard holds every permit of the lock, so this is the
                // only access to `T`; `&mut self` makes the returned borrow unique among
                // borrows of the guard.
                unsafe { &mut *self.$field.data.get() }
            }
        }
    };
    (shared $guard:ident<$($lt:lifetime,)? T>, $field:ident, $permits:expr) => {
        impl<$($lt,)? T: ?Sized> std::ops::Deref for $guard<$($lt,)? T> {
            type Target = T;

            fn deref(&self) -> &T {
                // SAFETY: the guard holds permits of the lock, so no writer (no `&mut T`)
                // exists elsewhere.
                unsafe { &*self.$field.data.get() }
            }
        }

        impl<$($lt,)? T: ?Sized> Drop for $guard<$($lt,)? T> {
            fn drop(&mut self) {
                self.$field.id.released();
                self.$field.sem.release($permits);
            }
        }

        impl<$($lt,)? T: ?Sized + std::fmt::Debug> std::fmt::Debug for $guard<$($lt,)? T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&**self, f)
            }
        }
    };
}

pub(crate) use lock_guard;
