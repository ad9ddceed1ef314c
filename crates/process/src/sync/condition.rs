//! [`Condition`]: a condition variable with its own robust lock, in shared memory.

use std::io;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::lock::{wrap, LockResult};
use crate::futex;
use crate::mutex::RawMutex;
use crate::shm::Shm;

#[repr(C)]
struct Header {
    lock: RawMutex,
    /// Bumped by every notify; waiters sleep on the value they read under the lock.
    seq: AtomicU32,
}

/// A condition variable shared by processes, with the lock it goes with (Python's
/// `multiprocessing.Condition`).
///
/// [`acquire`](Self::acquire) returns a guard; [`CondGuard::wait`] releases the lock,
/// sleeps until notified, and takes it back. Wakeups may be spurious: wait in a loop on
/// your predicate, or use [`CondGuard::wait_for`].
///
/// # Examples
///
/// ```
/// let c = c10k_process::Condition::new()?;
/// let g = c.acquire().unwrap();
/// // nobody notifies: the wait times out
/// let (_g, notified) = g.wait_timeout(std::time::Duration::from_millis(1));
/// assert!(!notified);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Serialize, Deserialize)]
pub struct Condition {
    shm: Shm,
}

impl std::fmt::Debug for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Condition").finish_non_exhaustive()
    }
}

impl Condition {
    /// A new condition with its lock.
    ///
    /// # Errors
    ///
    /// The system's error creating the shared memory.
    pub fn new() -> io::Result<Condition> {
        let shm = Shm::new("c10k-condition", std::mem::size_of::<Header>())?;
        // SAFETY: the region is new and ours alone.
        unsafe { shm.header::<Header>().lock.init(false)? };
        Ok(Condition { shm })
    }

    fn header(&self) -> &Header {
        // SAFETY: initialized by the creator before sharing.
        unsafe { self.shm.header::<Header>() }
    }

    /// Takes the lock.
    ///
    /// # Errors
    ///
    /// [`OwnerDied`](crate::OwnerDied) (with the guard) if the previous holder died.
    pub fn acquire(&self) -> LockResult<CondGuard<'_>> {
        wrap(self.header().lock.lock(), || CondGuard { cond: self, _not_send: PhantomData }).expect("lock waits")
    }

    /// Wakes at most `n` waiters.
    pub fn notify(&self, n: u32) {
        self.header().seq.fetch_add(1, Ordering::Release);
        futex::wake(&self.header().seq, n);
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        self.header().seq.fetch_add(1, Ordering::Release);
        futex::wake_all(&self.header().seq);
    }
}

/// The lock of a [`Condition`], held.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct CondGuard<'a> {
    cond: &'a Condition,
    _not_send: PhantomData<*const ()>,
}

impl std::fmt::Debug for CondGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CondGuard { .. }")
    }
}

impl<'a> CondGuard<'a> {
    fn wait_until(self, deadline: Option<Instant>) -> (CondGuard<'a>, bool) {
        let cond = self.cond;
        let h = cond.header();
        // Read the sequence while holding the lock: a notify after our unlock changes it,
        // and the futex then returns at once (no lost wakeup).
        let seq = h.seq.load(Ordering::Acquire);
        drop(self);
        let woke = futex::wait(&h.seq, seq, deadline).unwrap_or(true);
        let notified = woke || h.seq.load(Ordering::Acquire) != seq;
        // The data it guards is the caller's to check; a dead holder is recovered.
        let g = cond.acquire().unwrap_or_else(|e| e.into_guard());
        (g, notified)
    }

    /// Releases the lock, sleeps until notified (or spuriously), and takes the lock back.
    pub fn wait(self) -> CondGuard<'a> {
        self.wait_until(None).0
    }

    /// As [`wait`](Self::wait), at most `timeout`; the flag is `false` on timeout.
    pub fn wait_timeout(self, timeout: Duration) -> (CondGuard<'a>, bool) {
        self.wait_until(crate::sys::deadline(timeout))
    }

    /// Waits until `predicate()` holds (checked under the lock), at most `timeout` if
    /// given; returns the guard and the predicate's last value.
    pub fn wait_for(mut self, mut predicate: impl FnMut() -> bool, timeout: Option<Duration>) -> (CondGuard<'a>, bool) {
        let deadline = timeout.and_then(crate::sys::deadline);
        loop {
            if predicate() {
                return (self, true);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return (self, false);
            }
            self = self.wait_until(deadline).0;
        }
    }
}

impl Drop for CondGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: this thread holds the lock (the guard is not `Send`).
        unsafe { self.cond.header().lock.unlock() };
    }
}
