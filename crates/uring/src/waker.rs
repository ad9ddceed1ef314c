//! [`Waker`]: wakes a ring's owner out of
//! [`submit_and_wait`](crate::Ring::submit_and_wait) from any thread.
//! (Its mechanism and coalescing protocol are documented on [`Waker`].)

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;

use crate::loom::{AtomicBool, Ordering};

/// Wakes the owner of a [`Ring`](crate::Ring) from any thread; made by
/// [`Ring::waker`](crate::Ring::waker). Cloneable, `Send + Sync`.
///
/// Wakes are coalesced: many `wake()`s before the owner notices cost one
/// system call and end one wait.
///
/// # Mechanism
///
/// An `eventfd(2)` (blocking, close-on-exec) that the ring itself reads: the
/// owner keeps one 8-byte `IORING_OP_READ` on it in flight, with reserved
/// user data. `wake()` writes to the eventfd; the read completes, the wait
/// returns (the completion counts towards `min_complete`), and the ring
/// re-arms the read before its next submission. The completion is handled
/// inside the ring and never shown to the caller. (`IORING_OP_MSG_RING`
/// would need a ring on the waking thread; plain threads have none.)
///
/// # Coalescing protocol
///
/// 1. `wake()`: `pending.swap(true, AcqRel)`; only if it was `false`, write
///    the eventfd (one system call per *batch* of wakes).
/// 2. The owner, when it reaps the read's completion:
///    `pending.swap(false, AcqRel)`, then re-arms the read.
/// 3. The caller runs its queues *after* [`reap`](crate::Ring::reap) returns.
///
/// A waker that finds `pending` already `true` (1) read-modify-wrote it
/// before the owner's swap (2), so whatever it published before waking
/// (say, a task in a queue) is visible to the owner after (2), and the owner
/// looks at its queues in (3). A wake after (2) finds `false` and writes the
/// eventfd again. No wake is lost; redundant ones cost no system call.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use c10k_uring::Ring;
///
/// let mut ring = Ring::new()?;
/// let waker = ring.waker()?;
/// let t = std::thread::spawn(move || waker.wake());
/// // Returns when the other thread wakes us (the timeout is a safety net).
/// ring.submit_and_wait(1, Some(Duration::from_secs(10)))?;
/// t.join().unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Waker {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) fd: OwnedFd,
    pending: Pending,
}

impl Inner {
    pub(crate) fn new() -> io::Result<Arc<Self>> {
        let fd = rustix::event::eventfd(0, rustix::event::EventfdFlags::CLOEXEC)?;
        Ok(Arc::new(Inner {
            fd,
            pending: Pending::new(),
        }))
    }

    /// Step 2 of the coalescing protocol.
    pub(crate) fn clear(&self) {
        self.pending.clear();
    }
}

/// The coalescing flag: a wake is in flight (set by `wake`, cleared by the
/// owner when it reaps the eventfd read). Its two read-modify-writes carry
/// the happens-before edge the protocol's argument needs.
pub(crate) struct Pending(AtomicBool);

impl Pending {
    pub(crate) fn new() -> Self {
        Pending(AtomicBool::new(false))
    }

    /// Step 1: sets the flag; `true` if this wake must write the eventfd.
    pub(crate) fn set(&self) -> bool {
        !self.0.swap(true, Ordering::AcqRel)
    }

    /// Step 2: clears the flag (a read-modify-write, so that it reads the
    /// last waker's write and acquires what that waker published).
    pub(crate) fn clear(&self) {
        self.0.swap(false, Ordering::AcqRel);
    }

    /// Undoes step 1 after a failed write, so that a later wake retries.
    fn unset(&self) {
        self.0.store(false, Ordering::Release);
    }

    fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl Waker {
    /// Wakes the ring's owner: its current or next
    /// [`submit_and_wait`](crate::Ring::submit_and_wait) returns.
    ///
    /// # Errors
    ///
    /// The error of `write(2)` on the eventfd (in practice none: the counter
    /// cannot overflow, since wakes are coalesced). `EINTR` is retried.
    pub fn wake(&self) -> io::Result<()> {
        if !self.inner.pending.set() {
            return Ok(());
        }
        loop {
            match rustix::io::write(self.inner.fd.as_fd(), &1u64.to_ne_bytes()) {
                Ok(_) => return Ok(()),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => {
                    // Let a later wake try again.
                    self.inner.pending.unset();
                    return Err(e.into());
                }
            }
        }
    }
}

impl fmt::Debug for Waker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waker")
            .field("eventfd", &self.inner.fd.as_raw_fd())
            .field("pending", &self.inner.pending.is_set())
            .finish()
    }
}

#[cfg(all(test, loom))]
mod tests {
    mod loom_pending;
}
