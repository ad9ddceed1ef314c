//! The IO driver: readiness (or completions) of file descriptors, delivered to tasks as
//! wakeups.
//!
//! Two kinds of driver sit behind one `Driver`: the *readiness* driver (`selector.rs`)
//! says "this descriptor is ready, try the system call now"; the *completion* driver
//! (`uring/`) has the kernel do the operation and says "done, here is the data". Socket
//! types keep one API on both (`net`'s `PollIo` picks the path), and [`Registration`]
//! keeps the readiness protocol below on both (the ring emulates it with `poll_add`).
//!
//! A current-thread runtime has one driver; a multi-thread runtime has one per worker (see
//! `executor::multi_thread`). The thread that runs the scheduler *parks* on its driver when
//! it has no task to run, and any thread may *unpark* it.
//!
//! # Layout
//!
//! | file | concept |
//! |---|---|
//! | `mod.rs` | `Driver`, the one type the schedulers see, dispatching statically (an enum, no trait object) to a driver kind; and the readiness protocol below |
//! | `backend.rs` | [`Backend`], the one list of IO backends (`ALL`, `name()`, `FromStr`, `auto()`) |
//! | `selector.rs` | the readiness driver over a `c10k_selector::Selector` (select, poll, epoll): edge or emulated one-shot notification |
//! | `doze.rs` | the futex word a readiness driver with nothing registered parks on instead of its selector (cheaper to wake) |
//! | `uring/` | the completion driver over an io_uring ring: streams (`stream.rs`) and listeners (`listener.rs`) as completions, every other registration as `poll_add` readiness |
//! | `registry.rs` | the registration table: a slab addressed by generation-checked tokens, and how tokens are packed on 32- and 64-bit targets |
//! | `scheduled_io.rs` | the readiness word and wakers of one descriptor, and the driver-independent half of the protocol |
//! | `ready.rs` | [`Ready`] and [`ReadyEvent`], the flags a task observes |
//! | `registration.rs` | [`Registration`], the public handle IO types are built on |
//!
//! # Readiness protocol (for IO types built on [`Registration`])
//!
//! Each registered descriptor has a readiness word: flags in its low byte (readable,
//! writable, read-closed, write-closed, error, shutdown) and an event *tick* above them.
//! The driver sets flags and bumps the tick on every event; IO types clear flags.
//!
//! 1. `poll_read_ready(cx)` returns a [`ReadyEvent`] if the driver saw the descriptor become
//!    readable since it was last cleared; otherwise it stores the waker and returns `Pending`.
//! 2. The IO type calls the non-blocking syscall. On `WouldBlock` it calls
//!    [`clear_readiness(event)`](Registration::clear_readiness) and goes back to 1.
//! 3. **Short reads**: a stream read that returns fewer bytes than the buffer had room for
//!    has drained the socket's receive queue at that instant. The IO type may clear readiness
//!    right away (tokio does the same): the next read waits for the next edge instead of
//!    issuing a read that would fail with `WouldBlock`. That is one system call saved per
//!    request for an echo server (2 instead of 3). Do not do it for datagram sockets, where
//!    every read is "short".
//! 4. `clear_readiness` only clears if no new event arrived since `event` was observed (the
//!    event carries the tick), so an edge that arrives between the `WouldBlock` and the
//!    clear is never lost.
//!
//! Spurious wakeups are possible (a wake for readiness another task consumed, or for an
//! event whose data was read already); IO types loop on `WouldBlock` as above.
//!
//! A driver fulfils its side of the protocol with three duties: publish every event with
//! `ScheduledIo::set_readiness` then `wake` (outside its own locks: a waker may run
//! arbitrary code); re-arm in `Driver::arm` whatever its kernel interface needs re-arming
//! before a task sleeps; and on shutdown mark every registration shut down, so that every
//! wait returns an error instead of hanging.
//!
//! # Cooperative budget
//!
//! A readiness check that succeeds spends one unit of the task's budget
//! ([`task::coop`](crate::task::coop)); when it is spent, the check wakes the task and returns
//! `Pending` so a task looping over a ready socket yields.

mod backend;
mod doze;
mod ready;
mod registration;
mod registry;
mod scheduled_io;
mod selector;
pub(crate) mod uring;

use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Duration;

pub use backend::{Backend, ParseBackendError};
pub use c10k_selector::Interest;
pub use ready::{Ready, ReadyEvent};
pub use registration::Registration;

use scheduled_io::{ScheduledIo, Waiters};
use selector::SelectorDriver;
use uring::{UringConfig, UringDriver};

use crate::loom::lock;

/// The IO driver of the current runtime (of the worker's choice on a multi-thread runtime).
///
/// # Errors
///
/// Outside a runtime, an error of kind `Other` saying so.
pub(crate) fn current() -> io::Result<Arc<Driver>> {
    crate::context::with_handle(|h| h.map(|h| h.io_driver())).ok_or_else(|| {
        io::Error::other(
            "IO resources must be created inside a c10k runtime (in `block_on`, a task, or \
             after `Handle::enter`)",
        )
    })
}

pub(crate) fn shutdown_error() -> io::Error {
    io::Error::other("the c10k runtime that owns this IO resource has shut down")
}

/// The IO driver of one scheduler thread. Shared (`Arc`) by the thread that parks on it and
/// by every [`Registration`] made on it.
///
/// An enum rather than a trait object: every call is a `match` the compiler sees through,
/// so the readiness path costs what it cost before the driver had kinds.
// One `Driver` exists per scheduler thread, inside an `Arc`: the size of the larger variant
// costs nothing, while boxing it would add a pointer chase to every ring operation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Driver {
    /// Readiness over select, poll or epoll.
    Selector(SelectorDriver),
    /// Completions on an io_uring.
    Uring(UringDriver),
}

impl Driver {
    /// A driver on `backend` (`None`: [`Backend::best`]).
    ///
    /// # Errors
    ///
    /// The backend is unavailable (for the ring: io_uring missing, forbidden, or disabled
    /// by `C10K_URING_DISABLE=1`, with a message saying so), or out of descriptors.
    pub(crate) fn new(backend: Option<Backend>, uring: &UringConfig) -> io::Result<Driver> {
        match backend.unwrap_or_else(Backend::best) {
            Backend::Uring => Ok(Driver::Uring(UringDriver::new(uring.clone())?)),
            b => Ok(Driver::Selector(SelectorDriver::new(b.selector())?)),
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            Driver::Selector(d) => d.backend().into(),
            Driver::Uring(_) => Backend::Uring,
        }
    }

    /// Waits for events (at most `timeout`; `Some(ZERO)` polls) and wakes the tasks
    /// waiting on them; returns how many tasks it woke. `can_block` is re-checked after the
    /// thread is marked parked: a scheduler passes "my queues are empty", so a task queued
    /// concurrently either sees the parked flag and unparks, or is seen by `can_block`.
    ///
    /// # Errors
    ///
    /// The wait's system call failed (other than `EINTR`, retried below it).
    pub(crate) fn park(
        &self,
        timeout: Option<Duration>,
        can_block: impl FnOnce() -> bool,
    ) -> io::Result<usize> {
        match self {
            Driver::Selector(d) => d.park(timeout, can_block),
            Driver::Uring(d) => d.park(timeout, can_block),
        }
    }

    /// Wakes the thread parked on this driver, if one is. Call after making work visible to
    /// it (a `SeqCst` fence pairs with the one in `park`).
    pub(crate) fn unpark(&self) {
        match self {
            Driver::Selector(d) => d.unpark(),
            Driver::Uring(d) => d.unpark(),
        }
    }

    /// Wakes the driver unconditionally (shutdown, timers).
    pub(crate) fn wake(&self) {
        match self {
            Driver::Selector(d) => d.wake(),
            Driver::Uring(d) => d.wake(),
        }
    }

    /// Marks every registration shut down and wakes its tasks; later registrations fail.
    pub(crate) fn shutdown(&self) {
        match self {
            Driver::Selector(d) => d.shutdown(),
            Driver::Uring(d) => d.shutdown(),
        }
    }

    /// Panics if the calling thread may not drive this driver (a ring bound to another
    /// thread); `block_on` calls it before taking the scheduler's core.
    pub(crate) fn assert_can_drive(&self) {
        match self {
            Driver::Selector(_) => {}
            Driver::Uring(d) => d.assert_can_drive(),
        }
    }

    /// The thread that parks on this driver is leaving for good (a multi-thread worker
    /// at shutdown): a ring bound to it is torn down now, while it still can be.
    pub(crate) fn owner_exiting(&self) {
        match self {
            Driver::Selector(_) => {}
            Driver::Uring(d) => d.shutdown(),
        }
    }

    fn add(&self, fd: RawFd, interest: Interest) -> io::Result<Arc<ScheduledIo>> {
        match self {
            Driver::Selector(d) => d.add(fd, interest),
            Driver::Uring(d) => d.add(fd, interest),
        }
    }

    fn remove(&self, io: &ScheduledIo) -> io::Result<()> {
        match self {
            Driver::Selector(d) => d.remove(io),
            Driver::Uring(d) => d.remove(io),
        }
    }

    /// Called with the waiters locked by a task about to sleep on direction `dir`
    /// (`ARM_READ`/`ARM_WRITE`): re-arm whatever the kernel interface needs. Returns `true`
    /// if the driver must finish in [`arm_unlocked`](Self::arm_unlocked), called right
    /// after the lock is released.
    fn arm(&self, io: &ScheduledIo, w: &mut Waiters, dir: u8) -> bool {
        match self {
            Driver::Selector(d) => {
                d.arm(io, w, dir);
                false
            }
            Driver::Uring(d) => d.arm(w, dir),
        }
    }

    /// The second half of [`arm`](Self::arm), without the waiters lock.
    fn arm_unlocked(&self, io: &Arc<ScheduledIo>, dir: u8) {
        match self {
            Driver::Selector(_) => {}
            Driver::Uring(d) => d.arm_unlocked(io, dir),
        }
    }
}
