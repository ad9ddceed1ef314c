//! [`ScheduledIo`]: the readiness word and the two wakers of one registered descriptor, and
//! the driver-independent half of the readiness protocol (steps 1 and 4 of the
//! [module docs](super)): publishing an event, waiting for one, clearing one.
//!
//! Every driver kind publishes readiness here the same way: the selector driver from
//! `epoll_wait`/`poll`/`select` events, the ring driver from multishot `poll_add`
//! completions. What differs (re-arming a level backend, re-submitting a poll that the
//! ring ended) is the driver's [`arm`](super::Driver::arm) hook.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::ready::{
    ReadyEvent, READABLE, READ_MASK, REMOVED, SHUTDOWN, TICK_SHIFT, WRITABLE, WRITE_MASK,
};
use super::{lock, shutdown_error, Driver};
use crate::task::coop;
use std::io;

/// Readiness and wakers of one registered descriptor.
pub(crate) struct ScheduledIo {
    /// Packed slot and generation (see `registry.rs`). Immutable.
    pub(super) token: usize,
    pub(super) fd: RawFd,
    /// Readiness bits in the low byte, the event tick above. Set by the driver, cleared by
    /// the IO type (`clear_readiness`).
    pub(super) readiness: AtomicUsize,
    pub(super) waiters: Mutex<Waiters>,
}

/// Who waits, and the driver's arming state. Under `ScheduledIo::waiters`.
#[derive(Default)]
pub(super) struct Waiters {
    reader: Option<Waker>,
    writer: Option<Waker>,
    /// The directions the driver currently watches: on level selector backends, those
    /// registered with the selector; on the ring, `ARM_READ | ARM_WRITE` while the multishot
    /// poll is live.
    pub(super) armed: u8,
    /// The registration was dropped: the driver never re-arms it again.
    pub(super) removed: bool,
}

pub(super) const ARM_READ: u8 = 1;
pub(super) const ARM_WRITE: u8 = 2;

impl ScheduledIo {
    pub(super) fn new(token: usize, fd: RawFd) -> ScheduledIo {
        ScheduledIo {
            token,
            fd,
            readiness: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// Publishes `ready` with a new tick (wrapping within the word). Call [`wake`](Self::wake)
    /// afterwards, outside any driver lock.
    pub(super) fn set_readiness(&self, ready: usize) {
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
    }

    /// The registration is being dropped (set before its driver is told): a driver that
    /// finds it set pushes nothing more for it.
    pub(super) fn set_removed(&self) {
        self.readiness.fetch_or(REMOVED, Ordering::AcqRel);
    }

    pub(super) fn is_removed(&self) -> bool {
        self.readiness.load(Ordering::Acquire) & REMOVED != 0
    }

    /// Marks the registration shut down and wakes both directions.
    pub(super) fn set_shutdown(&self) {
        self.readiness.fetch_or(SHUTDOWN, Ordering::AcqRel);
        self.wake(READ_MASK | WRITE_MASK);
    }

    /// Wakes the waiters of the directions in `ready`; returns how many were woken.
    pub(super) fn wake(&self, ready: usize) -> usize {
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

    pub(super) fn poll_ready(
        self: &Arc<Self>,
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
        let deferred = driver.arm(self, &mut w, dir.arm());
        // Re-check under the lock: the driver sets readiness before taking the lock to wake.
        let cur = self.readiness.load(Ordering::Acquire);
        drop(w);
        if deferred {
            driver.arm_unlocked(self, dir.arm());
        }
        if cur & SHUTDOWN != 0 {
            return Poll::Ready(Err(shutdown_error()));
        }
        if cur & mask != 0 {
            std::task::ready!(coop::poll_proceed(cx));
            return Poll::Ready(Ok(ReadyEvent::from_word(cur, mask)));
        }
        Poll::Pending
    }

    pub(super) fn clear_readiness(&self, event: ReadyEvent) {
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
pub(super) enum Direction {
    Read,
    Write,
}

impl Direction {
    pub(super) fn mask(self) -> usize {
        match self {
            Direction::Read => READ_MASK,
            Direction::Write => WRITE_MASK,
        }
    }
    pub(super) fn arm(self) -> u8 {
        match self {
            Direction::Read => ARM_READ,
            Direction::Write => ARM_WRITE,
        }
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
            std::mem::size_of::<super::super::Registration>()
        );
        assert!(n <= 80, "ScheduledIo grew to {n} bytes");
    }
}
