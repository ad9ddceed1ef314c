//! [`UnixStream`]: a connected Unix domain stream socket.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use super::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::net::io::PollIo;
use crate::net::sys;

/// A connected Unix domain stream socket: the same API as
/// [`TcpStream`](crate::net::TcpStream) (readiness triad, `async fn`s on `&self`,
/// `futures-io` traits, split halves, short-read rule), with path addresses.
///
/// # Examples
///
/// ```
/// use c10k_runtime::net::UnixStream;
///
/// c10k_runtime::run(async {
///     let (a, b) = UnixStream::pair()?;
///     a.write_all(b"ping").await?;
///     let mut buf = [0u8; 4];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixStream {
    io: PollIo<std::os::unix::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket file at `path`.
    ///
    /// # Errors
    ///
    /// `NotFound` (no such file), `ConnectionRefused` (no listener), `WouldBlock` (the
    /// listener's backlog is full), other `connect(2)` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::{UnixListener, UnixStream};
    /// let dir = std::env::temp_dir().join(format!("c10k-doc-connect-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("s.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// c10k_runtime::run(async {
    ///     let err = UnixStream::connect(&path).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound); // no socket file yet
    ///     let listener = UnixListener::bind(&path)?;
    ///     let client = UnixStream::connect(&path).await?;
    ///     let (_server, _) = listener.accept().await?;
    ///     assert_eq!(client.peer_addr()?.as_pathname(), Some(path.as_path()));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let addr = rustix::net::SocketAddrUnix::new(path.as_ref())?;
        let fd = sys::socket(
            rustix::net::AddressFamily::UNIX,
            rustix::net::SocketType::STREAM,
        )?;
        let in_progress = sys::connect(&fd, &addr)?;
        Ok(UnixStream {
            io: PollIo::connected(std::os::unix::net::UnixStream::from(fd), in_progress).await?,
        })
    }

    /// A pair of connected sockets (`socketpair(2)`), both registered with the current
    /// runtime.
    ///
    /// # Errors
    ///
    /// `socketpair` errors; outside a runtime, the registration error.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UnixStream;
    /// c10k_runtime::run(async {
    ///     let (client, server) = UnixStream::pair()?;
    ///     client.write_all(b"between tasks").await?;
    ///     let mut buf = [0u8; 13];
    ///     server.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"between tasks");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = rustix::net::socketpair(
            rustix::net::AddressFamily::UNIX,
            rustix::net::SocketType::STREAM,
            rustix::net::SocketFlags::NONBLOCK | rustix::net::SocketFlags::CLOEXEC,
            None,
        )?;
        Ok((
            UnixStream::from_connected(std::os::unix::net::UnixStream::from(a))?,
            UnixStream::from_connected(std::os::unix::net::UnixStream::from(b))?,
        ))
    }

    /// A stream from an accepted, already non-blocking socket.
    pub(crate) fn from_connected(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: PollIo::new_stream(stream)?,
        })
    }

    /// Wraps a connected std stream, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// `fcntl` errors; outside a runtime, the registration error.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UnixStream;
    /// c10k_runtime::run(async {
    ///     let (a, mut b) = std::os::unix::net::UnixStream::pair()?;
    ///     let a = UnixStream::from_std(a)?;
    ///     std::io::Write::write_all(&mut b, b"std")?;
    ///     let mut buf = [0u8; 3];
    ///     a.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"std");
    ///     let _std: std::os::unix::net::UnixStream = a.into_std();
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        UnixStream::from_connected(stream)
    }

    /// Deregisters the stream and returns it as a std stream (still non-blocking).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UnixStream;
    /// c10k_runtime::run(async {
    ///     let (a, b) = UnixStream::pair()?;
    ///     let mut std_a = a.into_std(); // still non-blocking
    ///     std::io::Write::write_all(&mut std_a, b"x")?;
    ///     let mut buf = [0u8; 1];
    ///     b.read_exact(&mut buf).await?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_std(self) -> std::os::unix::net::UnixStream {
        self.io.into_inner()
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// `getsockname` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UnixStream;
    /// c10k_runtime::run(async {
    ///     let (a, b) = UnixStream::pair()?;
    ///     assert!(a.local_addr()?.is_unnamed()); // `pair` sockets have no path
    ///     drop(b);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `getpeername` errors (`NotConnected`).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UnixStream;
    /// c10k_runtime::run(async {
    ///     let (a, b) = UnixStream::pair()?;
    ///     assert!(a.peer_addr()?.is_unnamed());
    ///     assert!(b.peer_addr()?.as_pathname().is_none());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shuts down the reading side, the writing side (the peer reads end of file once the
    /// sent data is consumed) or both. The descriptor stays open until drop.
    ///
    /// # Errors
    ///
    /// `shutdown(2)` errors (`NotConnected`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UnixStream;
    /// # c10k_runtime::run(async {
    /// #     let (client, server) = UnixStream::pair()?;
    ///     client.shutdown(std::net::Shutdown::Write)?;
    ///     let mut buf = [0u8; 8];
    ///     assert_eq!(server.read(&mut buf).await?, 0); // end of file
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// # Errors
    ///
    /// `getsockopt` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UnixStream;
    /// # c10k_runtime::run(async {
    /// #     let (client, server) = UnixStream::pair()?;
    ///     assert!(client.take_error()?.is_none());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Waits until the stream is (probably) readable: data, end of file or an error.
    ///
    /// # Errors
    ///
    /// The runtime shut down.
    ///
    /// Readiness may be spurious: loop over [`try_read`](Self::try_read) until it stops returning
    /// `WouldBlock`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UnixStream;
    /// # c10k_runtime::run(async {
    /// #     let (client, server) = UnixStream::pair()?;
    ///     client.write_all(b"ready").await?;
    ///     let mut buf = [0u8; 16];
    ///     let n = loop {
    ///         server.readable().await?;
    ///         match server.try_read(&mut buf) {
    ///             Ok(n) => break n,
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///             Err(e) => return Err(e),
    ///         }
    ///     };
    ///     assert!(n > 0);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        self.io.readable().await
    }

    /// Waits until the stream is (probably) writable.
    ///
    /// # Errors
    ///
    /// The runtime shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UnixStream;
    /// # c10k_runtime::run(async {
    /// #     let (client, server) = UnixStream::pair()?;
    ///     let n = loop {
    ///         client.writable().await?;
    ///         match client.try_write(b"hello") {
    ///             Ok(n) => break n,
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///             Err(e) => return Err(e),
    ///         }
    ///     };
    ///     assert!(n > 0);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        self.io.writable().await
    }

    /// `Ready` if the stream may be readable, else stores the waker (only the last reader's
    /// waker is kept) and returns `Pending`.
    ///
    /// # Errors
    ///
    /// The runtime shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UnixStream;
    /// # c10k_runtime::run(async {
    /// #     let (client, server) = UnixStream::pair()?;
    ///     client.write_all(b"x").await?;
    ///     std::future::poll_fn(|cx| server.poll_read_ready(cx)).await?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_read_ready(cx)
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
    /// # use c10k_runtime::net::UnixStream;
    /// # c10k_runtime::run(async {
    /// #     let (client, server) = UnixStream::pair()?;
    ///     std::future::poll_fn(|cx| client.poll_write_ready(cx)).await?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_write_ready(cx)
    }

    /// Reads once if the stream is known readable; never waits. A read shorter than `buf`
    /// clears the readiness (the short-read rule), so the next attempt waits for new data
    /// instead of costing a system call.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if no readiness is known or the socket had no data (readiness is then
    /// cleared, so the next [`readable`](Self::readable) waits for new data); other
    /// `read(2)` errors.
    ///
    /// Draining until `WouldBlock`:
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UnixStream;
    /// # c10k_runtime::run(async {
    /// #     let (client, server) = UnixStream::pair()?;
    ///     client.write_all(&[7u8; 1000]).await?;
    ///     let mut total = 0;
    ///     let mut buf = [0u8; 256];
    ///     while total < 1000 {
    ///         server.readable().await?;
    ///         loop {
    ///             match server.try_read(&mut buf) {
    ///                 Ok(0) => unreachable!("the client has not closed"),
    ///                 Ok(n) => total += n,
    ///                 Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break, // drained
    ///                 Err(e) => return Err(e),
    ///             }
    ///         }
    ///     }
    ///     assert_eq!(total, 1000);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read(buf)
    }

    /// Writes once if the stream is known writable; never waits.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the send buffer is full (or no readiness is known); other `write(2)`
    /// errors (`BrokenPipe` after the peer closed).
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UnixStream;
    /// # c10k_runtime::run(async {
    /// #     let (client, server) = UnixStream::pair()?;
    ///     // Fill the socket buffer without ever blocking, then stop at WouldBlock.
    ///     client.writable().await?; // `try_write` acts on known readiness only
    ///     let chunk = [0u8; 64 * 1024];
    ///     let mut sent = 0;
    ///     for _ in 0..1000 {
    ///         match client.try_write(&chunk) {
    ///             Ok(n) => sent += n,
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
    ///             Err(e) => return Err(e),
    ///         }
    ///     }
    ///     assert!(sent > 0);
    ///     drop(server);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write(buf)
    }

    /// Reads what is available (at least one byte, or 0 at end of file), waiting for data.
    ///
    /// Cancel-safe: dropping the future loses no data.
    ///
    /// # Errors
    ///
    /// `read(2)` errors (e.g. `ConnectionReset`), or the runtime's shutdown.
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UnixStream;
    /// # c10k_runtime::run(async {
    /// #     let (client, server) = UnixStream::pair()?;
    ///     client.write_all(b"abc").await?;
    ///     drop(client);
    ///     let mut got = Vec::new();
    ///     let mut buf = [0u8; 8];
    ///     loop {
    ///         match server.read(&mut buf).await? {
    ///             0 => break,
    ///             n => got.extend_from_slice(&buf[..n]),
    ///         }
    ///     }
    ///     assert_eq!(got, b"abc");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.io.poll_read(cx, buf)).await
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// Not cancel-safe: bytes read before cancellation are lost.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the peer closes first; otherwise as [`read`](Self::read).
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UnixStream;
    /// # c10k_runtime::run(async {
    /// #     let (client, server) = UnixStream::pair()?;
    ///     client.write_all(b"12").await?;
    ///     drop(client);
    ///     let mut buf = [0u8; 4];
    ///     let err = server.read_exact(&mut buf).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_exact(&self, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read(buf).await? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => buf = &mut buf[n..],
            }
        }
        Ok(())
    }

    /// Receives data without removing it from the socket's queue (`MSG_PEEK`).
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UnixStream;
    /// # c10k_runtime::run(async {
    /// #     let (client, server) = UnixStream::pair()?;
    ///     client.write_all(b"GET").await?;
    ///     let mut buf = [0u8; 3];
    ///     let mut n = 0;
    ///     while n < 3 {
    ///         n = server.peek(&mut buf).await?;
    ///     }
    ///     server.read_exact(&mut buf).await?; // the same bytes again
    ///     assert_eq!(&buf, b"GET");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.io.poll_peek(cx, buf)).await
    }

    /// Writes some of `buf` (at least one byte unless `buf` is empty), waiting for room.
    ///
    /// # Errors
    ///
    /// `write(2)` errors (`BrokenPipe`, `ConnectionReset`), or the runtime's shutdown.
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UnixStream;
    /// # c10k_runtime::run(async {
    /// #     let (client, server) = UnixStream::pair()?;
    ///     let n = client.write(b"some").await?;
    ///     assert!(n > 0);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.write(buf).await
    }

    /// Writes all of `buf` (asyncio's `sock_sendall`).
    ///
    /// Not cancel-safe: how much was written before cancellation is not reported.
    ///
    /// # Errors
    ///
    /// `WriteZero` if the socket accepts no byte; otherwise as [`write`](Self::write).
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UnixStream;
    /// # c10k_runtime::run(async {
    /// #     let (client, server) = UnixStream::pair()?;
    ///     let big = vec![1u8; 512 * 1024];
    ///     let (w, r) = futures_util::join!(client.write_all(&big), async {
    ///         let mut buf = vec![0u8; big.len()];
    ///         server.read_exact(&mut buf).await.map(|()| buf)
    ///     });
    ///     w?;
    ///     assert_eq!(r?, big);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    /// Reads into the spare capacity of `buf` (the bytes after `buf.len()`, up to
    /// `buf.capacity()`), appends what it read, and hands `buf` back with the count: the
    /// owned-buffer form of [`read`](Self::read), usable from code that must not lend a
    /// slice across an await. Returns `Ok(0)` at end of stream (or if `buf` has no spare
    /// capacity).
    ///
    /// Cancel-safe by construction: dropping the future loses no data (on the io_uring
    /// backend, received bytes stay in the runtime's buffers until a read copies them; on
    /// the readiness backends, nothing is read before the copy).
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read); `buf` comes back in every case.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UnixStream;
    /// c10k_runtime::run(async {
    ///     let (client, server) = UnixStream::pair()?;
    ///     client.write_all(b"hello").await?;
    ///     let (res, buf) = server.read_owned(Vec::with_capacity(64)).await;
    ///     let n = res?;
    ///     assert_eq!(n, buf.len()); // appended after the (empty) initial contents
    ///     assert!(n > 0 && b"hello".starts_with(&buf));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_owned(&self, buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        self.io.read_owned(buf).await
    }

    /// Writes all of `buf` and hands it back: the owned-buffer form of
    /// [`write_all`](Self::write_all). On the io_uring backend the buffer itself is handed
    /// to the kernel (no copy), after everything written before it; if the future is
    /// dropped, the runtime keeps the buffer until the kernel is done with it, then frees
    /// it (cancel-safe by construction: the kernel never writes or reads freed memory).
    ///
    /// # Errors
    ///
    /// As [`write_all`](Self::write_all); `buf` comes back in every case.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UnixStream;
    /// c10k_runtime::run(async {
    ///     let (client, server) = UnixStream::pair()?;
    ///     let (res, buf) = client.write_all_owned(b"ping".to_vec()).await;
    ///     res?;
    ///     assert_eq!(buf, b"ping");
    ///     let mut got = [0u8; 4];
    ///     server.read_exact(&mut got).await?;
    ///     assert_eq!(&got, b"ping");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_all_owned(&self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
        self.io.write_all_owned(buf).await
    }

    /// Splits into a reading and a writing half borrowing the stream, to read and write
    /// concurrently in one task (e.g. with `join`). No allocation, no lock.
    ///
    /// With `futures_util::io::AsyncReadExt` in scope, `stream.split()` resolves to that
    /// trait's by-value `split` (halves behind a lock) before this method; write
    /// `Self::split(&mut stream)` to be explicit.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UnixStream;
    /// c10k_runtime::run(async {
    ///     let (client, mut server) = UnixStream::pair()?;
    ///     let (rd, wr) = UnixStream::split(&mut server);
    ///     let echo = async {
    ///         let mut buf = [0u8; 5];
    ///         rd.read_exact(&mut buf).await?;
    ///         wr.write_all(&buf).await
    ///     };
    ///     let talk = async {
    ///         client.write_all(b"hello").await?;
    ///         let mut buf = [0u8; 5];
    ///         client.read_exact(&mut buf).await.map(|()| buf)
    ///     };
    ///     let (e, t) = futures_util::join!(echo, talk);
    ///     e?;
    ///     assert_eq!(&t?, b"hello");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf::new(self), WriteHalf::new(self))
    }

    /// Splits into owned halves, to move them into two tasks. The halves share the stream
    /// through an `Arc`; [`OwnedReadHalf::reunite`] puts it back together. Dropping the
    /// write half shuts the writing side down.
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UnixStream;
    /// # c10k_runtime::run(async {
    /// #     let (client, server) = UnixStream::pair()?;
    ///     let (rd, wr) = client.into_split();
    ///     c10k_runtime::spawn(async move { wr.write_all(b"owned").await })
    ///         .await
    ///         .unwrap()?;
    ///     let mut buf = [0u8; 5];
    ///     server.read_exact(&mut buf).await?;
    ///     server.write_all(b"back!").await?;
    ///     rd.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"back!");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        super::split::split_owned(self)
    }

    pub(crate) fn poll_read_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read(cx, buf)
    }

    pub(crate) fn poll_read_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read_vectored(cx, bufs)
    }

    pub(crate) fn poll_write_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, buf)
    }

    pub(crate) fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write_vectored(cx, bufs)
    }

    pub(crate) fn poll_close_priv(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_close(cx)
    }

    pub(crate) fn poll_flush_priv(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_flush(cx)
    }
}

impl AsyncRead for UnixStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_priv(cx, buf)
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_vectored_priv(cx, bufs)
    }
}

impl AsyncRead for &UnixStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_priv(cx, buf)
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_vectored_priv(cx, bufs)
    }
}

impl AsyncWrite for UnixStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_priv(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored_priv(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush_priv(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_close_priv(cx)
    }
}

impl AsyncWrite for &UnixStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_priv(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored_priv(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush_priv(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_close_priv(cx)
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
