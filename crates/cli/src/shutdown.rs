//! Graceful Ctrl-C without a runtime: a signal thread and a flag.
//!
//! 1. [`install`] runs on the main thread before any other thread exists. It blocks
//!    `SIGINT` and `SIGTERM` (and the signals the `sigio` model consumes) in the calling
//!    thread; every thread spawned afterwards inherits that mask, so no thread is ever
//!    interrupted by them.
//! 2. A thread named `c10k-signals` waits for them with `sigwaitinfo(2)`. The first one sets
//!    the [`requested`] flag; the programs' loops wake at least every [`TICK`] and check it:
//!    they stop accepting, finish what is in flight, and return.
//! 3. A second Ctrl-C means "now": the process exits with code 130 at once.
//!
//! The servers on the c10k runtime (`echo --model select|poll|epoll`) start no signal thread:
//! they [`block`] the signals the same way and read them from a signalfd registered with the
//! runtime ([`Signals`]), so that a current-thread server is a single-threaded process. The
//! kernel serves such a process's system calls on cheaper paths (its descriptor table is not
//! shared, so a descriptor lookup takes no reference; glibc skips the cancellation
//! bookkeeping), about 1 % of an echo server's CPU (`crates/cli/LAB.md`).

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use c10k::runtime::driver::{Interest, Registration};

use crate::sys;

/// How often loops blocked in the kernel wake up to look at the shutdown flag.
pub(crate) const TICK: Duration = Duration::from_millis(100);

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// True once Ctrl-C (or SIGTERM) arrived.
pub(crate) fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// Blocks the shutdown and signal-IO signals and starts the signal thread.
///
/// # Errors
///
/// Fails if the signal mask cannot be changed or the thread cannot be spawned.
pub(crate) fn install() -> io::Result<()> {
    sys::block_signals(&sys::blocked_signals())?;
    std::thread::Builder::new()
        .name("c10k-signals".into())
        .stack_size(64 * 1024)
        .spawn(|| loop {
            match sys::wait_signal(&[libc::SIGINT, libc::SIGTERM]) {
                Ok(_) if requested() => std::process::exit(130),
                Ok(_) => {
                    REQUESTED.store(true, Ordering::Relaxed);
                    eprintln!("c10k: shutting down (Ctrl-C again to exit now)");
                }
                Err(_) => return,
            }
        })?;
    Ok(())
}

/// Blocks the shutdown and signal-IO signals in the calling thread, and so in every thread
/// it spawns afterwards, without starting the signal thread: for a program that reads them
/// on its own event loop ([`Signals`]). Call it before any other thread exists.
///
/// # Errors
///
/// Fails if the signal mask cannot be changed.
pub(crate) fn block() -> io::Result<()> {
    sys::block_signals(&sys::blocked_signals())
}

/// SIGINT and SIGTERM read from a signalfd on the current c10k runtime: what the signal
/// thread of [`install`] does, as a task. The signals must be blocked first ([`block`]).
#[derive(Debug)]
pub(crate) struct Signals {
    // Declared before `fd`: deregistered before the descriptor closes.
    reg: Registration,
    fd: OwnedFd,
}

impl Signals {
    /// Opens the signalfd and registers it with the current runtime.
    ///
    /// # Errors
    ///
    /// Fails outside a runtime, or if the descriptor cannot be created or registered.
    pub(crate) fn new() -> io::Result<Signals> {
        let fd = sys::signalfd(&[libc::SIGINT, libc::SIGTERM])?;
        let reg = Registration::new(fd.as_raw_fd(), Interest::READABLE)?;
        Ok(Signals { reg, fd })
    }

    /// Waits for the first Ctrl-C (or SIGTERM) and sets the [`requested`] flag. A task then
    /// goes on watching: the next one exits the process with code 130 at once, as with
    /// [`install`].
    ///
    /// # Errors
    ///
    /// Fails if the signalfd cannot be read.
    pub(crate) async fn first(self) -> io::Result<()> {
        let arrived = self.next().await?;
        REQUESTED.store(true, Ordering::Relaxed);
        if arrived > 1 {
            // Two signals were already queued: the second one means "now".
            std::process::exit(130);
        }
        eprintln!("c10k: shutting down (Ctrl-C again to exit now)");
        drop(c10k::spawn(async move {
            if self.next().await.is_ok() {
                std::process::exit(130);
            }
        }));
        Ok(())
    }

    /// Waits until at least one signal was read; returns how many.
    async fn next(&self) -> io::Result<usize> {
        let mut read = Vec::new();
        std::future::poll_fn(|cx| {
            self.reg.poll_read_io(cx, || {
                match sys::read_signals(self.fd.as_fd(), &mut read)? {
                    0 => Err(io::ErrorKind::WouldBlock.into()),
                    n => Ok(n),
                }
            })
        })
        .await
    }
}
