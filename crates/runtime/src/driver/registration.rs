//! [`Registration`]: a descriptor registered with the runtime's IO driver, and the public
//! face of the readiness protocol (see the [module docs](super)).

use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::ready::{Ready, ReadyEvent, READ_MASK, SHUTDOWN, WRITE_MASK};
use super::scheduled_io::{Direction, ScheduledIo};
use super::{shutdown_error, Backend, Driver, Interest};

/// A file descriptor registered with the current runtime's IO driver: the building block
/// of `TcpStream`, `UdpSocket` and friends.
///
/// It does not own the descriptor: the IO type that owns both must drop the `Registration`
/// first (dropping it deregisters the descriptor, which must still be open).
///
/// On a multi-thread runtime, registrations are dealt round-robin to the workers' selectors;
/// the owning worker dispatches the events and the woken task moves to it (see the
/// [`executor`](crate::executor) docs).
///
/// One reader and one writer at a time: each direction keeps one waker, so two tasks
/// waiting to read the same registration would steal each other's wakeups (split halves
/// give each direction to one task).
///
/// # Examples
///
/// Waiting for a socket to become readable, and reading it with the protocol of the
/// module docs:
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::fd::AsRawFd;
/// use std::os::unix::net::UnixStream;
/// use c10k_runtime::driver::{Interest, Registration};
///
/// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// rt.block_on(async {
///     let (mut a, mut b) = UnixStream::pair()?;
///     a.set_nonblocking(true)?;
///     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
///     b.write_all(b"ping")?;
///     let mut buf = [0u8; 16];
///     let n = std::future::poll_fn(|cx| reg.poll_read_io(cx, || (&a).read(&mut buf))).await?;
///     assert_eq!(&buf[..n], b"ping");
///     drop(reg); // before `a` closes
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Registration {
    driver: Arc<Driver>,
    io: Arc<ScheduledIo>,
}

impl Registration {
    /// Registers `fd` (which must be non-blocking) with the current runtime. `interest` says
    /// which directions will be waited on (on epoll both are always watched, edge-triggered).
    ///
    /// # Errors
    ///
    /// Outside a runtime, an error of kind `Other` saying so; after runtime shutdown, the
    /// shutdown error; otherwise the selector's error (e.g. select(2) refusing a descriptor
    /// above `FD_SETSIZE`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    /// use c10k_runtime::driver::{Interest, Registration};
    /// c10k_runtime::run(async {
    ///     let (a, _b) = UnixStream::pair()?;
    ///     a.set_nonblocking(true)?; // required: the driver never blocks on the descriptor
    ///     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE)?;
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(fd: RawFd, interest: Interest) -> io::Result<Registration> {
        Registration::with_driver(super::current()?, fd, interest)
    }

    /// Registers `fd` with the runtime of `handle`.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    ///
    /// # Examples
    ///
    /// Registering from a thread outside the runtime:
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    /// use c10k_runtime::driver::{Interest, Registration};
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// let (a, _b) = UnixStream::pair()?;
    /// a.set_nonblocking(true)?;
    /// let reg = Registration::new_with_handle(a.as_raw_fd(), Interest::WRITABLE, rt.handle())?;
    /// rt.block_on(reg.ready(Interest::WRITABLE))?;
    /// drop(reg);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new_with_handle(
        fd: RawFd,
        interest: Interest,
        handle: &crate::Handle,
    ) -> io::Result<Registration> {
        Registration::with_driver(handle.inner.io_driver(), fd, interest)
    }

    pub(crate) fn with_driver(
        driver: Arc<Driver>,
        fd: RawFd,
        interest: Interest,
    ) -> io::Result<Registration> {
        let io = driver.add(fd, interest)?;
        Ok(Registration { driver, io })
    }

    /// Returns the readiness for reading if the descriptor is (or may be) readable; otherwise
    /// stores the waker (replacing the previous reader's) and returns `Pending`.
    ///
    /// # Errors
    ///
    /// The runtime shut down.
    ///
    /// The readiness protocol: wait, try the operation, and on `WouldBlock` hand the event back
    /// with [`clear_readiness`](Self::clear_readiness) so that the next poll waits for a new
    /// event. Readiness may be spurious, so the loop is required.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     b.write_all(b"data")?;
    ///     let mut buf = [0u8; 16];
    ///     let n = loop {
    ///         let ev = std::future::poll_fn(|cx| reg.poll_read_ready(cx)).await?;
    ///         match (&a).read(&mut buf) {
    ///             Ok(n) => break n,
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => reg.clear_readiness(ev),
    ///             Err(e) => return Err(e),
    ///         }
    ///     };
    ///     assert_eq!(&buf[..n], b"data");
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        self.io.poll_ready(cx, Direction::Read, &self.driver)
    }

    /// The writing twin of [`poll_read_ready`](Self::poll_read_ready).
    ///
    /// # Errors
    ///
    /// The runtime shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     std::future::poll_fn(|cx| reg.poll_write_ready(cx)).await?;
    ///     (&a).write_all(b"x")?;
    ///     let mut buf = [0u8; 1];
    ///     b.read_exact(&mut buf)?;
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        self.io.poll_ready(cx, Direction::Write, &self.driver)
    }

    /// Forgets the readiness in `event`, unless a newer event arrived since it was observed.
    /// Call it after the operation returned `WouldBlock`, or after a short stream read.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     b.write_all(b"x")?;
    ///     let ev = reg.ready(Interest::READABLE).await?;
    ///     let mut buf = [0u8; 8];
    ///     assert_eq!((&a).read(&mut buf)?, 1);
    ///     let err = (&a).read(&mut buf).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    ///     reg.clear_readiness(ev); // drained: the next wait is for a new event
    ///     b.write_all(b"y")?;
    ///     reg.ready(Interest::READABLE).await?;
    ///     assert_eq!((&a).read(&mut buf)?, 1);
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn clear_readiness(&self, event: ReadyEvent) {
        self.io.clear_readiness(event);
    }

    /// Runs `f` (a non-blocking read-side syscall) when the descriptor is readable, clearing
    /// readiness and waiting again on `WouldBlock`.
    ///
    /// # Errors
    ///
    /// The error of `f` other than `WouldBlock`, or the shutdown error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     b.write_all(b"ping")?;
    ///     let mut buf = [0u8; 16];
    ///     let n = std::future::poll_fn(|cx| reg.poll_read_io(cx, || (&a).read(&mut buf))).await?;
    ///     assert_eq!(&buf[..n], b"ping");
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_read_io<R>(
        &self,
        cx: &mut Context<'_>,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let ev = std::task::ready!(self.poll_read_ready(cx))?;
            match f() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(ev),
                res => return Poll::Ready(res),
            }
        }
    }

    /// The writing twin of [`poll_read_io`](Self::poll_read_io).
    ///
    /// # Errors
    ///
    /// As [`poll_read_io`](Self::poll_read_io).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     let n = std::future::poll_fn(|cx| reg.poll_write_io(cx, || (&a).write(b"hello"))).await?;
    ///     assert_eq!(n, 5);
    ///     let mut buf = [0u8; 5];
    ///     b.read_exact(&mut buf)?;
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_write_io<R>(
        &self,
        cx: &mut Context<'_>,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let ev = std::task::ready!(self.poll_write_ready(cx))?;
            match f() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(ev),
                res => return Poll::Ready(res),
            }
        }
    }

    /// Runs `f` once if the descriptor is currently known ready for `interest` (no waker is
    /// stored), clearing readiness if it returns `WouldBlock`. The base of `try_read` and
    /// `try_write`.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if not ready, else the result of `f`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     let mut buf = [0u8; 8];
    ///     // Nothing written yet: either no readiness is known or the read would block.
    ///     let err = reg.try_io(Interest::READABLE, || (&a).read(&mut buf)).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    ///     b.write_all(b"now")?;
    ///     reg.ready(Interest::READABLE).await?;
    ///     let n = reg.try_io(Interest::READABLE, || (&a).read(&mut buf))?;
    ///     assert_eq!(&buf[..n], b"now");
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        let mask = if interest.is_readable() { READ_MASK } else { 0 }
            | if interest.is_writable() {
                WRITE_MASK
            } else {
                0
            };
        let cur = self.io.readiness.load(Ordering::Acquire);
        if cur & SHUTDOWN != 0 {
            return Err(shutdown_error());
        }
        if cur & mask == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let ev = ReadyEvent::from_word(cur, mask);
        let res = f();
        if matches!(&res, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.clear_readiness(ev);
        }
        res
    }

    /// The readiness currently known for `interest`, without storing a waker or spending
    /// budget: for IO types that try an operation once and then decide themselves whether
    /// to [`clear_readiness`](Self::clear_readiness) — `net`'s `try_read` clears it after a
    /// short stream read as well as after `WouldBlock` (module docs, "Short reads").
    ///
    /// # Errors
    ///
    /// `WouldBlock` if the descriptor is not known ready; the shutdown error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     b.write_all(b"x")?;
    ///     reg.ready(Interest::READABLE).await?;
    ///     let ev = reg.try_ready(Interest::READABLE)?; // known now, no waiting
    ///     let mut buf = [0u8; 8];
    ///     let n = (&a).read(&mut buf)?;
    ///     if n < buf.len() {
    ///         reg.clear_readiness(ev); // a short read drained the socket
    ///     }
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_ready(&self, interest: Interest) -> io::Result<ReadyEvent> {
        let mask = if interest.is_readable() { READ_MASK } else { 0 }
            | if interest.is_writable() {
                WRITE_MASK
            } else {
                0
            };
        let cur = self.io.readiness.load(Ordering::Acquire);
        if cur & SHUTDOWN != 0 {
            return Err(shutdown_error());
        }
        if cur & mask == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(ReadyEvent::from_word(cur, mask))
    }

    /// Waits until the descriptor is ready for `interest` (readable if it includes reading,
    /// else writable).
    ///
    /// # Errors
    ///
    /// The runtime shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     let ev = reg.ready(Interest::WRITABLE).await?;
    ///     assert!(ev.ready().is_writable());
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn ready(&self, interest: Interest) -> io::Result<ReadyEvent> {
        std::future::poll_fn(|cx| {
            if interest.is_readable() {
                self.poll_read_ready(cx)
            } else {
                self.poll_write_ready(cx)
            }
        })
        .await
    }

    /// The backend of the driver this registration belongs to.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     assert_eq!(reg.backend(), c10k_runtime::Handle::current().backend());
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn backend(&self) -> Backend {
        self.driver.backend()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Errors mean the descriptor was already gone: nothing left to undo.
        let _ = self.driver.remove(&self.io);
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("fd", &self.io.fd)
            .field(
                "ready",
                &Ready((self.io.readiness.load(Ordering::Relaxed) & 0xff) as u8),
            )
            .finish()
    }
}
