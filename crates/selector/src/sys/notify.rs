//! The selector's internal notifier: an `eventfd` on Linux, a pipe elsewhere.
//!
//! Every backend watches it for readability. Writing it makes a blocked wait
//! return; the public layer drains it afterwards so that it does not stay
//! readable (a level-triggered busy loop). It serves two purposes:
//! [`Waker::wake`](crate::Waker::wake), and, on the select and poll backends,
//! interrupting a wait whose descriptor set just changed.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// A descriptor that becomes readable on `notify` and stops on `drain`.
#[derive(Debug)]
pub(crate) struct Notifier {
    /// The `eventfd` (counter semantics: many writes, one read resets).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fd: OwnedFd,
    /// The read end of a non-blocking pipe.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    reader: OwnedFd,
    /// The write end of the pipe.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    writer: OwnedFd,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl Notifier {
    pub(crate) fn new() -> io::Result<Notifier> {
        use rustix::event::{eventfd, EventfdFlags};
        let fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        Ok(Notifier { fd })
    }

    /// The descriptor to watch for readability.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Makes the descriptor readable.
    pub(crate) fn notify(&self) -> io::Result<()> {
        loop {
            match rustix::io::write(&self.fd, &1u64.to_ne_bytes()) {
                Ok(_) => return Ok(()),
                Err(rustix::io::Errno::INTR) => continue,
                // The counter is at its maximum: it is readable already.
                Err(rustix::io::Errno::AGAIN) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Makes the descriptor unreadable again (one read resets the counter).
    pub(crate) fn drain(&self) {
        let mut buf = [0u8; 8];
        loop {
            match rustix::io::read(&self.fd, &mut buf) {
                Err(rustix::io::Errno::INTR) => continue,
                // Drained, or already drained by a concurrent `select`.
                _ => return,
            }
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
impl Notifier {
    pub(crate) fn new() -> io::Result<Notifier> {
        use rustix::pipe::{pipe_with, PipeFlags};
        let (reader, writer) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        Ok(Notifier { reader, writer })
    }

    /// The descriptor to watch for readability.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.reader.as_fd()
    }

    /// Makes the descriptor readable.
    pub(crate) fn notify(&self) -> io::Result<()> {
        loop {
            match rustix::io::write(&self.writer, &[1]) {
                Ok(_) => return Ok(()),
                Err(rustix::io::Errno::INTR) => continue,
                // The pipe is full: it is readable already.
                Err(rustix::io::Errno::AGAIN) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Makes the descriptor unreadable again (reads until the pipe is empty).
    pub(crate) fn drain(&self) {
        let mut buf = [0u8; 64];
        loop {
            match rustix::io::read(&self.reader, &mut buf) {
                Ok(n) if n > 0 => continue,
                Err(rustix::io::Errno::INTR) => continue,
                _ => return,
            }
        }
    }
}
