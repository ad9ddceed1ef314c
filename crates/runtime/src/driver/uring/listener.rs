//! [`RingListener`]: a listening socket (TCP, Unix) accepting with one multishot `accept`.
//!
//! 1. An accept with no connection queued arms the multishot accept (`Requested`, then
//!    `Armed`) and sleeps.
//! 2. Each completion carries an accepted descriptor, queued on the listener; the acceptor is
//!    woken. The accept stays armed across accepts.
//! 3. Back-pressure: once [`accept_queue`](super::UringConfig::accept_queue) connections
//!    are queued, the accept is cancelled and re-armed by the next accept that finds the
//!    queue empty; connections wait in the kernel's backlog meanwhile, as on epoll.
//! 4. An error (`EMFILE`, ...) ends the multishot accept and is reported once; `net`'s
//!    acceptor backs off on exhaustion and accepts again, which re-arms.
//! 5. Drop cancels the accept, closes the queued connections, and closes the listener
//!    through the ring.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use c10k_uring::{Completion, Op, OpId, Ring};
use slab::Slab;

use super::{push, Request, Target, UringDriver};
use crate::driver::{shutdown_error, Driver};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AcceptOp {
    Idle,
    Requested,
    Armed(OpId),
    Cancelling,
}

pub(crate) struct ListenerShared {
    fd: RawFd,
    state: Mutex<State>,
}

struct State {
    queue: VecDeque<OwnedFd>,
    op: AcceptOp,
    error: Option<io::Error>,
    waker: Option<Waker>,
    dropped: bool,
    shutdown: bool,
}

use crate::loom::lock;

impl ListenerShared {
    /// Pushes the multishot accept, if still wanted (owner only).
    pub(super) fn arm_accept(self: &Arc<Self>, ring: &mut Ring, targets: &mut Slab<Target>) {
        let mut st = lock(&self.state);
        if st.op != AcceptOp::Requested {
            return;
        }
        if st.dropped || st.shutdown {
            st.op = AcceptOp::Idle;
            return;
        }
        let key = targets.insert(Target::Accept(Arc::clone(self)));
        match push(ring, Op::accept_multi(self.fd), key) {
            Ok(id) => st.op = AcceptOp::Armed(id),
            Err(e) => {
                targets.remove(key);
                st.op = AcceptOp::Idle;
                st.error = Some(e);
                let w = st.waker.take();
                drop(st);
                if let Some(w) = w {
                    w.wake();
                }
            }
        }
    }

    pub(super) fn on_accept(&self, d: &UringDriver, c: &mut Completion) -> usize {
        let mut st = lock(&self.state);
        let res = c.raw_result();
        if let Some(fd) = c.take_fd() {
            if !st.dropped && !st.shutdown {
                st.queue.push_back(fd);
            } // else dropped here: closed
        } else if res < 0 && res != -libc::ECANCELED {
            st.error = Some(io::Error::from_raw_os_error(-res));
        }
        let mut cancel = None;
        if c.is_final() {
            st.op = AcceptOp::Idle;
        } else if let AcceptOp::Armed(id) = st.op {
            if st.queue.len() >= d.config.accept_queue || st.dropped {
                st.op = AcceptOp::Cancelling;
                cancel = Some(id);
            }
        }
        let w = st.waker.take();
        drop(st);
        if let Some(id) = cancel {
            d.request(Request::Cancel(id));
        }
        match w {
            Some(w) => {
                w.wake();
                1
            }
            None => 0,
        }
    }

    pub(super) fn shut_down(&self) {
        let mut st = lock(&self.state);
        st.shutdown = true;
        st.op = AcceptOp::Idle;
        let w = st.waker.take();
        drop(st);
        if let Some(w) = w {
            w.wake();
        }
    }
}

/// The listener's handle, owned by the socket type (through `net`'s `PollIo`).
pub(crate) struct RingListener {
    shared: Arc<ListenerShared>,
    driver: Arc<Driver>,
}

impl RingListener {
    pub(crate) fn new(driver: Arc<Driver>, fd: RawFd) -> RingListener {
        RingListener {
            shared: Arc::new(ListenerShared {
                fd,
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    op: AcceptOp::Idle,
                    error: None,
                    waker: None,
                    dropped: false,
                    shutdown: false,
                }),
            }),
            driver,
        }
    }

    fn uring(&self) -> &UringDriver {
        match &*self.driver {
            Driver::Uring(d) => d,
            Driver::Selector(_) => unreachable!("a RingListener is only made on a ring driver"),
        }
    }

    /// The next accepted connection (steps 1, 2, 4).
    pub(crate) fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<OwnedFd>> {
        let mut st = lock(&self.shared.state);
        if let Some(fd) = st.queue.pop_front() {
            let arm = st.queue.is_empty() && self.want_accept(&mut st);
            drop(st);
            if arm {
                self.uring()
                    .request(Request::Accept(Arc::clone(&self.shared)));
            }
            return Poll::Ready(Ok(fd));
        }
        if let Some(e) = st.error.take() {
            return Poll::Ready(Err(e));
        }
        if st.shutdown || self.uring().is_closed() {
            return Poll::Ready(Err(shutdown_error()));
        }
        match &mut st.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        let arm = self.want_accept(&mut st);
        drop(st);
        if arm {
            self.uring()
                .request(Request::Accept(Arc::clone(&self.shared)));
        }
        Poll::Pending
    }

    fn want_accept(&self, st: &mut State) -> bool {
        if st.op == AcceptOp::Idle && !st.shutdown && st.error.is_none() {
            st.op = AcceptOp::Requested;
            true
        } else {
            false
        }
    }

    /// Leaves the ring without closing the descriptor (`into_std`).
    pub(crate) fn release(self) {
        self.finish(None);
    }

    /// Releases the listener; `fd` is its descriptor (step 5).
    pub(crate) fn close(self, fd: OwnedFd) {
        self.finish(Some(fd));
    }

    fn finish(self, fd: Option<OwnedFd>) {
        let d = self.uring();
        let mut st = lock(&self.shared.state);
        st.dropped = true;
        st.waker = None;
        let queued = std::mem::take(&mut st.queue);
        let cancel = match st.op {
            AcceptOp::Armed(id) => {
                st.op = AcceptOp::Cancelling;
                Some(id)
            }
            AcceptOp::Requested => {
                st.op = AcceptOp::Idle;
                None
            }
            _ => None,
        };
        drop(st);
        // Accepted connections were never used on the ring: close them at once.
        drop(queued);
        if let Some(id) = cancel {
            d.request(Request::Cancel(id));
        }
        if let Some(fd) = fd {
            d.request(Request::Close(fd));
        }
    }
}

impl std::fmt::Debug for RingListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingListener")
            .field("fd", &self.shared.fd)
            .finish()
    }
}
