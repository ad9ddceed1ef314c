//! [`UnixListener`]: accepting Unix domain stream connections.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;

use super::UnixStream;
use crate::net::accept::Acceptor;
use crate::net::io::PollIo;
use crate::net::sys;

/// A Unix domain socket listening for connections.
///
/// Like [`TcpListener`](crate::net::TcpListener), `accept` backs off on descriptor
/// exhaustion instead of spinning. The socket file is not removed on drop (as with std):
/// remove it yourself, or bind in a temporary directory.
///
/// # Examples
///
/// ```
/// use c10k_runtime::net::{UnixListener, UnixStream};
///
/// let dir = std::env::temp_dir().join(format!("c10k-doc-unix-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("echo.sock");
/// # let _ = std::fs::remove_file(&path);
/// c10k_runtime::run(async {
///     let listener = UnixListener::bind(&path)?;
///     let client = UnixStream::connect(&path).await?;
///     let (server, _) = listener.accept().await?;
///     client.write_all(b"hi").await?;
///     let mut buf = [0u8; 2];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     Ok::<(), std::io::Error>(())
/// })?;
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixListener {
    io: PollIo<std::os::unix::net::UnixListener>,
    acceptor: Acceptor,
}

impl UnixListener {
    /// Binds a listener to the socket file `path` (which must not exist), with a backlog of
    /// 4096, non-blocking and close-on-exec.
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the file exists; path too long (`InvalidInput`); other `bind`/`listen`
    /// errors; outside a runtime, the registration error.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::{UnixListener, UnixStream};
    /// let dir = std::env::temp_dir().join(format!("c10k-doc-bind-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("s.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// c10k_runtime::run(async {
    ///     let listener = UnixListener::bind(&path)?;
    ///     assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    ///     let err = UnixListener::bind(&path).unwrap_err(); // the file exists
    ///     assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let addr = rustix::net::SocketAddrUnix::new(path.as_ref())?;
        let fd = sys::socket(
            rustix::net::AddressFamily::UNIX,
            rustix::net::SocketType::STREAM,
        )?;
        rustix::net::bind(&fd, &addr)?;
        rustix::net::listen(&fd, sys::BACKLOG)?;
        UnixListener::new(std::os::unix::net::UnixListener::from(fd))
    }

    fn new(l: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: PollIo::new_listener(l)?,
            acceptor: Acceptor::new(),
        })
    }

    /// Wraps a std listener, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// `fcntl` errors; outside a runtime, the registration error.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::{UnixListener, UnixStream};
    /// let dir = std::env::temp_dir().join(format!("c10k-doc-from-std-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("s.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// c10k_runtime::run(async {
    ///     let listener = UnixListener::from_std(std::os::unix::net::UnixListener::bind(&path)?)?;
    ///     let _client = UnixStream::connect(&path).await?;
    ///     let (_server, _) = listener.accept().await?;
    ///     let _std: std::os::unix::net::UnixListener = listener.into_std();
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        UnixListener::new(listener)
    }

    /// Deregisters the listener and returns it as a std listener (still non-blocking).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UnixListener;
    /// let dir = std::env::temp_dir().join(format!("c10k-doc-into-std-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("s.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// c10k_runtime::run(async {
    ///     let listener = UnixListener::bind(&path)?;
    ///     let std_listener = listener.into_std();
    ///     assert_eq!(std_listener.local_addr()?.as_pathname(), Some(path.as_path()));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_std(self) -> std::os::unix::net::UnixListener {
        self.io.into_inner()
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// `getsockname` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UnixListener;
    /// let dir = std::env::temp_dir().join(format!("c10k-doc-local-addr-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("s.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// c10k_runtime::run(async {
    ///     let listener = UnixListener::bind(&path)?;
    ///     assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Waits for a connection. Cancel-safe.
    ///
    /// # Errors
    ///
    /// As [`TcpListener::accept`](crate::net::TcpListener::accept).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::{UnixListener, UnixStream};
    /// let dir = std::env::temp_dir().join(format!("c10k-doc-accept-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("s.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// c10k_runtime::run(async {
    ///     let listener = UnixListener::bind(&path)?;
    ///     let mut clients = Vec::new();
    ///     for _ in 0..3 {
    ///         clients.push(UnixStream::connect(&path).await?);
    ///     }
    ///     for _ in 0..3 {
    ///         let (stream, _addr) = listener.accept().await?;
    ///         stream.write_all(b"welcome").await?;
    ///     }
    ///     let mut buf = [0u8; 7];
    ///     for c in &clients {
    ///         c.read_exact(&mut buf).await?;
    ///     }
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// The poll form of [`accept`](Self::accept).
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::{UnixListener, UnixStream};
    /// let dir = std::env::temp_dir().join(format!("c10k-doc-poll-accept-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("s.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// c10k_runtime::run(async {
    ///     let listener = UnixListener::bind(&path)?;
    ///     let _client = UnixStream::connect(&path).await?;
    ///     let (_server, _) = std::future::poll_fn(|cx| listener.poll_accept(cx)).await?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (fd, _) = ready!(self.acceptor.poll_accept(&self.io, cx))?;
        let stream = std::os::unix::net::UnixStream::from(fd);
        let addr = stream.peer_addr()?;
        Poll::Ready(Ok((UnixStream::from_connected(stream)?, addr)))
    }

    /// The connections as a never-ending [`Stream`].
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::{UnixListener, UnixStream};
    /// let dir = std::env::temp_dir().join(format!("c10k-doc-incoming-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("s.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// c10k_runtime::run(async {
    ///     use futures_util::StreamExt;
    ///     let listener = UnixListener::bind(&path)?;
    ///     let _client = UnixStream::connect(&path).await?;
    ///     let mut incoming = listener.incoming();
    ///     let _server = incoming.next().await.expect("never ends")?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }
}

crate::net::stream::listener_surface!(
    UnixListener,
    UnixStream,
    "```
use futures_util::StreamExt;
use c10k_runtime::net::{UnixListener, UnixStream};
let dir = std::env::temp_dir().join(format!(\"c10k-doc-incoming-ty-{}\", std::process::id()));
std::fs::create_dir_all(&dir)?;
let path = dir.join(\"s.sock\");
# let _ = std::fs::remove_file(&path);
c10k_runtime::run(async {
    let listener = UnixListener::bind(&path)?;
    let mut incoming = listener.incoming();
    for _ in 0..2 {
        let _client = UnixStream::connect(&path).await?;
        let _server = incoming.next().await.expect(\"never ends\")?;
    }
    Ok::<(), std::io::Error>(())
})?;
std::fs::remove_dir_all(&dir)?;
# Ok::<(), std::io::Error>(())
```"
);
