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
}

crate::net::stream::stream_surface!(
    UnixStream,
    "# use c10k_runtime::net::UnixStream;\n# c10k_runtime::run(async {\n#     let (client, server) = UnixStream::pair()?;"
);

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
