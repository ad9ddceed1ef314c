//! The `sigio` model: signal-driven IO.
//!
//! 1. Every socket (the listener too) is made non-blocking and `O_ASYNC`, owned by the loop's
//!    thread (`F_SETOWN_EX`, `F_OWNER_TID`), with `F_SETSIG` set to a real-time signal: the
//!    kernel then queues one signal per readiness change, carrying the descriptor in
//!    `si_fd`, instead of a bare `SIGIO` that would say nothing about which socket.
//! 2. The signals are blocked in every thread and consumed synchronously from a signalfd,
//!    up to 64 per `read(2)`; `poll(2)` waits on the signalfd and on the shutdown's eventfd,
//!    so Ctrl-C wakes the loop without a timeout. No signal handler runs, so no
//!    async-signal-safety puzzle.
//! 3. For each signal: the listener accepts until empty; a connection flushes pending output
//!    and reads until a short read. Every arrival (data or end of stream) queues its own
//!    signal, so a short read cannot hide an end of stream. A stale signal for a closed (or
//!    reused) descriptor just meets `WouldBlock`.
//! 4. Overflow: the real-time queue is bounded (`RLIMIT_SIGPENDING`). When it overflows the
//!    kernel sends plain `SIGIO`; the loop then empties the queue and scans every socket,
//!    which is always correct since every operation is non-blocking.
//!
//! `--idle-timeout`: the `poll(2)` ends at the next sweep (every quarter of the timeout),
//! which closes the connections quiet for four of them (`idle.rs`).
//!
//! It is edge-triggered by nature and costs a signal queue entry per event; the lab shows
//! where that lands between poll and epoll.

use std::net::TcpListener;
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};

use c10k::shutdown::Shutdown;

use super::conn::{Conn, Next, READ_BUFFER};
use super::idle::Sweeps;
use super::Options;
use crate::net::{Accepted, ACCEPT_BACKOFF};
use crate::sys;

pub(super) fn serve(
    listeners: Vec<TcpListener>,
    options: Options,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    super::run_loops("sigio", listeners, move |listener| {
        Loop::new(listener, options)?.run(&shutdown)
    })
}

struct Loop {
    listener: Option<TcpListener>,
    listen_fd: i32,
    conns: Vec<Option<Conn>>,
    open: usize,
    buf: Vec<u8>,
    options: Options,
    tid: i32,
    signal: libc::c_int,
    paused_until: Option<Instant>,
}

impl Loop {
    fn new(listener: TcpListener, options: Options) -> anyhow::Result<Loop> {
        let tid = rustix::thread::gettid().as_raw_nonzero().get();
        let signal = sys::sigio_signal();
        sys::set_signal_driven(listener.as_fd(), tid, signal)?;
        Ok(Loop {
            listen_fd: listener.as_raw_fd(),
            listener: Some(listener),
            conns: Vec::new(),
            open: 0,
            buf: vec![0u8; READ_BUFFER],
            options,
            tid,
            signal,
            paused_until: None,
        })
    }

    fn run(mut self, shutdown: &Shutdown) -> anyhow::Result<()> {
        let sfd = sys::signalfd(&sys::sigio_signals())?;
        let mut infos = Vec::with_capacity(64);
        let mut drain_deadline = None;
        // Connections may have queued before O_ASYNC was set: no signal will announce them.
        self.accept_all();
        let mut sweeps = Sweeps::new(self.options.idle);
        loop {
            if sweeps.due(Instant::now()) {
                self.sweep();
            }
            if drain_deadline.is_none() && shutdown.is_requested() {
                self.listener = None;
                drain_deadline = shutdown.deadline();
            }
            let now = Instant::now();
            let mut timeout = sweeps.wait(now);
            if let Some(deadline) = drain_deadline {
                let pending = self.conns.iter().flatten().any(Conn::has_pending);
                if now >= deadline || !pending {
                    return Ok(());
                }
                timeout = Some(timeout.map_or(deadline - now, |d| d.min(deadline - now)));
            }
            if let Some(t) = self.paused_until {
                if now >= t {
                    self.accept_all();
                } else {
                    timeout = Some(timeout.map_or(t - now, |d: Duration| d.min(t - now)));
                }
            }
            let timeout = timeout.map(|d| {
                // Rounded up: a wait never ends before the time it was asked to last.
                let ms = d.as_millis().saturating_add(1).min(u128::from(u32::MAX)) as u64;
                rustix::time::Timespec::try_from(Duration::from_millis(ms)).expect("bounded")
            });
            // The eventfd only until the request was seen: it stays readable after that.
            let watched = if drain_deadline.is_none() { 2 } else { 1 };
            let mut fds = [
                PollFd::new(&sfd, PollFlags::IN),
                PollFd::new(shutdown, PollFlags::IN),
            ];
            match rustix::event::poll(&mut fds[..watched], timeout.as_ref()) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(std::io::Error::from(e).into()),
            }
            let mut overflow = false;
            while sys::read_signals(sfd.as_fd(), &mut infos)? > 0 {
                for info in &infos {
                    if info.signo == libc::SIGIO {
                        overflow = true;
                    } else if info.fd == self.listen_fd {
                        self.accept_all();
                    } else {
                        self.serve(info.fd, false);
                    }
                }
                if overflow {
                    break;
                }
            }
            if overflow {
                // Empty the queue (its entries are now meaningless), then look at everything.
                while sys::read_signals(sfd.as_fd(), &mut infos)? > 0 {}
                self.accept_all();
                for fd in 0..self.conns.len() {
                    self.serve(fd as i32, true);
                }
            }
        }
    }

    /// Closes the connections quiet for long enough (`idle.rs`).
    fn sweep(&mut self) {
        for slot in &mut self.conns {
            if slot.as_mut().is_some_and(|c| c.quiet.sweep()) {
                *slot = None;
                self.open -= 1;
            }
        }
    }

    fn accept_all(&mut self) {
        if self.paused_until.is_some_and(|t| Instant::now() < t) {
            return;
        }
        self.paused_until = None;
        loop {
            let Some(listener) = &self.listener else {
                return;
            };
            match crate::net::accept(listener) {
                Accepted::Conn(fd) => {
                    if let Err(e) = sys::set_signal_driven(fd.as_fd(), self.tid, self.signal) {
                        eprintln!("c10k: sigio setup: {}", crate::errors::short(&e));
                        continue;
                    }
                    let raw = fd.as_raw_fd() as usize;
                    if self.conns.len() <= raw {
                        self.conns.resize_with(raw + 1, || None);
                    }
                    self.conns[raw] = Some(Conn::new(fd));
                    self.open += 1;
                    // Bytes (or an end of stream) that arrived before O_ASYNC was set
                    // raise no signal: read until `WouldBlock` once.
                    self.serve(raw as i32, true);
                }
                Accepted::Empty => return,
                Accepted::Exhausted(e) => {
                    crate::net::log_exhausted(&e, self.open);
                    self.paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                    return;
                }
            }
        }
    }

    fn serve(&mut self, fd: i32, until_blocked: bool) {
        let Some(slot) = usize::try_from(fd).ok().and_then(|i| self.conns.get_mut(i)) else {
            return;
        };
        let Some(conn) = slot else { return };
        let mut next = conn.on_writable();
        if next != Next::Close {
            next = conn.on_readable(&mut self.buf, self.options.upper, until_blocked);
        }
        if next == Next::Close {
            *slot = None;
            self.open -= 1;
            // A descriptor came back: a paused acceptor may retry now.
            if self.paused_until.is_some() {
                self.paused_until = Some(Instant::now());
            }
        }
    }
}
