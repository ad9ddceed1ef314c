//! [`TcpStream`]: a connected TCP socket.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};

use super::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::net::io::PollIo;
use crate::net::sys;

/// A TCP connection: asyncio's `sock_connect` / `sock_recv` / `sock_sendall` on one type.
///
/// # Reading and writing
///
/// Three layers, from the lowest:
///
/// * the readiness triad: [`readable`](Self::readable) waits,
///   [`poll_read_ready`](Self::poll_read_ready) registers a waker, [`try_read`](Self::try_read) attempts once and
///   returns `WouldBlock` instead of waiting (and the writing twins). Readiness may be
///   spurious: after `readable()` returns, `try_read` can still say `WouldBlock`; loop.
/// * `async fn`s on `&self`: [`read`](Self::read), [`read_exact`](Self::read_exact),
///   [`write`](Self::write), [`write_all`](Self::write_all), [`peek`](Self::peek).
/// * the ecosystem's traits: `futures_io::AsyncRead` and `AsyncWrite` are implemented for
///   `TcpStream` and `&TcpStream`, so `futures_util::io::AsyncReadExt` / `AsyncWriteExt`,
///   `copy`, `BufReader`, etc. work. `poll_close` shuts the writing side down (`FIN`).
///
/// A read of fewer bytes than the buffer holds is taken to drain the socket: the next read
/// waits for the next readiness event instead of trying a system call that would return
/// `WouldBlock` (see [`driver`](crate::driver), "Short reads"). An echo server thus makes
/// two system calls per request.
///
/// Reading and writing may happen concurrently from two tasks (one reader, one writer):
/// through `&TcpStream`, [`split`](Self::split) or [`into_split`](Self::into_split).
///
/// # Drop
///
/// Dropping the stream deregisters it and closes the descriptor (the peer sees end of file,
/// or a reset if unread data was pending).
///
/// # Examples
///
/// ```
/// use c10k_runtime::net::{TcpListener, TcpStream};
///
/// c10k_runtime::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let client = TcpStream::connect(listener.local_addr()?).await?;
///     let (server, _) = listener.accept().await?;
///     client.set_nodelay(true)?;
///     client.write_all(b"ping").await?;
///     let mut buf = [0u8; 4];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpStream {
    io: PollIo<std::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn (host names are resolved on
    /// the blocking pool, see [`lookup_host`](crate::net::lookup_host)).
    ///
    /// # Errors
    ///
    /// Resolution errors, or the connect error of the last address tried (e.g.
    /// `ConnectionRefused`).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::{TcpListener, TcpStream};
    /// c10k_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (server, _) = listener.accept().await?;
    ///     assert_eq!(client.peer_addr()?, listener.local_addr()?);
    ///     assert_eq!(server.peer_addr()?, client.local_addr()?);
    ///     // Nobody listens on a closed port: connect fails.
    ///     let port = listener.local_addr()?.port();
    ///     drop((listener, server));
    ///     let err = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        each_addr(&addr, TcpStream::connect_addr).await
    }

    /// Like [`connect`](Self::connect), giving up after `timeout` (resolution included) with
    /// an error of kind `TimedOut`. The half-open socket is closed on timeout.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect), plus `TimedOut`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::net::{TcpListener, TcpStream};
    ///
    /// c10k_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let addr = listener.local_addr()?;
    ///     let stream = TcpStream::connect_timeout(addr, Duration::from_secs(5)).await?;
    ///     assert_eq!(stream.peer_addr()?, addr);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect_timeout(
        addr: impl ToSocketAddrs,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        match crate::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(res) => res,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connect timed out after {timeout:?}"),
            )),
        }
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let fd = sys::socket(sys::family(&addr), rustix::net::SocketType::STREAM)?;
        TcpStream::connect_fd(fd, addr).await
    }

    /// Connects the non-blocking socket `fd` to `addr`.
    pub(crate) async fn connect_fd(
        fd: std::os::fd::OwnedFd,
        addr: SocketAddr,
    ) -> io::Result<TcpStream> {
        let in_progress = sys::connect(&fd, &addr)?;
        Ok(TcpStream {
            io: PollIo::connected(std::net::TcpStream::from(fd), in_progress).await?,
        })
    }

    /// A stream from an accepted, already non-blocking socket.
    pub(crate) fn from_connected(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
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
    /// use c10k_runtime::net::TcpStream;
    /// c10k_runtime::run(async {
    ///     let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    ///     let std_stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    ///     let stream = TcpStream::from_std(std_stream)?;
    ///     let (mut peer, _) = listener.accept()?;
    ///     std::io::Write::write_all(&mut peer, b"hi")?;
    ///     let mut buf = [0u8; 2];
    ///     stream.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"hi");
    ///     let back: std::net::TcpStream = stream.into_std(); // still non-blocking
    ///     drop(back);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_connected(stream)
    }

    /// Deregisters the stream and returns it as a std stream (still non-blocking).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::{TcpListener, TcpStream};
    /// c10k_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (server, peer) = listener.accept().await?;
    ///     let std_stream = client.into_std();
    ///     assert_eq!(std_stream.local_addr()?, peer);
    ///     drop(server);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_std(self) -> std::net::TcpStream {
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
    /// use c10k_runtime::net::{TcpListener, TcpStream};
    /// c10k_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (server, peer) = listener.accept().await?;
    ///     assert_eq!(client.local_addr()?, peer);
    ///     assert_eq!(server.local_addr()?, listener.local_addr()?);
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
    /// use c10k_runtime::net::{TcpListener, TcpStream};
    /// c10k_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (server, peer) = listener.accept().await?;
    ///     assert_eq!(client.peer_addr()?, listener.local_addr()?);
    ///     assert_eq!(server.peer_addr()?, peer);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sets `TCP_NODELAY`: small writes leave at once instead of waiting (Nagle's algorithm)
    /// for the previous segment's acknowledgement. Request/response protocols want it.
    ///
    /// # Errors
    ///
    /// `setsockopt` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::{TcpListener, TcpStream};
    /// # c10k_runtime::run(async {
    /// #     let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// #     let client = TcpStream::connect(listener.local_addr()?).await?;
    /// #     let (server, _) = listener.accept().await?;
    ///     client.set_nodelay(true)?;
    ///     assert!(client.nodelay()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// `getsockopt` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::{TcpListener, TcpStream};
    /// c10k_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (server, peer) = listener.accept().await?;
    ///     server.set_nodelay(false)?;
    ///     assert!(!server.nodelay()?);
    ///     drop(client);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }
}

crate::net::stream::stream_surface!(
    TcpStream,
    "# use c10k_runtime::net::{TcpListener, TcpStream};\n# c10k_runtime::run(async {\n#     let listener = TcpListener::bind(\"127.0.0.1:0\").await?;\n#     let client = TcpStream::connect(listener.local_addr()?).await?;\n#     let (server, _) = listener.accept().await?;"
);

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
