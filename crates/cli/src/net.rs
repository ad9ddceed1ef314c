//! Sockets shared by the programs: addresses given as `HOST:PORT` ([`parse_addr`]),
//! listeners with a large backlog and `SO_REUSEPORT`, and an accept that tells "out of
//! descriptors" apart so callers can back off instead of spinning; and what a selector event
//! means for a connection ([`readiness`]).

use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use c10k::selector::{Event, Token};
use rustix::io::Errno;
use rustix::net::{self, sockopt, AddressFamily, SocketFlags, SocketType};

/// A selector event as the programs' connection loops act on it: `(token, readable,
/// writable, closed)`. An error or a closed read side also counts as readable (the next
/// read returns the error or the end of the stream), an error also as writable (the next
/// write reports it), so a loop that only reacts to readable and writable still sees every
/// end of a connection.
pub(crate) fn readiness(e: &Event) -> (Token, bool, bool, bool) {
    let closed = e.is_error() || e.is_read_closed();
    (
        e.token(),
        e.is_readable() || closed,
        e.is_writable() || e.is_error(),
        closed,
    )
}

/// The listen backlog: large, so bursts of thousands of connects are not dropped.
pub(crate) const BACKLOG: i32 = 4096;

/// How long a server stops accepting after running out of descriptors.
pub(crate) const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Parses `--listen` and `--target`: an IP address and port (`127.0.0.1:7007`, `[::1]:7007`)
/// or a host name and port (`localhost:7007`), resolved once with `getaddrinfo`
/// ([`ToSocketAddrs`]). A name that resolves to several addresses gives the first IPv4 one
/// (so that `localhost` means 127.0.0.1, which `nc 127.0.0.1` and the other programs
/// reach), else the first.
///
/// # Errors
///
/// One line naming the value and why it is not an address (no port, a bad port, a name
/// that does not resolve), for clap to print as a usage error (exit code 2).
pub(crate) fn parse_addr(value: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let Some((host, port)) = value.rsplit_once(':') else {
        return Err(format!(
            "`{value}` is not HOST:PORT (e.g. 127.0.0.1:7007 or localhost:7007)"
        ));
    };
    if host.is_empty() {
        return Err(format!("`{value}` has no host (e.g. 127.0.0.1:{port})"));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`{port}` in `{value}` is not a port (0 to 65535)"))?;
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve `{host}`: {}", crate::errors::short(&e)))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| format!("`{host}` resolves to no address"))
}

/// Binds `count` listeners on `addr` (`SO_REUSEADDR`, and `SO_REUSEPORT` when more than one,
/// so the kernel spreads connections over one loop per listener). With port 0 the first
/// bind picks the port and the others share it.
///
/// # Errors
///
/// One line ready for the user: `cannot bind 127.0.0.1:7007: address in use`.
pub(crate) fn listeners(
    addr: SocketAddr,
    count: usize,
    nonblocking: bool,
) -> anyhow::Result<Vec<TcpListener>> {
    let mut out: Vec<TcpListener> = Vec::with_capacity(count);
    let mut addr_now = addr;
    for _ in 0..count.max(1) {
        let listener = listener(addr_now, count > 1, nonblocking)
            .map_err(|e| anyhow::anyhow!("cannot bind {addr}: {}", crate::errors::short(&e)))?;
        addr_now = listener.local_addr()?;
        out.push(listener);
    }
    Ok(out)
}

fn listener(addr: SocketAddr, reuseport: bool, nonblocking: bool) -> io::Result<TcpListener> {
    let family = if addr.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    let mut flags = SocketFlags::CLOEXEC;
    if nonblocking {
        flags |= SocketFlags::NONBLOCK;
    }
    let fd = net::socket_with(family, SocketType::STREAM, flags, None)?;
    sockopt::set_socket_reuseaddr(&fd, true)?;
    if reuseport {
        sockopt::set_socket_reuseport(&fd, true)?;
    }
    net::bind(&fd, &addr)?;
    net::listen(&fd, BACKLOG)?;
    Ok(TcpListener::from(fd))
}

/// What one non-blocking accept gave.
#[derive(Debug)]
pub(crate) enum Accepted {
    /// A new connection, already non-blocking and close-on-exec.
    Conn(OwnedFd),
    /// The backlog is empty.
    Empty,
    /// Out of descriptors (or kernel memory): stop accepting for a while, then retry.
    Exhausted(io::Error),
}

/// Accepts one connection from a non-blocking listener. Aborted connections and signals
/// are retried; other errors are reported as [`Accepted::Empty`] after logging, since a
/// listener error must not stop the server from serving its connections.
pub(crate) fn accept(listener: impl AsFd) -> Accepted {
    loop {
        match net::accept_with(&listener, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC) {
            Ok(fd) => return Accepted::Conn(fd),
            Err(Errno::AGAIN) => return Accepted::Empty,
            Err(Errno::INTR | Errno::CONNABORTED | Errno::PROTO) => continue,
            Err(e @ (Errno::MFILE | Errno::NFILE | Errno::NOBUFS | Errno::NOMEM)) => {
                return Accepted::Exhausted(e.into())
            }
            Err(e) => {
                eprintln!("c10k: accept: {}", crate::errors::short(&e.into()));
                return Accepted::Empty;
            }
        }
    }
}

/// Logs running out of descriptors, at most once per backoff period of a loop.
pub(crate) fn log_exhausted(e: &io::Error, open: usize) {
    eprintln!(
        "c10k: accept: {} with {open} connections open; pausing accepts for {} ms",
        crate::errors::short(e),
        ACCEPT_BACKOFF.as_millis()
    );
}

/// Parses a duration flag in seconds: a finite, non-negative number (fractions allowed).
///
/// # Errors
///
/// A message for clap when the text is not such a number.
pub(crate) fn parse_secs(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && (0.0..=86_400.0 * 365.0).contains(&secs) => Ok(secs),
        _ => Err(format!(
            "'{text}' is not a number of seconds between 0 and a year"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_host_names_parse() {
        assert_eq!(
            parse_addr("127.0.0.1:7007"),
            Ok(([127, 0, 0, 1], 7007).into())
        );
        assert_eq!(
            parse_addr("[::1]:80"),
            Ok(SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 80)))
        );
        // `localhost` is in /etc/hosts: no DNS involved.
        let local = parse_addr("localhost:7007").expect("localhost resolves");
        assert!(local.ip().is_loopback(), "{local}");
        assert_eq!(local.port(), 7007);
    }

    #[test]
    fn bad_addresses_say_why_in_one_line() {
        for (value, why) in [
            ("localhost", "is not HOST:PORT"),
            (":7007", "has no host"),
            ("localhost:99999", "is not a port"),
            ("localhost:http", "is not a port"),
        ] {
            let e = parse_addr(value).unwrap_err();
            assert!(e.contains(why), "{value}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }
}
