//! `PollIo<T>`: a non-blocking descriptor owned together with its place in the runtime's IO
//! driver, the common core of every socket type in `net`.
//!
//! # Modes
//!
//! A `PollIo` is in one of three modes, fixed when it is made:
//!
//! | mode | made by | on a selector driver | on the ring driver |
//! |---|---|---|---|
//! | readiness | [`new`](PollIo::new) (UDP, Unix datagrams) | a [`Registration`] | a [`Registration`] (`poll_add` on the ring) |
//! | stream | [`new_stream`](PollIo::new_stream) (TCP, Unix streams) | a [`Registration`] | a `RingStream`: completion reads and writes |
//! | listener | [`new_listener`](PollIo::new_listener) | a [`Registration`] | a `RingListener`: multishot accept |
//!
//! So every socket type keeps one API on every backend, and only the stream and listener
//! paths change shape on the ring (the `driver::uring` docs say why datagrams do not).
//!
//! # The readiness protocol, once for every socket
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
//! # Drop
//!
//! In readiness mode the registration is dropped before the descriptor is closed, so it is
//! deregistered while still open. In the ring modes the descriptor is handed to the ring,
//! which closes it after the cancels of its operations (and, for a stream, after the last
//! send of what was written): no SQE still queued can then name a reused number.

use std::fmt;
use std::io::{self, Read, Write};
use std::mem::ManuallyDrop;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::task::{ready, Context, Poll};

use rustix::io::Errno;

use super::sys;
use crate::driver::uring::{ReadDst, RingListener, RingStream};
use crate::driver::{self, Driver, Interest, Registration};

/// What a socket type must be for `PollIo`: a descriptor that can be given up.
pub(crate) trait Sock: AsFd + AsRawFd + Into<OwnedFd> {}
impl<T: AsFd + AsRawFd + Into<OwnedFd>> Sock for T {}

/// Which way a socket wait goes, for the task dump.
#[derive(Clone, Copy)]
enum WaitKind {
    Read,
    Write,
    Accept,
}

pub(crate) struct PollIo<T: Sock> {
    mode: ManuallyDrop<Mode>,
    io: ManuallyDrop<T>,
}

enum Mode {
    Ready(Registration),
    Stream(RingStream),
    Listener(RingListener),
}

fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "readiness operation on a socket whose IO runs on the io_uring completion driver",
    )
}

impl<T: Sock> PollIo<T> {
    /// Registers `io` (already non-blocking) with the current runtime, in readiness mode.
    pub(crate) fn new(io: T) -> io::Result<PollIo<T>> {
        let reg = Registration::new(io.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
        Ok(PollIo::with_mode(Mode::Ready(reg), io))
    }

    /// A connected stream socket: completion reads and writes on the ring driver.
    pub(crate) fn new_stream(io: T) -> io::Result<PollIo<T>> {
        let d = driver::current()?;
        let mode = match &*d {
            Driver::Uring(u) if !u.is_closed() => {
                let fd = io.as_raw_fd();
                Mode::Stream(RingStream::new(d, fd))
            }
            _ => Mode::Ready(Registration::with_driver(
                d,
                io.as_raw_fd(),
                Interest::READABLE | Interest::WRITABLE,
            )?),
        };
        Ok(PollIo::with_mode(mode, io))
    }

    /// A listening socket: multishot accept on the ring driver.
    pub(crate) fn new_listener(io: T) -> io::Result<PollIo<T>> {
        let d = driver::current()?;
        let mode = match &*d {
            Driver::Uring(u) if !u.is_closed() => {
                let fd = io.as_raw_fd();
                Mode::Listener(RingListener::new(d, fd))
            }
            _ => Mode::Ready(Registration::with_driver(
                d,
                io.as_raw_fd(),
                Interest::READABLE | Interest::WRITABLE,
            )?),
        };
        Ok(PollIo::with_mode(mode, io))
    }

    /// A stream socket whose non-blocking `connect` may still be in progress: waits for it
    /// (on a temporary registration), then makes the stream.
    pub(crate) async fn connected(io: T, in_progress: bool) -> io::Result<PollIo<T>> {
        if in_progress {
            let reg = Registration::new(io.as_raw_fd(), Interest::WRITABLE)?;
            std::future::poll_fn(|cx| loop {
                let ev = ready!(reg.poll_write_ready(cx))?;
                if sys::connect_finished(&io)? {
                    return Poll::Ready(Ok::<(), io::Error>(()));
                }
                reg.clear_readiness(ev);
            })
            .await?;
        }
        PollIo::new_stream(io)
    }

    fn with_mode(mode: Mode, io: T) -> PollIo<T> {
        PollIo {
            mode: ManuallyDrop::new(mode),
            io: ManuallyDrop::new(io),
        }
    }

    /// Records, for the task dump, that the polling task waits on this socket (a thread-local
    /// read and one store, and only when `p` is `Pending`; see `task/dump.rs`).
    #[inline]
    fn note<R>(&self, cx: &Context<'_>, p: &Poll<R>, kind: WaitKind) {
        if p.is_pending() {
            let fd = self.io.as_raw_fd();
            c10k_wait::record(
                cx,
                match kind {
                    WaitKind::Read => c10k_wait::Reason::Read { fd },
                    WaitKind::Write => c10k_wait::Reason::Write { fd },
                    WaitKind::Accept => c10k_wait::Reason::Accept { fd },
                },
            );
        }
    }

    pub(crate) fn get_ref(&self) -> &T {
        &self.io
    }

    fn reg(&self) -> io::Result<&Registration> {
        match &*self.mode {
            Mode::Ready(r) => Ok(r),
            _ => Err(unsupported()),
        }
    }

    /// Leaves the driver and hands the descriptor back (still non-blocking). On the ring,
    /// bytes received and not yet read are lost, and bytes written and not yet sent are
    /// still sent.
    pub(crate) fn into_inner(self) -> T {
        let mut me = ManuallyDrop::new(self);
        // SAFETY: `me` is never dropped, so each field is taken exactly once, here.
        let (mode, io) = unsafe {
            (
                ManuallyDrop::take(&mut me.mode),
                ManuallyDrop::take(&mut me.io),
            )
        };
        match mode {
            Mode::Ready(reg) => drop(reg),
            Mode::Stream(s) => s.release(),
            Mode::Listener(l) => l.release(),
        }
        io
    }

    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let p = self.poll_read_ready_inner(cx);
        self.note(cx, &p, WaitKind::Read);
        p
    }

    fn poll_read_ready_inner(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &*self.mode {
            Mode::Ready(r) => r.poll_read_ready(cx).map_ok(|_| ()),
            Mode::Stream(s) => s.poll_read_ready(cx),
            Mode::Listener(_) => Poll::Ready(Err(unsupported())),
        }
    }

    pub(crate) fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let p = self.poll_write_ready_inner(cx);
        self.note(cx, &p, WaitKind::Write);
        p
    }

    fn poll_write_ready_inner(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &*self.mode {
            Mode::Ready(r) => r.poll_write_ready(cx).map_ok(|_| ()),
            Mode::Stream(s) => s.poll_write_ready(cx),
            Mode::Listener(_) => Poll::Ready(Err(unsupported())),
        }
    }

    pub(crate) async fn readable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    pub(crate) async fn writable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// Runs a read-side operation once if readiness is known (see [`Registration::try_io`]).
    pub(crate) fn try_read_with<R>(&self, f: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        self.reg()?.try_io(Interest::READABLE, || f(&self.io))
    }

    pub(crate) fn try_write_with<R>(&self, f: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        self.reg()?.try_io(Interest::WRITABLE, || f(&self.io))
    }

    /// Datagram-style read: waits, runs `f`, retries on `WouldBlock`.
    pub(crate) fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        f: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let p = self.poll_read_with_inner(cx, f);
        self.note(cx, &p, WaitKind::Read);
        p
    }

    fn poll_read_with_inner<R>(
        &self,
        cx: &mut Context<'_>,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.reg()?.poll_read_io(cx, || f(&self.io))
    }

    pub(crate) fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        f: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let p = self.poll_write_with_inner(cx, f);
        self.note(cx, &p, WaitKind::Write);
        p
    }

    fn poll_write_with_inner<R>(
        &self,
        cx: &mut Context<'_>,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.reg()?.poll_write_io(cx, || f(&self.io))
    }

    /// The next accepted connection of a listener, with the peer's address when the
    /// system call reported it (readiness mode; the ring's multishot accept does not).
    pub(crate) fn poll_accept_raw(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(OwnedFd, Option<rustix::net::SocketAddrAny>)>> {
        let p = self.poll_accept_raw_inner(cx);
        self.note(cx, &p, WaitKind::Accept);
        p
    }

    fn poll_accept_raw_inner(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(OwnedFd, Option<rustix::net::SocketAddrAny>)>> {
        match &*self.mode {
            Mode::Ready(reg) => loop {
                let ev = ready!(reg.poll_read_ready(cx))?;
                match sys::accept(&*self.io) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => reg.clear_readiness(ev),
                    res => return Poll::Ready(res),
                }
            },
            Mode::Listener(l) => l.poll_accept(cx).map_ok(|fd| (fd, None)),
            Mode::Stream(_) => Poll::Ready(Err(unsupported())),
        }
    }

    /// Waits until everything written has left (the ring's streams buffer writes; the
    /// readiness path writes straight to the kernel).
    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let p = self.poll_flush_inner(cx);
        self.note(cx, &p, WaitKind::Write);
        p
    }

    fn poll_flush_inner(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &*self.mode {
            Mode::Stream(s) => s.poll_flush(cx),
            _ => Poll::Ready(Ok(())),
        }
    }

    /// `shutdown(2)`; on the ring, the writing side is shut after what was written is sent.
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let rhow = match how {
            Shutdown::Read => rustix::net::Shutdown::Read,
            Shutdown::Write => rustix::net::Shutdown::Write,
            Shutdown::Both => rustix::net::Shutdown::Both,
        };
        match (&*self.mode, how) {
            (Mode::Stream(s), Shutdown::Write) => s.shutdown_write(),
            (Mode::Stream(s), Shutdown::Both) => {
                s.shutdown_write()?;
                Ok(rustix::net::shutdown(
                    &*self.io,
                    rustix::net::Shutdown::Read,
                )?)
            }
            _ => Ok(rustix::net::shutdown(&*self.io, rhow)?),
        }
    }

    /// `AsyncWrite::poll_close`: flush, then shut the writing side down.
    pub(crate) fn poll_close(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_flush(cx))?;
        match self.shutdown(Shutdown::Write) {
            // Already shut down or reset by the peer: closing has nothing left to do.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
            res => Poll::Ready(res),
        }
    }

    /// The inherent `write` of the stream types: on the ring, the bytes are copied into the
    /// stream's send buffer and the call returns once they have been sent (so a caller that
    /// then blocks its thread, or reads the reply, sees the same as on the readiness
    /// backends, and send errors are reported here).
    pub(crate) async fn write(&self, buf: &[u8]) -> io::Result<usize>
    where
        for<'a> &'a T: Read + Write,
    {
        match &*self.mode {
            Mode::Stream(s) => {
                let bufs = [io::IoSlice::new(buf)];
                let (n, mark) = std::future::poll_fn(|cx| {
                    let p = s.poll_write_marked(cx, &bufs);
                    self.note(cx, &p, WaitKind::Write);
                    p
                })
                .await?;
                std::future::poll_fn(|cx| {
                    let p = s.poll_sent(cx, mark);
                    self.note(cx, &p, WaitKind::Write);
                    p
                })
                .await?;
                Ok(n)
            }
            _ => std::future::poll_fn(|cx| self.poll_write(cx, buf)).await,
        }
    }

    /// Reads into the spare capacity of `buf` (after `buf.len()`), cancel-safe by
    /// construction: the buffer is owned by the call and handed back, and on the ring the
    /// data is copied from buffers the driver owns, so a dropped call loses nothing.
    pub(crate) async fn read_owned(&self, mut buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>)
    where
        for<'a> &'a T: Read + Write,
    {
        let len = buf.len();
        let cap = buf.capacity();
        buf.resize(cap, 0);
        let res = std::future::poll_fn(|cx| self.poll_read(cx, &mut buf[len..])).await;
        buf.truncate(len + *res.as_ref().unwrap_or(&0));
        (res, buf)
    }

    /// Writes all of `buf` and hands it back. On the ring the buffer itself is sent (no
    /// copy); if the call is dropped, the ring keeps the buffer until its send completes,
    /// then frees it.
    pub(crate) async fn write_all_owned(&self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>)
    where
        for<'a> &'a T: Read + Write,
    {
        match &*self.mode {
            Mode::Stream(s) => {
                struct Abandon<'a>(&'a RingStream, bool);
                impl Drop for Abandon<'_> {
                    fn drop(&mut self) {
                        if !self.1 {
                            self.0.abandon_owned_write();
                        }
                    }
                }
                let mut guard = Abandon(s, false);
                let mut slot = Some(buf);
                let out = std::future::poll_fn(|cx| {
                    let p = s.poll_write_owned(cx, &mut slot);
                    self.note(cx, &p, WaitKind::Write);
                    p
                })
                .await;
                guard.1 = true;
                out
            }
            _ => {
                let mut at = 0;
                while at < buf.len() {
                    match std::future::poll_fn(|cx| self.poll_write(cx, &buf[at..])).await {
                        Ok(0) => return (Err(io::ErrorKind::WriteZero.into()), buf),
                        Ok(n) => at += n,
                        Err(e) => return (Err(e), buf),
                    }
                }
                (Ok(()), buf)
            }
        }
    }
}

impl<T: Sock> PollIo<T>
where
    for<'a> &'a T: Read + Write,
{
    /// Stream read with the short-read rule (step 4 of the module docs).
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let p = self.poll_read_inner(cx, buf);
        self.note(cx, &p, WaitKind::Read);
        p
    }

    fn poll_read_inner(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let reg = match &*self.mode {
            Mode::Ready(r) => r,
            Mode::Stream(s) => return s.poll_read(cx, ReadDst::Slice(buf), false),
            Mode::Listener(_) => return Poll::Ready(Err(unsupported())),
        };
        loop {
            let ev = ready!(reg.poll_read_ready(cx))?;
            match sys::recv(self.io.as_fd(), buf) {
                Ok(n) => {
                    if n > 0 && n < buf.len() {
                        reg.clear_readiness(ev);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(Errno::AGAIN) => reg.clear_readiness(ev),
                Err(Errno::INTR) => {}
                Err(e) => return Poll::Ready(Err(e.into())),
            }
        }
    }

    /// Reads without consuming (`MSG_PEEK`; on the ring, from the received buffers).
    pub(crate) fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let p = self.poll_peek_inner(cx, buf);
        self.note(cx, &p, WaitKind::Read);
        p
    }

    fn poll_peek_inner(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match &*self.mode {
            Mode::Stream(s) => s.poll_read(cx, ReadDst::Slice(buf), true),
            _ => self.poll_read_with(cx, |s| {
                Ok(rustix::net::recv(s, &mut *buf, rustix::net::RecvFlags::PEEK)?.0)
            }),
        }
    }

    /// Vectored stream read; the short-read rule applies to the total capacity.
    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let p = self.poll_read_vectored_inner(cx, bufs);
        self.note(cx, &p, WaitKind::Read);
        p
    }

    fn poll_read_vectored_inner(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let reg = match &*self.mode {
            Mode::Ready(r) => r,
            Mode::Stream(s) => return s.poll_read(cx, ReadDst::Vectored(bufs), false),
            Mode::Listener(_) => return Poll::Ready(Err(unsupported())),
        };
        let cap: usize = bufs.iter().map(|b| b.len()).sum();
        loop {
            let ev = ready!(reg.poll_read_ready(cx))?;
            match (&*self.io).read_vectored(bufs) {
                Ok(n) => {
                    if n > 0 && n < cap {
                        reg.clear_readiness(ev);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => reg.clear_readiness(ev),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Stream write: a short write means the send buffer is full, so readiness is cleared.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let p = self.poll_write_inner(cx, buf);
        self.note(cx, &p, WaitKind::Write);
        p
    }

    fn poll_write_inner(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let reg = match &*self.mode {
            Mode::Ready(r) => r,
            Mode::Stream(s) => return s.poll_write(cx, &[io::IoSlice::new(buf)]),
            Mode::Listener(_) => return Poll::Ready(Err(unsupported())),
        };
        loop {
            let ev = ready!(reg.poll_write_ready(cx))?;
            match sys::send(self.io.as_fd(), buf) {
                Ok(n) => {
                    if n > 0 && n < buf.len() {
                        reg.clear_readiness(ev);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(Errno::AGAIN) => reg.clear_readiness(ev),
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
        let p = self.poll_write_vectored_inner(cx, bufs);
        self.note(cx, &p, WaitKind::Write);
        p
    }

    fn poll_write_vectored_inner(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let reg = match &*self.mode {
            Mode::Ready(r) => r,
            Mode::Stream(s) => return s.poll_write(cx, bufs),
            Mode::Listener(_) => return Poll::Ready(Err(unsupported())),
        };
        let cap: usize = bufs.iter().map(|b| b.len()).sum();
        loop {
            let ev = ready!(reg.poll_write_ready(cx))?;
            match (&*self.io).write_vectored(bufs) {
                Ok(n) => {
                    if n > 0 && n < cap {
                        reg.clear_readiness(ev);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => reg.clear_readiness(ev),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// `try_read` on a stream: one attempt if readiness is known, with the short-read rule.
    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let reg = match &*self.mode {
            Mode::Ready(r) => r,
            Mode::Stream(s) => return s.try_read(ReadDst::Slice(buf)),
            Mode::Listener(_) => return Err(unsupported()),
        };
        let ev = reg.try_ready(Interest::READABLE)?;
        match sys::recv(self.io.as_fd(), buf) {
            Ok(n) => {
                if n > 0 && n < buf.len() {
                    reg.clear_readiness(ev);
                }
                Ok(n)
            }
            Err(e) => {
                if e == Errno::AGAIN {
                    reg.clear_readiness(ev);
                }
                Err(e.into())
            }
        }
    }

    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match &*self.mode {
            Mode::Ready(r) => r.try_io(Interest::WRITABLE, || Ok(sys::send(self.io.as_fd(), buf)?)),
            Mode::Stream(s) => s.write_now(&[io::IoSlice::new(buf)]),
            Mode::Listener(_) => Err(unsupported()),
        }
    }
}

impl<T: Sock> Drop for PollIo<T> {
    fn drop(&mut self) {
        // SAFETY: each field is taken exactly once, here (`into_inner` forgets `self`
        // instead of dropping it).
        let (mode, io) = unsafe {
            (
                ManuallyDrop::take(&mut self.mode),
                ManuallyDrop::take(&mut self.io),
            )
        };
        match mode {
            Mode::Ready(reg) => {
                drop(reg); // deregister while the descriptor is open
                drop(io);
            }
            Mode::Stream(s) => s.close(io.into()),
            Mode::Listener(l) => l.close(io.into()),
        }
    }
}

impl<T: Sock> AsFd for PollIo<T> {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl<T: Sock + fmt::Debug> fmt::Debug for PollIo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}
