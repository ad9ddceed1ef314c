//! [`Pipe`] and [`Connection`]: message channels between two processes over a Unix stream
//! socket pair, carrying serde values in frames (`wire`).
//!
//! The socket stays in blocking mode: a blocking `recv` is one `read` when a frame is
//! waiting (and a sleep in the kernel otherwise), a `send` is one `write`. The async and
//! timed methods use `MSG_DONTWAIT` per call and wait for readiness (the c10k runtime's
//! driver, or `poll(2)`).

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use rustix::event::PollFlags;
use rustix::net::{RecvFlags, SendFlags, Shutdown};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::sys;
use crate::wire::{self, FdHandle};

/// One end of a [`Pipe`] (Python's `multiprocessing.connection.Connection`).
///
/// `send` and `recv` move whole serde values; `recv` reports the other end's close as an
/// error of kind `UnexpectedEof` (Python's `EOFError`) once every value sent before it was
/// received. Pass an end to a child as an argument of
/// [`Process::spawn`](crate::Process::spawn) (it must not hold received bytes not yet
/// decoded: a fresh end always qualifies). One thread or task uses an end at a time
/// (`&mut self`).
#[derive(Serialize, Deserialize)]
pub struct Connection {
    sock: FdHandle,
    readable: bool,
    writable: bool,
    #[serde(skip)]
    rbuf: Vec<u8>,
    /// Bytes of `rbuf` already consumed.
    #[serde(skip)]
    rpos: usize,
    #[serde(skip)]
    wbuf: Vec<u8>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("fd", &self.sock.as_fd().as_raw_fd())
            .field("readable", &self.readable)
            .field("writable", &self.writable)
            .finish()
    }
}

/// A pair of connected [`Connection`]s (Python's `multiprocessing.Pipe`).
#[derive(Debug)]
pub struct Pipe;

impl Pipe {
    /// Two ends that can both send and receive (Python's `Pipe()`, `duplex=True`).
    ///
    /// # Errors
    ///
    /// The system's error creating the socket pair.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut a, mut b) = c10k_process::Pipe::duplex()?;
    /// a.send(&vec![42u32, 7])?;
    /// assert_eq!(b.recv::<Vec<u32>>()?, [42, 7]);
    /// drop(a);
    /// assert_eq!(b.recv::<u32>().unwrap_err().kind(), std::io::ErrorKind::UnexpectedEof);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[allow(clippy::new_ret_no_self)]
    pub fn duplex() -> io::Result<(Connection, Connection)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((Connection::new(a.into(), true, true), Connection::new(b.into(), true, true)))
    }

    /// A one-way pair `(receiver, sender)` (Python's `Pipe(duplex=False)`).
    ///
    /// # Errors
    ///
    /// As [`duplex`](Self::duplex).
    pub fn one_way() -> io::Result<(Connection, Connection)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        rustix::net::shutdown(&a, Shutdown::Write)?;
        rustix::net::shutdown(&b, Shutdown::Read)?;
        Ok((Connection::new(a.into(), true, false), Connection::new(b.into(), false, true)))
    }
}

impl Connection {
    fn new(fd: std::os::fd::OwnedFd, readable: bool, writable: bool) -> Connection {
        Connection { sock: FdHandle::new(fd), readable, writable, rbuf: Vec::new(), rpos: 0, wbuf: Vec::new() }
    }

    fn check_writable(&self) -> io::Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::Unsupported, "this end of a one-way pipe only receives"))
        }
    }

    fn check_readable(&self) -> io::Result<()> {
        if self.readable {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::Unsupported, "this end of a one-way pipe only sends"))
        }
    }

    fn frame<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        self.check_writable()?;
        self.wbuf.clear();
        wire::encode_frame(value, &mut self.wbuf)
    }

    /// Sends `value`, waiting while the socket buffer is full.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if it does not serialize (or holds a descriptor); `BrokenPipe` if
    /// the other end is closed.
    pub fn send<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        self.frame(value)?;
        let mut sent = 0;
        while sent < self.wbuf.len() {
            match rustix::net::send(self.sock.as_fd(), &self.wbuf[sent..], SendFlags::NOSIGNAL) {
                Ok(n) => sent += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Sends `value` without blocking the thread (on the current c10k runtime).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send); outside a runtime, the registration error.
    pub async fn send_async<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        self.frame(value)?;
        let mut sent = 0;
        let mut reg = None;
        while sent < self.wbuf.len() {
            match rustix::net::send(self.sock.as_fd(), &self.wbuf[sent..], SendFlags::NOSIGNAL | SendFlags::DONTWAIT) {
                Ok(n) => sent += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::AGAIN) => {
                    let reg = match &reg {
                        Some(r) => r,
                        None => reg.insert(register(&self.sock)?),
                    };
                    let ev = std::future::poll_fn(|cx| reg.poll_write_ready(cx)).await?;
                    reg.clear_readiness(ev);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// The next value, if a whole frame is buffered.
    fn buffered<T: DeserializeOwned>(&mut self) -> io::Result<Option<T>> {
        let avail = &self.rbuf[self.rpos..];
        match wire::frame_len(avail)? {
            Some(len) if avail.len() >= 4 + len => {
                let value = wire::decode(&avail[4..4 + len]);
                self.rpos += 4 + len;
                if self.rpos == self.rbuf.len() {
                    self.rbuf.clear();
                    self.rpos = 0;
                }
                value.map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Reads once more into the buffer; `Ok(false)` at end of file, `WouldBlock` when
    /// `dontwait` and nothing is there.
    fn fill(&mut self, dontwait: bool) -> io::Result<bool> {
        if self.rpos > 0 && self.rpos * 2 >= self.rbuf.len() {
            self.rbuf.drain(..self.rpos);
            self.rpos = 0;
        }
        let want = match wire::frame_len(&self.rbuf[self.rpos..])? {
            Some(len) => (4 + len).saturating_sub(self.rbuf.len() - self.rpos).max(4096),
            None => 4096,
        };
        let start = self.rbuf.len();
        self.rbuf.resize(start + want, 0);
        let flags = if dontwait { RecvFlags::DONTWAIT } else { RecvFlags::empty() };
        let r = loop {
            match rustix::net::recv(self.sock.as_fd(), &mut self.rbuf[start..], flags) {
                Err(rustix::io::Errno::INTR) => continue,
                r => break r,
            }
        };
        match r {
            Ok((n, _)) => {
                self.rbuf.truncate(start + n);
                if n == 0 {
                    return Ok(false);
                }
                Ok(true)
            }
            Err(e) => {
                self.rbuf.truncate(start);
                Err(e.into())
            }
        }
    }

    fn eof(&self) -> io::Error {
        if self.rpos < self.rbuf.len() {
            io::Error::new(io::ErrorKind::UnexpectedEof, "the other end closed in the middle of a value")
        } else {
            io::Error::new(io::ErrorKind::UnexpectedEof, "the other end of the pipe is closed")
        }
    }

    /// Receives the next value, waiting for it.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` once the other end closed and every value was received;
    /// `InvalidData` if the bytes do not decode as `T` (the value is consumed).
    pub fn recv<T: DeserializeOwned>(&mut self) -> io::Result<T> {
        self.check_readable()?;
        loop {
            if let Some(v) = self.buffered()? {
                return Ok(v);
            }
            if !self.fill(false)? {
                return Err(self.eof());
            }
        }
    }

    /// Receives the next value, waiting at most `timeout`: `Ok(None)` if none came.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub fn recv_timeout<T: DeserializeOwned>(&mut self, timeout: Duration) -> io::Result<Option<T>> {
        self.check_readable()?;
        let deadline = sys::deadline(timeout);
        loop {
            if let Some(v) = self.buffered()? {
                return Ok(Some(v));
            }
            match self.fill(true) {
                Ok(true) => continue,
                Ok(false) => return Err(self.eof()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !sys::wait_fd(self.sock.as_fd(), PollFlags::IN, deadline)? {
                        return Ok(None);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether a value (or the end of file) can be received without waiting longer than
    /// `timeout` (Python's `Connection.poll`).
    ///
    /// # Errors
    ///
    /// The system's error.
    pub fn poll(&mut self, timeout: Duration) -> io::Result<bool> {
        if self.rpos < self.rbuf.len() {
            if let Some(len) = wire::frame_len(&self.rbuf[self.rpos..])? {
                if self.rbuf.len() - self.rpos >= 4 + len {
                    return Ok(true);
                }
            }
        }
        sys::wait_fd(self.sock.as_fd(), PollFlags::IN, sys::deadline(timeout))
    }

    /// Receives the next value without blocking the thread (on the current c10k runtime).
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv); outside a runtime, the registration error.
    pub async fn recv_async<T: DeserializeOwned>(&mut self) -> io::Result<T> {
        self.check_readable()?;
        let mut reg = None;
        loop {
            if let Some(v) = self.buffered()? {
                return Ok(v);
            }
            match self.fill(true) {
                Ok(true) => {}
                Ok(false) => return Err(self.eof()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let reg = match &reg {
                        Some(r) => r,
                        None => reg.insert(register(&self.sock)?),
                    };
                    let ev = std::future::poll_fn(|cx| reg.poll_read_ready(cx)).await?;
                    reg.clear_readiness(ev);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

fn register(sock: &FdHandle) -> io::Result<c10k_runtime::driver::Registration> {
    use c10k_runtime::driver::{Interest, Registration};
    Registration::new(sock.as_fd().as_raw_fd(), Interest::READABLE | Interest::WRITABLE)
}
