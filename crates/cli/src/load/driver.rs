//! One load-generator thread: an edge-triggered epoll loop (`c10k::selector`) driving its
//! share of the connections in closed loop (each connection sends a request, waits for the
//! whole answer, sends the next).
//!
//! Cost per request: one `write` and one `read` (a short read means drained), plus a share
//! of one `epoll_wait`; one clock read per completed request serves as the end of one
//! request and the start of the next. That is what lets one thread keep up with `wrk`.
//!
//! Timeline: connect everything (non-blocking; connect time measured up to the first
//! `WRITABLE`), run until the deadline, then stop issuing requests and give the ones in
//! flight until the drain deadline; whatever is still unanswered then is `unfinished`.
//! Ctrl-C stops it the same way: the shutdown's eventfd is registered with the loop's
//! selector, so the request wakes the loop at once.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use c10k::selector::{Backend, Events, Interest, Selector, Token};
use hdrhistogram::Histogram;
use rustix::io::Errno;
use rustix::net::{self, sockopt, AddressFamily, SocketFlags, SocketType};

use super::http;
use super::Mode;
use crate::shutdown;

/// Connections per source address before the generator spreads over 127.0.0.x (the
/// ephemeral port range holds about 28,000 ports per source address).
const PER_SOURCE: usize = 20_000;

/// The shutdown eventfd's token (connections use their index).
const SHUTDOWN: Token = Token(usize::MAX - 1);

/// What a thread must do.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) mode: Mode,
    /// The selector backend of the readiness loop (epoll).
    pub(crate) backend: Backend,
    /// Run the completion loop on io_uring ([`super::uring`]) instead.
    pub(crate) uring: bool,
    pub(crate) target: SocketAddr,
    /// Global indexes of this thread's connections.
    pub(crate) first: usize,
    pub(crate) count: usize,
    pub(crate) total: usize,
    /// The request bytes (echo payload or HTTP request).
    pub(crate) request: Arc<[u8]>,
    pub(crate) deadline: Instant,
    pub(crate) drain_deadline: Instant,
}

/// What a thread measured.
#[derive(Debug)]
pub(crate) struct Tally {
    pub(crate) requests: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) bytes_received: u64,
    pub(crate) errors: BTreeMap<String, u64>,
    pub(crate) latency_ns: Histogram<u64>,
    pub(crate) connect_ns: Histogram<u64>,
    pub(crate) unfinished: u64,
    /// HTTP keep-alive connections the server retired and the generator re-opened.
    pub(crate) reconnects: u64,
    pub(crate) last_completion: Option<Instant>,
}

impl Tally {
    pub(crate) fn new() -> Tally {
        let histogram = || Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid bounds");
        Tally {
            requests: 0,
            bytes_sent: 0,
            bytes_received: 0,
            errors: BTreeMap::new(),
            latency_ns: histogram(),
            connect_ns: histogram(),
            unfinished: 0,
            reconnects: 0,
            last_completion: None,
        }
    }

    pub(super) fn error(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_default() += 1;
    }

    /// Adds another thread's figures.
    pub(crate) fn merge(&mut self, other: Tally) {
        self.requests += other.requests;
        self.bytes_sent += other.bytes_sent;
        self.bytes_received += other.bytes_received;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        let _ = self.latency_ns.add(&other.latency_ns);
        let _ = self.connect_ns.add(&other.connect_ns);
        self.unfinished += other.unfinished;
        self.reconnects += other.reconnects;
        self.last_completion = self.last_completion.max(other.last_completion);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Active,
    Closed,
}

#[derive(Debug)]
struct Conn {
    fd: Option<OwnedFd>,
    phase: Phase,
    /// Connect start while connecting, request start while active.
    started: Instant,
    sent: usize,
    received: usize,
    /// HTTP: the start of a response that did not arrive in one read.
    partial: Vec<u8>,
}

struct Driver {
    plan: Plan,
    selector: Selector,
    conns: Vec<Conn>,
    buf: Vec<u8>,
    tally: Tally,
    stopping: bool,
    spread: bool,
    open: usize,
}

/// Runs one thread's plan to the end and returns its figures.
pub(crate) fn run(plan: Plan) -> anyhow::Result<Tally> {
    if plan.uring {
        return super::uring::run(plan);
    }
    let spread = spread_from_start(&plan);
    let now = Instant::now();
    let mut driver = Driver {
        selector: Selector::with_backend(plan.backend)?,
        conns: Vec::with_capacity(plan.count),
        buf: vec![0u8; 64 * 1024],
        tally: Tally::new(),
        stopping: false,
        spread,
        open: 0,
        plan,
    };
    for i in 0..driver.plan.count {
        driver.conns.push(Conn {
            fd: None,
            phase: Phase::Closed,
            started: now,
            sent: 0,
            received: 0,
            partial: Vec::new(),
        });
        driver.connect(i);
    }
    driver.run_loop()?;
    Ok(driver.tally)
}

/// Whether a plan starts spread over 127.0.0.x (see [`PER_SOURCE`]).
pub(super) fn spread_from_start(plan: &Plan) -> bool {
    plan.target.ip().is_loopback() && plan.target.is_ipv4() && plan.total > PER_SOURCE
}

/// The source address of global connection `global` once the load is spread.
pub(super) fn source(spread: bool, global: usize) -> Option<SocketAddr> {
    if !spread {
        return None;
    }
    let host = 1 + (global / PER_SOURCE) % 254;
    Some(SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::new(127, 0, 0, host as u8),
        0,
    )))
}

/// A non-blocking TCP socket toward `target` with `TCP_NODELAY`, bound to `source` if given.
pub(super) fn socket(source: Option<SocketAddr>, target: SocketAddr) -> Result<OwnedFd, Errno> {
    let family = if target.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    let fd = net::socket_with(
        family,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    sockopt::set_tcp_nodelay(&fd, true)?;
    if let Some(source) = source {
        net::bind(&fd, &source)?;
    }
    Ok(fd)
}

/// Echo: `data` must be the payload's next bytes after `*received`. `Some(true)` once the
/// whole payload came back.
pub(super) fn check_echo(
    received: &mut usize,
    payload: &[u8],
    data: &[u8],
) -> Result<Option<bool>, String> {
    let end = *received + data.len();
    if end > payload.len() {
        return Err("echo: more bytes than sent".into());
    }
    if data != &payload[*received..end] {
        return Err("echo: wrong bytes".into());
    }
    *received = end;
    Ok((end == payload.len()).then_some(true))
}

/// HTTP: frames the response whose start is in `partial` (empty when `data` starts it).
/// `Some(keep_alive)` once a whole response came; a status outside 2xx is counted.
pub(super) fn check_http(
    partial: &mut Vec<u8>,
    data: &[u8],
    tally: &mut Tally,
) -> Result<Option<bool>, String> {
    let whole: &[u8] = if partial.is_empty() {
        data
    } else {
        partial.extend_from_slice(data);
        partial
    };
    match http::parse(whole) {
        Ok(Some(response)) => {
            if response.len != whole.len() {
                return Err("http: unexpected bytes after response".into());
            }
            if !(200..300).contains(&response.status) {
                tally.error(format!("http: status {}", response.status));
            }
            partial.clear();
            Ok(Some(response.keep_alive))
        }
        Ok(None) => {
            if partial.is_empty() {
                partial.extend_from_slice(data);
            }
            if partial.len() > 16 << 20 {
                return Err("http: response larger than 16 MiB".into());
            }
            Ok(None)
        }
        Err(malformed) => Err(malformed.kind().into()),
    }
}

impl Driver {
    fn source(&self, i: usize) -> Option<SocketAddr> {
        source(self.spread, self.plan.first + i)
    }

    /// Starts a non-blocking connect for connection `i`.
    fn connect(&mut self, i: usize) {
        let attempt = |source: Option<SocketAddr>, target: SocketAddr| -> Result<OwnedFd, Errno> {
            let fd = socket(source, target)?;
            match net::connect(&fd, &target) {
                Ok(()) | Err(Errno::INPROGRESS) => Ok(fd),
                Err(e) => Err(e),
            }
        };
        let mut result = attempt(self.source(i), self.plan.target);
        if matches!(result, Err(Errno::ADDRNOTAVAIL))
            && !self.spread
            && self.plan.target.ip().is_loopback()
        {
            // Out of ephemeral ports toward this target: spread over 127.0.0.x from now on.
            self.spread = true;
            result = attempt(self.source(i), self.plan.target);
        }
        let fd = match result {
            Ok(fd) => fd,
            Err(e) => {
                self.tally
                    .error(format!("connect: {}", crate::errors::short(&e.into())));
                return;
            }
        };
        let interest = Interest::READABLE.add(Interest::WRITABLE).edge();
        if let Err(e) = self.selector.register(fd.as_raw_fd(), Token(i), interest) {
            self.tally
                .error(format!("register: {}", crate::errors::short(&e)));
            return;
        }
        let conn = &mut self.conns[i];
        conn.fd = Some(fd);
        conn.phase = Phase::Connecting;
        conn.started = Instant::now();
        conn.sent = 0;
        conn.received = 0;
        conn.partial.clear();
        self.open += 1;
    }

    fn close(&mut self, i: usize) {
        let conn = &mut self.conns[i];
        if let Some(fd) = conn.fd.take() {
            let _ = self.selector.deregister(fd.as_raw_fd());
            self.open -= 1;
        }
        conn.phase = Phase::Closed;
        conn.partial = Vec::new();
    }

    fn run_loop(&mut self) -> anyhow::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut ready: Vec<(Token, bool, bool, bool)> = Vec::with_capacity(1024);
        let shutdown = shutdown::installed();
        if let Some(shutdown) = shutdown {
            let fd = shutdown.as_fd().as_raw_fd();
            self.selector
                .register(fd, SHUTDOWN, Interest::READABLE.edge())?;
        }
        while self.open > 0 {
            let now = Instant::now();
            let interrupted = shutdown.is_some_and(c10k::shutdown::Shutdown::is_requested);
            if !self.stopping && (now >= self.plan.deadline || interrupted) {
                self.stop();
                continue;
            }
            if now >= self.plan.drain_deadline {
                break;
            }
            let until = if self.stopping {
                self.plan.drain_deadline
            } else {
                self.plan.deadline
            };
            let timeout = until.saturating_duration_since(now) + Duration::from_micros(100);
            match self.selector.select(&mut events, Some(timeout)) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
            ready.clear();
            ready.extend(events.iter().map(crate::net::readiness));
            for &(Token(i), readable, writable, closed) in &ready {
                if i == SHUTDOWN.0 {
                    continue; // seen at the top of the loop
                }
                self.on_event(i, readable, writable, closed);
            }
        }
        for i in 0..self.conns.len() {
            if self.conns[i].phase == Phase::Active {
                self.tally.unfinished += 1;
            }
            self.close(i);
        }
        Ok(())
    }

    /// The deadline passed: connections still connecting are dropped; the ones with a
    /// request in flight finish it (see `complete`).
    fn stop(&mut self) {
        self.stopping = true;
        for i in 0..self.conns.len() {
            if self.conns[i].phase == Phase::Connecting {
                self.close(i);
            }
        }
    }

    fn on_event(&mut self, i: usize, readable: bool, writable: bool, closed: bool) {
        match self.conns[i].phase {
            Phase::Closed => {}
            Phase::Connecting => {
                if writable {
                    self.on_connected(i);
                }
            }
            Phase::Active => {
                if writable && self.conns[i].sent < self.plan.request.len() && !self.send(i) {
                    return;
                }
                if readable {
                    self.receive(i, closed);
                }
            }
        }
    }

    fn on_connected(&mut self, i: usize) {
        let conn = &mut self.conns[i];
        let fd = conn
            .fd
            .as_ref()
            .expect("connecting connections have a socket");
        match sockopt::socket_error(fd) {
            Ok(Ok(())) => {}
            Ok(Err(e)) | Err(e) => {
                self.tally
                    .error(format!("connect: {}", crate::errors::short(&e.into())));
                self.close(i);
                return;
            }
        }
        let now = Instant::now();
        let elapsed = now.duration_since(conn.started).as_nanos() as u64;
        self.tally.connect_ns.saturating_record(elapsed.max(1));
        conn.phase = Phase::Active;
        conn.started = now;
        conn.sent = 0;
        conn.received = 0;
        self.send(i);
    }

    /// Writes the rest of the request; false if the connection was closed.
    fn send(&mut self, i: usize) -> bool {
        let conn = &mut self.conns[i];
        let request = &self.plan.request;
        let fd = conn.fd.as_ref().expect("active connections have a socket");
        while conn.sent < request.len() {
            match rustix::io::write(fd, &request[conn.sent..]) {
                Ok(n) => {
                    conn.sent += n;
                    self.tally.bytes_sent += n as u64;
                }
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => return true,
                Err(e) => {
                    self.tally
                        .error(format!("write: {}", crate::errors::short(&e.into())));
                    self.close(i);
                    return false;
                }
            }
        }
        true
    }

    /// Reads until the answer is complete or a short read (or, when the event reported the
    /// server's half-close, until `WouldBlock` or end of stream).
    fn receive(&mut self, i: usize, closed: bool) {
        loop {
            let conn = &mut self.conns[i];
            let Some(fd) = conn.fd.as_ref() else { return };
            let n = match rustix::io::read(fd, &mut self.buf) {
                Ok(0) => {
                    self.on_eof(i);
                    return;
                }
                Ok(n) => n,
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => return,
                Err(e) => {
                    self.tally
                        .error(format!("read: {}", crate::errors::short(&e.into())));
                    self.close(i);
                    return;
                }
            };
            self.tally.bytes_received += n as u64;
            let done = match self.plan.mode {
                Mode::Echo => self.check_echo(i, n),
                Mode::Http => self.check_http(i, n),
                Mode::Chat => unreachable!("chat mode runs in load/chat.rs"),
            };
            match done {
                Err(kind) => {
                    self.tally.error(kind);
                    self.close(i);
                    return;
                }
                Ok(Some(keep_alive)) => {
                    self.complete(i, keep_alive);
                    return;
                }
                Ok(None) if n < self.buf.len() && !closed => return,
                Ok(None) => {}
            }
        }
    }

    /// Echo: the bytes must be the payload's next bytes (and no more than were sent).
    fn check_echo(&mut self, i: usize, n: usize) -> Result<Option<bool>, String> {
        let conn = &mut self.conns[i];
        if conn.received + n > conn.sent {
            return Err("echo: more bytes than sent".into());
        }
        check_echo(&mut conn.received, &self.plan.request, &self.buf[..n])
    }

    /// HTTP: frames the response. `Some(keep_alive)` once a whole response came.
    fn check_http(&mut self, i: usize, n: usize) -> Result<Option<bool>, String> {
        let conn = &mut self.conns[i];
        check_http(&mut conn.partial, &self.buf[..n], &mut self.tally)
    }

    fn on_eof(&mut self, i: usize) {
        let conn = &self.conns[i];
        let nothing_yet = conn.received == 0 && conn.partial.is_empty();
        self.close(i);
        if self.plan.mode == Mode::Http && nothing_yet && !self.stopping {
            // A keep-alive connection the server retired (nginx's keepalive_requests):
            // reconnect and send the request again, as wrk does.
            self.tally.reconnects += 1;
            self.connect(i);
        } else {
            self.tally.error("closed by server");
        }
    }

    fn complete(&mut self, i: usize, keep_alive: bool) {
        let now = Instant::now();
        let conn = &mut self.conns[i];
        let elapsed = now.duration_since(conn.started).as_nanos() as u64;
        self.tally.latency_ns.saturating_record(elapsed.max(1));
        self.tally.requests += 1;
        self.tally.last_completion = Some(now);
        if self.stopping {
            self.close(i);
            return;
        }
        if !keep_alive {
            self.close(i);
            self.connect(i);
            return;
        }
        conn.started = now;
        conn.sent = 0;
        conn.received = 0;
        self.send(i);
    }
}
