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

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

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
