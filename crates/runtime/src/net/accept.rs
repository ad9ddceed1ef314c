//! The accept loop shared by `TcpListener` and `UnixListener`, with back-off when the
//! process or the system runs out of descriptors.
//!
//! # Why back off
//!
//! When `accept(2)` fails with `EMFILE`/`ENFILE` (or `ENOBUFS`/`ENOMEM`), the connection
//! stays in the kernel's backlog and the listener stays readable. Retrying at once fails
//! again: a naive loop spins a core at 100% on failing system calls, starving the very
//! connections whose closing would free a descriptor. So the acceptor sleeps on the
//! runtime's timer — 1 ms, doubling up to 100 ms — and tries again; the first success resets
//! the pause. The caller's `accept` just takes longer; clients see a delay, not an error.

use std::io;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use std::future::Future;

use crate::net::io::{PollIo, Sock};
use crate::net::sys;
use crate::time::Sleep;

/// The first pause after an exhaustion error.
pub(crate) const BACKOFF_MIN: Duration = Duration::from_millis(1);
/// The longest pause: the worst extra delay for a client once descriptors are free again.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub(crate) struct Acceptor {
    /// Touched only by the accepting task; the lock is uncontended and lets `accept` take
    /// `&self`.
    state: Mutex<Backoff>,
}

#[derive(Debug)]
struct Backoff {
    /// Set while backing off: no `accept` is tried until it fires.
    sleep: Option<Sleep>,
    next: Duration,
}

impl Acceptor {
    pub(crate) fn new() -> Acceptor {
        Acceptor {
            state: Mutex::new(Backoff {
                sleep: None,
                next: BACKOFF_MIN,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Backoff> {
        crate::loom::lock(&self.state)
    }

    /// Accepts one connection on `io`: `accept4(NONBLOCK | CLOEXEC)`, retried on `EINTR`
    /// and on errors that only concern the connection being accepted (`ECONNABORTED`,
    /// `EPROTO`, `EPERM`), waited out with back-off on exhaustion.
    pub(crate) fn poll_accept<T: Sock>(
        &self,
        io: &PollIo<T>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(OwnedFd, Option<rustix::net::SocketAddrAny>)>> {
        loop {
            {
                let mut b = self.lock();
                if let Some(sleep) = b.sleep.as_mut() {
                    ready!(Pin::new(sleep).poll(cx));
                    b.sleep = None;
                }
            }
            match ready!(io.poll_accept_raw(cx)) {
                Ok(pair) => {
                    self.lock().next = BACKOFF_MIN;
                    return Poll::Ready(Ok(pair));
                }
                Err(e)
                    if e.kind() == io::ErrorKind::Interrupted || sys::is_connection_error(&e) => {}
                Err(e) if sys::is_resource_exhausted(&e) => {
                    let mut b = self.lock();
                    let pause = b.next;
                    b.next = (pause * 2).min(BACKOFF_MAX);
                    b.sleep = Some(crate::time::sleep(pause));
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}
