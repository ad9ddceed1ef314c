//! The `threads` model: blocking sockets, one thread per connection (the tutorials' first
//! server, made to scale to 10,000 connections).
//!
//! - Each connection thread has a 256 KiB stack (the default 2 MiB would reserve 20 GiB of
//!   address space at 10,000 connections) and an 8 KiB buffer on it; only the pages it
//!   touches (about 16 KiB) are resident.
//! - Memory comes back after a burst (see "Memory after bursts" below).
//! - A peer that never reads blocks only its own thread; after [`WRITE_TIMEOUT`] without
//!   progress the write fails and the connection is dropped.
//! - `--idle-timeout` is the socket's `SO_RCVTIMEO`: a read that waits that long fails and
//!   the connection is closed (exactly on time; the other models count in quarters).
//! - The acceptor waits with `poll(2)` on the listener and the shutdown's eventfd, so Ctrl-C
//!   wakes it at once; out of descriptors it pauses for
//!   [`crate::net::ACCEPT_BACKOFF`].
//! - Shutdown, in order, so that a client mid-transfer gets the echo of everything the
//!   server read, then an end of stream:
//!   1. the acceptor stops accepting and waits ([`Shutdown::drained_blocking`]) until no
//!      connection has work in flight, at most the grace period;
//!   2. a connection has work in flight from the moment a read returns bytes until their echo
//!      is written ([`Shutdown::in_flight`]); a thread blocked in a read holds none, and is
//!      left to end with the process (its socket then closes with nothing unread: a FIN);
//!   3. a thread that finishes an echo after the request takes no more input: it shuts its
//!      write side down (the FIN follows the echo), then reads and discards what the client
//!      still sends until the client closes or the grace period ends ([`linger`]), so that
//!      closing with unread input does not reset the connection and destroy the echo still
//!      in the kernel's send buffer.
//!
//!   (Shutting the read side of every connection down instead, as before, made a thread
//!   blocked in its write end early and reset its client: 2.8 of 8.4 MB delivered.)
//! - The registry of live connections holds descriptor numbers, not duplicated sockets: one
//!   descriptor per connection (it counts connections for the out-of-descriptors message
//!   and for "Memory after bursts").
//!
//! # Memory after bursts
//!
//! After bursts of 10 000 connections the server's RSS used to creep (4.8 → 31 → 33 → 36 MB,
//! `bench/threads-rss.sh`), for two reasons in glibc, both measured with `/proc/PID/smaps`:
//!
//! 1. **Malloc arenas.** Each thread that frees anything sets up its malloc tcache in one of
//!    up to 8 × cores arenas; the chunks of 10 000 short-lived threads end up scattered
//!    through those arenas (16 of about 850 KiB each here, plus 6.5 MiB of main heap), and
//!    glibc only gives back the top of a heap. Fix: when the last connection of a burst
//!    ([`TRIM_AFTER`] or more at once) leaves, its thread calls `malloc_trim(0)`, which
//!    returns the free pages of every arena.
//! 2. **glibc's stack cache.** glibc keeps the stacks of exited threads for reuse, up to
//!    40 MiB of them, each with its top pages still resident: 600 stacks of 64 KiB, about
//!    10 MB. With 256 KiB stacks the same 40 MiB holds 150 of them. (It can also be turned
//!    off with `GLIBC_TUNABLES=glibc.pthread.stack_cache_size=0` in the environment.)
//!
//! Together: 4.8 → 10–19 MB after each of the same bursts, no longer growing (BENCHMARKS.md,
//! "Servers: Ctrl-C, bursts and memory").

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use c10k::shutdown::{InFlight, Shutdown};
use rustix::event::{PollFd, PollFlags};

use super::Options;
use crate::net::{Accepted, ACCEPT_BACKOFF};

/// Stack size of a connection thread (module docs: why 256 KiB and not 64).
const STACK: usize = 256 * 1024;

/// Connections open at once from which their last one leaving gives the free memory back
/// (module docs, "Memory after bursts"): often enough after a burst, never for a few
/// clients coming and going.
const TRIM_AFTER: usize = 256;

/// A write that makes no progress for this long drops the connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Live connections by id (their descriptors).
///
/// Invariant: a connection thread removes its entry under this lock *before* it closes its
/// socket, so every descriptor in the map is open while the lock is held. Storing the
/// number instead of a `try_clone` keeps one descriptor per connection (10,000 connections
/// must fit the 20,000-descriptor limit).
type Live = Arc<Mutex<Registry>>;

/// The live connections, and the most there were at once since memory was last given back.
#[derive(Debug, Default)]
struct Registry {
    conns: HashMap<u64, RawFd>,
    peak: usize,
}

pub(super) fn serve(
    listeners: Vec<TcpListener>,
    options: Options,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let listener = listeners.into_iter().next().expect("one listener");
    listener.set_nonblocking(true)?;
    let live: Live = Arc::default();
    let mut next_id = 0u64;
    while !shutdown.is_requested() {
        let mut fds = [
            PollFd::new(&listener, PollFlags::IN),
            PollFd::new(&shutdown, PollFlags::IN),
        ];
        match rustix::event::poll(&mut fds, None) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(io::Error::from(e).into()),
        }
        loop {
            match crate::net::accept(&listener) {
                Accepted::Conn(fd) => {
                    let stream = TcpStream::from(fd);
                    next_id += 1;
                    spawn_conn(next_id, stream, &live, options, &shutdown);
                }
                Accepted::Empty => break,
                Accepted::Exhausted(e) => {
                    let open = crate::sync::lock(&live).conns.len();
                    crate::net::log_exhausted(&e, open);
                    // Still wakes for Ctrl-C: the pause is a wait on the eventfd.
                    shutdown.wait_blocking(Some(ACCEPT_BACKOFF))?;
                    break;
                }
            }
        }
    }
    drop(listener);
    shutdown.drained_blocking();
    Ok(())
}

fn spawn_conn(id: u64, stream: TcpStream, live: &Live, options: Options, shutdown: &Shutdown) {
    let setup = || -> io::Result<()> {
        stream.set_nonblocking(false)?;
        stream.set_read_timeout(options.idle)?;
        stream.set_write_timeout(Some(WRITE_TIMEOUT))
    };
    if let Err(e) = setup() {
        eprintln!("c10k: connection setup: {}", crate::errors::short(&e));
        return;
    }
    {
        let mut registry = crate::sync::lock(live);
        registry.conns.insert(id, stream.as_raw_fd());
        registry.peak = registry.peak.max(registry.conns.len());
    }
    let live_conn = Arc::clone(live);
    let shutdown = shutdown.clone();
    let spawned = std::thread::Builder::new()
        .name("c10k-conn".into())
        .stack_size(STACK)
        .spawn(move || {
            let mut stream = stream;
            if let Ok(Ended::Requested(work)) = echo(&mut stream, options.upper, &shutdown) {
                linger(&mut stream, shutdown.deadline());
                drop(work);
            }
            // Leave the registry first, then close (the invariant of `Live`).
            let trim = {
                let mut registry = crate::sync::lock(&live_conn);
                registry.conns.remove(&id);
                let last_of_a_burst = registry.conns.is_empty() && registry.peak >= TRIM_AFTER;
                if last_of_a_burst {
                    registry.peak = 0;
                }
                last_of_a_burst
            };
            drop(stream);
            if trim {
                crate::sys::release_free_memory();
            }
        });
    if let Err(e) = spawned {
        // The socket was closed with the closure; only this (acceptor) thread reads the
        // registry, so the stale entry was never visible to anyone.
        eprintln!(
            "c10k: cannot start a connection thread: {}",
            crate::errors::short(&e)
        );
        crate::sync::lock(live).conns.remove(&id);
    }
}

/// How an echo loop ended.
#[derive(Debug)]
enum Ended {
    /// The client closed its side (or the idle timeout passed).
    Closed,
    /// Shutdown was requested: the connection ends in order, still counted in flight.
    Requested(InFlight),
}

/// The blocking echo loop of one connection (module docs, shutdown steps 2 and 3).
fn echo(stream: &mut TcpStream, upper: bool, shutdown: &Shutdown) -> io::Result<Ended> {
    let mut buf = [0u8; 8 * 1024];
    // Held from a read that returned bytes until the request is looked at again after their
    // echo: a drain never sees zero between an echo and the end in order.
    let mut work: Option<InFlight> = None;
    loop {
        if shutdown.is_requested() {
            let work = work.unwrap_or_else(|| shutdown.in_flight());
            return Ok(Ended::Requested(work));
        }
        // About to wait for the client: nothing in flight.
        work = None;
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(Ended::Closed),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        work = Some(shutdown.in_flight());
        if upper {
            buf[..n].make_ascii_uppercase();
        }
        stream.write_all(&buf[..n])?;
    }
}

/// Most bytes a closing connection reads and discards.
const LINGER_BYTES: usize = 16 << 20;

/// Ends a connection in order after shutdown was requested (module docs, step 3): the FIN
/// follows the echo, and what the client still sends is read and discarded until it closes,
/// the deadline passes, or [`LINGER_BYTES`] went by.
fn linger(stream: &mut TcpStream, deadline: Option<std::time::Instant>) {
    if stream.shutdown(std::net::Shutdown::Write).is_err() {
        return;
    }
    let mut sink = [0u8; 8 * 1024];
    let mut total = 0;
    while total < LINGER_BYTES {
        let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
        if left.is_some_and(|l| l.is_zero()) || stream.set_read_timeout(left).is_err() {
            return;
        }
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => total += n,
        }
    }
}
