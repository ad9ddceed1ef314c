//! The IO driver: readiness of file descriptors, delivered to tasks as wakeups.
//!
//! One `Driver` wraps one `c10k_selector::Selector` (any backend; the runtime builder
//! picks, by default the best: epoll on Linux). A current-thread runtime has one driver; a
//! multi-thread runtime has one per worker (see `executor::multi_thread`).
//!
//! # Registrations
//!
//! Each registered descriptor gets a `ScheduledIo` (readiness bits, a reader waker, a
//! writer waker) kept in a slab. The selector token is `generation << 32 | slot`: when a slot
//! is reused by a newer registration, an event still carrying the old token (one that was
//! already in flight in a batch when the descriptor was deregistered) fails the generation
//! check and is dropped, instead of waking the wrong socket's task.
//!
//! # Edge or level
//!
//! On epoll, descriptors are registered once, for reading and writing, *edge-triggered*:
//! the kernel reports a transition to ready once, so the driver never issues `epoll_ctl` after
//! registration, however many times the task waits. The readiness bits remember the edge until
//! the task observes `WouldBlock` (or a short read) and clears them.
//!
//! select(2) and poll(2) have no edge mode, and level-triggered readiness would make the
//! driver spin on a socket whose task is busy elsewhere. So on those backends the driver
//! emulates one-shot notification: when a direction fires it is *disarmed* (the interest is
//! reregistered without it, a user-space update for these backends), and re-armed when a
//! task next waits on that direction and finds it not ready.
//!
//! # Readiness protocol (for IO types built on [`Registration`])
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
//!    event carries the driver's tick), so an edge that arrives between the `WouldBlock` and
//!    the clear is never lost.
//!
//! Spurious wakeups are possible (a wake for readiness another task consumed, or for an
//! event whose data was read already); IO types loop on `WouldBlock` as above.
//!
//! # Cooperative budget
//!
//! A readiness check that succeeds spends one unit of the task's budget
//! ([`task::coop`](crate::task::coop)); when it is spent, the check wakes the task and returns
//! `Pending` so a task looping over a ready socket yields.

use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

pub use c10k_selector::{Backend, Interest};
use c10k_selector::{Event, Events, Selector, Token};
use slab::Slab;

use crate::loom::lock;
use crate::task::coop;

/// The driver's own waker token (`usize::MAX` is reserved by the selector).
const WAKE_TOKEN: Token = Token(usize::MAX - 1);
/// Events fetched per `select` call.
pub(crate) const EVENTS_CAPACITY: usize = 1024;

/// Readiness bits (low byte of `ScheduledIo::readiness`).
const READABLE: usize = 1 << 0;
const WRITABLE: usize = 1 << 1;
const READ_CLOSED: usize = 1 << 2;
const WRITE_CLOSED: usize = 1 << 3;
const ERROR: usize = 1 << 4;
/// The driver is gone: every wait returns an error.
const SHUTDOWN: usize = 1 << 5;
const READ_MASK: usize = READABLE | READ_CLOSED | ERROR;
const WRITE_MASK: usize = WRITABLE | WRITE_CLOSED | ERROR;
/// The event tick occupies the bits above the readiness byte.
const TICK_SHIFT: u32 = 8;

/// One selector with its registrations. Shared (`Arc`) by the thread that parks on it and by
/// every [`Registration`] made on it.
pub(crate) struct Driver {
    selector: Selector,
    waker: c10k_selector::Waker,
    regs: Mutex<Regs>,
    /// Reused by `dispatch` (only the parking thread takes it: never contended).
    batch: Mutex<Vec<(Arc<ScheduledIo>, usize)>>,
    /// Whether the backend has edge-triggered mode (else one-shot emulation, see module docs).
    edge: bool,
    /// The parking thread is in (or about to enter) `select`: only then does `unpark` write
    /// the selector's waker. A thread that is running tasks will find new work without a
    /// system call.
    parked: AtomicBool,
}

struct Regs {
    slab: Slab<Arc<ScheduledIo>>,
    generation: usize,
    shutdown: bool,
}

/// Readiness and wakers of one registered descriptor.
pub(crate) struct ScheduledIo {
    /// `generation << 32 | slot`. Immutable.
    token: usize,
    fd: RawFd,
    /// Readiness bits in the low byte, the event tick above. Set by the driver, cleared by
    /// the IO type (`clear_readiness`).
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
}

#[derive(Default)]
struct Waiters {
    reader: Option<Waker>,
    writer: Option<Waker>,
    /// Level backends only: the directions currently registered with the selector.
    armed: u8,
    /// The registration was dropped: never touch the selector for it again.
    removed: bool,
}

const ARM_READ: u8 = 1;
const ARM_WRITE: u8 = 2;

impl Driver {
    pub(crate) fn new(backend: Option<Backend>) -> io::Result<Driver> {
        let selector = match backend {
            Some(b) => Selector::with_backend(b)?,
            None => Selector::new()?,
        };
        let waker = c10k_selector::Waker::new(&selector, WAKE_TOKEN)?;
        let edge = selector.backend().supports_edge();
        Ok(Driver {
            selector,
            waker,
            regs: Mutex::new(Regs {
                slab: Slab::new(),
                generation: 0,
                shutdown: false,
            }),
            edge,
            parked: AtomicBool::new(false),
            batch: Mutex::new(Vec::with_capacity(64)),
        })
    }

    pub(crate) fn backend(&self) -> Backend {
        self.selector.backend()
    }

    fn add(&self, fd: RawFd, interest: Interest) -> io::Result<Arc<ScheduledIo>> {
        let mut regs = lock(&self.regs);
        if regs.shutdown {
            return Err(shutdown_error());
        }
        regs.generation = (regs.generation + 1) & 0x7fff_ffff;
        let generation = regs.generation;
        let entry = regs.slab.vacant_entry();
        let token = (generation << 32) | entry.key();
        let io = Arc::new(ScheduledIo {
            token,
            fd,
            readiness: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        });
        if self.edge {
            // Both directions, once, forever (see module docs).
            let _ = interest;
            self.selector.register(
                fd,
                Token(token),
                (Interest::READABLE | Interest::WRITABLE).edge(),
            )?;
        } else {
            // One-shot emulation: start armed for what the caller asked.
            let mut w = lock(&io.waiters);
            w.armed = arm_bits(interest);
            self.selector.register(fd, Token(token), interest)?;
        }
        entry.insert(Arc::clone(&io));
        Ok(io)
    }

    fn remove(&self, io: &ScheduledIo) -> io::Result<()> {
        let mut regs = lock(&self.regs);
        let slot = io.token & 0xffff_ffff;
        if regs.slab.get(slot).is_some_and(|r| r.token == io.token) {
            regs.slab.remove(slot);
        }
        if regs.shutdown {
            return Ok(());
        }
        drop(regs);
        // Under the waiters lock, so that a late event being dispatched for this registration
        // cannot re-arm the descriptor (whose number may be reused once it is closed).
        let mut w = lock(&io.waiters);
        w.removed = true;
        if self.edge || w.armed != 0 {
            self.selector.deregister(io.fd)
        } else {
            Ok(())
        }
    }

    /// Re-arms `dir` on a level backend (see module docs).
    fn arm(&self, io: &ScheduledIo, w: &mut Waiters, dir: u8) {
        if self.edge || w.armed & dir != 0 || w.removed {
            return;
        }
        let was = w.armed;
        w.armed |= dir;
        let interest = interest_of(w.armed).expect("armed is not empty");
        let res = if was == 0 {
            self.selector.register(io.fd, Token(io.token), interest)
        } else {
            self.selector.reregister(io.fd, Token(io.token), interest)
        };
        if res.is_err() {
            // The descriptor is broken (closed under us): report it as an error event.
            w.armed = was;
            io.readiness.fetch_or(ERROR, Ordering::AcqRel);
        }
    }

    /// Waits for events (at most `timeout`; `Some(ZERO)` polls) and wakes the tasks
    /// waiting on them. `can_block` is re-checked after the thread is marked parked: a
    /// scheduler passes "my queues are empty", so a task queued concurrently either sees the
    /// parked flag and writes the waker, or is seen by `can_block`.
    pub(crate) fn park(
        &self,
        events: &mut Events,
        mut timeout: Option<Duration>,
        can_block: impl FnOnce() -> bool,
    ) -> io::Result<usize> {
        let blocking = timeout != Some(Duration::ZERO);
        if blocking {
            self.parked.store(true, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            if !can_block() {
                timeout = Some(Duration::ZERO);
            }
        }
        let res = self.selector.select(events, timeout);
        if blocking {
            self.parked.store(false, Ordering::Relaxed);
        }
        match res {
            Ok(_) => Ok(self.dispatch(events)),
            Err(e) => Err(e),
        }
    }

    /// Wakes the thread parked on this driver, if one is. Call after making work visible to
    /// it (the `SeqCst` fence pairs with the one in `park`).
    pub(crate) fn unpark(&self) {
        fence(Ordering::SeqCst);
        if self.parked.load(Ordering::Relaxed) {
            let _ = self.waker.wake();
        }
    }

    /// Wakes the driver unconditionally (shutdown, timers).
    pub(crate) fn wake(&self) {
        let _ = self.waker.wake();
    }

    /// Looks the events' registrations up under the slab lock, then publishes readiness and
    /// wakes tasks *after* releasing it: a waker may run arbitrary code on drop (even free a
    /// task whose future owns a registration of this driver), which must not find the lock
    /// held.
    fn dispatch(&self, events: &Events) -> usize {
        let mut batch = lock(&self.batch);
        {
            let regs = lock(&self.regs);
            for ev in events.iter() {
                let token = ev.token().0;
                if token == WAKE_TOKEN.0 {
                    continue;
                }
                let Some(io) = regs.slab.get(token & 0xffff_ffff) else {
                    continue;
                };
                if io.token != token {
                    continue; // stale: the slot was reused
                }
                batch.push((Arc::clone(io), ready_of(ev)));
            }
        }
        let mut woken = 0;
        for (io, ready) in batch.drain(..) {
            woken += io.set_readiness(ready, self);
        }
        woken
    }

    /// Marks every registration shut down and wakes its tasks; later registrations fail.
    pub(crate) fn shutdown(&self) {
        let all: Vec<Arc<ScheduledIo>> = {
            let mut regs = lock(&self.regs);
            regs.shutdown = true;
            regs.slab.drain().collect()
        };
        // Wake outside the lock (see `dispatch`).
        for io in all {
            io.readiness.fetch_or(SHUTDOWN, Ordering::AcqRel);
            io.wake(READ_MASK | WRITE_MASK);
        }
    }
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("backend", &self.backend())
            .field("edge", &self.edge)
            .finish()
    }
}

fn ready_of(ev: &Event) -> usize {
    let mut ready = 0;
    if ev.is_readable() {
        ready |= READABLE;
    }
    if ev.is_writable() {
        ready |= WRITABLE;
    }
    if ev.is_read_closed() {
        ready |= READ_CLOSED;
    }
    if ev.is_write_closed() {
        ready |= WRITE_CLOSED;
    }
    if ev.is_error() {
        ready |= ERROR;
    }
    ready
}

fn arm_bits(i: Interest) -> u8 {
    (if i.is_readable() { ARM_READ } else { 0 }) | (if i.is_writable() { ARM_WRITE } else { 0 })
}

fn interest_of(armed: u8) -> Option<Interest> {
    match armed {
        ARM_READ => Some(Interest::READABLE),
        ARM_WRITE => Some(Interest::WRITABLE),
        3 => Some(Interest::READABLE | Interest::WRITABLE),
        _ => None,
    }
}

fn shutdown_error() -> io::Error {
    io::Error::other("the c10k runtime that owns this IO resource has shut down")
}

impl ScheduledIo {
    fn set_readiness(&self, ready: usize, driver: &Driver) -> usize {
        // Publish the bits with a new tick (wrapping within the word).
        let mut cur = self.readiness.load(Ordering::Acquire);
        loop {
            let tick = (cur >> TICK_SHIFT).wrapping_add(1);
            let next = (tick << TICK_SHIFT) | (cur & 0xff) | ready;
            match self.readiness.compare_exchange_weak(
                cur,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(a) => cur = a,
            }
        }
        if !driver.edge {
            // One-shot emulation: disarm what fired.
            let mut w = lock(&self.waiters);
            let mut fired = 0;
            if ready & READ_MASK != 0 {
                fired |= ARM_READ;
            }
            if ready & WRITE_MASK != 0 {
                fired |= ARM_WRITE;
            }
            let left = w.armed & !fired;
            if left != w.armed && !w.removed {
                let res = match interest_of(left) {
                    Some(i) => driver.selector.reregister(self.fd, Token(self.token), i),
                    None => driver.selector.deregister(self.fd),
                };
                if res.is_ok() {
                    w.armed = left;
                }
            }
            drop(w);
        }
        self.wake(ready)
    }

    fn wake(&self, ready: usize) -> usize {
        let (r, w) = {
            let mut w = lock(&self.waiters);
            let r = if ready & READ_MASK != 0 {
                w.reader.take()
            } else {
                None
            };
            let wr = if ready & WRITE_MASK != 0 {
                w.writer.take()
            } else {
                None
            };
            (r, wr)
        };
        let n = r.is_some() as usize + w.is_some() as usize;
        if let Some(r) = r {
            r.wake();
        }
        if let Some(w) = w {
            w.wake();
        }
        n
    }

    fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        driver: &Driver,
    ) -> Poll<io::Result<ReadyEvent>> {
        let mask = dir.mask();
        let cur = self.readiness.load(Ordering::Acquire);
        if cur & SHUTDOWN != 0 {
            return Poll::Ready(Err(shutdown_error()));
        }
        if cur & mask != 0 {
            std::task::ready!(coop::poll_proceed(cx));
            return Poll::Ready(Ok(ReadyEvent::from_word(cur, mask)));
        }
        let mut w = lock(&self.waiters);
        let slot = match dir {
            Direction::Read => &mut w.reader,
            Direction::Write => &mut w.writer,
        };
        match slot {
            Some(old) if old.will_wake(cx.waker()) => {}
            _ => *slot = Some(cx.waker().clone()),
        }
        driver.arm(self, &mut w, dir.arm());
        // Re-check under the lock: the driver sets readiness before taking the lock to wake.
        let cur = self.readiness.load(Ordering::Acquire);
        drop(w);
        if cur & SHUTDOWN != 0 {
            return Poll::Ready(Err(shutdown_error()));
        }
        if cur & mask != 0 {
            std::task::ready!(coop::poll_proceed(cx));
            return Poll::Ready(Ok(ReadyEvent::from_word(cur, mask)));
        }
        Poll::Pending
    }

    fn clear_readiness(&self, event: ReadyEvent) {
        // Closed and error bits are sticky: a closed socket stays closed.
        let clear = event.ready.0 as usize & (READABLE | WRITABLE);
        let mut cur = self.readiness.load(Ordering::Acquire);
        loop {
            if (cur >> TICK_SHIFT) as u32 != event.tick {
                return; // a newer event arrived: keep it
            }
            let next = cur & !clear;
            match self.readiness.compare_exchange_weak(
                cur,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(a) => cur = a,
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Read,
    Write,
}

impl Direction {
    fn mask(self) -> usize {
        match self {
            Direction::Read => READ_MASK,
            Direction::Write => WRITE_MASK,
        }
    }
    fn arm(self) -> u8 {
        match self {
            Direction::Read => ARM_READ,
            Direction::Write => ARM_WRITE,
        }
    }
}

/// A set of readiness flags, as observed by a [`Registration`].
///
/// # Examples
///
/// ```
/// # use std::io::{Read, Write};
/// # use std::os::fd::AsRawFd;
/// # use std::os::unix::net::UnixStream;
/// # use c10k_runtime::driver::{Interest, Registration};
/// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// # rt.block_on(async {
/// #     let (mut a, mut b) = UnixStream::pair()?;
/// #     a.set_nonblocking(true)?;
/// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
/// b.write_all(b"x")?;
/// drop(b); // the peer closes: readable and read-closed
/// let ev = reg.ready(Interest::READABLE).await?;
/// let ready = ev.ready();
/// assert!(ready.is_readable());
/// assert!(!ready.is_error());
/// let _ = (ready.is_read_closed(), ready.is_write_closed(), ready.is_writable());
///     drop(reg); // before `a` closes
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ready(u8);

impl Ready {
    /// The descriptor may be read without blocking.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     b.write_all(b"x")?;
    ///     let ev = reg.ready(Interest::READABLE).await?;
    ///     assert!(ev.ready().is_readable());
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_readable(self) -> bool {
        self.0 as usize & READABLE != 0
    }
    /// The descriptor may be written without blocking.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     let ev = reg.ready(Interest::WRITABLE).await?;
    ///     assert!(ev.ready().is_writable()); // an empty send buffer
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_writable(self) -> bool {
        self.0 as usize & WRITABLE != 0
    }
    /// The peer closed its writing side (reads will return end of file).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     drop(b);
    ///     let ev = reg.ready(Interest::READABLE).await?;
    ///     if ev.ready().is_read_closed() {
    ///         // Backends that report hang-ups: the next read is end of file.
    ///         assert_eq!((&a).read(&mut [0u8; 8])?, 0);
    ///     }
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_read_closed(self) -> bool {
        self.0 as usize & READ_CLOSED != 0
    }
    /// The writing side is closed (writes will fail).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     drop(b);
    ///     let ev = reg.ready(Interest::WRITABLE).await?;
    ///     if ev.ready().is_write_closed() {
    ///         assert!((&a).write(b"x").is_err()); // EPIPE: nobody to read it
    ///     }
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_write_closed(self) -> bool {
        self.0 as usize & WRITE_CLOSED != 0
    }
    /// An error is pending on the descriptor (read it with `SO_ERROR` or the next call).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     let ev = reg.ready(Interest::WRITABLE).await?;
    ///     assert!(!ev.ready().is_error()); // a healthy socket
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_error(self) -> bool {
        self.0 as usize & ERROR != 0
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_set();
        for (bit, name) in [
            (READABLE, "READABLE"),
            (WRITABLE, "WRITABLE"),
            (READ_CLOSED, "READ_CLOSED"),
            (WRITE_CLOSED, "WRITE_CLOSED"),
            (ERROR, "ERROR"),
        ] {
            if self.0 as usize & bit != 0 {
                l.entry(&format_args!("{name}"));
            }
        }
        l.finish()
    }
}

/// Readiness observed by `poll_*_ready`, to be passed back to
/// [`Registration::clear_readiness`] after `WouldBlock` (or a short read).
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// use std::os::unix::net::UnixStream;
/// use c10k_runtime::driver::{Interest, Registration, ReadyEvent};
/// c10k_runtime::run(async {
///     let (a, _b) = UnixStream::pair()?;
///     a.set_nonblocking(true)?;
///     let reg = Registration::new(a.as_raw_fd(), Interest::WRITABLE)?;
///     let ev: ReadyEvent = reg.ready(Interest::WRITABLE).await?;
///     assert!(ev.ready().is_writable());
///     // Had a write returned `WouldBlock`, the event would go back with `clear_readiness`.
///     drop(reg); // before `a` closes
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyEvent {
    ready: Ready,
    tick: u32,
}

impl ReadyEvent {
    fn from_word(word: usize, mask: usize) -> ReadyEvent {
        ReadyEvent {
            ready: Ready((word & mask) as u8),
            tick: (word >> TICK_SHIFT) as u32,
        }
    }

    /// The flags observed.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     let ev = reg.ready(Interest::WRITABLE).await?;
    ///     let flags = ev.ready();
    ///     assert!(flags.is_writable() && !flags.is_error());
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ready(&self) -> Ready {
        self.ready
    }
}

/// A file descriptor registered with the current runtime's IO driver: the building block
/// of `TcpStream`, `UdpSocket` and friends.
///
/// It does not own the descriptor: the IO type that owns both must drop the `Registration`
/// first (dropping it deregisters the descriptor, which must still be open).
///
/// On a multi-thread runtime, registrations are dealt round-robin to the workers' selectors;
/// the owning worker dispatches the events and the woken task moves to it (see the
/// [`executor`](crate::executor) docs).
///
/// One reader and one writer at a time: each direction keeps one waker, so two tasks
/// waiting to read the same registration would steal each other's wakeups (split halves
/// give each direction to one task).
///
/// # Examples
///
/// Waiting for a socket to become readable, and reading it with the protocol of the
/// module docs:
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::fd::AsRawFd;
/// use std::os::unix::net::UnixStream;
/// use c10k_runtime::driver::{Interest, Registration};
///
/// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// rt.block_on(async {
///     let (mut a, mut b) = UnixStream::pair()?;
///     a.set_nonblocking(true)?;
///     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
///     b.write_all(b"ping")?;
///     let mut buf = [0u8; 16];
///     let n = std::future::poll_fn(|cx| reg.poll_read_io(cx, || (&a).read(&mut buf))).await?;
///     assert_eq!(&buf[..n], b"ping");
///     drop(reg); // before `a` closes
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Registration {
    driver: Arc<Driver>,
    io: Arc<ScheduledIo>,
}

impl Registration {
    /// Registers `fd` (which must be non-blocking) with the current runtime. `interest` says
    /// which directions will be waited on (on epoll both are always watched, edge-triggered).
    ///
    /// # Errors
    ///
    /// Outside a runtime, an error of kind `Other` saying so; after runtime shutdown, the
    /// shutdown error; otherwise the selector's error (e.g. select(2) refusing a descriptor
    /// above `FD_SETSIZE`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    /// use c10k_runtime::driver::{Interest, Registration};
    /// c10k_runtime::run(async {
    ///     let (a, _b) = UnixStream::pair()?;
    ///     a.set_nonblocking(true)?; // required: the driver never blocks on the descriptor
    ///     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE)?;
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(fd: RawFd, interest: Interest) -> io::Result<Registration> {
        let driver = crate::context::with_handle(|h| h.map(|h| h.io_driver()))
            .ok_or_else(|| io::Error::other("IO resources must be created inside a c10k runtime (in `block_on`, a task, or after `Handle::enter`)"))?;
        Registration::with_driver(driver, fd, interest)
    }

    /// Registers `fd` with the runtime of `handle`.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    ///
    /// # Examples
    ///
    /// Registering from a thread outside the runtime:
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    /// use c10k_runtime::driver::{Interest, Registration};
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// let (a, _b) = UnixStream::pair()?;
    /// a.set_nonblocking(true)?;
    /// let reg = Registration::new_with_handle(a.as_raw_fd(), Interest::WRITABLE, rt.handle())?;
    /// rt.block_on(reg.ready(Interest::WRITABLE))?;
    /// drop(reg);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new_with_handle(
        fd: RawFd,
        interest: Interest,
        handle: &crate::Handle,
    ) -> io::Result<Registration> {
        Registration::with_driver(handle.inner.io_driver(), fd, interest)
    }

    pub(crate) fn with_driver(
        driver: Arc<Driver>,
        fd: RawFd,
        interest: Interest,
    ) -> io::Result<Registration> {
        let io = driver.add(fd, interest)?;
        Ok(Registration { driver, io })
    }

    /// Returns the readiness for reading if the descriptor is (or may be) readable; otherwise
    /// stores the waker (replacing the previous reader's) and returns `Pending`.
    ///
    /// # Errors
    ///
    /// The runtime shut down.
    ///
    /// The readiness protocol: wait, try the operation, and on `WouldBlock` hand the event back
    /// with [`clear_readiness`](Self::clear_readiness) so that the next poll waits for a new
    /// event. Readiness may be spurious, so the loop is required.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     b.write_all(b"data")?;
    ///     let mut buf = [0u8; 16];
    ///     let n = loop {
    ///         let ev = std::future::poll_fn(|cx| reg.poll_read_ready(cx)).await?;
    ///         match (&a).read(&mut buf) {
    ///             Ok(n) => break n,
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => reg.clear_readiness(ev),
    ///             Err(e) => return Err(e),
    ///         }
    ///     };
    ///     assert_eq!(&buf[..n], b"data");
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        self.io.poll_ready(cx, Direction::Read, &self.driver)
    }

    /// The writing twin of [`poll_read_ready`](Self::poll_read_ready).
    ///
    /// # Errors
    ///
    /// The runtime shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     std::future::poll_fn(|cx| reg.poll_write_ready(cx)).await?;
    ///     (&a).write_all(b"x")?;
    ///     let mut buf = [0u8; 1];
    ///     b.read_exact(&mut buf)?;
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        self.io.poll_ready(cx, Direction::Write, &self.driver)
    }

    /// Forgets the readiness in `event`, unless a newer event arrived since it was observed.
    /// Call it after the operation returned `WouldBlock`, or after a short stream read.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     b.write_all(b"x")?;
    ///     let ev = reg.ready(Interest::READABLE).await?;
    ///     let mut buf = [0u8; 8];
    ///     assert_eq!((&a).read(&mut buf)?, 1);
    ///     let err = (&a).read(&mut buf).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    ///     reg.clear_readiness(ev); // drained: the next wait is for a new event
    ///     b.write_all(b"y")?;
    ///     reg.ready(Interest::READABLE).await?;
    ///     assert_eq!((&a).read(&mut buf)?, 1);
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn clear_readiness(&self, event: ReadyEvent) {
        self.io.clear_readiness(event);
    }

    /// Runs `f` (a non-blocking read-side syscall) when the descriptor is readable, clearing
    /// readiness and waiting again on `WouldBlock`.
    ///
    /// # Errors
    ///
    /// The error of `f` other than `WouldBlock`, or the shutdown error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     b.write_all(b"ping")?;
    ///     let mut buf = [0u8; 16];
    ///     let n = std::future::poll_fn(|cx| reg.poll_read_io(cx, || (&a).read(&mut buf))).await?;
    ///     assert_eq!(&buf[..n], b"ping");
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_read_io<R>(
        &self,
        cx: &mut Context<'_>,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let ev = std::task::ready!(self.poll_read_ready(cx))?;
            match f() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(ev),
                res => return Poll::Ready(res),
            }
        }
    }

    /// The writing twin of [`poll_read_io`](Self::poll_read_io).
    ///
    /// # Errors
    ///
    /// As [`poll_read_io`](Self::poll_read_io).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     let n = std::future::poll_fn(|cx| reg.poll_write_io(cx, || (&a).write(b"hello"))).await?;
    ///     assert_eq!(n, 5);
    ///     let mut buf = [0u8; 5];
    ///     b.read_exact(&mut buf)?;
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_write_io<R>(
        &self,
        cx: &mut Context<'_>,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let ev = std::task::ready!(self.poll_write_ready(cx))?;
            match f() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(ev),
                res => return Poll::Ready(res),
            }
        }
    }

    /// Runs `f` once if the descriptor is currently known ready for `interest` (no waker is
    /// stored), clearing readiness if it returns `WouldBlock`. The base of `try_read` and
    /// `try_write`.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if not ready, else the result of `f`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     let mut buf = [0u8; 8];
    ///     // Nothing written yet: either no readiness is known or the read would block.
    ///     let err = reg.try_io(Interest::READABLE, || (&a).read(&mut buf)).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    ///     b.write_all(b"now")?;
    ///     reg.ready(Interest::READABLE).await?;
    ///     let n = reg.try_io(Interest::READABLE, || (&a).read(&mut buf))?;
    ///     assert_eq!(&buf[..n], b"now");
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        let mask = if interest.is_readable() { READ_MASK } else { 0 }
            | if interest.is_writable() {
                WRITE_MASK
            } else {
                0
            };
        let cur = self.io.readiness.load(Ordering::Acquire);
        if cur & SHUTDOWN != 0 {
            return Err(shutdown_error());
        }
        if cur & mask == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let ev = ReadyEvent::from_word(cur, mask);
        let res = f();
        if matches!(&res, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.clear_readiness(ev);
        }
        res
    }

    /// The readiness currently known for `interest`, without storing a waker or spending
    /// budget: for IO types that try an operation once and then decide themselves whether
    /// to [`clear_readiness`](Self::clear_readiness) — `net`'s `try_read` clears it after a
    /// short stream read as well as after `WouldBlock` (module docs, "Short reads").
    ///
    /// # Errors
    ///
    /// `WouldBlock` if the descriptor is not known ready; the shutdown error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     b.write_all(b"x")?;
    ///     reg.ready(Interest::READABLE).await?;
    ///     let ev = reg.try_ready(Interest::READABLE)?; // known now, no waiting
    ///     let mut buf = [0u8; 8];
    ///     let n = (&a).read(&mut buf)?;
    ///     if n < buf.len() {
    ///         reg.clear_readiness(ev); // a short read drained the socket
    ///     }
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_ready(&self, interest: Interest) -> io::Result<ReadyEvent> {
        let mask = if interest.is_readable() { READ_MASK } else { 0 }
            | if interest.is_writable() {
                WRITE_MASK
            } else {
                0
            };
        let cur = self.io.readiness.load(Ordering::Acquire);
        if cur & SHUTDOWN != 0 {
            return Err(shutdown_error());
        }
        if cur & mask == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(ReadyEvent::from_word(cur, mask))
    }

    /// Waits until the descriptor is ready for `interest` (readable if it includes reading,
    /// else writable).
    ///
    /// # Errors
    ///
    /// The runtime shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     let ev = reg.ready(Interest::WRITABLE).await?;
    ///     assert!(ev.ready().is_writable());
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn ready(&self, interest: Interest) -> io::Result<ReadyEvent> {
        std::future::poll_fn(|cx| {
            if interest.is_readable() {
                self.poll_read_ready(cx)
            } else {
                self.poll_write_ready(cx)
            }
        })
        .await
    }

    /// The backend of the driver this registration belongs to.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     assert_eq!(reg.backend(), c10k_runtime::Handle::current().backend());
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn backend(&self) -> Backend {
        self.driver.backend()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Errors mean the descriptor was already gone: nothing left to undo.
        let _ = self.driver.remove(&self.io);
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("fd", &self.io.fd)
            .field(
                "ready",
                &Ready((self.io.readiness.load(Ordering::Relaxed) & 0xff) as u8),
            )
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod size_tests {
    /// Guards the per-connection footprint reported in BENCH-core.md: the registration's
    /// shared state (plus 16 bytes of `Arc` counts and a 16-byte slab slot).
    #[test]
    fn scheduled_io_size() {
        let n = std::mem::size_of::<super::ScheduledIo>();
        eprintln!(
            "ScheduledIo: {n} bytes, Registration: {} bytes",
            std::mem::size_of::<super::Registration>()
        );
        assert!(n <= 80, "ScheduledIo grew to {n} bytes");
    }
}
