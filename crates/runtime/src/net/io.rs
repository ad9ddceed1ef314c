//! `PollIo<T>`: a non-blocking descriptor owned together with its driver [`Registration`],
//! the common core of every socket type in `net`.
//!
//! It implements the readiness protocol of [`driver`](crate::driver) once, for all of them:
//!
//! 1. wait for readiness in the wanted direction (`poll_read_ready` / `poll_write_ready`);
//! 2. run the non-blocking system call;
//! 3. on `WouldBlock`, forget the readiness (`clear_readiness`) and go back to 1;
//! 4. on a *short* stream read (`0 < n < buf.len()`), or a short stream write, also forget it:
//!    the kernel's queue was drained (or filled) at that instant, so the next call would only
//!    return `WouldBlock`. Skipping it saves one system call per request on an echo server
//!    (2 instead of 3, as tokio). Datagram sockets use the plain path, where every read is
//!    "short".
//!
//! Stream reads and writes go to the kernel through `recv(2)` / `send(2)` as rustix's direct
//! system calls rather than through std's `Read`/`Write`: no libc wrapper and no `io::Error`
//! for the `WouldBlock` that ends every burst (vectored IO still goes through std).
//!
//! Field order matters: `reg` is declared (hence dropped) before `io`, so the descriptor is
//! deregistered while it is still open and closed right after.

use std::fmt;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::task::{ready, Context, Poll};

use rustix::io::Errno;

use super::sys;
use crate::driver::{Interest, Registration};

pub(crate) struct PollIo<T> {
    reg: Registration,
    io: T,
}

impl<T: AsRawFd> PollIo<T> {
    /// Registers `io` (already non-blocking) with the current runtime.
    pub(crate) fn new(io: T) -> io::Result<PollIo<T>> {
        let reg = Registration::new(io.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
        Ok(PollIo { reg, io })
    }
}

impl<T> PollIo<T> {
    pub(crate) fn get_ref(&self) -> &T {
        &self.io
    }

    pub(crate) fn registration(&self) -> &Registration {
        &self.reg
    }

    /// Deregisters and hands the descriptor back (still non-blocking).
    pub(crate) fn into_inner(self) -> T {
        let PollIo { reg, io } = self;
        drop(reg);
        io
    }

    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.reg.poll_read_ready(cx).map_ok(|_| ())
    }

    pub(crate) fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.reg.poll_write_ready(cx).map_ok(|_| ())
    }

    pub(crate) async fn readable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    pub(crate) async fn writable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// Runs a read-side operation once if readiness is known (see [`Registration::try_io`]).
    pub(crate) fn try_read_with<R>(&self, f: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        self.reg.try_io(Interest::READABLE, || f(&self.io))
    }

    pub(crate) fn try_write_with<R>(&self, f: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        self.reg.try_io(Interest::WRITABLE, || f(&self.io))
    }

    /// Datagram-style read: waits, runs `f`, retries on `WouldBlock`.
    pub(crate) fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.reg.poll_read_io(cx, || f(&self.io))
    }

    pub(crate) fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.reg.poll_write_io(cx, || f(&self.io))
    }
}

impl<T: AsFd> PollIo<T>
where
    for<'a> &'a T: Read + Write,
{
    /// Stream read with the short-read rule (step 4 of the module docs).
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let ev = ready!(self.reg.poll_read_ready(cx))?;
            match sys::recv(self.io.as_fd(), buf) {
                Ok(n) => {
                    if n > 0 && n < buf.len() {
                        self.reg.clear_readiness(ev);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(Errno::AGAIN) => self.reg.clear_readiness(ev),
                Err(Errno::INTR) => {}
                Err(e) => return Poll::Ready(Err(e.into())),
            }
        }
    }

    /// Vectored stream read; the short-read rule applies to the total capacity.
    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let cap: usize = bufs.iter().map(|b| b.len()).sum();
        loop {
            let ev = ready!(self.reg.poll_read_ready(cx))?;
            match (&self.io).read_vectored(bufs) {
                Ok(n) => {
                    if n > 0 && n < cap {
                        self.reg.clear_readiness(ev);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.reg.clear_readiness(ev),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Stream write: a short write means the send buffer is full, so readiness is cleared.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            let ev = ready!(self.reg.poll_write_ready(cx))?;
            match sys::send(self.io.as_fd(), buf) {
                Ok(n) => {
                    if n > 0 && n < buf.len() {
                        self.reg.clear_readiness(ev);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(Errno::AGAIN) => self.reg.clear_readiness(ev),
                Err(Errno::INTR) => {}
                Err(e) => return Poll::Ready(Err(e.into())),
            }
        }
    }

    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let cap: usize = bufs.iter().map(|b| b.len()).sum();
        loop {
            let ev = ready!(self.reg.poll_write_ready(cx))?;
            match (&self.io).write_vectored(bufs) {
                Ok(n) => {
                    if n > 0 && n < cap {
                        self.reg.clear_readiness(ev);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.reg.clear_readiness(ev),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// `try_read` on a stream: one attempt if readiness is known, with the short-read rule.
    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let ev = self.reg.try_ready(Interest::READABLE)?;
        match sys::recv(self.io.as_fd(), buf) {
            Ok(n) => {
                if n > 0 && n < buf.len() {
                    self.reg.clear_readiness(ev);
                }
                Ok(n)
            }
            Err(e) => {
                if e == Errno::AGAIN {
                    self.reg.clear_readiness(ev);
                }
                Err(e.into())
            }
        }
    }

    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.reg
            .try_io(Interest::WRITABLE, || Ok(sys::send(self.io.as_fd(), buf)?))
    }
}

impl<T: AsFd> AsFd for PollIo<T> {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl<T: fmt::Debug> fmt::Debug for PollIo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}
