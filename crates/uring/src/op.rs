//! [`Op`]: an operation and the resources it moves into the ring, [`OpId`]:
//! its key while in flight.
//!
//! An `Op` is built by value and consumed by [`Ring::push`](crate::Ring::push),
//! which moves its buffer (or sockaddr, or timespec) into the op table and
//! writes one SQE that points into that heap memory (rule 1 of the
//! [protocol](crate#the-buffer-ownership-protocol)). Descriptors are raw
//! numbers (rule 9).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{OwnedFd, RawFd};
use std::time::Duration;

use crate::buf_group::BufGroup;

/// The key of an operation in flight, returned by
/// [`Ring::push`](crate::Ring::push) and carried by its completions.
///
/// It packs the op table slot and that slot's generation, so a stale id
/// never names a newer operation (rule 6 of the
/// [protocol](crate#the-buffer-ownership-protocol)).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl OpId {
    /// What [`Completion::id`](crate::Completion::id) says for an untracked
    /// operation: no tracked operation has generation 0.
    pub const UNTRACKED: OpId = OpId {
        index: u32::MAX,
        generation: 0,
    };

    /// The SQE user data for this id: generation in the high half, slot in
    /// the low half. Generation 0 is never issued, so user data below
    /// 2^32 is free for the ring's internal operations.
    pub(crate) fn user_data(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    pub(crate) fn from_user_data(user_data: u64) -> Self {
        OpId {
            index: user_data as u32,
            generation: (user_data >> 32) as u32,
        }
    }

    /// The raw value (the SQE's user data), for logs and maps.
    pub fn as_u64(self) -> u64 {
        self.user_data()
    }
}

impl fmt::Debug for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpId({}@{})", self.index, self.generation)
    }
}

/// The kind of an [`Op`], as reported by
/// [`Completion::kind`](crate::Completion::kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OpKind {
    /// [`Op::accept`] or [`Op::accept_with_peer`].
    Accept,
    /// [`Op::accept_multi`].
    AcceptMulti,
    /// [`Op::recv`].
    Recv,
    /// [`Op::recv_multi`].
    RecvMulti,
    /// [`Op::send`].
    Send,
    /// [`Op::send_zc`].
    SendZc,
    /// [`Op::read`].
    Read,
    /// [`Op::write`].
    Write,
    /// [`Op::connect`].
    Connect,
    /// [`Op::poll`].
    Poll,
    /// [`Op::poll_multi`].
    PollMulti,
    /// [`Op::timeout`].
    Timeout,
    /// [`Op::close`].
    Close,
    /// [`Op::nop`].
    Nop,
}

impl OpKind {
    /// Whether one submission may produce several completions.
    pub fn is_multishot(self) -> bool {
        matches!(
            self,
            OpKind::AcceptMulti | OpKind::RecvMulti | OpKind::PollMulti
        )
    }
}

/// One operation to push into a [`Ring`](crate::Ring), with the resources
/// it owns while in flight.
///
/// Descriptors are raw numbers (rule 9 of the
/// [protocol](crate#the-buffer-ownership-protocol)), or, after
/// [`fixed`](Op::fixed), indexes into the ring's registered file table.
///
/// Buffers are `Vec<u8>`: receives and reads fill the *spare capacity*
/// (`len..capacity`) and the completion hands the vector back with its
/// length grown by the bytes received; sends and writes send
/// `buf[offset..]`, and the completion hands the whole vector back, so a
/// partial send continues with `offset + n`.
///
/// # Examples
///
/// ```
/// use c10k_uring::{Op, OpKind};
/// let op = Op::recv(0, Vec::with_capacity(4096));
/// assert_eq!(op.kind(), OpKind::Recv);
/// assert_eq!(op.into_buf().map(|b| b.capacity()), Some(4096));
/// ```
pub struct Op {
    pub(crate) inner: Inner,
    /// The descriptor is an index into the ring's registered file table.
    pub(crate) fixed: bool,
}

pub(crate) enum Inner {
    Accept {
        fd: RawFd,
        peer: bool,
    },
    AcceptMulti {
        fd: RawFd,
    },
    Recv {
        fd: RawFd,
        buf: Vec<u8>,
    },
    RecvMulti {
        fd: RawFd,
        group: BufGroup,
    },
    Send {
        fd: RawFd,
        buf: Vec<u8>,
        offset: usize,
    },
    SendZc {
        fd: RawFd,
        buf: Vec<u8>,
        offset: usize,
    },
    Read {
        fd: RawFd,
        buf: Vec<u8>,
        at: u64,
    },
    Write {
        fd: RawFd,
        buf: Vec<u8>,
        offset: usize,
        at: u64,
    },
    Connect {
        fd: RawFd,
        addr: SocketAddr,
    },
    Poll {
        fd: RawFd,
        events: u32,
        multi: bool,
    },
    Timeout {
        after: Duration,
    },
    Close {
        fd: OwnedFd,
    },
    Nop,
}

impl Op {
    /// Accepts one connection on listening socket `fd`. The completion's
    /// result is the new descriptor, also handed over as an
    /// [`OwnedFd`] by [`Completion::take_fd`](crate::Completion::take_fd)
    /// (close-on-exec, blocking mode).
    pub fn accept(fd: RawFd) -> Op {
        Op {
            inner: Inner::Accept { fd, peer: false },
            fixed: false,
        }
    }

    /// Like [`accept`](Self::accept), and also reports the peer's address
    /// ([`Completion::peer_addr`](crate::Completion::peer_addr)); the
    /// sockaddr buffer is owned by the ring until the completion.
    pub fn accept_with_peer(fd: RawFd) -> Op {
        Op {
            inner: Inner::Accept { fd, peer: true },
            fixed: false,
        }
    }

    /// Accepts connections on `fd` until cancelled or an error: one
    /// completion per connection, each with
    /// [`more`](crate::Completion::more) set while it continues. No peer
    /// address (use `getpeername`). Like every multishot op it may end after
    /// a successful completion (its last has no `more`): push it again to
    /// keep accepting.
    pub fn accept_multi(fd: RawFd) -> Op {
        Op {
            inner: Inner::AcceptMulti { fd },
            fixed: false,
        }
    }

    /// Receives once into the spare capacity of `buf`. The result is the byte count, 0 at end
    /// of stream; the completion hands `buf` back with its length grown.
    ///
    /// Pushing it fails with `InvalidInput` if `buf` has no spare capacity
    /// (a zero-length receive would look like end of stream).
    pub fn recv(fd: RawFd, buf: Vec<u8>) -> Op {
        Op {
            inner: Inner::Recv { fd, buf },
            fixed: false,
        }
    }

    /// Receives repeatedly into buffers picked by the kernel from `group`:
    /// one completion per received chunk, each with a
    /// [`ProvidedBuf`](crate::ProvidedBuf) and [`more`](crate::Completion::more)
    /// set while it continues. It ends at end of stream (result 0), on an
    /// error, when cancelled, or with `ENOBUFS` when the group ran dry
    /// ([`Completion::is_no_buffers`](crate::Completion::is_no_buffers)):
    /// the data stays in the socket, so pushing the op again once buffers
    /// are back loses nothing. The kernel may also end it after a completion
    /// that carried data (for instance when the CQ overflowed): whenever a
    /// completion is [final](crate::Completion::is_final) with a positive
    /// result, push the receive again to keep receiving.
    pub fn recv_multi(fd: RawFd, group: &BufGroup) -> Op {
        Op {
            inner: Inner::RecvMulti {
                fd,
                group: group.clone(),
            },
            fixed: false,
        }
    }

    /// Sends `buf[offset..]` once (`MSG_NOSIGNAL`: a closed peer gives
    /// `EPIPE`, not `SIGPIPE`). The result is the byte count sent, which may
    /// be short; the completion hands the whole `buf` back.
    ///
    /// Pushing it fails with `InvalidInput` if `offset > buf.len()`.
    pub fn send(fd: RawFd, buf: Vec<u8>, offset: usize) -> Op {
        Op {
            inner: Inner::Send { fd, buf, offset },
            fixed: false,
        }
    }

    /// Zero-copy send of `buf[offset..]` (`IORING_OP_SEND_ZC`): the kernel
    /// transmits from `buf` itself, so it keeps reading it after the send
    /// completes. It produces two completions: the send's result with
    /// [`more`](crate::Completion::more) set, then the notification
    /// ([`Completion::is_notification`](crate::Completion::is_notification))
    /// that hands `buf` back, with the same result. Worth it for large
    /// buffers (tens of KiB); for small ones a copy is cheaper.
    pub fn send_zc(fd: RawFd, buf: Vec<u8>, offset: usize) -> Op {
        Op {
            inner: Inner::SendZc { fd, buf, offset },
            fixed: false,
        }
    }

    /// Reads into the spare capacity of `buf` at file offset `at` (use
    /// `u64::MAX` for the current position of pipes and streams). Same
    /// buffer rules as [`recv`](Self::recv).
    pub fn read(fd: RawFd, buf: Vec<u8>, at: u64) -> Op {
        Op {
            inner: Inner::Read { fd, buf, at },
            fixed: false,
        }
    }

    /// Writes `buf[offset..]` at file offset `at` (`u64::MAX`: current
    /// position). Same buffer rules as [`send`](Self::send).
    pub fn write(fd: RawFd, buf: Vec<u8>, offset: usize, at: u64) -> Op {
        Op {
            inner: Inner::Write {
                fd,
                buf,
                offset,
                at,
            },
            fixed: false,
        }
    }

    /// Connects socket `fd` to `addr`; the sockaddr is owned by the ring
    /// until the completion. Result 0 on success.
    pub fn connect(fd: RawFd, addr: SocketAddr) -> Op {
        Op {
            inner: Inner::Connect { fd, addr },
            fixed: false,
        }
    }

    /// Waits once for `events` (`libc::POLLIN`, `libc::POLLOUT`, ...) on
    /// `fd`; the result is the returned events. For descriptors that stay
    /// readiness-based.
    pub fn poll(fd: RawFd, events: u32) -> Op {
        Op {
            inner: Inner::Poll {
                fd,
                events,
                multi: false,
            },
            fixed: false,
        }
    }

    /// Like [`poll`](Self::poll), repeatedly: one completion per wakeup of
    /// `fd` (edge-like: a descriptor that stays readable is not reported
    /// again until something new happens), until cancelled.
    pub fn poll_multi(fd: RawFd, events: u32) -> Op {
        Op {
            inner: Inner::Poll {
                fd,
                events,
                multi: true,
            },
            fixed: false,
        }
    }

    /// Completes after `after` (relative, `CLOCK_MONOTONIC`) with result
    /// `Ok(0)`, or earlier with `ECANCELED` when cancelled. The timespec is
    /// owned by the ring until then.
    pub fn timeout(after: Duration) -> Op {
        Op {
            inner: Inner::Timeout { after },
            fixed: false,
        }
    }

    /// Closes `fd` asynchronously; the ring takes ownership of it (and
    /// hands it back in [`PushError`] if the push fails). Result 0, or the
    /// error `close(2)` would give.
    pub fn close(fd: OwnedFd) -> Op {
        Op {
            inner: Inner::Close { fd },
            fixed: false,
        }
    }

    /// Does nothing and completes with 0: a way to test a ring, or to get a
    /// completion at the next turn.
    pub fn nop() -> Op {
        Op {
            inner: Inner::Nop,
            fixed: false,
        }
    }

    /// Makes the operation's descriptor an index into the ring's
    /// registered file table ([`Ring::register_files`](crate::Ring::register_files)),
    /// `IOSQE_FIXED_FILE`: the kernel skips looking the descriptor up and
    /// taking a reference on its file for every operation. Push fails with
    /// `InvalidInput` for kinds without a descriptor (timeout, nop) and for
    /// close (which owns a real descriptor).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use c10k_uring::{Op, Ring};
    ///
    /// let (r, w) = rustix::pipe::pipe()?;
    /// let mut ring = Ring::new()?;
    /// ring.register_files(4)?;
    /// ring.update_files(2, &[w.as_raw_fd()])?; // slot 2 = the pipe's write end
    /// ring.push(Op::write(2, b"fixed".to_vec(), 0, u64::MAX).fixed(), 0)?;
    /// ring.submit_and_wait(1, None)?;
    /// ring.reap(|c| assert_eq!(c.result().unwrap(), 5));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn fixed(mut self) -> Op {
        self.fixed = true;
        self
    }

    /// The kind of this operation.
    pub fn kind(&self) -> OpKind {
        match &self.inner {
            Inner::Accept { .. } => OpKind::Accept,
            Inner::AcceptMulti { .. } => OpKind::AcceptMulti,
            Inner::Recv { .. } => OpKind::Recv,
            Inner::RecvMulti { .. } => OpKind::RecvMulti,
            Inner::Send { .. } => OpKind::Send,
            Inner::SendZc { .. } => OpKind::SendZc,
            Inner::Read { .. } => OpKind::Read,
            Inner::Write { .. } => OpKind::Write,
            Inner::Connect { .. } => OpKind::Connect,
            Inner::Poll { multi: false, .. } => OpKind::Poll,
            Inner::Poll { multi: true, .. } => OpKind::PollMulti,
            Inner::Timeout { .. } => OpKind::Timeout,
            Inner::Close { .. } => OpKind::Close,
            Inner::Nop => OpKind::Nop,
        }
    }

    /// Takes the data buffer back out of an operation that was not pushed
    /// (e.g. from a [`PushError`]); `None` for kinds without one.
    pub fn into_buf(self) -> Option<Vec<u8>> {
        match self.inner {
            Inner::Recv { buf, .. }
            | Inner::Send { buf, .. }
            | Inner::SendZc { buf, .. }
            | Inner::Read { buf, .. }
            | Inner::Write { buf, .. } => Some(buf),
            _ => None,
        }
    }

    /// Takes the descriptor back out of a [`close`](Self::close) that was
    /// not pushed; `None` for other kinds.
    pub fn into_fd(self) -> Option<OwnedFd> {
        match self.inner {
            Inner::Close { fd } => Some(fd),
            _ => None,
        }
    }
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Op")
            .field("kind", &self.kind())
            .finish_non_exhaustive()
    }
}

/// A push that failed, with the operation handed back untouched (its buffer
/// or descriptor included).
///
/// Converts into [`io::Error`] (dropping the operation), so `?` works in
/// functions returning `io::Result`.
pub struct PushError {
    op: Op,
    error: io::Error,
}

impl PushError {
    pub(crate) fn new(op: Op, error: io::Error) -> Self {
        PushError { op, error }
    }

    /// The error.
    pub fn error(&self) -> &io::Error {
        &self.error
    }

    /// The operation that was not pushed.
    pub fn into_op(self) -> Op {
        self.op
    }

    /// Both halves.
    pub fn into_parts(self) -> (Op, io::Error) {
        (self.op, self.error)
    }
}

impl fmt::Debug for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushError")
            .field("op", &self.op)
            .field("error", &self.error)
            .finish()
    }
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot push {:?}: {}", self.op.kind(), self.error)
    }
}

impl std::error::Error for PushError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<PushError> for io::Error {
    fn from(e: PushError) -> io::Error {
        e.error
    }
}
