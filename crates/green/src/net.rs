//! Blocking-style sockets for green threads: gevent's monkey-patched `socket`.
//!
//! [`TcpListener`], [`TcpStream`] and [`UdpSocket`] have the shape of `std::net`'s (and
//! [`TcpStream`] implements [`std::io::Read`] and [`std::io::Write`], for `&TcpStream` too),
//! but each call that would block parks only the calling green thread: underneath is the
//! runtime's socket (`c10k_runtime::net`), registered with the hub's driver (epoll, poll,
//! select, or io_uring completions), and the call is [`block_on`](crate::block_on()) of the
//! runtime's `async fn`. A call that can complete at once (data already buffered) never
//! switches.
//!
//! They must be created and used on a green thread of a hub (they panic elsewhere, since the
//! socket belongs to the hub's driver). Like the green thread, a socket never changes thread.
//!
//! # Examples
//!
//! The tutorials' gevent echo server, one green thread per connection:
//!
//! ```
//! use std::io::{Read, Write};
//! use c10k_green::{self as green, net::{TcpListener, TcpStream}};
//!
//! green::run(|| -> std::io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let addr = listener.local_addr()?;
//!     green::spawn(move || -> std::io::Result<()> {
//!         let (mut conn, _) = listener.accept()?;
//!         green::spawn(move || {
//!             let mut buf = [0u8; 1024];
//!             loop {
//!                 let n = conn.read(&mut buf)?;
//!                 if n == 0 {
//!                     return Ok::<_, std::io::Error>(());
//!                 }
//!                 conn.write_all(&buf[..n])?;
//!             }
//!         });
//!         Ok(())
//!     });
//!     let mut client = TcpStream::connect(addr)?;
//!     client.write_all(b"hello green")?;
//!     let mut reply = [0u8; 11];
//!     client.read_exact(&mut reply)?;
//!     assert_eq!(&reply, b"hello green");
//!     Ok(())
//! })??;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::cell::Cell;
use std::fmt;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::{pin, Pin};
use std::time::Duration;

use futures_io::AsyncWrite;

use crate::block_on;

fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    // Name resolution is blocking in std; a green thread doing it blocks its hub while the
    // resolver runs (gevent's default resolver does the same). Literal addresses cost nothing.
    Ok(addr.to_socket_addrs()?.collect())
}

fn first_ok<T>(
    addrs: Vec<SocketAddr>,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in addrs {
        match f(a) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to use")))
}

/// A TCP listener whose `accept` parks only the green thread.
pub struct TcpListener {
    inner: c10k_runtime::net::TcpListener,
}

impl TcpListener {
    /// Binds to `addr` (each resolved address in turn) and listens.
    ///
    /// # Errors
    ///
    /// The bind or listen error of the last address tried.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let addrs = resolve(addr)?;
        first_ok(addrs, |a| {
            block_on(c10k_runtime::net::TcpListener::bind(a)).map(|inner| TcpListener { inner })
        })
    }

    /// Wraps a bound, listening `std` listener (it is made non-blocking and registered with
    /// the hub's driver).
    ///
    /// # Errors
    ///
    /// If it cannot be registered.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        c10k_runtime::net::TcpListener::from_std(listener).map(|inner| TcpListener { inner })
    }

    /// Accepts a connection, parking the green thread until one arrives.
    ///
    /// # Errors
    ///
    /// The `accept` error (descriptor limit reached, ...).
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        block_on(self.inner.accept()).map(|(s, a)| (TcpStream::wrap(s), a))
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// From `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The runtime's listener underneath, for async code on the same hub thread.
    pub fn as_async(&self) -> &c10k_runtime::net::TcpListener {
        &self.inner
    }
}

/// A TCP stream whose reads and writes park only the green thread.
///
/// Timeouts work as `std`'s: with [`set_read_timeout`](Self::set_read_timeout) a read that
/// waits that long fails with [`io::ErrorKind::TimedOut`] (measured on the hub's timer);
/// likewise writes.
pub struct TcpStream {
    inner: c10k_runtime::net::TcpStream,
    read_timeout: Cell<Option<Duration>>,
    write_timeout: Cell<Option<Duration>>,
}

/// Runs `fut` on the green thread, failing with `TimedOut` after `limit` if there is one.
///
/// The deadline is taken, and the timer armed, only if `fut` cannot complete at once: most
/// reads and writes of a busy socket do, and they then cost no clock read and no timer
/// (a server with a write timeout would otherwise pay both on every answer it writes).
/// The limit still counts from before the first wait.
fn with_timeout<T>(
    limit: Option<Duration>,
    fut: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let Some(d) = limit else {
        return block_on(fut);
    };
    let mut fut = pin!(fut);
    if let Some(ready) = crate::hub::poll_once(fut.as_mut()) {
        return ready;
    }
    match block_on(c10k_runtime::time::timeout(d, fut)) {
        Ok(r) => r,
        Err(_elapsed) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the socket's timeout elapsed",
        )),
    }
}

impl TcpStream {
    /// Connects to `addr` (each resolved address in turn), parking the green thread while the
    /// handshake runs.
    ///
    /// # Errors
    ///
    /// The connect error of the last address tried.
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let addrs = resolve(addr)?;
        first_ok(addrs, |a| {
            block_on(c10k_runtime::net::TcpStream::connect(a)).map(TcpStream::wrap)
        })
    }

    /// Wraps a connected `std` stream.
    ///
    /// # Errors
    ///
    /// If it cannot be registered with the hub's driver.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        c10k_runtime::net::TcpStream::from_std(stream).map(TcpStream::wrap)
    }

    /// Wraps a stream of the runtime (e.g. accepted by async code on the same hub thread).
    pub fn from_async(stream: c10k_runtime::net::TcpStream) -> TcpStream {
        TcpStream::wrap(stream)
    }

    fn wrap(inner: c10k_runtime::net::TcpStream) -> TcpStream {
        TcpStream {
            inner,
            read_timeout: Cell::new(None),
            write_timeout: Cell::new(None),
        }
    }

    /// Makes a read that waits longer than `timeout` fail with `TimedOut` (`None`: wait
    /// forever, the default).
    ///
    /// # Errors
    ///
    /// A zero duration is `InvalidInput`, as in `std`.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        check_timeout(timeout)?;
        self.read_timeout.set(timeout);
        Ok(())
    }

    /// Makes a write that waits longer than `timeout` fail with `TimedOut` (`write_all`:
    /// the whole of it).
    ///
    /// # Errors
    ///
    /// A zero duration is `InvalidInput`, as in `std`.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        check_timeout(timeout)?;
        self.write_timeout.set(timeout);
        Ok(())
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// From `getpeername`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// From `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Sets `TCP_NODELAY`.
    ///
    /// # Errors
    ///
    /// From `setsockopt`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.inner.set_nodelay(on)
    }

    /// Shuts down one or both directions.
    ///
    /// # Errors
    ///
    /// From `shutdown(2)`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }

    /// The runtime's stream underneath, for async code on the same hub thread.
    pub fn as_async(&self) -> &c10k_runtime::net::TcpStream {
        &self.inner
    }
}

fn check_timeout(timeout: Option<Duration>) -> io::Result<()> {
    if timeout == Some(Duration::ZERO) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot set a zero duration timeout",
        ));
    }
    Ok(())
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        with_timeout(self.read_timeout.get(), self.inner.read(buf))
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        with_timeout(self.write_timeout.get(), self.inner.write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        with_timeout(self.write_timeout.get(), self.inner.write_all(buf))
    }

    /// On the readiness backends writes reach the kernel at once and this returns at once;
    /// on io_uring it parks until the buffered bytes are sent.
    fn flush(&mut self) -> io::Result<()> {
        let mut s = &self.inner;
        block_on(poll_fn(|cx| Pin::new(&mut s).poll_flush(cx)))
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        (&*self).write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self).flush()
    }
}

/// A UDP socket whose receives and sends park only the green thread.
pub struct UdpSocket {
    inner: c10k_runtime::net::UdpSocket,
}

impl UdpSocket {
    /// Binds to `addr` (each resolved address in turn).
    ///
    /// # Errors
    ///
    /// The bind error of the last address tried.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let addrs = resolve(addr)?;
        first_ok(addrs, |a| {
            block_on(c10k_runtime::net::UdpSocket::bind(a)).map(|inner| UdpSocket { inner })
        })
    }

    /// Sets the default peer of [`send`](Self::send) and filters [`recv`](Self::recv).
    ///
    /// # Errors
    ///
    /// From `connect(2)`.
    pub fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let addrs = resolve(addr)?;
        first_ok(addrs, |a| block_on(self.inner.connect(a)))
    }

    /// Sends a datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// From `send(2)`.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        block_on(self.inner.send(buf))
    }

    /// Receives a datagram from the connected peer, parking until one arrives.
    ///
    /// # Errors
    ///
    /// From `recv(2)`.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        block_on(self.inner.recv(buf))
    }

    /// Sends a datagram to `target`.
    ///
    /// # Errors
    ///
    /// From `sendto(2)`.
    pub fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        block_on(self.inner.send_to(buf, target))
    }

    /// Receives a datagram and its sender, parking until one arrives.
    ///
    /// # Errors
    ///
    /// From `recvfrom(2)`.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        block_on(self.inner.recv_from(buf))
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// From `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

macro_rules! fd_and_debug {
    ($($T:ident),*) => {$(
        impl AsFd for $T {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.inner.as_fd()
            }
        }

        impl AsRawFd for $T {
            fn as_raw_fd(&self) -> RawFd {
                self.inner.as_raw_fd()
            }
        }

        impl fmt::Debug for $T {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($T))
                    .field("fd", &self.inner.as_raw_fd())
                    .finish()
            }
        }
    )*};
}

fd_and_debug!(TcpListener, TcpStream, UdpSocket);
