//! The socket system calls of `net`, through `rustix`: every descriptor is created
//! non-blocking and close-on-exec in the same call (`SOCK_NONBLOCK | SOCK_CLOEXEC`,
//! `accept4`), so no extra `fcntl` is spent and no descriptor leaks into a child process
//! spawned concurrently by another thread.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::io::Errno;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

/// `recv(2)` without flags: a stream socket's read, as rustix's direct system call (no libc
/// wrapper, no `errno` round trip, no `io::Error` built for a `WouldBlock`).
#[inline]
pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    rustix::net::recv(fd, buf, RecvFlags::empty()).map(|(n, _)| n)
}

/// `send(2)` with `MSG_NOSIGNAL`: writing to a peer that has gone returns `EPIPE` instead of
/// raising `SIGPIPE` (std's `TcpStream::write` does the same).
#[inline]
pub(crate) fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> Result<usize, Errno> {
    rustix::net::send(fd, buf, SendFlags::NOSIGNAL)
}

/// The `listen(2)` backlog. The kernel caps it at `net.core.somaxconn` (4096 on current
/// Linux). std uses 128, which overflows when thousands of clients connect at once and
/// turns into one-second SYN retransmits.
pub(crate) const BACKLOG: i32 = 4096;

pub(crate) fn family(addr: &SocketAddr) -> AddressFamily {
    match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    }
}

pub(crate) fn socket(family: AddressFamily, ty: SocketType) -> io::Result<OwnedFd> {
    Ok(rustix::net::socket_with(
        family,
        ty,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?)
}

/// Starts a non-blocking connect. `Ok(true)`: in progress, wait for writability.
pub(crate) fn connect(
    fd: impl AsFd,
    addr: &impl rustix::net::addr::SocketAddrArg,
) -> io::Result<bool> {
    match rustix::net::connect(fd, addr) {
        Ok(()) => Ok(false),
        Err(rustix::io::Errno::INPROGRESS) => Ok(true),
        Err(e) => Err(e.into()),
    }
}

/// After a non-blocking connect reported writability: `Ok(true)` connected, `Ok(false)` not
/// yet (a spurious wakeup), `Err` the connect error.
pub(crate) fn connect_finished(fd: impl AsFd) -> io::Result<bool> {
    let fd = fd.as_fd();
    if let Err(e) = rustix::net::sockopt::socket_error(fd)? {
        return Err(e.into());
    }
    match rustix::net::getpeername(fd) {
        Ok(_) => Ok(true),
        Err(rustix::io::Errno::NOTCONN) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A TCP listener bound to `addr`, with `SO_REUSEADDR` (so a restarted server can rebind
/// while old connections sit in `TIME_WAIT`).
pub(crate) fn tcp_listen(addr: &SocketAddr) -> io::Result<OwnedFd> {
    let fd = socket(family(addr), SocketType::STREAM)?;
    rustix::net::sockopt::set_socket_reuseaddr(&fd, true)?;
    rustix::net::bind(&fd, addr)?;
    rustix::net::listen(&fd, BACKLOG)?;
    Ok(fd)
}

/// `accept4(NONBLOCK | CLOEXEC)`.
pub(crate) fn accept(fd: impl AsFd) -> io::Result<(OwnedFd, Option<rustix::net::SocketAddrAny>)> {
    Ok(rustix::net::acceptfrom_with(
        fd,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
    )?)
}

/// Whether an `accept` error means "out of descriptors or kernel memory": retrying at once
/// would fail again, so the listener backs off.
pub(crate) fn is_resource_exhausted(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(code) if code == libc::EMFILE || code == libc::ENFILE || code == libc::ENOBUFS || code == libc::ENOMEM)
}

/// Whether an `accept` error concerns only the connection being accepted (it was reset
/// before we took it): try the next one.
pub(crate) fn is_connection_error(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(code) if code == libc::ECONNABORTED || code == libc::EPROTO || code == libc::EPERM)
}
