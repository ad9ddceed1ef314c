//! The `reactor` model: the tutorials' "callbacks on a selector", written by hand. One
//! single-threaded event loop per listener directly on `c10k::selector`, no tasks and no
//! futures (`--backend select|poll|epoll`, default epoll; `--threads N` runs N loops over
//! `SO_REUSEPORT` listeners). The `select`, `poll` and `epoll` models run the same protocol
//! as tasks on the c10k runtime (`runtime.rs`); this loop is kept beside them as the floor
//! they are measured against.
//!
//! Readiness protocol:
//!
//! - epoll (edge-triggered): a connection is registered once for `READABLE | WRITABLE`
//!   and never re-registered. Edges only fire on changes, so an idle connection costs
//!   nothing and a request costs one `read` and one `write` (the short-read rule of
//!   [`conn`](super::conn)); `WRITABLE` edges only matter after a partial write.
//! - select and poll (level-triggered): a connection is watched for `READABLE`, plus
//!   `WRITABLE` only while it has pending output (otherwise every wait would report it).
//! - The listener accepts until the backlog is empty. Out of descriptors, it is
//!   deregistered for [`ACCEPT_BACKOFF`] (or until a connection closes), then re-armed,
//!   so the loop neither spins nor stops serving the others.
//! - select(2) cannot watch descriptors at or above `FD_SETSIZE`: such connections are
//!   refused (closed) with a message on stderr, and the loop goes on.
//! - `--idle-timeout`: the wait ends at the next sweep (every quarter of the timeout), which
//!   closes the connections quiet for four of them (`idle.rs`).
//! - Ctrl-C: the shutdown's eventfd is registered like a socket (token [`SHUTDOWN`]), so the
//!   loop sleeps without a timeout and the request wakes it. It then deregisters the eventfd
//!   (which stays readable) and the listener, and serves on until no connection has pending
//!   output or the grace period ended.

use std::net::TcpListener;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::{Duration, Instant};

use c10k::selector::{Backend, Events, Interest, Selector, Token};

use c10k::shutdown::Shutdown;

use super::conn::{Conn, Next, READ_BUFFER};
use super::idle::Sweeps;
use super::Options;
use crate::net::{Accepted, ACCEPT_BACKOFF};

/// The listener's token; connections use their descriptor number, and `usize::MAX` is the
/// selector's own.
const LISTENER: Token = Token(usize::MAX - 1);

/// The shutdown eventfd's token.
const SHUTDOWN: Token = Token(usize::MAX - 2);

pub(super) fn serve(
    listeners: Vec<TcpListener>,
    options: Options,
    backend: Backend,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    super::run_loops(backend.name(), listeners, move |listener| {
        Loop::new(listener, options, backend)?.run(&shutdown)
    })
}

/// A connection and whether `WRITABLE` is currently part of its registration.
#[derive(Debug)]
struct Slot {
    conn: Conn,
    watching_write: bool,
}

struct Loop {
    selector: Selector,
    edge: bool,
    listener: Option<TcpListener>,
    listener_registered: bool,
    /// Connections indexed by descriptor number (the token is the descriptor).
    conns: Vec<Option<Slot>>,
    open: usize,
    buf: Vec<u8>,
    options: Options,
    paused_until: Option<Instant>,
    last_refusal_log: Option<Instant>,
}

impl Loop {
    fn new(listener: TcpListener, options: Options, backend: Backend) -> anyhow::Result<Loop> {
        let selector = Selector::with_backend(backend)?;
        let edge = backend == Backend::Epoll;
        let mut this = Loop {
            selector,
            edge,
            listener: Some(listener),
            listener_registered: false,
            conns: Vec::new(),
            open: 0,
            buf: vec![0u8; READ_BUFFER],
            options,
            paused_until: None,
            last_refusal_log: None,
        };
        this.arm_listener()?;
        Ok(this)
    }

    fn interest(&self, write: bool) -> Interest {
        if self.edge {
            Interest::READABLE.add(Interest::WRITABLE).edge()
        } else if write {
            Interest::READABLE.add(Interest::WRITABLE)
        } else {
            Interest::READABLE
        }
    }

    fn arm_listener(&mut self) -> anyhow::Result<()> {
        if let (Some(listener), false) = (&self.listener, self.listener_registered) {
            let interest = if self.edge {
                Interest::READABLE.edge()
            } else {
                Interest::READABLE
            };
            self.selector
                .register(listener.as_raw_fd(), LISTENER, interest)?;
            self.listener_registered = true;
        }
        Ok(())
    }

    fn disarm_listener(&mut self) {
        if let (Some(listener), true) = (&self.listener, self.listener_registered) {
            let _ = self.selector.deregister(listener.as_raw_fd());
            self.listener_registered = false;
        }
    }

    fn run(mut self, shutdown: &Shutdown) -> anyhow::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut ready: Vec<(Token, bool, bool, bool)> = Vec::with_capacity(1024);
        let mut drain_deadline = None;
        let shutdown_interest = if self.edge {
            Interest::READABLE.edge()
        } else {
            Interest::READABLE
        };
        self.selector
            .register(shutdown.as_fd().as_raw_fd(), SHUTDOWN, shutdown_interest)?;
        self.accept_all()?;
        let mut sweeps = Sweeps::new(self.options.idle);
        loop {
            let now = Instant::now();
            if sweeps.due(now) {
                self.sweep();
            }
            // Looked at before every wait; the eventfd covers a request that comes later.
            if drain_deadline.is_none() && shutdown.is_requested() {
                self.selector.deregister(shutdown.as_fd().as_raw_fd())?;
                self.disarm_listener();
                self.listener = None;
                self.paused_until = None;
                drain_deadline = shutdown.deadline();
            }
            let mut timeout = sweeps.wait(now);
            if let Some(deadline) = drain_deadline {
                let pending = self.conns.iter().flatten().any(|s| s.conn.has_pending());
                let now = Instant::now();
                if now >= deadline || !pending {
                    return Ok(());
                }
                timeout = Some(timeout.map_or(deadline - now, |t| t.min(deadline - now)));
            }
            if let Some(t) = self.paused_until {
                let now = Instant::now();
                if now >= t {
                    self.paused_until = None;
                    self.arm_listener()?;
                    self.accept_all()?;
                } else {
                    let pause = t - now + Duration::from_millis(1);
                    timeout = Some(timeout.map_or(pause, |d| d.min(pause)));
                }
            }
            match self.selector.select(&mut events, timeout) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
            ready.clear();
            ready.extend(events.iter().map(|e| {
                let closed = e.is_error() || e.is_read_closed();
                (
                    e.token(),
                    e.is_readable() || closed,
                    e.is_writable() || e.is_error(),
                    closed,
                )
            }));
            for &(token, readable, writable, closed) in &ready {
                if token == LISTENER {
                    self.accept_all()?;
                } else if token == SHUTDOWN {
                    // Seen at the top of the loop.
                } else {
                    self.serve(token.0, readable, writable, closed);
                }
            }
        }
    }

    fn accept_all(&mut self) -> anyhow::Result<()> {
        loop {
            let Some(listener) = &self.listener else {
                return Ok(());
            };
            if self.paused_until.is_some() {
                return Ok(());
            }
            match crate::net::accept(listener) {
                Accepted::Conn(fd) => self.add(fd),
                Accepted::Empty => return Ok(()),
                Accepted::Exhausted(e) => {
                    crate::net::log_exhausted(&e, self.open);
                    self.disarm_listener();
                    self.paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                    return Ok(());
                }
            }
        }
    }

    fn add(&mut self, fd: std::os::fd::OwnedFd) {
        let raw: RawFd = fd.as_raw_fd();
        let index = raw as usize;
        if let Err(e) = self
            .selector
            .register(raw, Token(index), self.interest(false))
        {
            super::log_refusal(&mut self.last_refusal_log, self.open, &e);
            return;
        }
        if self.conns.len() <= index {
            self.conns.resize_with(index + 1, || None);
        }
        self.conns[index] = Some(Slot {
            conn: Conn::new(fd),
            watching_write: false,
        });
        self.open += 1;
    }

    fn serve(&mut self, index: usize, readable: bool, writable: bool, closed: bool) {
        let Some(Some(slot)) = self.conns.get_mut(index) else {
            return;
        };
        let mut next = Next::Keep {
            pending: slot.conn.has_pending(),
        };
        if writable && slot.conn.has_pending() {
            next = slot.conn.on_writable();
        }
        if readable && next != Next::Close {
            next = slot
                .conn
                .on_readable(&mut self.buf, self.options.upper, closed);
        }
        let watching = slot.watching_write;
        match next {
            Next::Close => self.close(index),
            Next::Keep { pending } if !self.edge && pending != watching => {
                slot.watching_write = pending;
                let interest = self.interest(pending);
                if self
                    .selector
                    .reregister(index as RawFd, Token(index), interest)
                    .is_err()
                {
                    self.close(index);
                }
            }
            Next::Keep { .. } => {}
        }
    }

    /// Closes the connections quiet for long enough (`idle.rs`).
    fn sweep(&mut self) {
        for index in 0..self.conns.len() {
            if let Some(slot) = &mut self.conns[index] {
                if slot.conn.quiet.sweep() {
                    self.close(index);
                }
            }
        }
    }

    fn close(&mut self, index: usize) {
        if let Some(slot) = self.conns[index].take() {
            let _ = self.selector.deregister(slot.conn.fd.as_raw_fd());
            self.open -= 1;
            // A descriptor came back: a paused acceptor may retry now.
            if self.paused_until.is_some() {
                self.paused_until = Some(Instant::now());
            }
        }
    }
}
