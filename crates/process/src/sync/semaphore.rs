//! [`Semaphore`]: a counting semaphore on a futex word in shared memory.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::futex;
use crate::shm::Shm;

#[repr(C)]
struct Header {
    /// Permits available (the futex word).
    value: AtomicU32,
    /// Threads sleeping in `acquire` (wakes are skipped while 0).
    waiters: AtomicU32,
    /// The bound of a bounded semaphore, 0 if unbounded.
    max: AtomicU32,
}

/// A counting semaphore shared by processes (Python's `multiprocessing.Semaphore` and,
/// with [`bounded`](Self::bounded), `BoundedSemaphore`).
///
/// Permits are not owned: any process may release. A process that dies holding permits
/// does not give them back (nothing records who holds them); a pool that must survive
/// that uses a [`Lock`](crate::Lock) per slot instead.
///
/// # Examples
///
/// ```
/// let s = c10k_process::Semaphore::new(2)?;
/// assert!(s.try_acquire());
/// assert!(s.try_acquire());
/// assert!(!s.try_acquire());
/// s.release()?;
/// assert!(s.acquire_timeout(std::time::Duration::from_secs(1)));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Serialize, Deserialize)]
pub struct Semaphore {
    shm: Shm,
}

impl std::fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Semaphore").field("value", &self.value()).finish()
    }
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    ///
    /// # Errors
    ///
    /// The system's error creating the shared memory.
    pub fn new(permits: u32) -> io::Result<Semaphore> {
        Semaphore::create(permits, 0)
    }

    /// A semaphore that refuses to be released above `permits` (Python's
    /// `BoundedSemaphore`).
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn bounded(permits: u32) -> io::Result<Semaphore> {
        Semaphore::create(permits, permits.max(1))
    }

    fn create(permits: u32, max: u32) -> io::Result<Semaphore> {
        let shm = Shm::new("c10k-semaphore", std::mem::size_of::<Header>())?;
        let s = Semaphore { shm };
        s.header().value.store(permits, Ordering::Relaxed);
        s.header().max.store(max, Ordering::Relaxed);
        Ok(s)
    }

    fn header(&self) -> &Header {
        // SAFETY: a zeroed or initialized `Header` of atomics.
        unsafe { self.shm.header::<Header>() }
    }

    /// Permits available now.
    pub fn value(&self) -> u32 {
        self.header().value.load(Ordering::Acquire)
    }

    /// Takes a permit if one is available.
    pub fn try_acquire(&self) -> bool {
        let v = &self.header().value;
        let mut cur = v.load(Ordering::Relaxed);
        while cur > 0 {
            match v.compare_exchange_weak(cur, cur - 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(now) => cur = now,
            }
        }
        false
    }

    /// Takes a permit, waiting as long as it takes.
    pub fn acquire(&self) {
        self.acquire_until(None);
    }

    /// Takes a permit, waiting at most `timeout`; returns whether it got one.
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.acquire_until(crate::sys::deadline(timeout))
    }

    fn acquire_until(&self, deadline: Option<Instant>) -> bool {
        let h = self.header();
        loop {
            if self.try_acquire() {
                return true;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            h.waiters.fetch_add(1, Ordering::SeqCst);
            // Sleep only while the count is 0: a release in between changes the word and
            // the futex returns at once.
            let _ = futex::wait(&h.value, 0, deadline);
            h.waiters.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Gives a permit back and wakes one waiter.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if a bounded semaphore would go above its bound (Python's
    /// `ValueError`).
    pub fn release(&self) -> io::Result<()> {
        let h = self.header();
        let max = h.max.load(Ordering::Relaxed);
        let mut cur = h.value.load(Ordering::Relaxed);
        loop {
            if max != 0 && cur >= max {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "a bounded semaphore released too many times"));
            }
            match h.value.compare_exchange_weak(cur, cur + 1, Ordering::SeqCst, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        if h.waiters.load(Ordering::SeqCst) > 0 {
            futex::wake(&h.value, 1);
        }
        Ok(())
    }
}
