//! One echo connection on a non-blocking socket, shared by the `nonblocking`, `sigio` and
//! selector models.
//!
//! Efficiency rules (they decide the system calls per request, see DESIGN.md):
//!
//! 1. Reads go into the loop's one shared buffer; an idle connection holds no buffer.
//! 2. A read shorter than the buffer means the socket was drained: no extra read that
//!    would only return `WouldBlock` (so a request costs one read and one write). The
//!    exception is an event that reports the peer's half-close: then the end of stream may
//!    follow the data in the same edge, so reads go on until `WouldBlock` or end of stream.
//! 3. The answer is written at once from the shared buffer; only the part the kernel did
//!    not take is copied into the connection's [`Conn::pending`] output, flushed when the
//!    socket becomes writable again.
//! 4. A peer that never reads cannot make the server hold unbounded memory: past
//!    [`PENDING_LIMIT`] bytes of unsent output the connection is dropped.
//! 5. A half-close (read returns 0) is answered by flushing what is pending, then closing.
//! 6. Bytes read or written mark the connection active for the idle sweep ([`Quiet`]).

use std::os::fd::{AsFd, OwnedFd};

use rustix::io::Errno;

use super::idle::Quiet;

/// Unsent output a connection may accumulate before it is dropped.
pub(crate) const PENDING_LIMIT: usize = 1 << 20;

/// Size of a loop's shared read buffer.
pub(crate) const READ_BUFFER: usize = 64 * 1024;

/// A connection's state: its socket and whatever output the kernel has not taken yet.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) fd: OwnedFd,
    pending: Vec<u8>,
    sent: usize,
    read_closed: bool,
    /// Its silence, for `--idle-timeout`.
    pub(crate) quiet: Quiet,
}

/// What the loop should do with a connection after serving it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Keep it; `pending` says whether it waits to write.
    Keep { pending: bool },
    /// Close it (peer gone, error, or finished after a half-close).
    Close,
}

impl Conn {
    pub(crate) fn new(fd: OwnedFd) -> Conn {
        Conn {
            fd,
            pending: Vec::new(),
            sent: 0,
            read_closed: false,
            quiet: Quiet::default(),
        }
    }

    /// True when output waits for the socket to become writable.
    pub(crate) fn has_pending(&self) -> bool {
        self.sent < self.pending.len()
    }

    fn next(&self) -> Next {
        if self.read_closed && !self.has_pending() {
            Next::Close
        } else {
            Next::Keep {
                pending: self.has_pending(),
            }
        }
    }

    /// Reads what the peer sent and echoes it. Stops after a short read, unless
    /// `until_blocked`: when the readiness event says the peer closed its side, the end of
    /// stream may sit behind the data and no further edge would announce it.
    pub(crate) fn on_readable(&mut self, buf: &mut [u8], upper: bool, until_blocked: bool) -> Next {
        if self.read_closed {
            return self.next();
        }
        loop {
            match rustix::io::read(&self.fd, &mut *buf) {
                Ok(0) => {
                    self.read_closed = true;
                    return self.next();
                }
                Ok(n) => {
                    self.quiet.touch();
                    let data = &mut buf[..n];
                    if upper {
                        data.make_ascii_uppercase();
                    }
                    if !self.send(data) {
                        return Next::Close;
                    }
                    if n < buf.len() && !until_blocked {
                        return self.next();
                    }
                }
                Err(Errno::AGAIN) => return self.next(),
                Err(Errno::INTR) => continue,
                Err(_) => return Next::Close,
            }
        }
    }

    /// Writes `data`, keeping what the kernel does not take; false means drop the peer.
    fn send(&mut self, data: &[u8]) -> bool {
        let mut written = 0;
        if !self.has_pending() {
            loop {
                match rustix::io::write(&self.fd, &data[written..]) {
                    Ok(n) => {
                        written += n;
                        if written == data.len() {
                            return true;
                        }
                    }
                    Err(Errno::INTR) => continue,
                    Err(Errno::AGAIN) => break,
                    Err(_) => return false,
                }
            }
        }
        let rest = &data[written..];
        if self.pending.len() - self.sent + rest.len() > PENDING_LIMIT {
            return false;
        }
        if self.sent > 0 && self.sent == self.pending.len() {
            self.pending.clear();
            self.sent = 0;
        }
        self.pending.extend_from_slice(rest);
        true
    }

    /// Flushes pending output once the socket is writable.
    pub(crate) fn on_writable(&mut self) -> Next {
        while self.has_pending() {
            match rustix::io::write(&self.fd, &self.pending[self.sent..]) {
                Ok(n) => {
                    self.sent += n;
                    self.quiet.touch();
                }
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => return self.next(),
                Err(_) => return Next::Close,
            }
        }
        // Drained: give the memory back, an idle connection holds no buffer.
        self.pending = Vec::new();
        self.sent = 0;
        self.next()
    }
}

impl AsFd for Conn {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
