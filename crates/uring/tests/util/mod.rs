//! Helpers shared by the uring crate's integration tests.
#![allow(dead_code, unreachable_pub)]

use std::io;
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, RawFd};
use std::time::{Duration, Instant};

use c10k_uring::{Completion, Ring};

/// The bound on every wait that is expected to end with a completion: long
/// enough for a loaded 2-core machine, short enough to fail a hung test.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A connected pair of blocking TCP sockets over loopback: (client, server).
/// Reads on the client time out after [`PATIENCE`].
pub fn tcp_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    client.set_read_timeout(Some(PATIENCE))?;
    Ok((client, server))
}

/// One turn: submit, wait (bounded) for at least one completion, reap all.
/// Fails with `TimedOut` if nothing completed within [`PATIENCE`].
pub fn turn(ring: &mut Ring) -> io::Result<Vec<Completion>> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        ring.submit_and_wait(1, Some(PATIENCE))?;
        let mut out = Vec::new();
        let delivered = ring.reap(|c| out.push(c));
        // A wake or an internal completion ends a wait with nothing to show.
        if delivered > 0 {
            return Ok(out);
        }
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no completion within {PATIENCE:?}"),
            ));
        }
    }
}

/// Turns until `on` returns `true` for a completion, bounded by
/// `max_turns` and [`PATIENCE`] per turn; `on` sees every completion.
pub fn drive(
    ring: &mut Ring,
    max_turns: usize,
    mut on: impl FnMut(&mut Ring, Completion) -> io::Result<bool>,
) -> io::Result<()> {
    for _ in 0..max_turns {
        let mut done = false;
        for c in turn(ring)? {
            done |= on(ring, c)?;
        }
        if done {
            return Ok(());
        }
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("not done after {max_turns} turns"),
    ))
}

/// Turns until no operation is in flight, bounded by `max_turns` and
/// [`PATIENCE`] per turn; `on` sees every completion delivered.
pub fn settle(
    ring: &mut Ring,
    max_turns: usize,
    mut on: impl FnMut(Completion) -> io::Result<()>,
) -> io::Result<()> {
    let mut result = Ok(());
    for _ in 0..max_turns {
        if ring.in_flight() == 0 {
            return result;
        }
        ring.submit_and_wait(1, Some(PATIENCE))?;
        ring.reap(|c| {
            if result.is_ok() {
                result = on(c);
            }
        });
    }
    result?;
    ensure(ring.in_flight() == 0, || {
        format!(
            "{} ops still in flight after {max_turns} turns",
            ring.in_flight()
        )
    })
}

/// Makes the next close of `stream` send a RST instead of a FIN
/// (`SO_LINGER` with a zero timeout).
pub fn set_linger_zero(stream: &impl AsFd) -> io::Result<()> {
    rustix::net::sockopt::set_socket_linger(stream, Some(Duration::ZERO))?;
    Ok(())
}

/// The number of descriptors this process has open.
pub fn open_fds() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/fd")?.count())
}

/// Whether `fd` is open.
pub fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only inspects the descriptor table.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// Resident set size of this process, in KiB.
pub fn rss_kib() -> io::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad /proc/self/statm"))?;
    Ok(pages * 4)
}

/// Fails with `InvalidData` and `what` unless `cond`.
pub fn ensure(cond: bool, what: impl FnOnce() -> String) -> io::Result<()> {
    if cond {
        Ok(())
    } else {
        Err(io::Error::new(io::ErrorKind::InvalidData, what()))
    }
}
