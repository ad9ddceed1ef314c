//! A fair reader-writer lock for tasks and threads.
//!
//! # Algorithm
//!
//! An [`RwLock`] is a [`Semaphore`] with [`MAX_READERS`] permits: a reader takes one, a writer
//! takes all of them at once. Because the semaphore serves waiters strictly in FIFO order, a
//! writer that starts waiting stops every reader that arrives after it, so **writers are never
//! starved** by a stream of readers (and readers are not starved by writers either: whoever
//! came first goes first). Readers queued behind a writer enter together when it leaves.
#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::panic::Location;
use std::time::{Duration, Instant};

use crate::deadlock::LockId;
use crate::mutex::{fmt_lock, lock_guard, TryLockError};
use crate::semaphore::{lock_future, Semaphore};
use crate::waiting::Holder;

/// The most readers that can hold an [`RwLock`] at once.
pub const MAX_READERS: usize = 1 << 30;

/// A reader-writer lock: many readers or one writer, served in FIFO order.
///
/// `read().await` / `write().await` for tasks, `read_blocking` / `write_blocking` (and
/// `_timeout` forms) for threads, `try_read` / `try_write` anywhere.
///
/// Cancellation safety of `read()` and `write()`: a dropped future leaves the queue; access
/// that had already been handed to it passes on to the next waiters.
///
/// Do not take a second read lock while holding one on the same thread or task: with a writer
/// queued in between, the second read waits for the writer, which waits for the first read.
/// The `deadlock-detection` feature reports this as a recursive acquisition.
///
/// # Examples
///
/// ```
/// use c10k_sync::RwLock;
///
/// let config = RwLock::new(String::from("v1"));
/// std::thread::scope(|s| {
///     s.spawn(|| assert!(config.read_blocking().starts_with('v')));
///     s.spawn(|| *config.write_blocking() = "v2".into());
/// });
/// assert_eq!(*config.read_blocking(), "v2");
/// ```
pub struct RwLock<T: ?Sized> {
    sem: Semaphore,
    id: LockId,
    /// The task that took the lock last, for task dumps (`waiting.rs`).
    holder: Holder,
    data: UnsafeCell<T>,
}

// SAFETY: readers on several threads share `&T` (needs `T: Sync`); a writer gets `&mut T` on
// any thread, which moves exclusive access across threads (needs `T: Send`). The semaphore
// guarantees readers and a writer never coexist.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}
// SAFETY: the lock owns its `T`.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}

impl<T> RwLock<T> {
    /// Creates an unlocked lock holding `value`.
    #[track_caller]
    pub fn new(value: T) -> RwLock<T> {
        RwLock {
            sem: Semaphore::new(MAX_READERS),
            id: LockId::new("RwLock", Location::caller()),
            holder: Holder::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock, returning the value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared access. Cancellation-safe (see the type docs).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = c10k_sync::RwLock::new(5);
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     let (a, b) = (lock.read().await, lock.read().await); // readers share
    ///     assert_eq!(*a + *b, 10);
    /// });
    /// ```
    #[track_caller]
    pub fn read(&self) -> Read<'_, T> {
        Read::new(self, 1)
    }

    /// Waits for exclusive access. Cancellation-safe (see the type docs).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = c10k_sync::RwLock::new(Vec::new());
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async { lock.write().await.push(1) });
    /// assert_eq!(*lock.read_blocking(), [1]);
    /// ```
    #[track_caller]
    pub fn write(&self) -> Write<'_, T> {
        Write::new(self, MAX_READERS)
    }

    /// Blocks the thread for shared access.
    #[track_caller]
    pub fn read_blocking(&self) -> RwLockReadGuard<'_, T> {
        self.read_blocking_inner(None).expect("no timeout")
    }

    /// Blocks the thread for exclusive access.
    #[track_caller]
    pub fn write_blocking(&self) -> RwLockWriteGuard<'_, T> {
        self.write_blocking_inner(None).expect("no timeout")
    }

    /// Blocks for at most `timeout` for shared access.
    #[track_caller]
    pub fn read_blocking_timeout(&self, timeout: Duration) -> Option<RwLockReadGuard<'_, T>> {
        self.read_blocking_inner(Some(timeout))
    }

    /// Blocks for at most `timeout` for exclusive access.
    #[track_caller]
    pub fn write_blocking_timeout(&self, timeout: Duration) -> Option<RwLockWriteGuard<'_, T>> {
        self.write_blocking_inner(Some(timeout))
    }

    /// Shared access if available now and nobody waits.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if a writer holds or waits for the lock.
    #[track_caller]
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        self.sem.try_take(1).map_err(|_| TryLockError)?;
        Ok(self.read_guard(Location::caller()))
    }

    /// Exclusive access if available now and nobody waits.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if anyone holds or waits for the lock.
    #[track_caller]
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        self.sem.try_take(MAX_READERS).map_err(|_| TryLockError)?;
        Ok(self.write_guard(Location::caller()))
    }

    /// Mutable access without locking.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    #[track_caller]
    fn read_blocking_inner(&self, timeout: Option<Duration>) -> Option<RwLockReadGuard<'_, T>> {
        let site = Location::caller();
        self.id.before_acquire(site);
        self.take_blocking(1, timeout)?;
        Some(self.read_guard(site))
    }

    #[track_caller]
    fn write_blocking_inner(&self, timeout: Option<Duration>) -> Option<RwLockWriteGuard<'_, T>> {
        let site = Location::caller();
        self.id.before_acquire(site);
        self.take_blocking(MAX_READERS, timeout)?;
        Some(self.write_guard(site))
    }

    fn take_blocking(&self, n: usize, timeout: Option<Duration>) -> Option<()> {
        self.sem
            .take_blocking(n, timeout.map(|t| Instant::now() + t))
            .ok()
    }

    fn read_guard(&self, site: &'static Location<'static>) -> RwLockReadGuard<'_, T> {
        self.id.acquired_blocking(site);
        self.holder.acquired();
        RwLockReadGuard {
            lock: self,
            _marker: PhantomData,
        }
    }

    fn write_guard(&self, site: &'static Location<'static>) -> RwLockWriteGuard<'_, T> {
        self.id.acquired_blocking(site);
        self.holder.acquired();
        RwLockWriteGuard {
            lock: self,
            _marker: PhantomData,
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: a permit of the lock's semaphore is a read permit: no writer exists.
        unsafe { fmt_lock(f, "RwLock", &self.sem, &self.data) }
    }
}

impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

lock_future! {
    /// Future of [`RwLock::read`].
    Read<'a, T> { lock: &'a RwLock<T> } => RwLockReadGuard<'a, T>, RwLockRead,
    "an RwLock's semaphore is never closed",
    |this| RwLockReadGuard {
        lock: this.lock,
        _marker: PhantomData,
    }
}

lock_future! {
    /// Future of [`RwLock::write`].
    Write<'a, T> { lock: &'a RwLock<T> } => RwLockWriteGuard<'a, T>, RwLockWrite,
    "an RwLock's semaphore is never closed",
    |this| RwLockWriteGuard {
        lock: this.lock,
        _marker: PhantomData,
    }
}

/// Shared access to an [`RwLock`]'s value; released on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    _marker: PhantomData<&'a T>,
}

/// Exclusive access to an [`RwLock`]'s value; released on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    _marker: PhantomData<&'a mut T>,
}

lock_guard!(shared RwLockReadGuard<'a, T>, lock, 1);
lock_guard!(exclusive RwLockWriteGuard<'a, T>, lock, MAX_READERS);
