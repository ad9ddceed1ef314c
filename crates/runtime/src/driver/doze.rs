//! Parking on a futex when there is no IO to wait for.
//!
//! A scheduler thread parks in its driver's selector so that its IO wakes it. A readiness
//! driver with no registration has no IO to wait for, and waiting in `epoll_wait` then costs
//! more than it must: each wake-up is a write to the selector's eventfd by the waker, and a
//! return from `epoll_wait` plus a read of the eventfd by the woken thread. A futex costs one
//! system call on each side, as a thread parked on a condition variable does (tokio's workers
//! that do not hold its one IO driver park that way). So such a driver *dozes* on a futex
//! word instead, and a registration made meanwhile wakes it so that it parks in the selector
//! again.
//!
//! # The word
//!
//! - `IDLE`: the thread runs, or waits in the selector.
//! - `WAITING`: the thread is in, or about to enter, `futex_wait`.
//! - `NOTIFIED`: a wake arrived; the current wait returns, or the next one does not start.
//!
//! # Protocol
//!
//! 1. The parker moves `IDLE → WAITING` ([`Doze::prepare`]; if it finds `NOTIFIED`, it
//!    consumes it and does not sleep), issues a `SeqCst` fence, then re-checks whatever may
//!    have made it runnable (the scheduler's "may I block" condition, and that the driver
//!    still has no registration). Only if nothing did, it waits while the word is
//!    `WAITING` ([`Doze::wait`]), and sets `IDLE` when it returns.
//! 2. A conditional wake ([`Doze::unpark`], after making work visible and a `SeqCst` fence):
//!    if the word is `WAITING`, swap in `NOTIFIED` and `futex_wake` if it still was. The
//!    fences pair (store buffering): either the parker's re-check sees the work, or the
//!    waker sees `WAITING`.
//! 3. An unconditional wake ([`Doze::notify`]: shutdown, timers): swap in `NOTIFIED`, and
//!    `futex_wake` if it was `WAITING`. A thread not dozing yet skips its next doze, as a
//!    pending selector wake makes its next `select` return.
//! 4. A registration is inserted under the registry lock and followed by a conditional wake:
//!    either the parker's re-check (which takes the same lock, after its `WAITING` store)
//!    sees it, or its section came first and the registrant sees `WAITING`.
//!
//! A spurious return of `futex_wait` (a signal, a stale `NOTIFIED`) is harmless: the
//! scheduler looks for work and parks again.
//!
//! The loom models (`tests/loom_doze.rs`) run steps 1–4 against a futex emulated with a
//! mutex and a condition variable; a lost wake leaves the parker asleep, which loom reports
//! as a deadlock.

use std::io;
use std::time::Duration;

#[cfg(loom)]
use loom::sync::atomic::{AtomicU32, Ordering};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicU32, Ordering};

const IDLE: u32 = 0;
const WAITING: u32 = 1;
const NOTIFIED: u32 = 2;

/// The futex word a driver with nothing registered parks on (see the module docs).
pub(super) struct Doze {
    word: AtomicU32,
    /// Under loom, the futex: a mutex and a condition variable (the kernel checks the word
    /// and sleeps atomically with respect to a wake, as a check under the mutex does).
    #[cfg(loom)]
    futex: (loom::sync::Mutex<()>, loom::sync::Condvar),
}

impl Doze {
    pub(super) fn new() -> Doze {
        Doze {
            word: AtomicU32::new(IDLE),
            #[cfg(loom)]
            futex: (loom::sync::Mutex::new(()), loom::sync::Condvar::new()),
        }
    }

    /// Step 1: announces a doze. Returns false if a wake is pending (consumed now): the
    /// caller must not sleep. The caller issues the `SeqCst` fence and re-checks, then
    /// calls [`wait`](Self::wait) or [`cancel`](Self::cancel).
    pub(super) fn prepare(&self) -> bool {
        match self
            .word
            .compare_exchange(IDLE, WAITING, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => true,
            Err(_) => {
                // `NOTIFIED` (the only other value while no doze is under way).
                self.word.store(IDLE, Ordering::Relaxed);
                false
            }
        }
    }

    /// Step 1, the re-check found a reason not to doze. Returns true if a wake arrived
    /// since `prepare` (the caller must then not block elsewhere either).
    pub(super) fn cancel(&self) -> bool {
        self.word.swap(IDLE, Ordering::Acquire) == NOTIFIED
    }

    /// Step 1: sleeps until woken, or `timeout` passed, or spuriously.
    pub(super) fn wait(&self, timeout: Option<Duration>) -> io::Result<()> {
        let res = self.futex_wait(timeout);
        self.word.swap(IDLE, Ordering::Acquire);
        res
    }

    #[cfg(not(loom))]
    fn futex_wait(&self, timeout: Option<Duration>) -> io::Result<()> {
        use rustix::{io::Errno, thread::futex};
        // A timeout too long for a `timespec` waits without one.
        let ts = timeout.and_then(|t| futex::Timespec::try_from(t).ok());
        match futex::wait(&self.word, futex::Flags::PRIVATE, WAITING, ts.as_ref()) {
            // Woken, or the word was no longer `WAITING`, or the time is up, or a signal.
            Ok(()) => Ok(()),
            Err(Errno::AGAIN | Errno::TIMEDOUT | Errno::INTR) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    #[cfg(loom)]
    fn futex_wait(&self, _timeout: Option<Duration>) -> io::Result<()> {
        let g = crate::loom::lock(&self.futex.0);
        if self.word.load(Ordering::Relaxed) == WAITING {
            drop(self.futex.1.wait(g));
        }
        Ok(())
    }

    /// Step 2: wakes the thread if it dozes. Call after a `SeqCst` fence that follows
    /// making the work visible.
    pub(super) fn unpark(&self) {
        if self.word.load(Ordering::Relaxed) == WAITING {
            self.wake_if(self.word.swap(NOTIFIED, Ordering::Release));
        }
    }

    /// Step 3: wakes the thread if it dozes, or keeps it from its next doze.
    pub(super) fn notify(&self) {
        self.wake_if(self.word.swap(NOTIFIED, Ordering::Release));
    }

    fn wake_if(&self, prev: u32) {
        if prev == WAITING {
            self.futex_wake();
        }
    }

    #[cfg(not(loom))]
    fn futex_wake(&self) {
        use rustix::thread::futex;
        // Fails only for a bad address, which a reference cannot be.
        let _ = futex::wake(&self.word, futex::Flags::PRIVATE, 1);
    }

    #[cfg(loom)]
    fn futex_wake(&self) {
        let _g = crate::loom::lock(&self.futex.0);
        self.futex.1.notify_one();
    }
}

#[cfg(all(test, loom))]
#[path = "tests/loom_doze.rs"]
mod loom_doze;
