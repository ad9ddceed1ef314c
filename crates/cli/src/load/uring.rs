//! One load-generator thread on io_uring (`--backend uring`): the completion-shaped twin of
//! the epoll loop in [`super::driver`], with the same plan, timeline and measurements.
//!
//! Each connection has one multishot `recv` armed for its whole life, into a provided
//! buffer group shared by the thread (grown on `ENOBUFS` up to a cap, then the receive is
//! re-armed once buffers are back). A request is one `send` submission; its answer is one
//! or more receive completions. Every turn is **one** `io_uring_enter`
//! ([`Ring::submit_and_wait`]): it submits the sends queued by the previous turn's
//! completions and waits for the next completions; reaping them is no system call. One
//! clock read per completed request serves as the end of one request and the start of the
//! next, as in the epoll loop.
//!
//! A request is complete when its whole answer arrived **and** its send's completion came
//! back (the send buffer is the ring's until then; buffers are recycled, so nothing is
//! allocated per request). Connects are `IORING_OP_CONNECT` (connect time up to its
//! completion). Closing a connection cancels and detaches its operations and closes the
//! socket through the ring, after them in the submission queue, so no queued operation can
//! reach a reused descriptor number. Ctrl-C: a `poll` on the shutdown eventfd ends the wait.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use c10k_uring::{BufGroup, Completion, Op, OpId, Ring};
use rustix::io::Errno;

use super::driver::{self, Plan, Tally};
use super::Mode;
use crate::shutdown;

/// What a completion is for: the low bits of its tag.
const CONNECT: u64 = 0;
const SEND: u64 = 1;
const RECV: u64 = 2;
const CLOSE: u64 = 3;
/// The tag of the poll on the shutdown eventfd (connections' tags hold their index).
const SHUTDOWN: u64 = u64::MAX;

/// The provided buffers: at most this many (the pool starts smaller and grows on
/// `ENOBUFS`), of [`buf_size`] bytes each.
const MAX_BUFFERS: u16 = 4096;
const FIRST_BUFFERS: u16 = 256;

fn tag(i: usize, generation: u32, kind: u64) -> u64 {
    (u64::from(generation) << 34) | (kind << 32) | i as u64
}

fn untag(tag: u64) -> (usize, u32, u64) {
    (
        (tag & 0xffff_ffff) as usize,
        (tag >> 34) as u32,
        (tag >> 32) & 3,
    )
}

/// The receive buffer size: the payload (echo) rounded up to a power of two, between 4 KiB
/// and 64 KiB; 16 KiB for HTTP.
fn buf_size(plan: &Plan) -> u32 {
    match plan.mode {
        Mode::Echo => (plan.request.len().next_power_of_two() as u32).clamp(4096, 64 * 1024),
        Mode::Http | Mode::Chat => 16 * 1024,
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
    /// Bumped at every close: completions of an older socket carry an older generation.
    generation: u32,
    /// Connect start while connecting, request start while active.
    started: Instant,
    /// Bytes of the request the kernel confirmed sent.
    sent: usize,
    /// A send of this connection is in the ring.
    sending: bool,
    received: usize,
    /// `Some(keep_alive)` once the whole answer came (the request completes when its
    /// send's completion is back too).
    answered: Option<bool>,
    partial: Vec<u8>,
    connect: Option<OpId>,
    send: Option<OpId>,
    recv: Option<OpId>,
}

struct Driver {
    plan: Plan,
    ring: Ring,
    group: BufGroup,
    /// Request buffers not in the ring (one per send in flight at most).
    spare: Vec<Vec<u8>>,
    conns: Vec<Conn>,
    tally: Tally,
    stopping: bool,
    spread: bool,
    open: usize,
    /// Connections whose receive ended for lack of buffers, re-armed after the turn.
    starved: Vec<usize>,
}

/// Runs one thread's plan to the end on io_uring and returns its figures.
pub(crate) fn run(plan: Plan) -> anyhow::Result<Tally> {
    let count = plan.count.max(1);
    let sq = (count.next_power_of_two() as u32).clamp(64, 4096);
    let cq = (2 * count.next_power_of_two() as u32).clamp(2 * sq, 65536);
    let mut ring = Ring::builder().entries(sq).cq_entries(cq).build()?;
    let first = FIRST_BUFFERS.min(count.next_power_of_two() as u16);
    let group = ring.register_buf_group(
        BufGroup::builder(0)
            .buf_size(buf_size(&plan))
            .count(first)
            .capacity(MAX_BUFFERS),
    )?;
    let now = Instant::now();
    let mut driver = Driver {
        spread: driver::spread_from_start(&plan),
        ring,
        group,
        spare: Vec::new(),
        conns: Vec::with_capacity(plan.count),
        tally: Tally::new(),
        stopping: false,
        open: 0,
        starved: Vec::new(),
        plan,
    };
    for i in 0..driver.plan.count {
        driver.conns.push(Conn {
            fd: None,
            phase: Phase::Closed,
            generation: 0,
            started: now,
            sent: 0,
            sending: false,
            received: 0,
            answered: None,
            partial: Vec::new(),
            connect: None,
            send: None,
            recv: None,
        });
        driver.connect(i);
    }
    driver.run_loop()?;
    Ok(driver.tally)
}

impl Driver {
    /// Pushes `op` for connection `i`; a push failure closes the connection with an error.
    fn push(&mut self, i: usize, kind: u64, op: Op) -> Option<OpId> {
        let t = tag(i, self.conns[i].generation, kind);
        match self.ring.push(op, t) {
            Ok(id) => Some(id),
            Err(e) => {
                self.tally
                    .error(format!("io_uring: {}", crate::errors::short(e.error())));
                None
            }
        }
    }

    /// Opens a socket for connection `i` and queues its connect.
    fn connect(&mut self, i: usize) {
        let source = driver::source(self.spread, self.plan.first + i);
        let fd = match driver::socket(source, self.plan.target) {
            Ok(fd) => fd,
            Err(e) => {
                self.tally
                    .error(format!("connect: {}", crate::errors::short(&e.into())));
                return;
            }
        };
        let raw = fd.as_raw_fd();
        let conn = &mut self.conns[i];
        conn.fd = Some(fd);
        conn.phase = Phase::Connecting;
        conn.started = Instant::now();
        self.open += 1;
        let target = self.plan.target;
        match self.push(i, CONNECT, Op::connect(raw, target)) {
            Some(id) => self.conns[i].connect = Some(id),
            None => self.close(i),
        }
    }

    /// Cancels and forgets connection `i`'s operations and closes its socket through the
    /// ring (after them in the queue).
    fn close(&mut self, i: usize) {
        let conn = &mut self.conns[i];
        let ids = [conn.connect.take(), conn.send.take(), conn.recv.take()];
        let fd = conn.fd.take();
        conn.phase = Phase::Closed;
        conn.partial = Vec::new();
        conn.sending = false;
        conn.answered = None;
        conn.generation = conn.generation.wrapping_add(1) & 0x3fff_ffff;
        for id in ids.into_iter().flatten() {
            // A stale id (the op already finished) makes both no-ops.
            let _ = self.ring.cancel(id);
            self.ring.detach(id);
        }
        if let Some(fd) = fd {
            self.open -= 1;
            if let Err(e) = self.ring.push(Op::close(fd), tag(i, 0, CLOSE)) {
                // Not queued: submit what is (operations that name this number take their
                // reference to the socket then), then close it here.
                let (op, _) = e.into_parts();
                let _ = self.ring.submit();
                drop(op);
            }
        }
    }

    fn run_loop(&mut self) -> anyhow::Result<()> {
        let shutdown = shutdown::installed();
        if let Some(shutdown) = shutdown {
            let fd: RawFd = shutdown.as_fd().as_raw_fd();
            self.ring
                .push(Op::poll(fd, libc::POLLIN as u32), SHUTDOWN)
                .map_err(|e| anyhow::anyhow!("io_uring: {}", e.error()))?;
        }
        let mut done: Vec<Completion> = Vec::with_capacity(1024);
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
            self.ring.submit_and_wait(1, Some(timeout))?;
            done.clear();
            self.ring.reap(|c| done.push(c));
            for c in done.drain(..) {
                self.on_completion(c);
            }
            self.rearm_starved();
        }
        for i in 0..self.conns.len() {
            if self.conns[i].phase == Phase::Active {
                self.tally.unfinished += 1;
            }
            if self.conns[i].phase != Phase::Closed {
                self.close(i);
            }
        }
        // Hand the closes to the kernel; dropping the ring cancels what is left.
        let _ = self.ring.submit();
        Ok(())
    }

    /// The deadline passed: connections still connecting are dropped; the ones with a
    /// request in flight finish it.
    fn stop(&mut self) {
        self.stopping = true;
        for i in 0..self.conns.len() {
            if self.conns[i].phase == Phase::Connecting {
                self.close(i);
            }
        }
    }

    fn on_completion(&mut self, mut c: Completion) {
        if c.tag() == SHUTDOWN {
            return; // seen at the top of the loop
        }
        let (i, generation, kind) = untag(c.tag());
        if kind == CLOSE {
            return;
        }
        let conn = &mut self.conns[i];
        if conn.generation != generation || conn.phase == Phase::Closed {
            return; // an older socket's: what it carries is dropped with it
        }
        match kind {
            CONNECT => {
                conn.connect = None;
                self.on_connected(i, c.result());
            }
            SEND => {
                if c.is_final() {
                    conn.send = None;
                    conn.sending = false;
                }
                let buf = c.take_buf();
                self.on_sent(i, c.result(), buf);
            }
            _ => {
                if c.is_final() {
                    conn.recv = None;
                }
                self.on_received(i, &mut c);
            }
        }
    }

    fn on_connected(&mut self, i: usize, result: std::io::Result<u32>) {
        if let Err(e) = result {
            if e.raw_os_error() == Some(Errno::ADDRNOTAVAIL.raw_os_error())
                && !self.spread
                && self.plan.target.ip().is_loopback()
            {
                // Out of ephemeral ports toward this target: spread over 127.0.0.x.
                self.spread = true;
                self.close(i);
                self.connect(i);
                return;
            }
            self.tally
                .error(format!("connect: {}", crate::errors::short(&e)));
            self.close(i);
            return;
        }
        let now = Instant::now();
        let conn = &mut self.conns[i];
        let elapsed = now.duration_since(conn.started).as_nanos() as u64;
        self.tally.connect_ns.saturating_record(elapsed.max(1));
        conn.phase = Phase::Active;
        conn.started = now;
        if self.arm_recv(i) {
            self.send_request(i);
        }
    }

    /// Arms connection `i`'s multishot receive; false if the connection was closed.
    fn arm_recv(&mut self, i: usize) -> bool {
        let Some(fd) = self.conns[i].fd.as_ref().map(AsRawFd::as_raw_fd) else {
            return false;
        };
        let op = Op::recv_multi(fd, &self.group);
        match self.push(i, RECV, op) {
            Some(id) => {
                self.conns[i].recv = Some(id);
                true
            }
            None => {
                self.close(i);
                false
            }
        }
    }

    /// Starts the next request of connection `i`.
    fn send_request(&mut self, i: usize) {
        let conn = &mut self.conns[i];
        conn.sent = 0;
        conn.received = 0;
        conn.answered = None;
        let buf = self
            .spare
            .pop()
            .unwrap_or_else(|| self.plan.request.to_vec());
        self.push_send(i, buf);
    }

    fn push_send(&mut self, i: usize, buf: Vec<u8>) {
        let Some(fd) = self.conns[i].fd.as_ref().map(AsRawFd::as_raw_fd) else {
            self.spare.push(buf);
            return;
        };
        let offset = self.conns[i].sent;
        match self.push(i, SEND, Op::send(fd, buf, offset)) {
            Some(id) => {
                let conn = &mut self.conns[i];
                conn.send = Some(id);
                conn.sending = true;
            }
            None => self.close(i),
        }
    }

    fn on_sent(&mut self, i: usize, result: std::io::Result<u32>, buf: Option<Vec<u8>>) {
        let n = match result {
            Ok(n) => n as usize,
            Err(e) => {
                if let Some(buf) = buf {
                    self.spare.push(buf);
                }
                self.tally
                    .error(format!("write: {}", crate::errors::short(&e)));
                self.close(i);
                return;
            }
        };
        self.tally.bytes_sent += n as u64;
        let conn = &mut self.conns[i];
        conn.sent += n;
        let Some(buf) = buf else { return };
        if conn.sent < buf.len() {
            self.push_send(i, buf);
            return;
        }
        self.spare.push(buf);
        if let Some(keep_alive) = self.conns[i].answered {
            self.complete(i, keep_alive);
        }
    }

    fn on_received(&mut self, i: usize, c: &mut Completion) {
        let n = match c.result() {
            Ok(0) => {
                self.on_eof(i);
                return;
            }
            Ok(n) => n as usize,
            Err(_) if c.is_no_buffers() => {
                // The data waits in the socket: grow the pool if it may, re-arm after this
                // turn's completions gave their buffers back.
                let _ = self.ring.grow_buf_group(&self.group, FIRST_BUFFERS);
                self.starved.push(i);
                return;
            }
            Err(e) => {
                self.tally
                    .error(format!("read: {}", crate::errors::short(&e)));
                self.close(i);
                return;
            }
        };
        self.tally.bytes_received += n as u64;
        let Some(buf) = c.take_provided() else {
            self.tally.error("read: completion without a buffer");
            self.close(i);
            return;
        };
        let conn = &mut self.conns[i];
        let done = if conn.answered.is_some() {
            Err(match self.plan.mode {
                Mode::Echo => "echo: more bytes than sent".to_string(),
                Mode::Http | Mode::Chat => "http: unexpected bytes after response".to_string(),
            })
        } else {
            match self.plan.mode {
                Mode::Echo => driver::check_echo(&mut conn.received, &self.plan.request, &buf),
                Mode::Http => driver::check_http(&mut conn.partial, &buf, &mut self.tally),
                Mode::Chat => unreachable!("chat mode runs in load/chat.rs"),
            }
        };
        drop(buf);
        let rearm = c.is_final();
        match done {
            Err(kind) => {
                self.tally.error(kind);
                self.close(i);
                return;
            }
            Ok(Some(keep_alive)) => {
                let conn = &mut self.conns[i];
                conn.answered = Some(keep_alive);
                if !conn.sending && conn.sent == self.plan.request.len() {
                    self.complete(i, keep_alive);
                }
            }
            Ok(None) => {}
        }
        if rearm && self.conns[i].phase == Phase::Active && self.conns[i].recv.is_none() {
            self.arm_recv(i);
        }
    }

    /// Re-arms the receives that ended for lack of buffers.
    fn rearm_starved(&mut self) {
        let mut starved = std::mem::take(&mut self.starved);
        for &i in &starved {
            if self.conns[i].phase == Phase::Active && self.conns[i].recv.is_none() {
                self.arm_recv(i);
            }
        }
        starved.clear();
        self.starved = starved;
    }

    fn on_eof(&mut self, i: usize) {
        let conn = &self.conns[i];
        let nothing_yet = conn.received == 0 && conn.partial.is_empty();
        self.close(i);
        if self.plan.mode == Mode::Http && nothing_yet && !self.stopping {
            // A keep-alive connection the server retired: reconnect and send again.
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
        self.send_request(i);
    }
}
