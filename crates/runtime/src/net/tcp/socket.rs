//! [`TcpSocket`]: a TCP socket not yet listening or connected, to set options first.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use super::{TcpListener, TcpStream};
use crate::net::sys;

/// A TCP socket before `listen` or `connect`: the place for options that must be set
/// before, like `SO_REUSEPORT` (several listeners on one port, each accepting a share of the
/// connections — the way past one process's descriptor limit), buffer sizes, or binding a
/// client to a local address.
///
/// Created non-blocking and close-on-exec. [`TcpListener::bind`] is the shortcut for
/// `new` + `set_reuseaddr(true)` + `bind` + `listen(4096)`.
///
/// # Examples
///
/// Two listeners sharing a port with `SO_REUSEPORT`:
///
/// ```
/// use c10k_runtime::net::TcpSocket;
///
/// c10k_runtime::run(async {
///     let a = TcpSocket::new_v4()?;
///     a.set_reuseport(true)?;
///     a.bind("127.0.0.1:0".parse().unwrap())?;
///     let addr = a.local_addr()?;
///     let first = a.listen(1024)?;
///
///     let b = TcpSocket::new_v4()?;
///     b.set_reuseport(true)?;
///     b.bind(addr)?;
///     let second = b.listen(1024)?;
///     assert_eq!(first.local_addr()?, second.local_addr()?);
///
///     let client = TcpSocket::new_v4()?.connect(addr).await?;
///     assert_eq!(client.peer_addr()?, addr);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpSocket {
    fd: OwnedFd,
}

impl TcpSocket {
    /// An IPv4 TCP socket.
    ///
    /// # Errors
    ///
    /// `socket(2)` errors (e.g. out of descriptors).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::TcpSocket;
    /// let socket = TcpSocket::new_v4()?;
    /// socket.bind("127.0.0.1:0".parse().unwrap())?;
    /// assert!(socket.local_addr()?.is_ipv4());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new_v4() -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            fd: sys::socket(
                rustix::net::AddressFamily::INET,
                rustix::net::SocketType::STREAM,
            )?,
        })
    }

    /// An IPv6 TCP socket.
    ///
    /// # Errors
    ///
    /// `socket(2)` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::TcpSocket;
    /// let socket = TcpSocket::new_v6()?;
    /// socket.bind("[::1]:0".parse().unwrap())?;
    /// assert!(socket.local_addr()?.is_ipv6());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new_v6() -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            fd: sys::socket(
                rustix::net::AddressFamily::INET6,
                rustix::net::SocketType::STREAM,
            )?,
        })
    }

    /// A socket of the family of `addr`.
    ///
    /// # Errors
    ///
    /// `socket(2)` errors.
    ///
    /// # Examples
    ///
    /// A client socket with options set before connecting:
    ///
    /// ```
    /// use c10k_runtime::net::{TcpListener, TcpSocket};
    /// c10k_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let addr = listener.local_addr()?;
    ///     let socket = TcpSocket::new_for(&addr)?;
    ///     socket.set_nodelay(true)?;
    ///     socket.set_send_buffer_size(64 * 1024)?;
    ///     socket.set_recv_buffer_size(64 * 1024)?;
    ///     let stream = socket.connect(addr).await?;
    ///     assert!(stream.nodelay()?); // inherited
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new_for(addr: &SocketAddr) -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            fd: sys::socket(sys::family(addr), rustix::net::SocketType::STREAM)?,
        })
    }

    /// Sets `SO_REUSEADDR`: bind even while old connections on the port are in
    /// `TIME_WAIT` (servers want it).
    ///
    /// # Errors
    ///
    /// `setsockopt` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::TcpSocket;
    /// c10k_runtime::run(async {
    ///     let socket = TcpSocket::new_v4()?;
    ///     socket.set_reuseaddr(true)?;
    ///     socket.bind("127.0.0.1:0".parse().unwrap())?;
    ///     let listener = socket.listen(128)?;
    ///     assert_ne!(listener.local_addr()?.port(), 0);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_reuseaddr(&self, on: bool) -> io::Result<()> {
        Ok(rustix::net::sockopt::set_socket_reuseaddr(&self.fd, on)?)
    }

    /// Sets `SO_REUSEPORT`: several sockets (of the same user) may bind the same address and
    /// port; the kernel spreads incoming connections across the listening ones.
    ///
    /// # Errors
    ///
    /// `setsockopt` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::TcpSocket;
    /// let socket = TcpSocket::new_v4()?;
    /// socket.set_reuseport(true)?;
    /// socket.bind("127.0.0.1:0".parse().unwrap())?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_reuseport(&self, on: bool) -> io::Result<()> {
        Ok(rustix::net::sockopt::set_socket_reuseport(&self.fd, on)?)
    }

    /// Sets `TCP_NODELAY` (inherited by the connected stream).
    ///
    /// # Errors
    ///
    /// `setsockopt` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::TcpSocket;
    /// let socket = TcpSocket::new_v4()?;
    /// socket.set_nodelay(true)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        Ok(rustix::net::sockopt::set_tcp_nodelay(&self.fd, on)?)
    }

    /// Sets `SO_SNDBUF` (the kernel doubles the value for bookkeeping, within its limits).
    ///
    /// # Errors
    ///
    /// `setsockopt` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::TcpSocket;
    /// let socket = TcpSocket::new_v4()?;
    /// socket.set_send_buffer_size(256 * 1024)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_send_buffer_size(&self, bytes: usize) -> io::Result<()> {
        Ok(rustix::net::sockopt::set_socket_send_buffer_size(
            &self.fd, bytes,
        )?)
    }

    /// Sets `SO_RCVBUF`.
    ///
    /// # Errors
    ///
    /// `setsockopt` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::TcpSocket;
    /// let socket = TcpSocket::new_v4()?;
    /// socket.set_recv_buffer_size(256 * 1024)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_recv_buffer_size(&self, bytes: usize) -> io::Result<()> {
        Ok(rustix::net::sockopt::set_socket_recv_buffer_size(
            &self.fd, bytes,
        )?)
    }

    /// Binds to a local address (port 0: any free port).
    ///
    /// # Errors
    ///
    /// `bind(2)` errors (`AddrInUse`, `AddrNotAvailable`).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::TcpSocket;
    /// let socket = TcpSocket::new_v4()?;
    /// socket.bind("127.0.0.1:0".parse().unwrap())?;
    /// assert_ne!(socket.local_addr()?.port(), 0); // the kernel picked a port
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        Ok(rustix::net::bind(&self.fd, &addr)?)
    }

    /// The bound local address.
    ///
    /// # Errors
    ///
    /// `getsockname` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::TcpSocket;
    /// let socket = TcpSocket::new_v4()?;
    /// socket.bind("127.0.0.1:0".parse().unwrap())?;
    /// assert_eq!(socket.local_addr()?.ip(), std::net::Ipv4Addr::LOCALHOST);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let addr = rustix::net::getsockname(&self.fd)?;
        SocketAddr::try_from(addr)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not an IP socket address"))
    }

    /// Starts listening with a backlog of `backlog` (capped by `net.core.somaxconn`) and
    /// registers the listener with the current runtime.
    ///
    /// # Errors
    ///
    /// `listen(2)` errors; outside a runtime, the registration error.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::TcpSocket;
    /// c10k_runtime::run(async {
    ///     let socket = TcpSocket::new_v4()?;
    ///     socket.bind("127.0.0.1:0".parse().unwrap())?;
    ///     let listener = socket.listen(128)?;
    ///     assert_ne!(listener.local_addr()?.port(), 0);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        rustix::net::listen(&self.fd, backlog.min(i32::MAX as u32) as i32)?;
        TcpListener::from_fd(self.fd)
    }

    /// Connects to `addr` (see [`TcpStream::connect`]).
    ///
    /// # Errors
    ///
    /// The connect error (e.g. `ConnectionRefused`).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::{TcpListener, TcpSocket};
    /// c10k_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let addr = listener.local_addr()?;
    ///     let stream = TcpSocket::new_v4()?.connect(addr).await?;
    ///     assert_eq!(stream.peer_addr()?, addr);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        TcpStream::connect_fd(self.fd, addr).await
    }
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("fd", &self.fd.as_raw_fd())
            .field("local", &self.local_addr().ok())
            .finish()
    }
}
