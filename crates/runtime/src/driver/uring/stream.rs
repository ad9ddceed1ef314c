//! [`RingStream`]: a connected stream socket (TCP, Unix) whose reads and writes are
//! completion operations on the ring.
//!
//! # Reading
//!
//! 1. A read with nothing buffered arms one multishot `recv` (`Requested`, then `Armed`
//!    once the owner pushed it) and sleeps. The receive is *untracked* on the ring
//!    (`c10k-uring`'s `push_untracked`): its tag is a pointer to the stream's shared state,
//!    whose reference it holds until its final completion, so an armed receive costs
//!    neither an op-table slot nor a driver target slot; it is cancelled by that id.
//! 2. Each receive completion carries a provided buffer, queued on the stream; the reader is
//!    woken. The receive stays armed across reads: an echo connection arms it once.
//! 3. The reader copies from the queued buffers into its slice; a buffer goes back to the
//!    group as soon as it is fully copied. A dropped read future loses nothing: the data
//!    stays queued for the next read.
//! 4. Back-pressure: once [`stream_buffers`](super::UringConfig::stream_buffers) buffers
//!    are queued unread, the receive is cancelled (`Cancelling`), and re-armed by a read that
//!    finds the queue below the limit. The kernel's socket buffer then fills and TCP flow
//!    control slows the peer, as on epoll.
//! 5. `ENOBUFS` (the group ran dry: more receivers than buffers) ends the receive with the
//!    data still in the socket. If the stream still has buffers queued (the receive often
//!    fills many in one turn before its cancel arrives), nothing else happens: the read
//!    that empties the queue re-arms the receive. Otherwise the receive is retried at the
//!    end of the turn, after the tasks have returned the buffers they read (see "Provided
//!    buffers" in the driver's docs): re-armed if the group has a free buffer (grown
//!    first if it has fewer than the streams waiting), else, at the group's capacity, the
//!    stream is marked *starved*: its next read calls `recv(2)` directly into the reader's
//!    slice (the reader's memory instead of the group's), for at most `stream_buffers` ×
//!    the buffer size, the most the receive would have queued. That one read ends the
//!    starvation and re-arms the receive, which the next submission ends with data or
//!    with `ENOBUFS` again. So a starved stream reads at the provided path's pace, once per
//!    turn: reading until `WouldBlock` would take megabytes from the socket within one
//!    turn, while the answers to them cannot leave before the turn ends (an echo's output
//!    would grow without bound). A starved stream never has a receive in flight, so the
//!    two paths never race for the socket's bytes.
//! 6. End of stream (result 0) and errors end the receive; both are reported to the reader
//!    after the buffered data, an error once, then end of stream.
//!
//! # Writing
//!
//! 1. A write copies into the stream's send buffer (`pending`) and puts the stream on the
//!    driver's flush list, once per turn.
//! 2. At the end of the turn the owner takes `pending` and pushes one `send` with it: all the
//!    writes of a turn leave in one SQE, and all SQEs of the turn in one `io_uring_enter`.
//! 3. At most one send per stream is in flight (two could be reordered by the kernel); bytes
//!    written meanwhile accumulate in `pending` and leave when it completes. A short send
//!    re-sends the rest first.
//! 4. Back-pressure: a write waits while `pending` plus the bytes in flight exceed
//!    [`send_limit`](super::UringConfig::send_limit).
//! 5. Errors: a failed send is recorded (its `errno`); the next write, flush or close
//!    returns it. So a write that returned `Ok` may still fail later: `flush` (and `close`)
//!    wait until everything written has been sent, and report the failure.
//! 6. The send buffer comes back with the completion and is kept (if at most [`SPARE_MAX`]
//!    bytes) to become the next `pending`: a busy stream alternates two buffers. Once
//!    everything written has been sent, one at most stays, and it leaves with the stream's
//!    box when the stream goes idle (see below): an idle connection holds no send buffer.
//!
//! # The lock
//!
//! The shared state is behind a [`SpinLock`], not `std`'s mutex: an echo request takes it
//! seven times, almost always uncontended, and its unlock is a plain store where the
//! mutex's is an atomic swap (CPU per request 1 to 2.5 points lower, see
//! `bench/runs/2026-12-07-uring-spin`). No critical section waits: wakers are woken and
//! driver requests made after the unlock, the only lock taken under it is the buffer
//! group's (to publish a returned buffer), and the system calls made under it return at
//! once (see `spin.rs`).
//!
//! # What an idle stream holds
//!
//! Its shared state is 56 bytes (one 80-byte malloc chunk with the `Arc`'s counts): the
//! waiting reader's waker, the byte counts of writing step 5, the descriptor, the receive's
//! state and the flags. Everything else (received buffers not yet read, the send in
//! flight, a short send's rest, an owned write, a linger, a write waker, errors) lives in a
//! box (`BusyBox`) that the first need takes and the unlock that finds it idle gives back.
//! Boxes come from and go back to a small cache per thread (`BusyCache`: at most 64 idle
//! boxes, each with its last send buffer if at most 1 KiB), so that an echo request
//! allocates nothing (it used to allocate and free a box and a send buffer); an idle
//! connection holds none.
//!
//! Owned-buffer writes ([`poll_write_owned`](RingStream::poll_write_owned)) hand the
//! caller's `Vec` to the ring itself (no copy) once nothing else is pending, and give it back
//! when its last byte is sent.
//!
//! # Drop
//!
//! The receive is cancelled and the queued buffers go back to the group. If bytes are still
//! pending or in flight, the stream *lingers*, like a socket with `SO_LINGER`:
//!
//! 1. The descriptor stays open (owned by the stream's shared state, `linger`) and the
//!    sends go on, as `close(2)` of a socket with a full send queue still sends it.
//! 2. A `timeout` operation is pushed for [`linger`](super::UringConfig::linger) (the
//!    `Builder::uring_linger` knob, default 10 s).
//! 3. If the last send completes first, the descriptor is closed through the ring, after
//!    every SQE naming it, and the timeout is cancelled.
//! 4. If the timeout fires first (a peer that stopped reading: the send would wait
//!    forever), the stream aborts: `SO_LINGER` 0 is set (so the close resets the
//!    connection and drops the kernel's send queue), the unsent bytes are dropped, the
//!    send in flight is cancelled, and its final completion (its buffer stays the ring's
//!    until then) closes the descriptor through the ring. A dropped stream so holds its
//!    descriptor for at most `linger` plus one turn.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use c10k_uring::{BufGroup, Completion, Op, OpId, OpKind, ProvidedBuf, Ring, UntrackedId};
use slab::Slab;

use super::spin::{SpinGuard, SpinLock};
use super::{push, Request, Target, UringDriver};
use crate::driver::{shutdown_error, Driver};
use crate::task::coop;

/// Send-buffer capacity a busy stream keeps for reuse after a send completes (writing,
/// step 6).
pub(crate) const SPARE_MAX: usize = 4096;

/// The receive operation of a stream. Untracked on the ring (`c10k-uring`'s
/// `push_untracked`): its tag is the stream's `Arc` pointer, which holds one
/// reference from the push to the final completion, so a stream with an
/// armed receive costs no op-table or target slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RecvOp {
    /// None in flight.
    Idle,
    /// Asked for, not yet pushed by the owner.
    Requested,
    Armed,
    /// Cancel pushed; the final completion has not arrived.
    Cancelling,
}

/// State shared by the stream handle and the driver's completion dispatch.
pub(crate) struct StreamShared {
    state: SpinLock<State>,
}

/// The received buffers of a stream, oldest first. The first is held inline: a request
/// usually arrives in one buffer (a `VecDeque` keeps its capacity, 128 bytes from its first
/// push, for as long as it lives). Later buffers queue behind it in a `VecDeque` that is
/// freed when it empties.
#[derive(Default)]
struct BufQueue {
    first: Option<ProvidedBuf>,
    // Boxed on purpose: `None` is one word, where a bare `VecDeque` would be four.
    #[allow(clippy::box_collection)]
    rest: Option<Box<VecDeque<ProvidedBuf>>>,
}

impl BufQueue {
    const EMPTY: BufQueue = BufQueue {
        first: None,
        rest: None,
    };

    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.as_ref().map_or(0, |r| r.len())
    }

    fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    fn push_back(&mut self, buf: ProvidedBuf) {
        if self.first.is_none() {
            self.first = Some(buf);
        } else {
            self.rest.get_or_insert_with(Box::default).push_back(buf);
        }
    }

    /// The `i`th buffer (`i < len()`).
    fn get(&self, i: usize) -> &ProvidedBuf {
        match (i, &self.first, &self.rest) {
            (0, Some(b), _) => b,
            (_, _, Some(rest)) => &rest[i - 1],
            _ => unreachable!("BufQueue index {i} out of range"),
        }
    }

    /// Drops (so recycles) the first `n` buffers.
    fn drain_front(&mut self, n: usize) {
        for _ in 0..n {
            self.first = self.rest.as_mut().and_then(|r| r.pop_front());
        }
        if self.rest.as_ref().is_some_and(|r| r.is_empty()) {
            self.rest = None;
        }
    }

    fn clear(&mut self) {
        self.first = None;
        self.rest = None;
    }
}

/// What every stream holds, busy or idle: 48 bytes, so that with its lock and the `Arc`'s
/// counts a stream is one 80-byte malloc chunk (see the test `stream_state_stays_small`).
/// Everything else lives in [`Busy`], allocated only while there is work.
struct State {
    /// The task waiting to read: an idle connection's task always waits here.
    reader: Option<Waker>,
    busy: BusyBox,
    /// Bytes ever accepted by writes, and ever confirmed sent by completions: a write that
    /// waits for its bytes to leave waits for `sent` to reach its mark.
    accepted: u64,
    sent: u64,
    /// The descriptor: the handle's until it is dropped, then `busy.linger`'s (drop).
    fd: RawFd,
    recv: RecvOp,
    flags: Flags,
}

/// The stream's one-bit facts, in one byte.
#[derive(Clone, Copy, Default)]
struct Flags(u8);

/// End of stream was received.
const EOF: u8 = 1;
/// `ENOBUFS`: the next read calls `recv(2)` itself (reading, step 5).
const STARVED: u8 = 2;
/// The handle was dropped; `busy.linger` keeps the descriptor until the last send (drop).
const DROPPED: u8 = 4;
/// The driver shut down.
const SHUTDOWN: u8 = 8;
/// The stream is on the driver's flush list of this turn.
const FLUSH_QUEUED: u8 = 16;

impl Flags {
    fn has(self, flag: u8) -> bool {
        self.0 & flag != 0
    }

    fn set(&mut self, flag: u8, on: bool) {
        if on {
            self.0 |= flag;
        } else {
            self.0 &= !flag;
        }
    }
}

/// What a stream holds only while it has work: received buffers not yet read, bytes to
/// send, a send in flight, an owned write, a linger, an error. Every field's idle value is
/// its `EMPTY` one.
struct Busy {
    /// Received, not yet read.
    queue: BufQueue,
    /// Bytes of the first queued buffer already copied out.
    head: u32,
    read_error: Option<io::Error>,
    /// The `errno` of a failed send (writing, step 5).
    write_error: Option<Errno>,
    /// The task waiting to write (or flush). Every write wait is for the write side to have
    /// less work, and the completion that ends its work takes and wakes it: a waker still
    /// here when the box goes idle is a stale one (its task re-polled meanwhile), dropped
    /// with the box.
    writer: Option<Waker>,
    /// Written, not yet handed to the ring.
    pending: Vec<u8>,
    /// The offset the send in flight started at (`None`: no send in flight).
    sending: Option<usize>,
    /// The send in flight, for cancelling it when a linger times out (drop, step 4).
    send_id: Option<OpId>,
    /// A short send's buffer and offset, to send again before `pending`.
    /// Boxed: rare (the socket buffer was full), and it would double this field's size.
    resend: Option<Box<(Vec<u8>, usize)>>,
    spare: Vec<u8>,
    /// An owned-buffer write in flight, or its result once done.
    owned: Owned,
    /// `shutdown(Write)` asked while bytes were still unsent: done after the last send.
    shutdown_write: bool,
    /// The descriptor of a dropped stream that still sends (drop, step 1).
    linger: Option<OwnedFd>,
    /// The linger timeout in flight (drop, step 2).
    linger_timer: Option<OpId>,
    /// The linger was asked for and has not ended (the timer may not be pushed yet).
    lingering: bool,
}

impl Busy {
    const EMPTY: Busy = Busy {
        queue: BufQueue::EMPTY,
        head: 0,
        read_error: None,
        write_error: None,
        writer: None,
        pending: Vec::new(),
        sending: None,
        send_id: None,
        resend: None,
        spare: Vec::new(),
        owned: Owned::None,
        shutdown_write: false,
        linger: None,
        linger_timer: None,
        lingering: false,
    };

    /// Whether every field holds its idle value but `spare`, which goes with the box (nothing
    /// would be lost by freeing it or caching it; a writer's waker left here is stale, see
    /// `writer`).
    #[inline]
    fn is_idle(&self) -> bool {
        self.queue.is_empty()
            && self.head == 0
            && self.read_error.is_none()
            && self.write_error.is_none()
            && self.pending.capacity() == 0
            && self.sending.is_none()
            && self.send_id.is_none()
            && self.resend.is_none()
            && matches!(self.owned, Owned::None)
            && !self.shutdown_write
            && self.linger.is_none()
            && self.linger_timer.is_none()
            && !self.lingering
    }
}

/// The stream's [`Busy`] part, boxed on demand: most connections are idle most of the
/// time, and an idle stream then holds only its 48-byte [`State`]. Reading through it gives
/// [`Busy::EMPTY`] when there is no box; writing takes one from the thread's
/// [`BusyCache`] (or allocates one); [`trim`](BusyBox::trim) gives it back once it is idle.
struct BusyBox(Option<Box<Busy>>);

/// What a stream without a box reads.
static NOT_BUSY: Busy = Busy::EMPTY;

impl BusyBox {
    /// Gives the box back if it holds nothing (called where the stream may have gone idle,
    /// at every unlock: kept small enough to inline, the rest is out of line).
    #[inline]
    fn trim(&mut self) {
        if self.0.as_ref().is_some_and(|b| b.is_idle()) {
            if let Some(b) = self.0.take() {
                BusyCache::put(b);
            }
        }
    }

    /// The box, if there is one: for taking or clearing without allocating.
    fn get_mut(&mut self) -> Option<&mut Busy> {
        self.0.as_deref_mut()
    }
}

impl std::ops::Deref for BusyBox {
    type Target = Busy;

    fn deref(&self) -> &Busy {
        self.0.as_deref().unwrap_or(&NOT_BUSY)
    }
}

impl std::ops::DerefMut for BusyBox {
    #[inline]
    fn deref_mut(&mut self) -> &mut Busy {
        self.0.get_or_insert_with(BusyCache::take)
    }
}

/// Idle [`Busy`] boxes kept by a thread for the next stream that needs one: at most
/// [`BUSY_CACHE_MAX`], each with its `spare` send buffer if that is at most
/// [`CACHED_SPARE_MAX`] bytes (emptied). An echo request would otherwise allocate and free
/// a box and a send buffer each (the box when its data arrives, the buffer when the answer
/// is written, both freed when the answer's send completes), where tokio allocates nothing
/// per request. The memory stays bounded per thread, not per stream: an idle stream still
/// holds no box.
struct BusyCache;

/// The most idle boxes a thread keeps ([`BusyCache`]).
const BUSY_CACHE_MAX: usize = 64;
/// The largest spare send buffer a cached box keeps ([`BusyCache`]): 64 boxes hold at most
/// 64 KiB of them.
const CACHED_SPARE_MAX: usize = 1024;

thread_local! {
    // Boxes, not values: a box moves between a stream and the cache without a copy or an
    // allocation, which is the point.
    #[allow(clippy::vec_box)]
    static BUSY_CACHE: std::cell::RefCell<Vec<Box<Busy>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

impl BusyCache {
    /// An idle box: this thread's last cached one, or a new one.
    #[inline(never)]
    fn take() -> Box<Busy> {
        BUSY_CACHE
            .try_with(|c| c.try_borrow_mut().ok().and_then(|mut c| c.pop()))
            .ok()
            .flatten()
            .unwrap_or_else(|| Box::new(Busy::EMPTY))
    }

    /// Keeps `b` (idle: [`Busy::is_idle`]) for the next [`take`](Self::take) on this
    /// thread, or frees it if the cache is full (or gone: a thread-local destructor).
    /// What `b` still holds (a stale writer's waker: its drop may free a task) is dropped
    /// outside the cache's borrow.
    #[inline(never)]
    fn put(mut b: Box<Busy>) {
        debug_assert!(b.is_idle());
        let stale = b.writer.take();
        if b.spare.capacity() > CACHED_SPARE_MAX {
            b.spare = Vec::new();
        }
        b.spare.clear();
        let full = BUSY_CACHE.try_with(|c| match c.try_borrow_mut() {
            Ok(mut c) if c.len() < BUSY_CACHE_MAX => {
                if c.capacity() == 0 {
                    c.reserve_exact(BUSY_CACHE_MAX);
                }
                c.push(b);
                None
            }
            _ => Some(b),
        });
        drop(full);
        drop(stale);
    }
}

#[derive(Debug)]
enum Owned {
    None,
    InFlight,
    /// In flight, and its future was dropped: the buffer is freed on completion.
    Abandoned,
    /// Boxed: an owned write is rare next to the stream it is on.
    Done(Box<(io::Result<()>, Vec<u8>)>),
}

impl Owned {
    fn in_flight(&self) -> bool {
        matches!(self, Owned::InFlight | Owned::Abandoned)
    }

    /// Records the end of the owned write; an abandoned one frees its buffer.
    fn finish(&mut self, res: io::Result<()>, buf: Vec<u8>) {
        *self = match self {
            Owned::Abandoned => Owned::None,
            _ => Owned::Done(Box::new((res, buf))),
        };
    }
}

/// An `errno` value (never 0, so `Option<Errno>` is four bytes).
type Errno = std::num::NonZeroI32;

fn errno(code: i32) -> Errno {
    Errno::new(code).unwrap_or(Errno::new(libc::EIO).expect("EIO is not 0"))
}

fn lock(m: &SpinLock<State>) -> Locked<'_> {
    Locked(m.lock(), true)
}

/// The locked state. Unlocking frees the busy box if it went idle ([`BusyBox`]): done
/// here, once, rather than at every place a read, a send, a linger or an owned write ends.
/// Except after a read that returned data ([`keep`](Locked::keep)): its task usually
/// answers at once, and the answer would allocate the box again; the unlock of the task's
/// next wait, or of the answer's send completion, frees it.
struct Locked<'a>(SpinGuard<'a, State>, bool);

impl Locked<'_> {
    /// Leaves the box alone at this unlock.
    fn keep(&mut self) {
        self.1 = false;
    }
}

impl std::ops::Deref for Locked<'_> {
    type Target = State;

    fn deref(&self) -> &State {
        &self.0
    }
}

impl std::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.0
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.busy.trim();
        }
    }
}

fn wake(w: Option<Waker>) -> usize {
    match w {
        Some(w) => {
            w.wake();
            1
        }
        None => 0,
    }
}

impl State {
    /// Whether to ask for this turn's flush: marks the stream queued (the owner's
    /// `push_send` clears the mark) so that it is asked for, and listed, once per turn.
    fn queue_flush(&mut self) -> bool {
        if self.busy.sending.is_some() || self.flags.has(FLUSH_QUEUED) {
            return false;
        }
        self.flags.set(FLUSH_QUEUED, true);
        true
    }

    fn unsent(&self) -> usize {
        self.busy.pending.len()
            + self.busy.resend.as_ref().map_or(0, |r| r.0.len() - r.1)
            + usize::from(self.busy.sending.is_some())
    }

    fn write_idle(&self) -> bool {
        self.busy.sending.is_none()
            && self.busy.resend.is_none()
            && (self.busy.pending.is_empty() || self.busy.write_error.is_some())
    }
}

impl StreamShared {
    /// The untracked id of this stream's receive (see `RecvOp`).
    pub(super) fn recv_id(self: &Arc<Self>) -> Option<UntrackedId> {
        UntrackedId::new(
            OpKind::RecvMulti,
            Some(super::GROUP_ID),
            Arc::as_ptr(self) as u64,
        )
    }

    /// Pushes the multishot receive, if still wanted (owner only).
    pub(super) fn arm_recv(self: &Arc<Self>, ring: &mut Ring, group: &BufGroup) {
        let mut st = lock(&self.state);
        if st.recv != RecvOp::Requested {
            return;
        }
        if st.flags.has(DROPPED) || st.flags.has(SHUTDOWN) {
            st.recv = RecvOp::Idle;
            return;
        }
        // The reference the receive holds until its final completion (`RecvOp`).
        let tag = Arc::into_raw(Arc::clone(self)) as u64;
        match ring.push_untracked(Op::recv_multi(st.fd, group), tag) {
            Ok(_) => st.recv = RecvOp::Armed,
            Err(e) => {
                // SAFETY: the push failed, so the reference taken above is still ours.
                drop(unsafe { Arc::from_raw(tag as *const StreamShared) });
                let e = e.into_parts().1;
                st.recv = RecvOp::Idle;
                st.busy.read_error = Some(e);
                let w = st.reader.take();
                drop(st);
                wake(w);
            }
        }
    }

    /// Pushes the send of this turn (owner only; writing, step 2).
    pub(super) fn push_send(self: &Arc<Self>, ring: &mut Ring, targets: &mut Slab<Target>) {
        let mut st = lock(&self.state);
        st.flags.set(FLUSH_QUEUED, false);
        if st.busy.sending.is_some() || st.busy.write_error.is_some() || st.flags.has(SHUTDOWN) {
            return;
        }
        let (buf, offset) = match st.busy.resend.take() {
            Some(r) => *r,
            None if st.busy.pending.is_empty() => return,
            None => {
                let spare = std::mem::take(&mut st.busy.spare);
                (std::mem::replace(&mut st.busy.pending, spare), 0)
            }
        };
        let key = targets.insert(Target::Send(Arc::clone(self)));
        match ring.push(Op::send(st.fd, buf, offset), key as u64) {
            Ok(id) => {
                st.busy.sending = Some(offset);
                st.busy.send_id = Some(id);
            }
            Err(e) => {
                targets.remove(key);
                let (op, err) = e.into_parts();
                st.busy.write_error = Some(errno(err.raw_os_error().unwrap_or(libc::EIO)));
                if st.busy.owned.in_flight() {
                    st.busy
                        .owned
                        .finish(Err(err), op.into_buf().unwrap_or_default());
                }
                let w = st.busy.writer.take();
                let (close, timer) = self.take_linger(&mut st);
                drop(st);
                wake(w);
                if let Some(id) = timer {
                    let _ = ring.cancel(id);
                }
                // The ring refused even this SQE after flushing its queue: nothing queued
                // names the descriptor any more, so it may be closed here.
                drop(close);
            }
        }
    }

    /// A receive completion (reading, steps 2, 4, 5, 6).
    pub(super) fn on_recv(self: &Arc<Self>, d: &UringDriver, c: &mut Completion) -> usize {
        let mut st = lock(&self.state);
        let res = c.raw_result();
        if let Some(buf) = c.take_provided() {
            if res > 0 && !st.flags.has(DROPPED) && !st.flags.has(SHUTDOWN) {
                st.busy.queue.push_back(buf);
            }
        }
        if res == 0 {
            st.flags.set(EOF, true);
        } else if res < 0 {
            if c.is_no_buffers() {
                st.recv = RecvOp::Idle;
                drop(st);
                return self.on_no_buffers(d);
            } else if res != -libc::ECANCELED {
                st.busy.read_error = Some(io::Error::from_raw_os_error(-res));
            }
        }
        let mut cancel = false;
        if c.is_final() {
            st.recv = RecvOp::Idle;
        } else if st.recv == RecvOp::Armed
            && (st.busy.queue.len() >= d.config.stream_buffers || st.flags.has(DROPPED))
        {
            st.recv = RecvOp::Cancelling;
            cancel = true;
        }
        let w = st.reader.take();
        drop(st);
        if cancel {
            d.request(Request::CancelRecv(Arc::clone(self)));
        }
        wake(w)
    }

    /// The receive ended with `ENOBUFS` (reading, step 5). A stream with buffers queued
    /// waits for its reader; otherwise the receive is requested again, to be retried at the
    /// end of the turn ([`retry_recv`](Self::retry_recv)).
    ///
    /// A starved stream never has a receive in flight: both would take bytes from the
    /// socket, and the `recv(2)` of one could overtake data the other received but whose
    /// completion is not reaped yet. So a stream whose receive a read re-requested
    /// meanwhile (another thread) is left to that receive.
    fn on_no_buffers(self: &Arc<Self>, d: &UringDriver) -> usize {
        let mut st = lock(&self.state);
        if st.recv != RecvOp::Idle
            || st.flags.has(DROPPED)
            || st.flags.has(SHUTDOWN)
            || st.flags.has(EOF)
            || st.busy.read_error.is_some()
        {
            return 0;
        }
        if !st.busy.queue.is_empty() {
            // The receive had filled buffers before the group ran dry (often all of them,
            // in one turn): those are read first, and the read that empties the queue
            // re-arms (`after_read`), meeting `ENOBUFS` again if the group is still dry.
            // Starving here would make those reads go on into the socket unpaced.
            let w = st.reader.take();
            drop(st);
            return wake(w);
        }
        // Requested, so that no read asks for it meanwhile.
        st.recv = RecvOp::Requested;
        drop(st);
        d.request(Request::NoBuffers(Arc::clone(self)));
        0
    }

    /// At the end of the turn, after the tasks ran (owner only; the driver grew the group
    /// first if it had fewer free buffers than streams waiting): re-arms the receive if
    /// `room`, else the stream is starved (reading, step 5).
    pub(super) fn retry_recv(self: &Arc<Self>, ring: &mut Ring, group: &BufGroup, room: bool) {
        if room {
            return self.arm_recv(ring, group);
        }
        let mut st = lock(&self.state);
        if st.recv != RecvOp::Requested {
            return;
        }
        st.recv = RecvOp::Idle;
        if st.flags.has(DROPPED) || st.flags.has(SHUTDOWN) {
            return;
        }
        st.flags.set(STARVED, true);
        let w = st.reader.take();
        drop(st);
        wake(w);
    }

    /// A send completion (writing, steps 3, 5, 6).
    pub(super) fn on_send(self: &Arc<Self>, d: &UringDriver, c: &mut Completion) -> usize {
        let buf = c.take_buf().unwrap_or_default();
        let mut st = lock(&self.state);
        let offset = st.busy.sending.take().unwrap_or(0);
        st.busy.send_id = None;
        let mut flush = false;
        match c.result() {
            Ok(n) => {
                st.sent += u64::from(n);
                let offset = offset + n as usize;
                if offset < buf.len() {
                    if n == 0 {
                        st.busy.write_error = Some(errno(libc::EPIPE));
                        if st.busy.owned.in_flight() {
                            st.busy
                                .owned
                                .finish(Err(io::Error::from_raw_os_error(libc::EPIPE)), buf);
                        }
                    } else {
                        st.busy.resend = Some(Box::new((buf, offset)));
                    }
                } else if st.busy.owned.in_flight() {
                    st.busy.owned.finish(Ok(()), buf);
                } else if buf.capacity() <= SPARE_MAX && st.busy.spare.capacity() == 0 {
                    let mut buf = buf;
                    buf.clear();
                    st.busy.spare = buf;
                }
            }
            Err(e) => {
                st.busy.write_error = Some(errno(e.raw_os_error().unwrap_or(libc::EIO)));
                st.busy.pending = Vec::new();
                if st.busy.owned.in_flight() {
                    st.busy.owned.finish(Err(e), buf);
                }
            }
        }
        if st.busy.write_error.is_some() {
            // Failed or aborted (drop, step 4): nothing more is sent.
            st.busy.resend = None;
            st.busy.pending = Vec::new();
        } else if st.busy.resend.is_some() || !st.busy.pending.is_empty() {
            flush = st.queue_flush();
        }
        if st.busy.resend.is_none() && st.busy.pending.is_empty() {
            // Everything written has left (step 6): one buffer at most stays, as the spare,
            // which goes with the box when the unlock finds the stream idle.
            let pending = std::mem::take(&mut st.busy.pending);
            if st.busy.spare.capacity() == 0 && pending.capacity() <= SPARE_MAX {
                st.busy.spare = pending;
            }
        }
        let idle = st.write_idle();
        if idle && st.busy.shutdown_write {
            st.busy.shutdown_write = false;
            // SAFETY: the descriptor is open while the shared state is reachable: the handle
            // owns it until it is dropped, then `linger` does, and `linger` is only taken
            // (to close it) below, after this call.
            let fd = unsafe { BorrowedFd::borrow_raw(st.fd) };
            if let Err(e) = rustix::net::shutdown(fd, rustix::net::Shutdown::Write) {
                if e != rustix::io::Errno::NOTCONN {
                    st.busy.write_error = Some(errno(e.raw_os_error()));
                }
            }
        }
        let (close, timer) = if idle {
            self.take_linger(&mut st)
        } else {
            (None, None)
        };
        let w = st.busy.writer.take();
        drop(st);
        if flush {
            d.request(Request::Flush(Arc::clone(self)));
        }
        if let Some(id) = timer {
            d.request(Request::Cancel(id));
        }
        if let Some(fd) = close {
            d.request(Request::Close(fd));
        }
        wake(w)
    }

    /// Ends a linger: the descriptor to close and the timeout to cancel (drop, step 3).
    fn take_linger(&self, st: &mut State) -> (Option<OwnedFd>, Option<OpId>) {
        if st.flags.has(DROPPED) {
            st.busy.lingering = false;
            (st.busy.linger.take(), st.busy.linger_timer.take())
        } else {
            (None, None)
        }
    }

    /// Pushes the linger timeout, if the stream still lingers (owner only; drop, step 2).
    pub(super) fn arm_linger(
        self: &Arc<Self>,
        ring: &mut Ring,
        targets: &mut Slab<Target>,
        after: std::time::Duration,
    ) {
        let mut st = lock(&self.state);
        if !st.busy.lingering || st.busy.linger_timer.is_some() || st.flags.has(SHUTDOWN) {
            return;
        }
        let key = targets.insert(Target::Linger(Arc::clone(self)));
        match push(ring, Op::timeout(after), key) {
            Ok(id) => st.busy.linger_timer = Some(id),
            Err(_) => {
                // No deadline can be set: abort now rather than linger without a bound.
                targets.remove(key);
                drop(st);
                self.abort_linger(|id| {
                    let _ = ring.cancel(id);
                });
                let mut st = lock(&self.state);
                let fd = if st.write_idle() {
                    self.take_linger(&mut st).0
                } else {
                    None
                };
                drop(st);
                if let Some(fd) = fd {
                    let key = targets.insert(Target::Ignore);
                    if let Err(e) = ring.push(Op::close(fd), key as u64) {
                        targets.remove(key);
                        // As in `Request::Close`: the ring refused, nothing queued names it.
                        drop(e.into_op().into_fd());
                    }
                }
            }
        }
    }

    /// The linger timeout completed (drop, step 4).
    pub(super) fn on_linger(self: &Arc<Self>, d: &UringDriver, c: &Completion) -> usize {
        {
            let mut st = lock(&self.state);
            st.busy.linger_timer = None;
            if c.raw_result() == -libc::ECANCELED || !st.busy.lingering {
                return 0;
            }
        }
        self.abort_linger(|id| d.request(Request::Cancel(id)));
        if let Some(fd) = {
            let mut st = lock(&self.state);
            if st.write_idle() {
                self.take_linger(&mut st).0
            } else {
                None
            }
        } {
            d.request(Request::Close(fd));
        }
        0
    }

    /// Gives up sending: drops the unsent bytes, sets `SO_LINGER` 0 so that the close
    /// resets the connection, and cancels the send in flight through `cancel` (whose final
    /// completion then closes the descriptor, see `on_send`).
    fn abort_linger(&self, cancel: impl FnOnce(OpId)) {
        let mut st = lock(&self.state);
        let Some(fd) = st.busy.linger.as_ref() else {
            return;
        };
        // Best effort: a Unix stream socket has no reset to send, and whatever the
        // option's result, the descriptor is closed below.
        let _ = rustix::net::sockopt::set_socket_linger(fd, Some(std::time::Duration::ZERO));
        if st.busy.write_error.is_none() {
            st.busy.write_error = Some(errno(libc::ECONNABORTED));
        }
        st.busy.pending = Vec::new();
        st.busy.resend = None;
        st.busy.spare = Vec::new();
        let id = st.busy.send_id;
        drop(st);
        if let Some(id) = id {
            cancel(id);
        }
    }

    pub(super) fn shut_down(&self) {
        let mut st = lock(&self.state);
        st.flags.set(SHUTDOWN, true);
        st.recv = RecvOp::Idle;
        st.busy.sending = None;
        st.busy.send_id = None;
        st.busy.resend = None;
        st.busy.lingering = false;
        st.busy.linger_timer = None;
        let (r, w) = (st.reader.take(), st.busy.writer.take());
        let linger = st.busy.linger.take();
        drop(st);
        drop(linger); // the ring is gone: nothing queued can name the descriptor
        wake(r);
        wake(w);
    }
}

/// The stream's handle, owned by the socket type (through `net`'s `PollIo`).
pub(crate) struct RingStream {
    shared: Arc<StreamShared>,
    driver: Arc<Driver>,
}

/// Where a read copies to.
pub(crate) enum ReadDst<'a, 'b> {
    Slice(&'a mut [u8]),
    Vectored(&'a mut [io::IoSliceMut<'b>]),
}

impl ReadDst<'_, '_> {
    fn capacity(&self) -> usize {
        match self {
            ReadDst::Slice(b) => b.len(),
            ReadDst::Vectored(v) => v.iter().map(|b| b.len()).sum(),
        }
    }

    /// Copies `src` at byte `at` of the destination; returns how much fit.
    fn put(&mut self, at: usize, src: &[u8]) -> usize {
        match self {
            ReadDst::Slice(b) => {
                let n = src.len().min(b.len() - at);
                b[at..at + n].copy_from_slice(&src[..n]);
                n
            }
            ReadDst::Vectored(v) => {
                let mut skip = at;
                let mut done = 0;
                for b in v.iter_mut() {
                    if skip >= b.len() {
                        skip -= b.len();
                        continue;
                    }
                    let n = (src.len() - done).min(b.len() - skip);
                    b[skip..skip + n].copy_from_slice(&src[done..done + n]);
                    done += n;
                    skip = 0;
                    if done == src.len() {
                        break;
                    }
                }
                done
            }
        }
    }

    /// The first non-empty slice (the starved path reads into one).
    fn first(&mut self) -> &mut [u8] {
        match self {
            ReadDst::Slice(b) => b,
            ReadDst::Vectored(v) => match v.iter_mut().find(|b| !b.is_empty()) {
                Some(b) => b,
                None => &mut [],
            },
        }
    }
}

impl RingStream {
    /// Puts `fd` (a connected stream socket) under the ring driver `driver`.
    pub(crate) fn new(driver: Arc<Driver>, fd: RawFd) -> RingStream {
        RingStream {
            shared: Arc::new(StreamShared {
                state: SpinLock::new(State {
                    reader: None,
                    busy: BusyBox(None),
                    accepted: 0,
                    sent: 0,
                    fd,
                    recv: RecvOp::Idle,
                    flags: Flags::default(),
                }),
            }),
            driver,
        }
    }

    fn uring(&self) -> &UringDriver {
        match &*self.driver {
            Driver::Uring(d) => d,
            Driver::Selector(_) => unreachable!("a RingStream is only made on a ring driver"),
        }
    }

    /// Reads into `dst` (reading, steps 1, 3, 5, 6); `peek` leaves the data queued.
    ///
    /// The cooperative budget is checked *before* any data is taken: a poll that returns
    /// `Pending` has taken nothing.
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        mut dst: ReadDst<'_, '_>,
        peek: bool,
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(coop::poll_proceed(cx));
        let cap = dst.capacity();
        let mut st = lock(&self.shared.state);
        if let Some(res) = self.read_locked(&mut st, &mut dst, cap, peek) {
            self.after_read(st);
            return Poll::Ready(res);
        }
        coop::refund();
        match &mut st.reader {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        let arm = self.want_recv(&mut st);
        drop(st);
        if arm {
            self.uring()
                .request(Request::Recv(Arc::clone(&self.shared)));
        }
        Poll::Pending
    }

    /// One read attempt without waiting: `Err(WouldBlock)` if nothing is there.
    pub(crate) fn try_read(&self, mut dst: ReadDst<'_, '_>) -> io::Result<usize> {
        let cap = dst.capacity();
        let mut st = lock(&self.shared.state);
        match self.read_locked(&mut st, &mut dst, cap, false) {
            Some(res) => {
                self.after_read(st);
                res
            }
            None => {
                let arm = self.want_recv(&mut st);
                drop(st);
                if arm {
                    self.uring()
                        .request(Request::Recv(Arc::clone(&self.shared)));
                }
                Err(io::ErrorKind::WouldBlock.into())
            }
        }
    }

    /// Ready when a read would not wait.
    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = lock(&self.shared.state);
        if !st.busy.queue.is_empty()
            || st.flags.has(EOF)
            || st.flags.has(STARVED)
            || st.busy.read_error.is_some()
        {
            return Poll::Ready(Ok(()));
        }
        if st.flags.has(SHUTDOWN) || self.uring().is_closed() {
            return Poll::Ready(Err(shutdown_error()));
        }
        match &mut st.reader {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        let arm = self.want_recv(&mut st);
        drop(st);
        if arm {
            self.uring()
                .request(Request::Recv(Arc::clone(&self.shared)));
        }
        Poll::Pending
    }

    /// `Some(result)` if the read completes now.
    fn read_locked(
        &self,
        st: &mut State,
        dst: &mut ReadDst<'_, '_>,
        cap: usize,
        peek: bool,
    ) -> Option<io::Result<usize>> {
        if cap == 0 {
            return Some(Ok(0));
        }
        if !st.busy.queue.is_empty() {
            let mut n = 0;
            let mut head = st.busy.head as usize;
            let mut i = 0;
            while n < cap && i < st.busy.queue.len() {
                let b = &st.busy.queue.get(i)[head..];
                let k = dst.put(n, b);
                n += k;
                if k < b.len() {
                    head += k;
                    break;
                }
                head = 0;
                i += 1;
            }
            if !peek {
                // Buffers fully copied go back to the group now (their drop recycles them).
                st.busy.queue.drain_front(i);
                st.busy.head = head as u32;
            }
            return Some(Ok(n));
        }
        if let Some(e) = st.busy.read_error.take() {
            st.flags.set(EOF, true);
            return Some(Err(e));
        }
        if st.flags.has(EOF) {
            return Some(Ok(0));
        }
        if st.flags.has(SHUTDOWN) || self.uring().is_closed() {
            return Some(Err(shutdown_error()));
        }
        if st.flags.has(STARVED) {
            let flags = if peek {
                rustix::net::RecvFlags::DONTWAIT | rustix::net::RecvFlags::PEEK
            } else {
                rustix::net::RecvFlags::DONTWAIT
            };
            // SAFETY: the handle owns the open descriptor (it is closed only by its drop).
            let fd = unsafe { BorrowedFd::borrow_raw(st.fd) };
            // Paced as the provided path is (reading, step 5): at most what the receive
            // would have queued before pausing.
            let config = &self.uring().config;
            let most = config.stream_buffers.max(1) * config.buffer_size as usize;
            let dst = dst.first();
            let len = dst.len().min(most);
            match rustix::net::recv(fd, &mut dst[..len], flags) {
                Ok((n, _)) => {
                    if n == 0 && !peek {
                        st.flags.set(EOF, true);
                    } else if !peek {
                        // One direct read per starvation: `after_read` re-arms the
                        // receive, which ends at the next submission, with `ENOBUFS`
                        // (starved again, the reader woken) or with data.
                        st.flags.set(STARVED, false);
                    }
                    return Some(Ok(n));
                }
                Err(rustix::io::Errno::AGAIN) => st.flags.set(STARVED, false),
                Err(rustix::io::Errno::INTR) => return None,
                Err(e) => return Some(Err(e.into())),
            }
        }
        None
    }

    /// Whether the receive must be (re-)armed; marks it requested.
    fn want_recv(&self, st: &mut State) -> bool {
        if st.recv == RecvOp::Idle
            && !st.flags.has(EOF)
            && !st.flags.has(STARVED)
            && st.busy.read_error.is_none()
            && !st.flags.has(SHUTDOWN)
            && st.busy.queue.len() < self.uring().config.stream_buffers
        {
            st.recv = RecvOp::Requested;
            true
        } else {
            false
        }
    }

    /// After a read, in its critical section: re-arm a paused receive (reading, step 4).
    fn after_read(&self, mut st: Locked<'_>) {
        st.keep();
        let arm = st.busy.queue.is_empty() && self.want_recv(&mut st);
        drop(st);
        if arm {
            self.uring()
                .request(Request::Recv(Arc::clone(&self.shared)));
        }
    }

    fn write_error(st: &State) -> Option<io::Error> {
        if st.flags.has(SHUTDOWN) {
            return Some(shutdown_error());
        }
        st.busy
            .write_error
            .map(|e| io::Error::from_raw_os_error(e.get()))
    }

    /// Appends to the send buffer (writing, steps 1 and 4).
    pub(crate) fn poll_write(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_marked(cx, bufs).map_ok(|(n, _)| n)
    }

    /// [`poll_write`](Self::poll_write), with the mark of [`write_marked`](Self::write_marked).
    /// As for reads, the budget is checked before any byte is taken.
    pub(crate) fn poll_write_marked(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<(usize, u64)>> {
        std::task::ready!(coop::poll_proceed(cx));
        match self.write_marked(bufs) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                coop::refund();
                let mut st = lock(&self.shared.state);
                st.busy.writer = Some(cx.waker().clone());
                // Re-check under the lock: a completion may have made room meanwhile.
                let full = st.unsent() >= self.uring().config.send_limit
                    || !matches!(st.busy.owned, Owned::None);
                drop(st);
                if !full {
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            }
            res => Poll::Ready(res),
        }
    }

    /// One write attempt without waiting.
    pub(crate) fn write_now(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.write_marked(bufs).map(|(n, _)| n)
    }

    /// One write attempt without waiting; also returns the mark `sent` reaches once these
    /// bytes have left (see [`poll_sent`](Self::poll_sent)).
    pub(crate) fn write_marked(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<(usize, u64)> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let mut st = lock(&self.shared.state);
        if let Some(e) = Self::write_error(&st) {
            return Err(e);
        }
        if total == 0 {
            return Ok((0, st.accepted));
        }
        if st.unsent() >= self.uring().config.send_limit || !matches!(st.busy.owned, Owned::None) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        if st.busy.pending.capacity() == 0 {
            st.busy.pending = std::mem::take(&mut st.busy.spare);
        }
        for b in bufs {
            st.busy.pending.extend_from_slice(b);
        }
        st.accepted += total as u64;
        let mark = st.accepted;
        let flush = st.queue_flush();
        drop(st);
        if flush {
            self.uring()
                .request(Request::Flush(Arc::clone(&self.shared)));
        }
        Ok((total, mark))
    }

    /// Waits until the bytes up to `mark` (from [`write_marked`](Self::write_marked)) have
    /// been sent: the inherent `write` methods wait for it, so that, as on the readiness
    /// backends, their bytes are in the kernel when they return.
    pub(crate) fn poll_sent(&self, cx: &mut Context<'_>, mark: u64) -> Poll<io::Result<()>> {
        let mut st = lock(&self.shared.state);
        if st.sent >= mark {
            return Poll::Ready(Ok(()));
        }
        if let Some(e) = Self::write_error(&st) {
            return Poll::Ready(Err(e));
        }
        match &mut st.busy.writer {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Ready when a write would not wait.
    pub(crate) fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = lock(&self.shared.state);
        if let Some(e) = Self::write_error(&st) {
            return Poll::Ready(Err(e));
        }
        if st.unsent() < self.uring().config.send_limit && matches!(st.busy.owned, Owned::None) {
            return Poll::Ready(Ok(()));
        }
        st.busy.writer = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Waits until everything written has been sent (writing, step 5).
    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = lock(&self.shared.state);
        if let Some(e) = Self::write_error(&st) {
            return Poll::Ready(Err(e));
        }
        if st.write_idle() && !st.busy.owned.in_flight() {
            return Poll::Ready(Ok(()));
        }
        st.busy.writer = Some(cx.waker().clone());
        let flush = st.queue_flush();
        drop(st);
        if flush {
            self.uring()
                .request(Request::Flush(Arc::clone(&self.shared)));
        }
        Poll::Pending
    }

    /// `shutdown(Write)`: at once if nothing is unsent, else after the last send.
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        let mut st = lock(&self.shared.state);
        if st.write_idle() && !st.busy.owned.in_flight() {
            let fd = st.fd;
            drop(st);
            // SAFETY: the handle owns the open descriptor.
            let fd = unsafe { BorrowedFd::borrow_raw(fd) };
            return Ok(rustix::net::shutdown(fd, rustix::net::Shutdown::Write)?);
        }
        st.busy.shutdown_write = true;
        Ok(())
    }

    /// An owned-buffer write: hands `buf` to the ring once nothing else is unsent, then
    /// waits for its last byte. `buf` is `Some` on the first poll and taken then.
    pub(crate) fn poll_write_owned(
        &self,
        cx: &mut Context<'_>,
        buf: &mut Option<Vec<u8>>,
    ) -> Poll<(io::Result<()>, Vec<u8>)> {
        let mut st = lock(&self.shared.state);
        if let Some(b) = buf.take() {
            if let Some(e) = Self::write_error(&st) {
                return Poll::Ready((Err(e), b));
            }
            if !st.write_idle() || !matches!(st.busy.owned, Owned::None) {
                // Wait for the earlier bytes (their order on the wire comes first).
                *buf = Some(b);
                st.busy.writer = Some(cx.waker().clone());
                let flush = st.queue_flush();
                drop(st);
                if flush {
                    self.uring()
                        .request(Request::Flush(Arc::clone(&self.shared)));
                }
                return Poll::Pending;
            }
            if b.is_empty() {
                return Poll::Ready((Ok(()), b));
            }
            st.busy.pending = b;
            st.busy.owned = Owned::InFlight;
            st.busy.writer = Some(cx.waker().clone());
            let flush = st.queue_flush();
            drop(st);
            if flush {
                self.uring()
                    .request(Request::Flush(Arc::clone(&self.shared)));
            }
            return Poll::Pending;
        }
        match std::mem::replace(&mut st.busy.owned, Owned::None) {
            Owned::Done(done) => Poll::Ready(*done),
            other => {
                st.busy.owned = other;
                st.busy.writer = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// An owned-buffer write future was dropped: a buffer still in flight stays the
    /// ring's until its send completes and is freed then; a finished one is freed now.
    pub(crate) fn abandon_owned_write(&self) {
        let mut st = lock(&self.shared.state);
        st.busy.owned = match std::mem::replace(&mut st.busy.owned, Owned::None) {
            Owned::InFlight | Owned::Abandoned => Owned::Abandoned,
            Owned::None | Owned::Done(..) => Owned::None,
        };
    }

    /// Leaves the ring without closing the descriptor (`into_std`): the receive is
    /// cancelled and what it received and nobody read is dropped; what was written is
    /// still sent.
    pub(crate) fn release(self) {
        self.finish(None);
    }

    /// Releases the stream; `fd` is its descriptor (see "Drop" in the module docs).
    pub(crate) fn close(self, fd: OwnedFd) {
        self.finish(Some(fd));
    }

    fn finish(self, fd: Option<OwnedFd>) {
        let d = self.uring();
        let mut st = lock(&self.shared.state);
        st.flags.set(DROPPED, true);
        st.reader = None;
        if let Some(b) = st.busy.get_mut() {
            b.queue.clear();
            b.head = 0;
            b.writer = None;
            if matches!(b.owned, Owned::Done(..)) {
                b.owned = Owned::None;
            }
        }
        let cancel = match st.recv {
            RecvOp::Armed => {
                st.recv = RecvOp::Cancelling;
                true
            }
            RecvOp::Requested => {
                st.recv = RecvOp::Idle;
                false
            }
            _ => false,
        };
        let lingering = !st.flags.has(SHUTDOWN) && !st.write_idle();
        let flush = lingering && st.queue_flush();
        let deadline = lingering && fd.is_some();
        let close = if lingering {
            st.busy.linger = fd;
            st.busy.lingering = deadline;
            None
        } else {
            fd
        };
        drop(st);
        if cancel {
            d.request(Request::CancelRecv(Arc::clone(&self.shared)));
        }
        if flush {
            d.request(Request::Flush(Arc::clone(&self.shared)));
        }
        if deadline {
            d.request(Request::Linger(Arc::clone(&self.shared)));
        }
        if let Some(fd) = close {
            d.request(Request::Close(fd));
        }
    }
}

impl std::fmt::Debug for RingStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingStream")
            .field("fd", &lock(&self.shared.state).fd)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    use super::*;
    use crate::driver::Backend;

    /// The state every connection carries: 272 bytes before the linger fields, 296 with
    /// them, 256 once `resend` and `Owned::Done` were boxed (and the receive queue's first
    /// buffer inline), 136 once the write side moved into its on-demand box, 56 once
    /// everything but the reader, the byte counts, the descriptor and the flags did (and
    /// the receive became untracked). Keep it from growing unnoticed: with the `Arc`'s
    /// counts it is one 80-byte malloc chunk (glibc: 72 bytes + 8 of header).
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn stream_state_stays_small() {
        let size = std::mem::size_of::<StreamShared>();
        assert!(size <= 56, "StreamShared is {size} bytes");
    }

    /// A current-thread runtime on io_uring and its driver, or `None` (said once) where
    /// io_uring is unavailable.
    fn uring_runtime() -> io::Result<Option<(crate::Runtime, Arc<Driver>)>> {
        if !Backend::Uring.is_available() {
            eprintln!("note: io_uring unavailable here; skipped");
            return Ok(None);
        }
        let rt = crate::Runtime::builder()
            .current_thread()
            .backend(Backend::Uring)
            .build()?;
        let driver = rt.handle().inner.io_driver();
        Ok(Some((rt, driver)))
    }

    /// The boxes of idle streams go to the thread's cache, which stays bounded, keeps each
    /// box's small spare send buffer (so that a request allocates nothing) and frees a large
    /// one; a box taken from it is idle again.
    #[test]
    fn idle_boxes_go_to_a_bounded_per_thread_cache() -> io::Result<()> {
        let Some((rt, driver)) = uring_runtime()? else {
            return Ok(());
        };
        let cached = || BUSY_CACHE.with(|c| c.borrow().len());
        let mut pairs = Vec::new();
        for _ in 0..BUSY_CACHE_MAX + 10 {
            let (a, b) = std::os::unix::net::UnixStream::pair()?;
            a.set_nonblocking(true)?;
            pairs.push((a, b));
        }
        rt.block_on(async {
            let streams: Vec<RingStream> = pairs
                .iter()
                .map(|(a, _)| RingStream::new(driver.clone(), a.as_raw_fd()))
                .collect();
            // All busy at once: each takes a box (one stream's write takes back the box
            // another's just gave back, so only boxes in use at the same time add up).
            let marks = streams
                .iter()
                .map(|s| {
                    s.write_marked(&[io::IoSlice::new(&[1u8; 100])])
                        .map(|w| w.1)
                })
                .collect::<io::Result<Vec<u64>>>()?;
            for (i, (s, mark)) in streams.iter().zip(marks).enumerate() {
                std::future::poll_fn(|cx| s.poll_sent(cx, mark)).await?;
                assert!(
                    lock(&s.shared.state).busy.0.is_none(),
                    "stream {i} kept its box"
                );
            }
            assert_eq!(
                cached(),
                BUSY_CACHE_MAX,
                "more idle boxes than streams, or unbounded"
            );
            BUSY_CACHE.with(|c| {
                for b in c.borrow().iter() {
                    assert!(b.is_idle() && b.writer.is_none() && b.spare.is_empty());
                    assert!(b.spare.capacity() <= CACHED_SPARE_MAX);
                }
                // The last box back kept its stream's 100-byte send buffer.
                assert!(c.borrow().last().is_some_and(|b| b.spare.capacity() >= 100));
            });
            // A large send buffer is not cached with its box.
            let s = &streams[0];
            let (_, mark) = s.write_marked(&[io::IoSlice::new(&[2u8; 3000])])?;
            std::future::poll_fn(|cx| s.poll_sent(cx, mark)).await?;
            BUSY_CACHE.with(|c| {
                let c = c.borrow();
                assert_eq!(c.len(), BUSY_CACHE_MAX);
                assert_eq!(c.last().map(|b| b.spare.capacity()), Some(0));
            });
            // The descriptors stay `pairs`'.
            for s in streams {
                s.release();
            }
            Ok::<_, io::Error>(())
        })?;
        // Every byte arrived, in order, on every connection.
        for (i, (_, b)) in pairs.iter().enumerate() {
            let want = if i == 0 { 3100 } else { 100 };
            let mut got = vec![0u8; want];
            io::Read::read_exact(&mut &*b, &mut got)?;
            assert!(got[..100].iter().all(|&x| x == 1) && got[100..].iter().all(|&x| x == 2));
        }
        Ok(())
    }

    /// Regression: an idle stream used to keep its last send buffer (up to `SPARE_MAX`
    /// bytes) as a spare; 10 000 idle connections held 40 MiB of it.
    #[test]
    fn an_idle_stream_holds_no_send_or_receive_buffer() -> io::Result<()> {
        let Some((rt, driver)) = uring_runtime()? else {
            return Ok(());
        };
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        a.set_nonblocking(true)?;
        rt.block_on(async {
            let s = RingStream::new(driver, a.as_raw_fd());
            for round in 0..3 {
                let data = vec![round as u8; 1000];
                let (n, mark) = s.write_marked(&[io::IoSlice::new(&data)])?;
                assert_eq!(n, data.len());
                std::future::poll_fn(|cx| s.poll_sent(cx, mark)).await?;
                let st = lock(&s.shared.state);
                assert_eq!(
                    (st.busy.pending.capacity(), st.busy.spare.capacity()),
                    (0, 0),
                    "round {round}: everything was sent, yet the stream holds a send buffer"
                );
                assert!(
                    st.busy.0.is_none(),
                    "round {round}: everything was sent, yet the stream keeps its write state"
                );
            }
            // The receive side: after reads that took everything (one buffer, then
            // several queued at once), the stream holds no receive allocation.
            for chunks in [1usize, 5] {
                for _ in 0..chunks {
                    io::Write::write_all(&mut &b, &[7u8; 4096])?;
                }
                let mut want = chunks * 4096;
                let mut buf = vec![0u8; 64 * 1024];
                while want > 0 {
                    let n = std::future::poll_fn(|cx| {
                        s.poll_read(cx, ReadDst::Slice(&mut buf[..want]), false)
                    })
                    .await?;
                    assert!(n > 0 && buf[..n].iter().all(|&x| x == 7));
                    want -= n;
                }
                let st = lock(&s.shared.state);
                assert!(
                    st.busy.queue.is_empty() && st.busy.queue.rest.is_none(),
                    "{chunks} chunks read, yet the stream keeps a receive queue allocation"
                );
            }
            s.close(OwnedFd::from(a));
            Ok::<_, io::Error>(())
        })?;
        let mut got = vec![0u8; 3000];
        io::Read::read_exact(&mut &b, &mut got)?;
        assert!(got
            .chunks(1000)
            .enumerate()
            .all(|(i, c)| c.iter().all(|&x| x == i as u8)));
        Ok(())
    }
}
