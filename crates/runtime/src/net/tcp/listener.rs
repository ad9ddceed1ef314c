//! [`TcpListener`]: accepting TCP connections, with back-off when descriptors run out.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;

use super::TcpStream;
use crate::net::accept::Acceptor;
use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::net::io::PollIo;
use crate::net::sys;

/// A TCP socket listening for connections: asyncio's `loop.sock_accept` loop as a type.
///
/// # Running out of descriptors
///
/// When `accept(2)` fails with `EMFILE` or `ENFILE` (per-process or system-wide descriptor
/// limit; also `ENOBUFS`/`ENOMEM`), the pending connection stays in the kernel's backlog and
/// the listener stays readable, so retrying at once would spin a core at 100% doing failing
/// system calls. Instead, [`accept`](Self::accept) keeps waiting: it sleeps on the runtime's
/// timer (1 ms, doubling to at most 100 ms) and retries, and returns the connection as soon as
/// a descriptor is free again (an existing connection was closed). The caller sees no
/// error; clients see a delay. A connection reset before it was accepted (`ECONNABORTED`) is
/// skipped silently too. (The same applies to [`UnixListener`](crate::net::UnixListener).)
///
/// # Several acceptors
///
/// The driver keeps one reader waker per socket: let one task accept (and hand the
/// connections out), rather than several tasks calling `accept` on the same listener.
///
/// # Examples
///
/// An echo server and a client, on one current-thread runtime:
///
/// ```
/// use c10k_runtime::net::{TcpListener, TcpStream};
///
/// c10k_runtime::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let server = c10k_runtime::spawn(async move {
///         let (stream, _peer) = listener.accept().await?;
///         let mut buf = [0u8; 1024];
///         loop {
///             let n = stream.read(&mut buf).await?;
///             if n == 0 {
///                 return Ok::<(), std::io::Error>(());
///             }
///             stream.write_all(&buf[..n]).await?;
///         }
///     });
///     let client = TcpStream::connect(addr).await?;
///     client.write_all(b"hello").await?;
///     let mut buf = [0u8; 5];
///     client.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hello");
///     drop(client);
///     server.await.unwrap()?;
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    io: PollIo<std::net::TcpListener>,
    acceptor: Acceptor,
}

impl TcpListener {
    /// Binds a listener to `addr` (the first of its addresses that binds), with
    /// `SO_REUSEADDR`, a backlog of 4096 (capped by `net.core.somaxconn`), non-blocking and
    /// close-on-exec. Port 0 picks a free port: read it back with
    /// [`local_addr`](Self::local_addr).
    ///
    /// # Errors
    ///
    /// Name resolution errors; the `bind`/`listen` error of the last address tried (e.g.
    /// `AddrInUse`); outside a runtime, the registration error.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::TcpListener;
    /// c10k_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     assert_ne!(listener.local_addr()?.port(), 0);
    ///     // The same address again fails while the first listener lives.
    ///     let err = TcpListener::bind(listener.local_addr()?).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        each_addr(&addr, |a| async move {
            sys::tcp_listen(&a).and_then(TcpListener::from_fd)
        })
        .await
    }

    pub(crate) fn from_fd(fd: OwnedFd) -> io::Result<TcpListener> {
        TcpListener::new(std::net::TcpListener::from(fd))
    }

    fn new(l: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: PollIo::new_listener(l)?,
            acceptor: Acceptor::new(),
        })
    }

    /// Wraps a listener made by std (e.g. inherited, or bound with options set by hand). It
    /// is switched to non-blocking mode.
    ///
    /// # Errors
    ///
    /// `fcntl` errors; outside a runtime, the registration error.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::{TcpListener, TcpStream};
    /// c10k_runtime::run(async {
    ///     let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    ///     let listener = TcpListener::from_std(std_listener)?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (_server, peer) = listener.accept().await?;
    ///     assert_eq!(peer, client.local_addr()?);
    ///     let _std: std::net::TcpListener = listener.into_std();
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        TcpListener::new(listener)
    }

    /// Deregisters the listener and returns it as a std listener (still non-blocking).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::TcpListener;
    /// c10k_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let addr = listener.local_addr()?;
    ///     let std_listener = listener.into_std();
    ///     assert_eq!(std_listener.local_addr()?, addr);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_std(self) -> std::net::TcpListener {
        self.io.into_inner()
    }

    /// The local address, e.g. to learn the port picked for port 0.
    ///
    /// # Errors
    ///
    /// `getsockname` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::TcpListener;
    /// c10k_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let addr = listener.local_addr()?;
    ///     assert!(addr.ip().is_loopback());
    ///     assert_ne!(addr.port(), 0);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Waits for a connection and returns it with the peer's address. The new stream is
    /// non-blocking, close-on-exec, and registered with the runtime of the calling task.
    ///
    /// Cancel-safe: if the future is dropped before completing, no connection is lost (it
    /// stays in the kernel's backlog).
    ///
    /// # Errors
    ///
    /// Errors of `accept4(2)` other than `WouldBlock`, `EINTR`, the per-connection errors
    /// (`ECONNABORTED`, `EPROTO`, `EPERM`: skipped) and exhaustion (`EMFILE`, `ENFILE`,
    /// `ENOBUFS`, `ENOMEM`: waited out, see the type docs); the runtime's shutdown error.
    ///
    /// # Examples
    ///
    /// A server accepting a bounded number of connections, one task each:
    ///
    /// ```
    /// use c10k_runtime::net::{TcpListener, TcpStream};
    /// c10k_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let addr = listener.local_addr()?;
    ///     let server = c10k_runtime::spawn(async move {
    ///         for _ in 0..3 {
    ///             let (stream, _peer) = listener.accept().await?;
    ///             c10k_runtime::spawn(async move {
    ///                 let mut buf = [0u8; 1];
    ///                 stream.read_exact(&mut buf).await?;
    ///                 stream.write_all(&[buf[0] + 1]).await
    ///             });
    ///         }
    ///         Ok::<(), std::io::Error>(())
    ///     });
    ///     for i in 0..3u8 {
    ///         let c = TcpStream::connect(addr).await?;
    ///         c.write_all(&[i]).await?;
    ///         let mut buf = [0u8; 1];
    ///         c.read_exact(&mut buf).await?;
    ///         assert_eq!(buf[0], i + 1);
    ///     }
    ///     server.await.unwrap()?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection: the poll-style [`accept`](Self::accept), for hand-written
    /// futures. Stores the waker when none is ready.
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::{TcpListener, TcpStream};
    /// c10k_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (_s, peer) = std::future::poll_fn(|cx| listener.poll_accept(cx)).await?;
    ///     assert_eq!(peer, client.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (fd, addr) = ready!(self.acceptor.poll_accept(&self.io, cx))?;
        let stream = std::net::TcpStream::from(fd);
        let addr = match addr.and_then(|a| SocketAddr::try_from(a).ok()) {
            Some(a) => a,
            None => stream.peer_addr()?,
        };
        Poll::Ready(Ok((TcpStream::from_connected(stream)?, addr)))
    }

    /// The connections of this listener as a [`Stream`] (asyncio's `async for` over
    /// connections). It never ends by itself; errors are yielded as items.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use c10k_runtime::net::{TcpListener, TcpStream};
    /// c10k_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let server = listener.incoming().next().await.expect("never ends")?;
    ///     assert_eq!(server.peer_addr()?, client.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }
}

crate::net::stream::listener_surface!(
    TcpListener,
    TcpStream,
    "```
use futures_util::StreamExt;
use c10k_runtime::net::{TcpListener, TcpStream};

c10k_runtime::run(async {
    let listener = TcpListener::bind(\"127.0.0.1:0\").await?;
    let addr = listener.local_addr()?;
    let _client = TcpStream::connect(addr).await?;
    let mut incoming = listener.incoming();
    let stream = incoming.next().await.expect(\"never ends\")?;
    assert_eq!(stream.peer_addr()?, _client.local_addr()?);
    Ok::<(), std::io::Error>(())
})?;
# Ok::<(), std::io::Error>(())
```"
);
