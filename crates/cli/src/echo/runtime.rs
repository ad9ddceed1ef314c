//! The `select`, `poll`, `epoll` and `uring` models: the echo server as tasks on the c10k
//! runtime, a task per connection, the runtime's IO driver on the chosen backend (a selector,
//! or the io_uring completion driver).
//!
//! `--threads 1` runs a current-thread runtime (every task on the main thread, as asyncio);
//! `--threads N` runs the multi-thread (work-stealing) scheduler with N workers and N
//! `SO_REUSEPORT` listeners, one accepting task each, so that the kernel spreads connections
//! over the listeners and the registrations over the workers' selectors (each worker has its
//! own, see the runtime's `executor` docs). N separate current-thread runtimes would be the
//! other choice; the lab measures `--threads 1` only, and the work-stealing scheduler is what
//! the issue asks for, so it is the one built.
//!
//! # A connection (why it costs two system calls and no buffer while idle)
//!
//! 1. Reads go into a per-thread 64 KiB scratch buffer ([`SCRATCH`]), borrowed between two
//!    awaits and never across one: an idle connection's task holds no buffer at all, only
//!    its socket and an empty `Vec` (see the test `connection_future_size`).
//! 2. A read shorter than the buffer took everything there was: the task waits for the next
//!    readiness instead of reading again for a `WouldBlock` (the runtime clears the socket's
//!    readiness on a short read, its short-read rule, so the wait is for the next edge): a
//!    request costs one `read` and one `write`, and the `epoll_wait` is shared by every
//!    connection ready at that moment. End of stream is sticky readiness, so a half-close that
//!    arrives with the last data is still seen.
//! 3. The answer is written at once from the scratch buffer; only what the kernel did not take
//!    is copied into the connection's pending output, flushed when the socket becomes
//!    writable. While output is pending the task waits for *either* direction, so a peer
//!    that never reads cannot park the server; past [`PENDING_LIMIT`] bytes it is dropped.
//! 4. A half-close (read returns 0) is answered by flushing what is pending, then closing.
//! 5. A connection that keeps its socket full is made to yield after [`FULL_READS`] full
//!    reads in a row, so it cannot starve the others.
//!
//! # The same task on io_uring (`--model uring`)
//!
//! The code is the same; the driver changes what each step costs (see the runtime's
//! `driver::uring` docs):
//!
//! 1. The first `readable().await` arms one multishot `recv` for the connection, into the
//!    driver's provided buffer group; it stays armed for the life of the connection. Data
//!    arrives as completions; `try_read` copies it from the provided buffer into the scratch
//!    buffer and hands the provided buffer straight back to the group, so an idle
//!    connection holds no receive buffer (nor a scratch buffer: step 1 above).
//! 2. `try_write` appends to the stream's send buffer; at the end of the scheduler turn every
//!    stream written during the turn gets one `send` SQE, and all of them, with the turn's
//!    other SQEs, enter the kernel in **one** `io_uring_enter` that also reaps the next
//!    completions. The system calls per request fall from two (epoll: a `recv` and a `send`)
//!    to one `io_uring_enter` per turn shared by every connection served in it. The send
//!    buffer kept for reuse is at most the runtime's `SPARE_MAX` (4 KiB), in practice the
//!    size of the last answer.
//! 3. `WouldBlock` from `try_write` means the stream's send limit (64 KiB unsent) is reached:
//!    the pending-output path of step 3 above, unchanged.
//! 4. Dropping a peer (an error, or more than [`PENDING_LIMIT`] unsent) resets it explicitly
//!    ([`abort`]): on the ring a dropped stream would otherwise linger until its send in
//!    flight completes, which for a peer that never reads is never.
//!
//! # Accepting
//!
//! The listener is registered with the runtime's driver directly (a
//! [`Registration`]) rather than wrapped in `net::TcpListener`, so that running out of
//! descriptors is visible here (`net::TcpListener` backs off silently). On io_uring that
//! means readiness (`poll_add`) and `accept4(2)` until `EAGAIN`, not the driver's multishot
//! accept: a few system calls per *burst of connections*, never per request, so the echo
//! measurements do not see it, and the exhaustion message and back-off stay the same on
//! every backend: it is logged (`pausing accepts`), and the acceptor sleeps
//! [`ACCEPT_BACKOFF`] on the runtime's timer while the open connections go on being served.
//! A descriptor the backend cannot watch (select(2) past `FD_SETSIZE`) is refused: the
//! connection is closed with a message on stderr (at most one a second).
//!
//! # Shutdown
//!
//! The main task reads Ctrl-C with a task of the runtime ([`Shutdown::listen`]: no signal
//! thread, so the current-thread server is a single-threaded process) and waits for the
//! request, or for an acceptor to fail. On Ctrl-C it aborts the acceptors (closing the
//! listeners), then waits until no connection has pending output ([`Shutdown::drained`]:
//! a connection holding output holds an [`InFlight`] guard), at most `--grace`, and returns;
//! dropping the runtime drops the idle connections.

use std::cell::RefCell;
use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use c10k::net::TcpStream;
use c10k::runtime::driver::{Backend, Interest, Registration};
use c10k::runtime::race::{select, Either};
use c10k::shutdown::{InFlight, Shutdown};

use super::conn::{PENDING_LIMIT, READ_BUFFER};
use super::idle::{IdleTable, Registered};
use super::Options;
use crate::net::{Accepted, ACCEPT_BACKOFF};

/// Full reads in a row after which a connection yields to the others.
const FULL_READS: u32 = 16;

/// Connections open in this process (for the out-of-descriptors message).
static OPEN: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The read buffer of every connection task polled on this thread, allocated at its first
    /// use (a `const` thread-local needs no lazy-initialisation check on each access).
    /// Borrowed only between two awaits, never across one.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Builds the runtime (current-thread for one thread, work-stealing otherwise) and serves
/// every listener on it until Ctrl-C.
pub(super) fn serve(
    listeners: Vec<TcpListener>,
    options: Options,
    backend: Backend,
    threads: usize,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let builder = if threads <= 1 {
        c10k::Builder::new().current_thread()
    } else {
        c10k::Builder::new().multi_thread().worker_threads(threads)
    };
    let runtime = builder
        .backend(backend)
        .thread_name(format!("c10k-{}", backend.name()))
        .build()?;
    runtime.block_on(serve_all(listeners, options, shutdown))
}

async fn serve_all(
    listeners: Vec<TcpListener>,
    options: Options,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    // Detached: it ends the process on the second Ctrl-C, or lives as long as the runtime.
    drop(shutdown.listen()?);
    let idle = options.idle.map(|timeout| {
        let table = Arc::new(IdleTable::default());
        let swept = Arc::clone(&table);
        // Detached: sweeps every quarter of the timeout for as long as the runtime runs.
        drop(c10k::spawn(async move {
            let mut ticks = c10k::time::interval(super::idle::period(timeout));
            loop {
                ticks.tick().await;
                swept.sweep();
            }
        }));
        table
    });
    let mut acceptors = c10k::task::JoinSet::new();
    for listener in listeners {
        let conns = Conns {
            options,
            shutdown: shutdown.clone(),
            idle: idle.clone(),
        };
        acceptors.spawn(accept_loop(listener, conns));
    }
    {
        let failed = std::pin::pin!(acceptors.join_next());
        if let Either::Right((done, _)) = select(shutdown.requested(), failed).await {
            // An acceptor only ends on a runtime error: report it.
            return match done {
                Some(Ok(Ok(()))) | None => Ok(()),
                Some(Ok(Err(e))) => Err(e.into()),
                Some(Err(e)) => Err(anyhow::anyhow!("an acceptor failed: {e}")),
            };
        }
    }
    // 1. Stop accepting: aborting an acceptor drops (closes) its listener.
    acceptors.abort_all();
    while acceptors.join_next().await.is_some() {}
    // 2. Finish the writes in flight, until the grace period ends.
    shutdown.drained().await;
    Ok(())
}

/// What an acceptor hands to each connection it starts.
#[derive(Debug, Clone)]
struct Conns {
    options: Options,
    shutdown: Shutdown,
    /// The idle sweep's table, when `--idle-timeout` is on.
    idle: Option<Arc<IdleTable>>,
}

/// Accepts connections forever, a task each; backs off when descriptors run out.
async fn accept_loop(listener: TcpListener, conns: Conns) -> io::Result<()> {
    // Declared after `listener`, so dropped (deregistered) before the listener closes.
    let reg = Registration::new(listener.as_raw_fd(), Interest::READABLE)?;
    let mut last_refusal_log: Option<Instant> = None;
    loop {
        let accepted = std::future::poll_fn(|cx| {
            reg.poll_read_io(cx, || match crate::net::accept(&listener) {
                Accepted::Conn(fd) => Ok(Ok(fd)),
                Accepted::Empty => Err(io::ErrorKind::WouldBlock.into()),
                Accepted::Exhausted(e) => Ok(Err(e)),
            })
        })
        .await?;
        match accepted {
            Ok(fd) => start_connection(fd, &conns, &mut last_refusal_log),
            Err(e) => {
                crate::net::log_exhausted(&e, OPEN.load(Ordering::Relaxed));
                c10k::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Registers an accepted socket and spawns its task, or refuses it (closes it) if the
/// backend cannot watch it.
fn start_connection(fd: OwnedFd, conns: &Conns, last_log: &mut Option<Instant>) {
    // `accept` gave a non-blocking socket already: `from_std` only re-asserts it.
    match TcpStream::from_std(std::net::TcpStream::from(fd)) {
        Ok(stream) => {
            OPEN.fetch_add(1, Ordering::Relaxed);
            // Detached: the task ends when its peer goes, or with the runtime.
            // Registered before its task starts, so the entry leaves before the socket closes.
            let idle = conns.idle.as_ref().map(|t| t.register(stream.as_raw_fd()));
            drop(c10k::spawn(connection(
                stream,
                conns.options.upper,
                conns.shutdown.clone(),
                idle,
            )));
        }
        Err(e) => {
            super::log_refusal(last_log, OPEN.load(Ordering::Relaxed), &e);
        }
    }
}

/// Output the kernel has not taken yet. Empty (and unallocated) almost always; while not
/// empty it holds an [`InFlight`] guard, so that shutdown waits for it.
#[derive(Debug)]
struct Pending {
    buf: Vec<u8>,
    sent: usize,
    shutdown: Shutdown,
    in_flight: Option<InFlight>,
}

impl Pending {
    fn new(shutdown: Shutdown) -> Pending {
        Pending {
            buf: Vec::new(),
            sent: 0,
            shutdown,
            in_flight: None,
        }
    }

    fn is_empty(&self) -> bool {
        self.sent == self.buf.len()
    }

    /// Writes `data`, keeping what the kernel does not take; false means drop the peer.
    fn send(&mut self, stream: &TcpStream, data: &[u8]) -> bool {
        let mut written = 0;
        if self.is_empty() {
            while written < data.len() {
                match stream.try_write(&data[written..]) {
                    Ok(n) => written += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return false,
                }
            }
            if written == data.len() {
                return true;
            }
        }
        let rest = &data[written..];
        if self.buf.len() - self.sent + rest.len() > PENDING_LIMIT {
            return false;
        }
        if self.is_empty() {
            self.in_flight = Some(self.shutdown.in_flight());
            self.buf.clear();
            self.sent = 0;
        }
        self.buf.extend_from_slice(rest);
        true
    }

    /// Writes what is pending until done or `WouldBlock`; false means drop the peer.
    fn flush(&mut self, stream: &TcpStream) -> bool {
        while !self.is_empty() {
            match stream.try_write(&self.buf[self.sent..]) {
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        // Drained: give the memory back, an idle connection holds no buffer.
        self.buf = Vec::new();
        self.sent = 0;
        self.in_flight = None;
        true
    }
}

/// Counts an open connection until dropped.
#[derive(Debug)]
struct Open;

impl Drop for Open {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What one read step did.
enum Step {
    /// Read and answered `n` bytes.
    Echoed(usize),
    /// Nothing to read until the next readiness event.
    Blocked,
    /// The peer closed its side.
    Eof,
    /// Error, or the peer hoards output: drop the connection.
    Drop,
}

/// Reads once into this thread's scratch buffer and answers; the buffer is released before
/// returning, so it is never held across an await.
fn read_and_echo(stream: &TcpStream, upper: bool, out: &mut Pending) -> Step {
    SCRATCH.with(|scratch| {
        let mut buf = scratch.borrow_mut();
        if buf.is_empty() {
            buf.resize(READ_BUFFER, 0);
        }
        match stream.try_read(&mut buf) {
            Ok(0) => Step::Eof,
            Ok(n) => {
                let data = &mut buf[..n];
                if upper {
                    data.make_ascii_uppercase();
                }
                if out.send(stream, data) {
                    Step::Echoed(n)
                } else {
                    Step::Drop
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Step::Blocked,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Step::Echoed(0),
            Err(_) => Step::Drop,
        }
    })
}

/// Drops a connection at once, with a reset: `SO_LINGER` 0, then `shutdown(2)` of both
/// directions straight on the socket.
///
/// On the selector backends dropping the stream would do (its `close` resets a peer whose
/// data is unread). On io_uring it would not: a dropped stream keeps its descriptor until
/// the send in flight completes (the driver's linger), and a peer that never reads keeps that
/// send in flight forever, so the connection (and its descriptor) would stay. The shutdown
/// ends the send in flight with `EPIPE`, after which the driver closes the socket, abortively.
/// Errors are ignored: this is the last act on a connection already being given up, and it
/// fails only when the socket is already dead.
fn abort(stream: &TcpStream) {
    let _ = rustix::net::sockopt::set_socket_linger(stream, Some(Duration::ZERO));
    let _ = rustix::net::shutdown(stream, rustix::net::Shutdown::Both);
}

/// One connection's task (module docs, "A connection"). `idle` is declared after `stream`,
/// so it is dropped (leaving the idle table) before the socket closes.
async fn connection(stream: TcpStream, upper: bool, shutdown: Shutdown, idle: Option<Registered>) {
    let _open = Open;
    let mut out = Pending::new(shutdown);
    let mut read_closed = false;
    let mut full_reads = 0u32;
    loop {
        if !out.is_empty() {
            if !out.flush(&stream) {
                return abort(&stream);
            }
            if let Some(idle) = &idle {
                idle.touch();
            }
        }
        if !read_closed {
            match read_and_echo(&stream, upper, &mut out) {
                Step::Echoed(n) => {
                    if let Some(idle) = &idle {
                        idle.touch();
                    }
                    if n == READ_BUFFER {
                        full_reads += 1;
                        if full_reads >= FULL_READS {
                            full_reads = 0;
                            c10k::task::yield_now().await;
                        }
                        continue;
                    }
                    if n == 0 {
                        continue; // interrupted
                    }
                    // A short read took everything there was: wait for more rather than
                    // read again for nothing (step 2).
                    full_reads = 0;
                }
                Step::Blocked => full_reads = 0,
                Step::Eof => read_closed = true,
                Step::Drop => return abort(&stream),
            }
        }
        if read_closed {
            if out.is_empty() {
                return;
            }
            if stream.writable().await.is_err() {
                return;
            }
        } else if out.is_empty() {
            if stream.readable().await.is_err() {
                return;
            }
        } else {
            // Output waits: wake for whichever comes first, so that reading goes on (and a
            // peer that never reads reaches the pending limit instead of parking us).
            std::future::poll_fn(|cx| {
                if stream.poll_read_ready(cx).is_ready() || stream.poll_write_ready(cx).is_ready() {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
        }
    }
}

#[cfg(test)]
mod tests {
    /// Guards the "no buffer held by an idle connection" rule: the connection's future is a
    /// socket, an empty `Vec` and a few flags. A read buffer kept across an await would make it
    /// kilobytes.
    #[test]
    fn connection_future_size() {
        let runtime = c10k::Builder::new()
            .current_thread()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let listener = c10k::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let stream = c10k::net::TcpStream::connect(listener.local_addr().expect("addr"))
                .await
                .expect("connect");
            let shutdown = c10k::shutdown::Shutdown::builder()
                .signals(&[])
                .install()
                .expect("shutdown");
            let future = super::connection(stream, false, shutdown, None);
            let size = std::mem::size_of_val(&future);
            eprintln!("connection future: {size} bytes");
            assert!(size <= 256, "connection future is {size} bytes");
        });
    }
}
