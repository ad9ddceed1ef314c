//! Helpers shared by the selector's integration tests.
#![allow(dead_code, unreachable_pub)]

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use c10k_selector::{Events, Selector};

/// Descriptor budget guard. Tests run in parallel in one process, which may
/// hold at most 20000 descriptors, and the select backend needs small
/// descriptor values. Ordinary tests take it shared; tests that open
/// thousands of descriptors, or that close a registered descriptor and rely
/// on its number not being reused, take it exclusively.
static FDS: RwLock<()> = RwLock::new(());

pub fn fds_shared() -> RwLockReadGuard<'static, ()> {
    FDS.read().unwrap_or_else(|e| e.into_inner())
}

pub fn fds_exclusive() -> RwLockWriteGuard<'static, ()> {
    FDS.write().unwrap_or_else(|e| e.into_inner())
}

/// The bound on every wait that is expected to return with an event: long
/// enough for a loaded 2-core machine, short enough to fail a hung test.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A connected, non-blocking pair of Unix stream sockets.
pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
    let (a, b) = UnixStream::pair()?;
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    Ok((a, b))
}

/// A connected pair of TCP sockets over loopback, both non-blocking.
pub fn tcp_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    client.set_nonblocking(true)?;
    server.set_nonblocking(true)?;
    Ok((client, server))
}

/// Waits (bounded by [`PATIENCE`]) until `select` returns at least one event.
pub fn select_some(selector: &Selector, events: &mut Events) -> io::Result<usize> {
    let n = selector.select(events, Some(PATIENCE))?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no event within {PATIENCE:?}"),
        ));
    }
    Ok(n)
}

/// Reads until `WouldBlock`; returns the bytes read.
pub fn drain(mut stream: impl Read) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(out),
            Err(e) => return Err(e),
        }
    }
}

/// Writes all of `data` to a socket with room for it.
pub fn send(mut stream: impl Write, data: &[u8]) -> io::Result<()> {
    stream.write_all(data)
}
