//! [`UdpSocket`]: datagrams.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::net::io::PollIo;
use crate::net::sys;

/// A UDP socket.
///
/// Every receive is "short" for a datagram socket, so unlike streams, readiness is only
/// forgotten when a call returns `WouldBlock`. Each `recv` returns one datagram; a datagram
/// longer than the buffer is truncated (the rest is discarded by the kernel).
///
/// Sending and receiving may proceed concurrently from two tasks through `&UdpSocket` (or an
/// `Arc<UdpSocket>`); the driver keeps one waker per direction, so let one task receive.
///
/// # Examples
///
/// ```
/// use c10k_runtime::net::UdpSocket;
///
/// c10k_runtime::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await?;
///     let b = UdpSocket::bind("127.0.0.1:0").await?;
///     a.send_to(b"ping", b.local_addr()?).await?;
///     let mut buf = [0u8; 16];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    io: PollIo<std::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a socket to `addr` (port 0 picks a free port), non-blocking and close-on-exec.
    ///
    /// # Errors
    ///
    /// Resolution errors, or the `bind` error of the last address tried.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UdpSocket;
    /// c10k_runtime::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert_ne!(a.local_addr()?.port(), 0);
    ///     assert_ne!(a.local_addr()?, b.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        each_addr(&addr, |a| async move {
            let fd = sys::socket(sys::family(&a), rustix::net::SocketType::DGRAM)?;
            rustix::net::bind(&fd, &a)?;
            Ok(UdpSocket {
                io: PollIo::new(std::net::UdpSocket::from(fd))?,
            })
        })
        .await
    }

    /// Wraps a std socket, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// `fcntl` errors; outside a runtime, the registration error.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UdpSocket;
    /// c10k_runtime::run(async {
    ///     let std_socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    ///     let socket = UdpSocket::from_std(std_socket)?;
    ///     socket.send_to(b"self", socket.local_addr()?).await?;
    ///     let mut buf = [0u8; 4];
    ///     assert_eq!(socket.recv(&mut buf).await?, 4);
    ///     let _std: std::net::UdpSocket = socket.into_std();
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            io: PollIo::new(socket)?,
        })
    }

    /// Deregisters the socket and returns it as a std socket (still non-blocking).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UdpSocket;
    /// c10k_runtime::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let addr = a.local_addr()?;
    ///     let std_socket = a.into_std();
    ///     assert_eq!(std_socket.local_addr()?, addr);
    ///     drop(b);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_std(self) -> std::net::UdpSocket {
        self.io.into_inner()
    }

    /// Sets the default peer: [`send`](Self::send) goes to it and [`recv`](Self::recv)
    /// accepts datagrams only from it.
    ///
    /// # Errors
    ///
    /// Resolution errors, or the `connect` error of the last address tried.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UdpSocket;
    /// c10k_runtime::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.connect(b.local_addr()?).await?;
    ///     b.connect(a.local_addr()?).await?;
    ///     assert_eq!(a.peer_addr()?, b.local_addr()?);
    ///     a.send(b"one datagram").await?;
    ///     let mut buf = [0u8; 64];
    ///     let n = b.recv(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"one datagram");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        each_addr(&addr, |a| async move { self.io.get_ref().connect(a) }).await
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
    /// use c10k_runtime::net::UdpSocket;
    /// c10k_runtime::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert!(a.local_addr()?.ip().is_loopback());
    ///     assert_ne!(a.local_addr()?, b.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if [`connect`](Self::connect) was not called.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UdpSocket;
    /// c10k_runtime::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert_eq!(a.peer_addr().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    ///     a.connect(b.local_addr()?).await?;
    ///     assert_eq!(a.peer_addr()?, b.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// # Errors
    ///
    /// `setsockopt` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UdpSocket;
    /// # c10k_runtime::run(async {
    /// #     let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// #     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.set_broadcast(true)?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Sends `buf` as one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// `send(2)` errors (e.g. `ConnectionRefused` reported by an earlier ICMP error).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UdpSocket;
    /// c10k_runtime::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.connect(b.local_addr()?).await?;
    ///     b.connect(a.local_addr()?).await?;
    ///     assert_eq!(a.send(b"ping").await?, 4);
    ///     let mut buf = [0u8; 16];
    ///     assert_eq!(b.recv(&mut buf).await?, 4);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.io.poll_write_with(cx, |s| s.send(buf))).await
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Errors
    ///
    /// `recv(2)` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UdpSocket;
    /// c10k_runtime::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.connect(b.local_addr()?).await?;
    ///     b.connect(a.local_addr()?).await?;
    ///     b.send(b"pong").await?;
    ///     let mut buf = [0u8; 16];
    ///     let n = a.recv(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"pong");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.io.poll_read_with(cx, |s| s.recv(buf))).await
    }

    /// Sends `buf` as one datagram to `target` (resolved first if it is a name).
    ///
    /// # Errors
    ///
    /// Resolution errors; `sendto(2)` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UdpSocket;
    /// c10k_runtime::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert_eq!(a.send_to(b"hello", b.local_addr()?).await?, 5);
    ///     let mut buf = [0u8; 16];
    ///     let (n, from) = b.recv_from(&mut buf).await?;
    ///     assert_eq!((&buf[..n], from), (&b"hello"[..], a.local_addr()?));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        each_addr(&target, |a| {
            std::future::poll_fn(move |cx| self.io.poll_write_with(cx, |s| s.send_to(buf, a)))
        })
        .await
    }

    /// Receives one datagram and its sender's address.
    ///
    /// # Errors
    ///
    /// `recvfrom(2)` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UdpSocket;
    /// c10k_runtime::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     b.send_to(b"hi", a.local_addr()?).await?;
    ///     let mut buf = [0u8; 16];
    ///     let (n, from) = a.recv_from(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"hi");
    ///     assert_eq!(from, b.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// Receives a datagram without removing it from the queue.
    ///
    /// # Errors
    ///
    /// `recvfrom(2)` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UdpSocket;
    /// # c10k_runtime::run(async {
    /// #     let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// #     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.send_to(b"hello", b.local_addr()?).await?;
    ///     let mut buf = [0u8; 16];
    ///     let (n, from) = b.peek_from(&mut buf).await?;
    ///     assert_eq!((n, from), (5, a.local_addr()?));
    ///     let (n, _) = b.recv_from(&mut buf).await?; // still there
    ///     assert_eq!(&buf[..n], b"hello");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std::future::poll_fn(|cx| self.io.poll_read_with(cx, |s| s.peek_from(buf))).await
    }

    /// The poll form of [`recv_from`](Self::recv_from).
    ///
    /// # Errors
    ///
    /// As [`recv_from`](Self::recv_from).
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UdpSocket;
    /// # c10k_runtime::run(async {
    /// #     let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// #     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.send_to(b"poll", b.local_addr()?).await?;
    ///     let mut buf = [0u8; 8];
    ///     let (n, from) = std::future::poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await?;
    ///     assert_eq!((n, from), (4, a.local_addr()?));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_read_with(cx, |s| s.recv_from(buf))
    }

    /// The poll form of [`send_to`](Self::send_to) for an address already resolved.
    ///
    /// # Errors
    ///
    /// As [`send_to`](Self::send_to).
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UdpSocket;
    /// # c10k_runtime::run(async {
    /// #     let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// #     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let to = b.local_addr()?;
    ///     let n = std::future::poll_fn(|cx| a.poll_send_to(cx, b"poll", to)).await?;
    ///     assert_eq!(n, 4);
    ///     let mut buf = [0u8; 8];
    ///     assert_eq!(b.recv_from(&mut buf).await?.0, 4);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write_with(cx, |s| s.send_to(buf, target))
    }

    /// Waits until a datagram is (probably) waiting.
    ///
    /// # Errors
    ///
    /// The runtime shut down.
    ///
    /// Readiness may be spurious: loop over `try_recv_from` until it stops returning
    /// `WouldBlock`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UdpSocket;
    /// # c10k_runtime::run(async {
    /// #     let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// #     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.send_to(b"dgram", b.local_addr()?).await?;
    ///     let mut buf = [0u8; 16];
    ///     let (n, _from) = loop {
    ///         b.readable().await?;
    ///         match b.try_recv_from(&mut buf) {
    ///             Ok(got) => break got,
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///             Err(e) => return Err(e),
    ///         }
    ///     };
    ///     assert_eq!(&buf[..n], b"dgram");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        self.io.readable().await
    }

    /// Waits until a datagram can (probably) be sent.
    ///
    /// # Errors
    ///
    /// The runtime shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UdpSocket;
    /// # c10k_runtime::run(async {
    /// #     let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// #     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let to = b.local_addr()?;
    ///     let n = loop {
    ///         a.writable().await?;
    ///         match a.try_send_to(b"dgram", to) {
    ///             Ok(n) => break n,
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///             Err(e) => return Err(e),
    ///         }
    ///     };
    ///     assert_eq!(n, 5);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        self.io.writable().await
    }

    /// `Ready` if a datagram may be waiting, else stores the waker.
    ///
    /// # Errors
    ///
    /// The runtime shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UdpSocket;
    /// # c10k_runtime::run(async {
    /// #     let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// #     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.send_to(b"x", b.local_addr()?).await?;
    ///     std::future::poll_fn(|cx| b.poll_recv_ready(cx)).await?;
    ///     let mut buf = [0u8; 1];
    ///     b.recv_from(&mut buf).await?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_read_ready(cx)
    }

    /// `Ready` if a datagram may be sent, else stores the waker.
    ///
    /// # Errors
    ///
    /// The runtime shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UdpSocket;
    /// # c10k_runtime::run(async {
    /// #     let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// #     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     std::future::poll_fn(|cx| a.poll_send_ready(cx)).await?;
    ///     a.send_to(b"x", b.local_addr()?).await?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_write_ready(cx)
    }

    /// Receives once from the connected peer without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when nothing is known ready; `recv(2)` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UdpSocket;
    /// # c10k_runtime::run(async {
    /// #     let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// #     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.connect(b.local_addr()?).await?;
    ///     b.connect(a.local_addr()?).await?;
    ///     let mut buf = [0u8; 8];
    ///     a.send(b"ok").await?;
    ///     let n = loop {
    ///         b.readable().await?;
    ///         match b.try_recv(&mut buf) {
    ///             Ok(n) => break n,
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///             Err(e) => return Err(e),
    ///         }
    ///     };
    ///     assert_eq!(&buf[..n], b"ok");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read_with(|s| s.recv(buf))
    }

    /// Receives once without waiting, with the sender's address.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when nothing is known ready; `recvfrom(2)` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UdpSocket;
    /// # c10k_runtime::run(async {
    /// #     let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// #     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let mut buf = [0u8; 8];
    ///     // Nothing was sent: never blocks, reports WouldBlock.
    ///     let err = b.try_recv_from(&mut buf).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_read_with(|s| s.recv_from(buf))
    }

    /// Sends once to the connected peer without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the socket is not known writable; `send(2)` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// # use c10k_runtime::net::UdpSocket;
    /// # c10k_runtime::run(async {
    /// #     let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// #     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.connect(b.local_addr()?).await?;
    ///     a.writable().await?;
    ///     match a.try_send(b"fire and forget") {
    ///         Ok(n) => assert_eq!(n, 15),
    ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {} // wait and retry
    ///         Err(e) => return Err(e),
    ///     }
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write_with(|s| s.send(buf))
    }

    /// Sends once to `target` without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the socket is not known writable; `sendto(2)` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::net::UdpSocket;
    /// c10k_runtime::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let target = b.local_addr()?;
    ///     let n = loop {
    ///         a.writable().await?; // `try_send_to` never waits: learn readiness first
    ///         match a.try_send_to(b"datagram", target) {
    ///             Ok(n) => break n,
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///             Err(e) => return Err(e),
    ///         }
    ///     };
    ///     assert_eq!(n, 8);
    ///     let mut buf = [0u8; 16];
    ///     let (m, from) = b.recv_from(&mut buf).await?;
    ///     assert_eq!((&buf[..m], from), (&b"datagram"[..], a.local_addr()?));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io.try_write_with(|s| s.send_to(buf, target))
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
