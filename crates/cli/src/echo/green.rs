//! The `green` model: a green thread per connection, written in blocking style.
//!
//! The connection code has the shape of the `threads` model (`threads.rs`): `read` into a
//! buffer on the stack, write the answer, a write timeout for a peer that never reads. The
//! answer goes out with a non-blocking `try_write` first (as the runtime models do); only
//! what the socket does not take at once goes through the blocking `write_all`.
//! But each connection is a green thread
//! (`c10k::green`, a stackful coroutine with a 64 KiB guard-paged stack committed as touched),
//! and every blocking call parks only the green thread: the hub runs the others and waits in
//! the runtime's epoll driver, as gevent's monkey-patched sockets do.
//!
//! - `--threads N`: N OS threads, each with its own hub and its own `SO_REUSEPORT` listener
//!   (a green thread never migrates between OS threads, so one hub cannot use more than one
//!   core).
//! - Memory per idle connection: the pages of its stack it touched (its frames and the
//!   [`BUFFER`]-byte buffer), its socket and its bookkeeping. The stacks are also the cost of
//!   this model in CPU: every green thread resumed touches its own stack page, so at 1000
//!   connections each resume starts with a TLB miss and cache misses that the epoll model's
//!   dense futures mostly avoid; the hub prefetches ahead to overlap them (BENCHMARKS.md,
//!   "Green threads").
//! - `--idle-timeout`: not a read timeout (that would arm a timer for every read) but the
//!   runtime models' idle table (`idle.rs`): a read that returned bytes marks the connection
//!   active, a green thread sweeps every quarter of the timeout and shuts a quiet socket
//!   down, and its green thread then reads the end of stream and ends.
//! - Running out of descriptors: as in the runtime models (`runtime.rs`), the listener is
//!   registered with the driver directly rather than wrapped in `net::TcpListener` (which
//!   backs off silently), so that `EMFILE` is seen here: it is logged (`pausing accepts`) and
//!   the acceptor sleeps [`ACCEPT_BACKOFF`] on the hub's timer while the open connections go
//!   on being served.
//! - Shutdown (Ctrl-C), as in the `threads` model: the acceptor stops accepting and waits until
//!   no connection has work in flight (at most the grace period); a connection finishing an
//!   echo after the request first echoes what the client had already sent and is readable
//!   (at most [`DRAIN_BYTES`]), then shuts its write side down and ends; the connections
//!   parked in a read hold nothing in flight and are unwound when the hub ends (their sockets
//!   close with nothing unread: a FIN).

use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::pin::pin;
use std::time::{Duration, Instant};

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use c10k::green::{self, net::TcpStream, Hub};
use c10k::runtime::driver::{Backend, Interest, Registration};
use c10k::shutdown::Shutdown;
use futures_util::future::{select, Either};

use super::idle::{IdleTable, Registered};
use super::Options;
use crate::net::{Accepted, ACCEPT_BACKOFF};

/// Connections open in this process (for the out-of-descriptors message).
static OPEN: AtomicUsize = AtomicUsize::new(0);

/// Stack size of a connection's green thread: address space, committed as used.
const STACK: usize = 64 * 1024;

/// The read buffer, on the green thread's stack: small, so that an idle connection's stack
/// stays near one touched page (tokio's reference server reads into 1 KiB too).
const BUFFER: usize = 1024;

/// A write that makes no progress for this long drops the connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn serve(
    listeners: Vec<TcpListener>,
    options: Options,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let backend: Backend = c10k::selector::Backend::best()
        .name()
        .parse()
        .unwrap_or(Backend::Poll);
    super::run_loops("green", listeners, move |listener| {
        let shutdown = shutdown.clone();
        let hub = Hub::builder().backend(backend).stack_size(STACK);
        green::run_with(hub, move || accept_loop(listener, options, &shutdown))??;
        Ok(())
    })
}

/// The hub's main green thread: accepts until shutdown, then waits for the drain.
fn accept_loop(listener: TcpListener, options: Options, shutdown: &Shutdown) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    // Declared after `listener`, so dropped (deregistered) before the listener closes.
    let reg = Registration::new(listener.as_raw_fd(), Interest::READABLE)?;
    let mut last_refusal_log: Option<Instant> = None;
    let idle = options.idle.map(|timeout| {
        let table = Arc::new(IdleTable::default());
        let swept = Arc::clone(&table);
        // Unwound by the hub when the acceptor returns.
        green::spawn(move || loop {
            green::sleep(super::idle::period(timeout));
            swept.sweep();
        });
        table
    });
    loop {
        let accepted = green::block_on(async {
            let accept = std::future::poll_fn(|cx| {
                reg.poll_read_io(cx, || match crate::net::accept(&listener) {
                    Accepted::Conn(fd) => Ok(Ok(fd)),
                    Accepted::Empty => Err(io::ErrorKind::WouldBlock.into()),
                    Accepted::Exhausted(e) => Ok(Err(e)),
                })
            });
            match select(pin!(accept), pin!(shutdown.requested())).await {
                Either::Left((r, _)) => Some(r),
                Either::Right(((), _)) => None,
            }
        });
        let (stream, open) = match accepted {
            None => break,
            Some(Ok(Ok(fd))) => match start(fd, &mut last_refusal_log) {
                Some(started) => started,
                None => continue,
            },
            Some(Ok(Err(e))) => {
                crate::net::log_exhausted(&e, OPEN.load(Ordering::Relaxed));
                green::sleep(ACCEPT_BACKOFF);
                continue;
            }
            Some(Err(e)) => return Err(e),
        };
        let shutdown = shutdown.clone();
        let registered = idle.as_ref().map(|t| t.register(stream.as_raw_fd()));
        let spawned = green::Builder::new().spawn(move || {
            let _open = open;
            if let Err(e) = connection(stream, options, &shutdown, registered) {
                if !matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset
                        | io::ErrorKind::BrokenPipe
                        | io::ErrorKind::TimedOut
                ) {
                    eprintln!("c10k: connection: {}", crate::errors::short(&e));
                }
            }
        });
        if let Err(e) = spawned {
            eprintln!(
                "c10k: cannot start a green thread: {}",
                crate::errors::short(&e)
            );
        }
    }
    drop(reg);
    drop(listener);
    green::block_on(shutdown.drained());
    Ok(())
}

/// Counts a connection in [`OPEN`] while it lives: moved into its green thread, so dropped
/// when that ends or is unwound, or with the closure if the green thread cannot start.
struct Open;

impl Drop for Open {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Registers an accepted socket with the hub's driver, or closes it with a message (at most
/// one a second) if the backend cannot watch it.
fn start(fd: OwnedFd, last_log: &mut Option<Instant>) -> Option<(TcpStream, Open)> {
    // `accept` gave a non-blocking socket already: `from_std` only re-asserts it.
    match TcpStream::from_std(std::net::TcpStream::from(fd)) {
        Ok(stream) => {
            OPEN.fetch_add(1, Ordering::Relaxed);
            Some((stream, Open))
        }
        Err(e) => {
            super::log_refusal(last_log, OPEN.load(Ordering::Relaxed), &e);
            None
        }
    }
}

/// One connection, blocking style (module docs).
fn connection(
    mut stream: TcpStream,
    options: Options,
    shutdown: &Shutdown,
    idle: Option<Registered>,
) -> io::Result<()> {
    // Declared after `stream`, so dropped before it: the idle table's invariant (an entry
    // leaves before its socket closes).
    let idle = idle;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let mut buf = [0u8; BUFFER];
    loop {
        if shutdown.is_requested() {
            let _work = shutdown.in_flight();
            drain_readable(&stream, &mut buf, options.upper)?;
            return stream.shutdown(std::net::Shutdown::Write);
        }
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if let Some(r) = &idle {
            r.touch();
        }
        if options.upper {
            buf[..n].make_ascii_uppercase();
        }
        write_echo(&stream, &buf[..n], shutdown)?;
    }
}

/// Writes the echo of `data`, marking the connection in flight only if it has to wait.
///
/// From a read that returned bytes until their echo is written, the connection has work in
/// flight. The socket almost always takes the whole echo at once (`try_write`: no timer, no
/// wait); then this green thread never parked in between, so the hub ran nothing else
/// (the acceptor's drain included) and no mark is needed. What the socket does not take is
/// written with the write timeout, under an [`InFlight`](c10k::shutdown::InFlight) mark, as
/// the runtime models' `Pending` buffer does (`runtime.rs`).
fn write_echo(stream: &TcpStream, data: &[u8], shutdown: &Shutdown) -> io::Result<()> {
    let mut written = 0;
    while written < data.len() {
        match stream.as_async().try_write(&data[written..]) {
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let _work = shutdown.in_flight();
                let mut out = stream;
                return out.write_all(&data[written..]);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Most bytes a connection still echoes after shutdown was requested: what the client had
/// already sent then (bounded, so that a client that never stops sending cannot hold the drain).
const DRAIN_BYTES: usize = 1 << 20;

/// Echoes what the client sent before the request and is already readable, without waiting
/// for more: those bytes were in flight when Ctrl-C came, though a [`BUFFER`]-sized read had
/// not reached them yet (the `threads` model's 8 KiB buffer usually holds them in one read).
fn drain_readable(stream: &TcpStream, buf: &mut [u8], upper: bool) -> io::Result<()> {
    let mut left = DRAIN_BYTES;
    while left > 0 {
        let n = match stream.as_async().try_read(buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        };
        if upper {
            buf[..n].make_ascii_uppercase();
        }
        let mut out = stream;
        out.write_all(&buf[..n])?;
        left = left.saturating_sub(n);
    }
    Ok(())
}
