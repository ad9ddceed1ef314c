//! [`Barrier`]: a reusable rendezvous of N processes, on a futex word in shared memory.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::futex;
use crate::mutex::RawMutex;
use crate::shm::Shm;

#[repr(C)]
struct Header {
    lock: RawMutex,
    parties: AtomicU32,
    /// Arrived in the current generation.
    arrived: AtomicU32,
    /// Bumped when a generation completes (the futex word).
    generation: AtomicU32,
    /// 1 once broken (a timeout, an abort, or a holder that died in the lock).
    broken: AtomicU32,
}

/// Why a barrier wait failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BarrierError {
    /// The barrier is broken (Python's `BrokenBarrierError`): a waiter timed out, someone
    /// called `abort`, or a process died inside the barrier's lock. `reset` repairs it.
    Broken,
}

impl std::fmt::Display for BarrierError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the barrier is broken")
    }
}

impl std::error::Error for BarrierError {}

/// A barrier for `parties` processes (Python's `multiprocessing.Barrier`): each `wait`
/// blocks until `parties` waits arrived, then all return; it is reusable.
///
/// A waiter that times out breaks the barrier for everyone, as in Python; a process that
/// dies while waiting simply never arrives (the others wait for their timeout).
///
/// # Examples
///
/// ```
/// let b = c10k_process::Barrier::new(1)?;
/// assert_eq!(b.wait(), Ok(0)); // one party: passes at once
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Serialize, Deserialize)]
pub struct Barrier {
    shm: Shm,
}

impl std::fmt::Debug for Barrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Barrier").field("parties", &self.parties()).field("broken", &self.is_broken()).finish()
    }
}

impl Barrier {
    /// A barrier for `parties` (at least 1).
    ///
    /// # Errors
    ///
    /// The system's error creating the shared memory.
    pub fn new(parties: u32) -> io::Result<Barrier> {
        let shm = Shm::new("c10k-barrier", std::mem::size_of::<Header>())?;
        // SAFETY: the region is new and ours alone.
        unsafe { shm.header::<Header>().lock.init(false)? };
        let b = Barrier { shm };
        b.header().parties.store(parties.max(1), Ordering::Relaxed);
        Ok(b)
    }

    fn header(&self) -> &Header {
        // SAFETY: initialized by the creator before sharing.
        unsafe { self.shm.header::<Header>() }
    }

    /// The number of parties.
    pub fn parties(&self) -> u32 {
        self.header().parties.load(Ordering::Relaxed)
    }

    /// Whether it is broken.
    pub fn is_broken(&self) -> bool {
        self.header().broken.load(Ordering::Acquire) != 0
    }

    fn lock(&self) {
        if self.header().lock.lock() == crate::mutex::Acquired::OwnerDied {
            self.header().broken.store(1, Ordering::Release);
        }
    }

    fn unlock(&self) {
        // SAFETY: called only after `lock` on this thread.
        unsafe { self.header().lock.unlock() };
    }

    /// Waits for the other parties. Returns this party's arrival index (`parties - 1` for
    /// the first to arrive, 0 for the last, as in Python).
    ///
    /// # Errors
    ///
    /// [`BarrierError::Broken`].
    pub fn wait(&self) -> Result<u32, BarrierError> {
        self.wait_until(None)
    }

    /// As [`wait`](Self::wait), at most `timeout`; a timeout breaks the barrier.
    ///
    /// # Errors
    ///
    /// [`BarrierError::Broken`].
    pub fn wait_timeout(&self, timeout: Duration) -> Result<u32, BarrierError> {
        self.wait_until(crate::sys::deadline(timeout))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> Result<u32, BarrierError> {
        let h = self.header();
        self.lock();
        if h.broken.load(Ordering::Relaxed) != 0 {
            self.unlock();
            return Err(BarrierError::Broken);
        }
        let gen = h.generation.load(Ordering::Relaxed);
        let arrived = h.arrived.load(Ordering::Relaxed) + 1;
        let parties = h.parties.load(Ordering::Relaxed);
        if arrived == parties {
            h.arrived.store(0, Ordering::Relaxed);
            h.generation.store(gen.wrapping_add(1), Ordering::Release);
            self.unlock();
            futex::wake_all(&h.generation);
            return Ok(0);
        }
        h.arrived.store(arrived, Ordering::Relaxed);
        self.unlock();
        loop {
            if h.generation.load(Ordering::Acquire) != gen {
                return Ok(parties - arrived);
            }
            if h.broken.load(Ordering::Acquire) != 0 {
                return Err(BarrierError::Broken);
            }
            if !futex::wait(&h.generation, gen, deadline).unwrap_or(true) {
                if h.generation.load(Ordering::Acquire) != gen {
                    return Ok(parties - arrived);
                }
                self.abort();
                return Err(BarrierError::Broken);
            }
        }
    }

    /// Breaks the barrier: current and future waiters get `Broken` until `reset`.
    pub fn abort(&self) {
        let h = self.header();
        self.lock();
        h.broken.store(1, Ordering::Release);
        self.unlock();
        // Sleepers sleep on `generation`: a wake with the word unchanged still wakes them,
        // and they find `broken` set before they sleep again.
        futex::wake_all(&h.generation);
    }

    /// Repairs a broken barrier. Call it when no party is waiting (as after every party
    /// saw `Broken`): a waiter still inside would count toward the new round.
    pub fn reset(&self) {
        let h = self.header();
        self.lock();
        h.arrived.store(0, Ordering::Relaxed);
        h.broken.store(0, Ordering::Release);
        self.unlock();
    }
}
