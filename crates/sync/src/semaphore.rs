//! A fair counting semaphore; also the engine under [`Mutex`](crate::Mutex) and
//! [`RwLock`](crate::RwLock).
//!
//! # Algorithm
//!
//! The number of available permits lives in one atomic word together with two flags:
//! `CLOSED` and `QUEUED` (the waiter list is not empty). While nobody waits, `try_acquire`
//! and `release` are a single compare-and-swap each and never touch the internal mutex.
//! Once a waiter is queued, `QUEUED` forces every acquire and release through the mutex,
//! where released permits are *handed* to the waiters at the front of the list, oldest first
//! (`src/wait.rs` describes the hand-over protocol). Invariant, held under the mutex:
//! the list is non-empty exactly when `QUEUED` is set, and then the available permits are
//! fewer than the front waiter wants.
//!
//! # Fairness
//!
//! Strict FIFO: a waiter for `n` permits at the front of the queue blocks smaller requests
//! behind it, even if enough permits for them are available. This is what keeps a writer of
//! an [`RwLock`](crate::RwLock) (who asks for every permit) from starving, and a large
//! `acquire_many` from waiting forever. `try_acquire` never jumps the queue either: it fails
//! while anyone is waiting.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use std::sync::Arc;

use crate::loom::{self, AtomicUsize, Mutex, Ordering};
use crate::wait::{park_while_queued, WaitList, WakeList, Wakeup};

const CLOSED: usize = 1;
const QUEUED: usize = 2;
const SHIFT: usize = 2;
/// Rounds of exponential spinning (1, 2, 4, ... pause instructions) before a thread parks.
#[cfg(not(loom))]
const SPINS: u32 = 7;
/// One round under loom: the path is covered without multiplying the interleavings.
#[cfg(loom)]
const SPINS: u32 = 1;

/// A request in the waiter list.
#[derive(Debug)]
pub(crate) struct Want {
    /// How many permits the waiter asks for.
    n: usize,
    /// Set when the permits were handed over; a node unlinked without it was closed out.
    granted: bool,
}

/// A counting semaphore shared by async tasks and threads, with FIFO fairness.
///
/// Python's `threading.Semaphore`/`asyncio.Semaphore` rolled into one. Permits are guards
/// ([`SemaphorePermit`], [`OwnedSemaphorePermit`]) that give their permits back on drop, so
/// a permit cannot be released twice or released without being acquired: the mistake
/// Python's `BoundedSemaphore` exists to catch cannot be written. Raising the count on
/// purpose is [`add_permits`](Self::add_permits).
///
/// Async timeouts are left to the caller's runtime (`c10k::time::timeout(sem.acquire())`,
/// `tokio::time::timeout`); threads have [`acquire_blocking_timeout`](Self::acquire_blocking_timeout).
///
/// # Examples
///
/// The tutorials' toilet with three stalls: at most three of the twenty threads inside.
///
/// ```
/// use c10k_sync::Semaphore;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// let stalls = Semaphore::new(3);
/// let inside = AtomicUsize::new(0);
/// std::thread::scope(|s| {
///     for _ in 0..20 {
///         s.spawn(|| {
///             let _permit = stalls.acquire_blocking().unwrap();
///             let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
///             assert!(now <= 3);
///             inside.fetch_sub(1, Ordering::SeqCst);
///         });
///     }
/// });
/// assert_eq!(stalls.available_permits(), 3);
/// ```
pub struct Semaphore {
    state: AtomicUsize,
    waiters: Mutex<WaitList<Want>>,
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available_permits", &self.available_permits())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Why [`Semaphore::try_acquire`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryAcquireError {
    /// Not enough permits now, or other waiters are ahead in the queue.
    NoPermits,
    /// The semaphore was closed.
    Closed,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::NoPermits => f.write_str("no permits available"),
            TryAcquireError::Closed => f.write_str("semaphore closed"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

/// Why a waiting acquire failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcquireError {
    /// The semaphore was closed before the permits were handed over.
    Closed,
    /// A `_timeout` form gave up.
    Timeout,
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcquireError::Closed => f.write_str("semaphore closed"),
            AcquireError::Timeout => f.write_str("timed out waiting for permits"),
        }
    }
}

impl std::error::Error for AcquireError {}

impl Semaphore {
    /// The largest number of permits a semaphore can hold.
    pub const MAX_PERMITS: usize = usize::MAX >> (SHIFT + 1);

    /// Creates a semaphore with `permits` permits.
    ///
    /// # Panics
    ///
    /// If `permits` exceeds [`Self::MAX_PERMITS`].
    pub fn new(permits: usize) -> Semaphore {
        assert!(permits <= Self::MAX_PERMITS, "too many permits");
        Semaphore {
            state: AtomicUsize::new(permits << SHIFT),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    /// Permits available right now (a snapshot: it may change before you act on it).
    #[inline]
    pub fn available_permits(&self) -> usize {
        self.state.load(Ordering::Acquire) >> SHIFT
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Adds `n` permits, handing them to waiters in FIFO order.
    ///
    /// # Panics
    ///
    /// If the total would exceed [`Self::MAX_PERMITS`].
    pub fn add_permits(&self, n: usize) {
        self.release(n);
    }

    /// Closes the semaphore: every waiter and every later acquire fails with `Closed`.
    /// Permits already held stay valid and are returned as usual.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_sync::{AcquireError, Semaphore};
    /// let sem = Semaphore::new(1);
    /// let held = sem.try_acquire().unwrap();
    /// sem.close();
    /// assert_eq!(sem.acquire_blocking().unwrap_err(), AcquireError::Closed);
    /// drop(held); // permits held before closing are still returned normally
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn close(&self) {
        let mut wakes = WakeList::new();
        {
            let mut list = loom::lock(&self.waiters);
            self.state.fetch_or(CLOSED, Ordering::AcqRel);
            while let Some(k) = list.front() {
                wakes.push(list.notify(k));
            }
            self.state.fetch_and(!QUEUED, Ordering::AcqRel);
        }
        wakes.wake_all();
    }

    /// Takes one permit without waiting.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::NoPermits`] if none is free or others are queued (FIFO),
    /// [`TryAcquireError::Closed`] if closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = c10k_sync::Semaphore::new(1);
    /// let p = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_err());
    /// drop(p);
    /// assert!(sem.try_acquire().is_ok());
    /// ```
    #[inline]
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits at once without waiting.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Self::try_acquire).
    #[inline]
    pub fn try_acquire_many(&self, n: usize) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_take(n)?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Like [`try_acquire_many`](Self::try_acquire_many) for an `Arc<Semaphore>`.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Self::try_acquire).
    pub fn try_acquire_owned(
        self: Arc<Self>,
        n: usize,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_take(n)?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Waits for one permit.
    ///
    /// Cancellation safety: dropping the future leaves the queue; if the permit had already
    /// been handed to it, the permit goes to the next waiter. Waiters are served FIFO.
    ///
    /// # Errors
    ///
    /// [`AcquireError::Closed`] if the semaphore is closed first.
    #[inline]
    pub fn acquire(&self) -> Acquire<'_> {
        self.acquire_many(1)
    }

    /// Waits for `n` permits, taken all at once (no partial holding, so no deadlock between
    /// two `acquire_many` callers). Same cancellation safety as [`acquire`](Self::acquire).
    ///
    /// # Errors
    ///
    /// [`AcquireError::Closed`] if the semaphore is closed first.
    ///
    /// # Panics
    ///
    /// If `n` exceeds [`Self::MAX_PERMITS`] (it could never be satisfied); the same holds for
    /// every waiting `acquire_*` form.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = c10k_sync::Semaphore::new(3);
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let two = rt.block_on(sem.acquire_many(2)).unwrap();
    /// assert_eq!((two.num_permits(), sem.available_permits()), (2, 1));
    /// ```
    #[inline]
    pub fn acquire_many(&self, n: usize) -> Acquire<'_> {
        Acquire {
            sem: self,
            waiter: Waiter::new(n),
        }
    }

    /// Waits for `n` permits that keep the `Arc` alive, to move into a spawned task.
    /// Same cancellation safety as [`acquire`](Self::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(c10k_sync::Semaphore::new(2));
    /// let permit = futures_util::FutureExt::now_or_never(sem.clone().acquire_owned(2))
    ///     .unwrap()
    ///     .unwrap();
    /// assert_eq!(sem.available_permits(), 0);
    /// std::thread::spawn(move || drop(permit)).join().unwrap();
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    pub fn acquire_owned(self: Arc<Self>, n: usize) -> AcquireOwned {
        AcquireOwned {
            sem: self,
            waiter: Waiter::new(n),
        }
    }

    /// Blocks the thread until one permit is handed over.
    ///
    /// # Errors
    ///
    /// [`AcquireError::Closed`] if the semaphore is closed first.
    pub fn acquire_blocking(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_many_blocking(1)
    }

    /// Blocks the thread until `n` permits are handed over.
    ///
    /// # Errors
    ///
    /// [`AcquireError::Closed`] if the semaphore is closed first.
    pub fn acquire_many_blocking(&self, n: usize) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.take_blocking(n, None)?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Blocks for at most `timeout` for `n` permits.
    ///
    /// # Errors
    ///
    /// [`AcquireError::Timeout`] or [`AcquireError::Closed`].
    pub fn acquire_blocking_timeout(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.take_blocking(n, Some(Instant::now() + timeout))?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Blocks the thread for `n` permits that keep the `Arc` alive.
    ///
    /// # Errors
    ///
    /// [`AcquireError::Closed`] if the semaphore is closed first.
    pub fn acquire_owned_blocking(
        self: Arc<Self>,
        n: usize,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.take_blocking(n, None)?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    // ---- engine (crate-internal, also used by Mutex and RwLock) ----

    /// Fast path: one CAS when nobody waits.
    #[inline]
    pub(crate) fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if s & QUEUED != 0 || (s >> SHIFT) < n {
                return Err(TryAcquireError::NoPermits);
            }
            match self.state.compare_exchange_weak(
                s,
                s - (n << SHIFT),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => s = actual,
            }
        }
    }

    /// Returns `n` permits.
    ///
    /// One `fetch_add` when nobody waits. If the word says waiters are queued, the permits
    /// just added are handed out under the waiter lock: a waiter can only have queued after
    /// seeing too few permits, and it did so under that lock, so it is found there.
    #[inline]
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let prev = self.state.fetch_add(n << SHIFT, Ordering::AcqRel);
        if (prev >> SHIFT) + n > Self::MAX_PERMITS {
            self.state.fetch_sub(n << SHIFT, Ordering::AcqRel);
            panic!("semaphore permit count overflow");
        }
        if prev & QUEUED != 0 {
            self.hand_out_released();
        }
    }

    /// Slow half of `release`: waiters are queued, hand the permits out under the lock.
    #[cold]
    fn hand_out_released(&self) {
        let mut wakes = WakeList::new();
        {
            let mut list = loom::lock(&self.waiters);
            self.add_and_grant(&mut list, 0, &mut wakes);
        }
        wakes.wake_all();
    }

    /// With the waiter lock held: adds `n` permits, then hands permits to front waiters.
    fn add_and_grant(&self, list: &mut WaitList<Want>, n: usize, wakes: &mut WakeList) {
        if n > 0 {
            let prev = self.state.fetch_add(n << SHIFT, Ordering::AcqRel);
            assert!(
                (prev >> SHIFT) + n <= Self::MAX_PERMITS,
                "semaphore permit count overflow"
            );
        }
        while let Some(k) = list.front() {
            let want = list.data(k).n;
            // Fast paths may still take permits concurrently only while QUEUED is clear,
            // which cannot be the case here (the list is non-empty), but a CAS keeps the
            // subtraction honest against concurrent fast releases racing the flag.
            let mut s = self.state.load(Ordering::Acquire);
            let granted = loop {
                if (s >> SHIFT) < want {
                    break false;
                }
                match self.state.compare_exchange_weak(
                    s,
                    s - (want << SHIFT),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => break true,
                    Err(actual) => s = actual,
                }
            };
            if !granted {
                break;
            }
            list.data_mut(k).granted = true;
            wakes.push(list.notify(k));
        }
        if list.is_empty() {
            self.state.fetch_and(!QUEUED, Ordering::AcqRel);
        }
    }

    /// With the waiter lock held: takes `n` permits now, or queues a waiter.
    fn take_or_queue(
        &self,
        list: &mut WaitList<Want>,
        n: usize,
        wakeup: Wakeup,
    ) -> Result<Option<usize>, AcquireError> {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s & CLOSED != 0 {
                return Err(AcquireError::Closed);
            }
            if s & QUEUED == 0 && (s >> SHIFT) >= n {
                match self.state.compare_exchange_weak(
                    s,
                    s - (n << SHIFT),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return Ok(None),
                    Err(actual) => s = actual,
                }
            } else {
                match self.state.compare_exchange_weak(
                    s,
                    s | QUEUED,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return Ok(Some(list.push_back(Want { n, granted: false }, wakeup))),
                    Err(actual) => s = actual,
                }
            }
        }
    }

    /// Removes waiter `key`; returns `Some(result)` if it had been handed an outcome.
    /// A waiter removed while still queued (cancelled, timed out) may unblock the next one.
    fn finish(&self, key: usize, wakes: &mut WakeList) -> Option<Result<(), AcquireError>> {
        let mut list = loom::lock(&self.waiters);
        let (want, queued) = list.remove(key);
        if queued {
            self.add_and_grant(&mut list, 0, wakes);
            None
        } else if want.granted {
            Some(Ok(()))
        } else {
            Some(Err(AcquireError::Closed))
        }
    }

    /// Blocks the thread until `n` permits are taken (or `deadline` passes:
    /// [`AcquireError::Timeout`]); the body of every blocking acquisition, also used directly
    /// by the locks, whose guards give the permits back themselves.
    pub(crate) fn take_blocking(
        &self,
        n: usize,
        deadline: Option<Instant>,
    ) -> Result<(), AcquireError> {
        assert!(
            n <= Self::MAX_PERMITS,
            "cannot wait for more than MAX_PERMITS permits"
        );
        // Spin briefly before parking: a critical section is usually shorter than a futex
        // sleep and wake. Spinning stops as soon as anyone is queued, so it never overtakes a
        // waiter (FIFO holds) and costs nothing to the queue.
        for i in 0..SPINS {
            match self.try_take(n) {
                Ok(()) => return Ok(()),
                Err(TryAcquireError::Closed) => return Err(AcquireError::Closed),
                Err(TryAcquireError::NoPermits) => {}
            }
            if self.state.load(Ordering::Relaxed) & QUEUED != 0 {
                break;
            }
            for _ in 0..(1u32 << i) {
                std::hint::spin_loop();
            }
        }
        let key = match self.take_or_queue(&mut loom::lock(&self.waiters), n, Wakeup::thread())? {
            None => return Ok(()),
            Some(key) => key,
        };
        park_while_queued(&self.waiters, deadline, |l| l.is_queued(key));
        let mut wakes = WakeList::new();
        let r = self.finish(key, &mut wakes);
        wakes.wake_all();
        r.unwrap_or(Err(AcquireError::Timeout))
    }
}

/// The waiting half shared by every acquire future.
#[derive(Debug)]
pub(crate) struct Waiter {
    n: usize,
    key: Option<usize>,
    done: bool,
}

impl Waiter {
    #[inline]
    pub(crate) fn new(n: usize) -> Waiter {
        assert!(
            n <= Semaphore::MAX_PERMITS,
            "cannot wait for more than MAX_PERMITS permits"
        );
        Waiter {
            n,
            key: None,
            done: false,
        }
    }

    #[inline]
    pub(crate) fn poll_acquire(
        &mut self,
        sem: &Semaphore,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        if self.key.is_none() && !self.done && sem.try_take(self.n).is_ok() {
            self.done = true;
            return Poll::Ready(Ok(()));
        }
        self.poll_acquire_slow(sem, cx)
    }

    fn poll_acquire_slow(
        &mut self,
        sem: &Semaphore,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        assert!(!self.done, "acquire future polled after completion");
        match self.key {
            None => {
                if sem.try_take(self.n).is_ok() {
                    self.done = true;
                    return Poll::Ready(Ok(()));
                }
                let r = sem.take_or_queue(
                    &mut loom::lock(&sem.waiters),
                    self.n,
                    Wakeup::Task(cx.waker().clone()),
                );
                match r {
                    Ok(None) => {
                        self.done = true;
                        Poll::Ready(Ok(()))
                    }
                    Ok(Some(key)) => {
                        self.key = Some(key);
                        Poll::Pending
                    }
                    Err(e) => {
                        self.done = true;
                        Poll::Ready(Err(e))
                    }
                }
            }
            Some(key) => {
                // One lock: either still queued (refresh the waker) or handed an outcome,
                // which a node unlinked by someone else always is.
                let mut list = loom::lock(&sem.waiters);
                if list.is_queued(key) {
                    list.set_waker(key, cx.waker());
                    return Poll::Pending;
                }
                let (want, _) = list.remove(key);
                drop(list);
                self.key = None;
                self.done = true;
                Poll::Ready(if want.granted {
                    Ok(())
                } else {
                    Err(AcquireError::Closed)
                })
            }
        }
    }

    /// Cancellation: leave the queue, passing on permits handed over meanwhile.
    #[inline]
    pub(crate) fn cancel(&mut self, sem: &Semaphore) {
        if self.key.is_some() {
            self.cancel_slow(sem);
        }
    }

    #[cold]
    fn cancel_slow(&mut self, sem: &Semaphore) {
        if let Some(key) = self.key.take() {
            let mut wakes = WakeList::new();
            if let Some(Ok(())) = sem.finish(key, &mut wakes) {
                let mut list = loom::lock(&sem.waiters);
                sem.add_and_grant(&mut list, self.n, &mut wakes);
            }
            wakes.wake_all();
        }
    }
}

/// Future of [`Semaphore::acquire`] and [`Semaphore::acquire_many`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Acquire<'a> {
    sem: &'a Semaphore,
    waiter: Waiter,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let p = Self::unrecorded_poll(self, cx);
        crate::waiting::sync(cx, &p, crate::waiting::SyncKind::Semaphore, None);
        p
    }
}

impl<'a> Acquire<'a> {
    /// The poll itself; `poll` records what it waits on for task dumps (`waiting.rs`).
    #[inline]
    fn unrecorded_poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<<Self as Future>::Output> {
        let this = self.get_mut();
        let sem = this.sem;
        this.waiter.poll_acquire(sem, cx).map(|r| {
            r.map(|()| SemaphorePermit {
                sem,
                permits: this.waiter.n,
            })
        })
    }
}

impl Drop for Acquire<'_> {
    #[inline]
    fn drop(&mut self) {
        self.waiter.cancel(self.sem);
    }
}

/// Future of [`Semaphore::acquire_owned`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct AcquireOwned {
    sem: Arc<Semaphore>,
    waiter: Waiter,
}

impl Future for AcquireOwned {
    type Output = Result<OwnedSemaphorePermit, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let p = Self::unrecorded_poll(self, cx);
        crate::waiting::sync(cx, &p, crate::waiting::SyncKind::Semaphore, None);
        p
    }
}

impl AcquireOwned {
    /// The poll itself; `poll` records what it waits on for task dumps (`waiting.rs`).
    #[inline]
    fn unrecorded_poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<<Self as Future>::Output> {
        let this = self.get_mut();
        let n = this.waiter.n;
        match this.waiter.poll_acquire(&this.sem, cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(r) => Poll::Ready(r.map(|()| OwnedSemaphorePermit {
                sem: this.sem.clone(),
                permits: n,
            })),
        }
    }
}

impl Drop for AcquireOwned {
    fn drop(&mut self) {
        self.waiter.cancel(&self.sem);
    }
}

/// Permits borrowed from a [`Semaphore`]; given back on drop.
#[derive(Debug)]
#[must_use = "the permits are released as soon as the guard is dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: usize,
}

impl SemaphorePermit<'_> {
    /// How many permits this guard holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Keeps the permits taken forever (the semaphore shrinks by that many).
    pub fn forget(mut self) {
        self.permits = 0;
    }
}

impl Drop for SemaphorePermit<'_> {
    #[inline]
    fn drop(&mut self) {
        self.sem.release(self.permits);
    }
}

/// Permits of an `Arc<Semaphore>`, movable into spawned tasks and threads; given back on drop.
#[derive(Debug)]
#[must_use = "the permits are released as soon as the guard is dropped"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    permits: usize,
}

impl OwnedSemaphorePermit {
    /// How many permits this guard holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// The semaphore the permits came from.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    /// Keeps the permits taken forever (the semaphore shrinks by that many).
    pub fn forget(mut self) {
        self.permits = 0;
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.release(self.permits);
    }
}

/// Generates the future of a lock built on a [`Semaphore`] (`Mutex::lock`,
/// `Mutex::lock_owned`, `RwLock::read`, `RwLock::write`): it holds the lock (field `$field`,
/// whose type has the `sem` and `id` fields), a [`Waiter`] and the call site; `new(lock,
/// permits)` records the call site and starts waiting; polling acquires the waiter's permits,
/// records the acquisition for deadlock detection and builds the guard with `$make` (where
/// `$this` is the future); dropping it cancels the waiter (passing on permits it was handed,
/// as the semaphore's protocol says).
macro_rules! lock_future {
    (
        $(#[$meta:meta])*
        $name:ident<$($lt:lifetime,)? T> { $field:ident: $fty:ty }
        => $guard:ty, $kind:ident, $closed:literal, |$this:ident| $make:expr
    ) => {
        $(#[$meta])*
        #[must_use = "futures do nothing unless polled"]
        pub struct $name<$($lt,)? T: ?Sized> {
            $field: $fty,
            waiter: $crate::semaphore::Waiter,
            site: &'static std::panic::Location<'static>,
        }

        impl<$($lt,)? T: ?Sized> $name<$($lt,)? T> {
            /// Starts waiting for `permits` of the lock's semaphore on behalf of the caller
            /// (recorded for deadlock detection).
            #[track_caller]
            fn new($field: $fty, permits: usize) -> Self {
                let site = std::panic::Location::caller();
                $field.id.before_acquire_async(site);
                $name {
                    $field,
                    waiter: $crate::semaphore::Waiter::new(permits),
                    site,
                }
            }
        }

        impl<$($lt,)? T: ?Sized> std::fmt::Debug for $name<$($lt,)? T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("waiter", &self.waiter)
                    .finish()
            }
        }

        impl<$($lt,)? T: ?Sized> std::future::Future for $name<$($lt,)? T> {
            type Output = $guard;

            fn poll(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<$guard> {
                let $this = self.get_mut();
                let kind = $crate::waiting::SyncKind::$kind;
                let p = $this.waiter.poll_acquire(&$this.$field.sem, cx);
                $crate::waiting::sync(cx, &p, kind, Some(&$this.$field.holder));
                p.map(|r| {
                    r.expect($closed);
                    $this.$field.id.acquired_async($this.site);
                    $this
                        .$field
                        .holder
                        .acquired_by(cx.waker(), kind != $crate::waiting::SyncKind::RwLockRead);
                    $make
                })
            }
        }

        impl<$($lt,)? T: ?Sized> Drop for $name<$($lt,)? T> {
            fn drop(&mut self) {
                self.waiter.cancel(&self.$field.sem);
            }
        }
    };
}

pub(crate) use lock_future;
