//! The `threads` model: blocking sockets, one thread per connection (the tutorials' first
//! server, made to scale to 10,000 connections).
//!
//! - Each connection thread has a 64 KiB stack (the default 2 MiB would reserve 20 GiB of
//!   address space at 10,000 connections) and an 8 KiB buffer on it.
//! - A peer that never reads blocks only its own thread; after [`WRITE_TIMEOUT`] without
//!   progress the write fails and the connection is dropped.
//! - The acceptor waits with `poll(2)` and a timeout so it sees Ctrl-C; out of descriptors
//!   it pauses for [`crate::net::ACCEPT_BACKOFF`].
//! - Shutdown: stop accepting, shut down the read side of every live connection (its
//!   thread then writes what it has read and exits), wait for them up to
//!   [`DRAIN`](super::DRAIN). The registry of live connections holds descriptor numbers,
//!   not duplicated sockets: one descriptor per connection.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};

use super::Options;
use crate::net::{Accepted, ACCEPT_BACKOFF};
use crate::shutdown;

/// Stack size of a connection thread.
const STACK: usize = 64 * 1024;

/// A write that makes no progress for this long drops the connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Live connections by id (their descriptors), kept so shutdown can unblock their threads.
///
/// Invariant: a connection thread removes its entry under this lock *before* it closes its
/// socket, so every descriptor in the map is open while the lock is held. Storing the
/// number instead of a `try_clone` keeps one descriptor per connection (10,000 connections
/// must fit the 20,000-descriptor limit).
type Live = Arc<Mutex<HashMap<u64, RawFd>>>;

pub(super) fn serve(listeners: Vec<TcpListener>, options: Options) -> anyhow::Result<()> {
    let listener = listeners.into_iter().next().expect("one listener");
    listener.set_nonblocking(true)?;
    let live: Live = Arc::default();
    let mut next_id = 0u64;
    let tick = rustix::time::Timespec::try_from(shutdown::TICK).expect("small duration");
    while !shutdown::requested() {
        let mut fds = [PollFd::new(&listener, PollFlags::IN)];
        match rustix::event::poll(&mut fds, Some(&tick)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(io::Error::from(e).into()),
        }
        loop {
            match crate::net::accept(&listener) {
                Accepted::Conn(fd) => {
                    let stream = TcpStream::from(fd);
                    next_id += 1;
                    spawn_conn(next_id, stream, &live, options);
                }
                Accepted::Empty => break,
                Accepted::Exhausted(e) => {
                    let open = live.lock().unwrap_or_else(PoisonError::into_inner).len();
                    crate::net::log_exhausted(&e, open);
                    std::thread::sleep(ACCEPT_BACKOFF);
                    break;
                }
            }
        }
    }
    drop(listener);
    for &fd in live.lock().unwrap_or_else(PoisonError::into_inner).values() {
        // SAFETY: entries are removed under this lock before their socket closes (see
        // `Live`), and the lock is held for the whole loop.
        unsafe { crate::sys::shutdown_read(fd) };
    }
    let deadline = Instant::now() + super::DRAIN;
    while Instant::now() < deadline
        && !live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

fn spawn_conn(id: u64, stream: TcpStream, live: &Live, options: Options) {
    let setup = || -> io::Result<()> {
        stream.set_nonblocking(false)?;
        stream.set_write_timeout(Some(WRITE_TIMEOUT))
    };
    if let Err(e) = setup() {
        eprintln!("c10k: connection setup: {}", crate::errors::short(&e));
        return;
    }
    live.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id, stream.as_raw_fd());
    let live_conn = Arc::clone(live);
    let spawned = std::thread::Builder::new()
        .name("c10k-conn".into())
        .stack_size(STACK)
        .spawn(move || {
            let mut stream = stream;
            let _ = echo(&mut stream, options.upper);
            // Leave the registry first, then close (the invariant of `Live`).
            live_conn
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
            drop(stream);
        });
    if let Err(e) = spawned {
        // The socket was closed with the closure; only this (acceptor) thread reads the
        // registry, so the stale entry was never visible to anyone.
        eprintln!(
            "c10k: cannot start a connection thread: {}",
            crate::errors::short(&e)
        );
        live.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }
}

/// The blocking echo loop of one connection.
fn echo(stream: &mut TcpStream, upper: bool) -> io::Result<()> {
    let mut buf = [0u8; 8 * 1024];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if upper {
            buf[..n].make_ascii_uppercase();
        }
        stream.write_all(&buf[..n])?;
    }
}
