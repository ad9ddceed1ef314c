//! [`Completion`]: one finished step of an operation, and what it hands
//! back.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;

use crate::buf_group::ProvidedBuf;
use crate::op::{OpId, OpKind};
use crate::untracked::UntrackedId;

/// One completion, delivered by [`Ring::reap`](crate::Ring::reap).
///
/// It carries the caller's tag and [`OpId`], the result, whether more
/// completions of the same operation follow ([`more`](Self::more)), and the
/// resources handed back to the caller:
///
/// | what | when | how |
/// |---|---|---|
/// | the data buffer | final completion of recv, read, send, send_zc (its notification), write | [`take_buf`](Self::take_buf) |
/// | a provided buffer | each completion of recv_multi that received data (also 0 bytes, if the kernel used one) | [`take_provided`](Self::take_provided) |
/// | the accepted socket | each successful completion of accept and accept_multi | [`take_fd`](Self::take_fd) |
/// | the peer address | accept_with_peer | [`peer_addr`](Self::peer_addr) |
///
/// Whatever the caller does not take is dropped with the `Completion`:
/// provided buffers go back to their group and accepted sockets are closed,
/// so ignoring a completion leaks nothing.
///
/// # Examples
///
/// ```
/// use c10k_uring::{Op, Ring};
/// let mut ring = Ring::new()?;
/// let id = ring.push(Op::nop(), 42)?;
/// ring.submit_and_wait(1, None)?;
/// ring.reap(|c| {
///     assert_eq!((c.tag(), c.id()), (42, id));
///     assert_eq!(c.result().unwrap(), 0);
///     assert!(c.is_final());
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Completion {
    pub(crate) tag: u64,
    pub(crate) id: OpId,
    /// `Some` for an untracked operation (then `id` is [`OpId::UNTRACKED`]).
    pub(crate) untracked: Option<UntrackedId>,
    pub(crate) kind: OpKind,
    /// The CQE result, already adjusted (timeout's `-ETIME` is 0, a
    /// notification carries the send's result).
    pub(crate) res: i32,
    pub(crate) flags: u32,
    pub(crate) is_final: bool,
    pub(crate) notification: bool,
    pub(crate) buf: Option<Vec<u8>>,
    pub(crate) provided: Option<ProvidedBuf>,
    pub(crate) fd: Option<OwnedFd>,
    pub(crate) peer: Option<SocketAddr>,
}

impl Completion {
    /// The tag the caller passed to [`Ring::push`](crate::Ring::push).
    pub fn tag(&self) -> u64 {
        self.tag
    }

    /// The operation's id, as [`Ring::push`](crate::Ring::push) returned it;
    /// [`OpId::UNTRACKED`] for an untracked operation (see [`untracked`](Self::untracked)).
    pub fn id(&self) -> OpId {
        self.id
    }

    /// The id of an operation pushed with
    /// [`Ring::push_untracked`](crate::Ring::push_untracked); `None` for a
    /// tracked one.
    pub fn untracked(&self) -> Option<UntrackedId> {
        self.untracked
    }

    /// The operation's kind.
    pub fn kind(&self) -> OpKind {
        self.kind
    }

    /// The result: a byte count, a descriptor number (accept), returned poll
    /// events, or 0; or the operation's error (`ECANCELED` when cancelled,
    /// `ENOBUFS` when a provided group ran dry, ...).
    ///
    /// # Errors
    ///
    /// The operation's error, from the negated errno of the CQE.
    pub fn result(&self) -> io::Result<u32> {
        crate::sys::cqe_result(self.res)
    }

    /// The raw result: non-negative on success, a negated errno on error.
    pub fn raw_result(&self) -> i32 {
        self.res
    }

    /// The CQE's flags (`IORING_CQE_F_*`), for what this type does not
    /// interpret (e.g. `IORING_CQE_F_SOCK_NONEMPTY`).
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// Whether more completions of this operation follow (a multishot
    /// operation continues, or a `send_zc` awaits its notification).
    pub fn more(&self) -> bool {
        !self.is_final
    }

    /// Whether this is the operation's last completion: its [`OpId`] is now
    /// stale and every resource is handed back (rule 2 of the
    /// [protocol](crate#the-buffer-ownership-protocol)).
    pub fn is_final(&self) -> bool {
        self.is_final
    }

    /// Whether this is the notification of a `send_zc`: the kernel no longer
    /// reads the buffer, which this completion hands back. Its result repeats
    /// the send's.
    pub fn is_notification(&self) -> bool {
        self.notification
    }

    /// Whether the operation ended because its provided buffer group was
    /// empty (`ENOBUFS`). The data is still in the socket: push the receive
    /// again when the group has buffers ([`BufGroup::available`](crate::BufGroup::available)),
    /// or grow the group ([`Ring::grow_buf_group`](crate::Ring::grow_buf_group)).
    /// The group is marked starved, and the first buffer returned to it
    /// wakes the ring's [`Waker`](crate::Waker) (if [`Ring::waker`](crate::Ring::waker)
    /// made one), so an owner asleep in
    /// [`submit_and_wait`](crate::Ring::submit_and_wait) gets to re-arm.
    pub fn is_no_buffers(&self) -> bool {
        self.res == -libc::ENOBUFS
    }

    /// Whether the operation was cancelled (`ECANCELED`).
    pub fn is_cancelled(&self) -> bool {
        self.res == -libc::ECANCELED
    }

    /// Takes the data buffer back (final completions of recv, read, send,
    /// `send_zc`, write). A receive's buffer has its length grown by the
    /// bytes received.
    pub fn take_buf(&mut self) -> Option<Vec<u8>> {
        self.buf.take()
    }

    /// Takes the provided buffer holding the received bytes (recv_multi).
    pub fn take_provided(&mut self) -> Option<ProvidedBuf> {
        self.provided.take()
    }

    /// The provided buffer, without taking it.
    pub fn provided(&self) -> Option<&ProvidedBuf> {
        self.provided.as_ref()
    }

    /// Takes the accepted socket (accept, accept_multi). Not taken, it is
    /// closed when the completion drops.
    pub fn take_fd(&mut self) -> Option<OwnedFd> {
        self.fd.take()
    }

    /// The peer address reported by [`Op::accept_with_peer`](crate::Op::accept_with_peer)
    /// (IPv4 and IPv6 peers).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }
}

impl fmt::Debug for Completion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completion")
            .field("tag", &self.tag)
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("res", &self.res)
            .field("final", &self.is_final)
            .field("notification", &self.notification)
            .field("buf", &self.buf.as_ref().map(Vec::len))
            .field("provided", &self.provided)
            .field("fd", &self.fd)
            .field("peer", &self.peer)
            .finish()
    }
}
