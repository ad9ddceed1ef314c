//! The readiness driver: one `c10k_selector::Selector` (select, poll or epoll) and the
//! registrations made on it.
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
//! # Parking
//!
//! `park` marks the thread parked, re-checks the scheduler's "may I block" condition, and
//! waits in the selector; `unpark` writes the selector's waker only if the thread is parked
//! (the `SeqCst` fences pair), so a busy thread gets new work without a system call. With no
//! registration there is no IO to wait for, and the thread dozes on a futex instead, which
//! is cheaper to wake (`doze.rs`); a registration wakes it to park in the selector.

use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use c10k_selector::{Backend, Event, Events, Interest, Selector, Token};

use super::doze::Doze;
use super::ready::{ERROR, READABLE, READ_CLOSED, READ_MASK, WRITABLE, WRITE_CLOSED, WRITE_MASK};
use super::registry::Registry;
use super::scheduled_io::{ScheduledIo, Waiters, ARM_READ, ARM_WRITE};
use super::{lock, shutdown_error};

/// The driver's own waker token (`usize::MAX` is reserved by the selector; registration
/// tokens keep their top bit clear, see `registry.rs`).
const WAKE_TOKEN: Token = Token(usize::MAX - 1);
/// Events fetched per `select` call.
const EVENTS_CAPACITY: usize = 1024;

/// One selector with its registrations.
pub(crate) struct SelectorDriver {
    selector: Selector,
    waker: c10k_selector::Waker,
    regs: Mutex<Registry>,
    /// The event buffer and the dispatch batch, reused by every `park` (only the parking
    /// thread takes this lock: never contended).
    scratch: Mutex<Scratch>,
    /// Whether the backend has edge-triggered mode (else one-shot emulation, see module docs).
    edge: bool,
    /// The parking thread is in (or about to enter) `select`: only then does `unpark` write
    /// the selector's waker. A thread that is running tasks will find new work without a
    /// system call.
    parked: AtomicBool,
    /// Where the parking thread waits instead while nothing is registered.
    doze: Doze,
}

struct Scratch {
    events: Events,
    batch: Vec<(Arc<ScheduledIo>, usize)>,
}

impl SelectorDriver {
    pub(crate) fn new(backend: Option<Backend>) -> io::Result<SelectorDriver> {
        let selector = match backend {
            Some(b) => Selector::with_backend(b)?,
            None => Selector::new()?,
        };
        let waker = c10k_selector::Waker::new(&selector, WAKE_TOKEN)?;
        let edge = selector.backend().supports_edge();
        Ok(SelectorDriver {
            selector,
            waker,
            regs: Mutex::new(Registry::new()),
            scratch: Mutex::new(Scratch {
                events: Events::with_capacity(EVENTS_CAPACITY),
                batch: Vec::with_capacity(64),
            }),
            edge,
            parked: AtomicBool::new(false),
            doze: Doze::new(),
        })
    }

    pub(crate) fn backend(&self) -> Backend {
        self.selector.backend()
    }

    pub(super) fn add(&self, fd: RawFd, interest: Interest) -> io::Result<Arc<ScheduledIo>> {
        let mut regs = lock(&self.regs);
        if regs.shutdown {
            return Err(shutdown_error());
        }
        let io = regs.insert(|token| {
            let io = Arc::new(ScheduledIo::new(token, fd));
            if self.edge {
                // Both directions, once, forever (see module docs).
                self.selector.register(
                    fd,
                    Token(token),
                    (Interest::READABLE | Interest::WRITABLE).edge(),
                )?;
            } else {
                // One-shot emulation: start armed for what the caller asked.
                lock(&io.waiters).armed = arm_bits(interest);
                self.selector.register(fd, Token(token), interest)?;
            }
            Ok(io)
        })?;
        drop(regs);
        // A thread dozing because nothing was registered must now wait in the selector
        // (`doze.rs`, step 4).
        self.doze.unpark();
        Ok(io)
    }

    pub(super) fn remove(&self, io: &ScheduledIo) -> io::Result<()> {
        let mut regs = lock(&self.regs);
        regs.remove(io);
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
    pub(super) fn arm(&self, io: &ScheduledIo, w: &mut Waiters, dir: u8) {
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

    /// Disarms what fired, on a level backend (see module docs).
    fn disarm(&self, io: &ScheduledIo, ready: usize) {
        let mut w = lock(&io.waiters);
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
                Some(i) => self.selector.reregister(io.fd, Token(io.token), i),
                None => self.selector.deregister(io.fd),
            };
            if res.is_ok() {
                w.armed = left;
            }
        }
    }

    /// See [`Driver::park`](super::Driver::park).
    pub(crate) fn park(
        &self,
        mut timeout: Option<Duration>,
        can_block: impl FnOnce() -> bool,
    ) -> io::Result<usize> {
        let mut scratch = lock(&self.scratch);
        let blocking = timeout != Some(Duration::ZERO);
        if blocking {
            self.parked.store(true, Ordering::Relaxed);
            let dozing = self.doze.prepare();
            fence(Ordering::SeqCst);
            if !dozing || !can_block() {
                timeout = Some(Duration::ZERO);
            } else if lock(&self.regs).is_empty() {
                // No IO to wait for: doze on the futex (`doze.rs`).
                self.parked.store(false, Ordering::Relaxed);
                self.doze.wait(timeout)?;
                return Ok(0);
            }
            if dozing && self.doze.cancel() {
                // A wake aimed at the doze: do not block in the selector either.
                timeout = Some(Duration::ZERO);
            }
        }
        let res = self.selector.select(&mut scratch.events, timeout);
        if blocking {
            self.parked.store(false, Ordering::Relaxed);
        }
        res?;
        Ok(self.dispatch(&mut scratch))
    }

    /// See [`Driver::unpark`](super::Driver::unpark).
    pub(crate) fn unpark(&self) {
        fence(Ordering::SeqCst);
        if self.parked.load(Ordering::Relaxed) {
            let _ = self.waker.wake();
        }
        self.doze.unpark();
    }

    /// Wakes the driver unconditionally (shutdown, timers).
    pub(crate) fn wake(&self) {
        let _ = self.waker.wake();
        self.doze.notify();
    }

    /// Looks the events' registrations up under the registry lock, then publishes readiness
    /// and wakes tasks *after* releasing it: a waker may run arbitrary code on drop (even free
    /// a task whose future owns a registration of this driver), which must not find the lock
    /// held.
    fn dispatch(&self, scratch: &mut Scratch) -> usize {
        let Scratch { events, batch } = scratch;
        {
            let regs = lock(&self.regs);
            for ev in events.iter() {
                let token = ev.token().0;
                if token == WAKE_TOKEN.0 {
                    continue;
                }
                // A stale token (the slot was reused) resolves to nothing.
                if let Some(io) = regs.get(token) {
                    batch.push((Arc::clone(io), ready_of(ev)));
                }
            }
        }
        let mut woken = 0;
        for (io, ready) in batch.drain(..) {
            io.set_readiness(ready);
            if !self.edge {
                self.disarm(&io, ready);
            }
            woken += io.wake(ready);
        }
        woken
    }

    /// Marks every registration shut down and wakes its tasks; later registrations fail.
    pub(crate) fn shutdown(&self) {
        let all = lock(&self.regs).drain_for_shutdown();
        // Wake outside the lock (see `dispatch`).
        for io in all {
            io.set_shutdown();
        }
    }
}

impl fmt::Debug for SelectorDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectorDriver")
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
