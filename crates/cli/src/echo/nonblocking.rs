//! The `nonblocking` model: the tutorials' busy-polling loop (seed 004, section 三).
//!
//! Every socket is non-blocking and the loop never waits: it tries to accept, then tries to
//! read every connection, then tries to flush every connection with pending output, and
//! starts over. It answers quickly, but each pass costs one system call per connection
//! whether or not anything arrived, so it burns a whole CPU even with no traffic, and its
//! cost per request grows with the number of idle connections. The lab shows that cost.
//!
//! `--idle-timeout`: each pass looks at the clock, and every quarter of the timeout the pass
//! sweeps (`idle.rs`).
//!
//! Ctrl-C: each pass looks at [`Shutdown::is_requested`] (one atomic load; the loop never
//! sleeps, so it needs no wake-up), then stops accepting and keeps passing until no
//! connection has pending output or the grace period ended.

use std::net::TcpListener;
use std::time::Instant;

use c10k::shutdown::Shutdown;

use super::conn::{Conn, Next, READ_BUFFER};
use super::idle::Sweeps;
use super::Options;
use crate::net::{Accepted, ACCEPT_BACKOFF};

pub(super) fn serve(
    listeners: Vec<TcpListener>,
    options: Options,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    super::run_loops("nonblocking", listeners, move |listener| {
        serve_one(listener, options, &shutdown)
    })
}

fn serve_one(listener: TcpListener, options: Options, shutdown: &Shutdown) -> anyhow::Result<()> {
    let mut conns: Vec<Conn> = Vec::new();
    let mut buf = vec![0u8; READ_BUFFER];
    let mut paused_until: Option<Instant> = None;
    let mut drain_deadline = None;
    let mut listener = Some(listener);
    let mut sweeps = Sweeps::new(options.idle);
    loop {
        if drain_deadline.is_none() && shutdown.is_requested() {
            listener = None;
            drain_deadline = shutdown.deadline();
        }
        if let Some(deadline) = drain_deadline {
            if Instant::now() >= deadline || !conns.iter().any(Conn::has_pending) {
                return Ok(());
            }
        }
        if let Some(listener) = &listener {
            if paused_until.is_none_or(|t| Instant::now() >= t) {
                paused_until = None;
                loop {
                    match crate::net::accept(listener) {
                        Accepted::Conn(fd) => conns.push(Conn::new(fd)),
                        Accepted::Empty => break,
                        Accepted::Exhausted(e) => {
                            crate::net::log_exhausted(&e, conns.len());
                            paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                            break;
                        }
                    }
                }
            }
        }
        let before = conns.len();
        let sweep = sweeps.due(Instant::now());
        conns.retain_mut(|conn| {
            if sweep && conn.quiet.sweep() {
                return false; // idle past --idle-timeout
            }
            let mut next = conn.on_readable(&mut buf, options.upper, false);
            if let Next::Keep { pending: true } = next {
                next = conn.on_writable();
            }
            next != Next::Close
        });
        if conns.len() < before {
            // A descriptor came back: accepting may work again.
            paused_until = None;
        }
    }
}
