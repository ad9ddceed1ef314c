//! The completion driver: one io_uring [`Ring`] per scheduler thread, driven with one
//! `io_uring_enter` per scheduler turn.
//!
//! # What runs on the ring
//!
//! | IO | how | file |
//! |---|---|---|
//! | stream reads (TCP, Unix) | one multishot `recv` per connection into the driver's provided buffer group; received buffers queue on the stream until the task copies them out | `stream.rs` |
//! | stream writes | bytes copied into the stream's owned send buffer; at the end of the turn one `send` per stream carries everything written during the turn | `stream.rs` |
//! | accepts | one multishot `accept` per listener | `listener.rs` |
//! | everything else built on [`Registration`](super::Registration) (UDP, Unix datagrams, connects, signalfd, callbacks) | readiness: a single-shot `poll_add` per waiting direction, re-armed when a task next waits (the one-shot emulation of the select/poll backends) | this file |
//!
//! Datagram sockets stay on readiness on purpose: a datagram read needs the caller's buffer
//! and address at the moment of the read, a provided buffer would cost a copy without
//! saving a system call per datagram (one `recvmsg` per datagram either way), and the
//! readiness path keeps every existing API (`recv_from`, `peek_from`, `try_*`).
//!
//! # One turn
//!
//! 1. Tasks run. Their operations do not enter the kernel: a read copies from buffers that
//!    already arrived, a write appends to the stream's send buffer and puts the stream on the
//!    turn's flush list, an accept pops an accepted descriptor. Anything that must reach the
//!    ring (arming a receive, a flush, a cancel, a close) is pushed as a submission queue
//!    entry (SQE) at once when the task runs on the ring's owner thread, or handed to the
//!    owner through the *remote queue* (plus a wake) from any other thread.
//! 2. `park`: drain the remote queue, turn the flush list into `send` SQEs (one per stream),
//!    then **one** `submit_and_wait`: submits everything, and waits (unless the scheduler is
//!    busy or the remote queue is not empty) for a completion, a wake, or the next timer.
//!    Under load the wait is for a *batch* (see "Batch waits").
//! 3. Reap every completion queue entry (CQE) under the ring lock into a batch, then, with
//!    the lock released, hand each to its target (a stream, a listener, a readiness
//!    registration) which stores the result and wakes its task. A waker may run arbitrary
//!    code (even drop a stream of this driver, which queues a cancel), so no lock is held.
//!
//! # Batch waits
//!
//! A turn that found one or two completions costs one `io_uring_enter` for them: under a
//! steady load the scheduler would loop about once per request. So a blocking wait asks the
//! kernel for a batch: `min_complete` = the batch, with `min_wait_usec` =
//! [`batch_wait`](UringConfig::batch_wait) (100 µs; `Builder::uring_batch_wait`), which
//! returns as soon as the batch is there, or once the minimum wait has passed with at least
//! one completion, or at the timer's deadline. With `DEFER_TASKRUN` the kernel does not even
//! wake the thread before the batch is complete (its lazy wake-ups), so one wake-up and one
//! system call serve the batch.
//!
//! The batch adapts after each blocking wait (`next_batch`): it doubles when the wait found
//! at least twice what it asked for, halves when it found less (the minimum wait ran out),
//! and stays between 1 and the smaller of 64 and one per four operations in flight, so a
//! ring serving a connection or two never batches (a lone request would wait out the
//! minimum wait each time). The cost: a completion, a cross-thread wake-up included, may
//! wait up to `batch_wait` for the rest of its batch. Kernels before 6.12 wait for one.
//!
//! # Buffer ownership
//!
//! The runtime never lends the kernel memory it does not own: every buffer in flight (send
//! buffers, provided buffers) belongs to the ring until the operation's final completion,
//! as `c10k-uring`'s protocol states; a dropped future or a dropped stream only *cancels*.
//! Provided buffers go back to the group when the stream's task has copied them out (or the
//! stream is dropped): an idle connection holds none.
//!
//! # Provided buffers
//!
//! The group starts with [`initial_buffers`](UringConfig::initial_buffers) (64) and may
//! grow to [`buffers`](UringConfig::buffers) (4096): its memory is allocated without being
//! written, so only pages the kernel has received into are resident. The kernel takes
//! buffers in ring order and they come back at the tail, so every buffer of the group is
//! touched in time: the group's size, not the data in flight, is what an idle server keeps
//! resident, hence the small start, and the buffers' size: 2 KiB
//! ([`buffer_size`](UringConfig::buffer_size)), which holds a 1 KiB request whole, keeps
//! 128 KiB of the starting group resident instead of 256 KiB with 4 KiB buffers.
//!
//! 1. A multishot receive that finds the group empty ends with `ENOBUFS`. A stream that
//!    has buffers queued re-arms when its reader has emptied the queue; the others are
//!    retried at the end of the turn (`Inner::no_buffers`).
//! 2. By then the tasks woken in the turn have copied out and returned their buffers: a
//!    burst of new connections takes more buffers in one turn than it ever holds. Only if
//!    fewer are free than receives wait does the group double (at most to its capacity).
//! 3. The waiting receives are re-armed, one per free buffer; at the capacity, the others
//!    are *starved* and read with `recv(2)` instead, paced as the receive would be
//!    (`stream.rs`, reading step 5).
//!
//! The group never shrinks: its size is the high-water mark of buffers held at once,
//! bounded by the capacity.
//!
//! # Threads and `SINGLE_ISSUER`
//!
//! The ring is built disabled, with `IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN`, and
//! enabled by the first thread that parks on it, which becomes its *owner* for life: a
//! worker of the multi-thread scheduler, or the thread that first runs `block_on` of a
//! current-thread runtime. A later `block_on` of that current-thread runtime on another
//! thread panics with a message saying so; `Builder::uring_single_issuer(false)` builds rings
//! that any thread may drive instead (without `DEFER_TASKRUN`, slightly slower). Other
//! threads never touch the ring: they use the remote queue.
//!
//! # Descriptors
//!
//! A descriptor with operations on the ring is closed *through* the ring (`Op::close`,
//! after the cancels of its operations): SQEs are issued in order, so no SQE still queued
//! can name a descriptor number that was closed and reused in between.
//!
//! # Shutdown
//!
//! `shutdown` marks every registration, stream and listener shut down (their waits fail
//! with the shutdown error). Before it drops the ring it cancels everything in flight and
//! reaps the final completions (at most [`SHUTDOWN_PATIENCE`]): the streams' receives are
//! untracked, and each holds a reference to its stream that only its final completion
//! gives back. The ring's drop then waits for whatever is left (see `c10k-uring`, rule 7);
//! if the kernel never completes a receive (or the ring cannot be entered, e.g. a
//! current-thread runtime dropped on a thread that is not the ring's single issuer), that
//! stream's 80-byte state is leaked: only the completion names it (the driver keeps no list
//! of armed receives, which is what makes an idle connection small).

mod listener;
mod spin;
mod stream;

use std::cell::Cell;
use std::fmt;
use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use c10k_uring::{BufGroup, Completion, Op, OpId, Ring};
use slab::Slab;

use super::ready::{ERROR, READABLE, READ_CLOSED, WRITABLE, WRITE_CLOSED};
use super::registry::Registry;
use super::scheduled_io::{ScheduledIo, Waiters, ARM_READ, ARM_WRITE};
use super::{lock, shutdown_error, Interest};

use listener::ListenerShared;
pub(crate) use listener::RingListener;
use stream::StreamShared;
pub(crate) use stream::{ReadDst, RingStream};

/// Knobs of the ring driver, set through the runtime `Builder`.
#[derive(Clone, Debug)]
pub(crate) struct UringConfig {
    /// Submission queue entries (the completion queue gets twice as many).
    pub(crate) entries: u32,
    /// Provided receive buffers per ring at most (the group grows up to this).
    pub(crate) buffers: u16,
    /// Provided receive buffers registered when the ring is built.
    pub(crate) initial_buffers: u16,
    /// Bytes per provided buffer.
    pub(crate) buffer_size: u32,
    /// Received buffers a stream may hold unread before its receive is paused.
    pub(crate) stream_buffers: usize,
    /// Bytes a stream may have written and not yet sent before writes wait.
    pub(crate) send_limit: usize,
    /// Accepted connections a listener may hold unaccepted before its accept is paused.
    pub(crate) accept_queue: usize,
    /// Build rings with `SINGLE_ISSUER | DEFER_TASKRUN` (bound to their first driving thread).
    pub(crate) single_issuer: bool,
    /// How long a dropped stream keeps sending what was written before it; then its send
    /// is cancelled and the connection reset (see `stream.rs`, "Drop").
    pub(crate) linger: Duration,
    /// How long a blocking wait may hold the completions that arrived for the rest of its
    /// batch ("Batch waits"); zero waits for one completion.
    pub(crate) batch_wait: Duration,
}

impl Default for UringConfig {
    fn default() -> UringConfig {
        UringConfig {
            entries: 4096,
            buffers: 4096,
            initial_buffers: 64,
            buffer_size: 2048,
            stream_buffers: 16,
            send_limit: 64 * 1024,
            accept_queue: 1024,
            single_issuer: true,
            linger: Duration::from_secs(10),
            batch_wait: Duration::from_micros(100),
        }
    }
}

const WRONG_THREAD: &str = "this c10k runtime runs on the uring backend, whose ring is bound \
     to the thread that first drove it (IORING_SETUP_SINGLE_ISSUER): a current-thread runtime \
     on uring must always run `block_on` on that thread. Build it with \
     `Builder::uring_single_issuer(false)` to drive it from several threads in turn";

/// The largest batch a blocking wait asks for ("Batch waits").
const BATCH_MAX: u32 = 64;
/// A blocking wait asks for at most one completion per this many operations in flight
/// ("Batch waits").
const IN_FLIGHT_PER_BATCHED: usize = 4;

/// The batch the next blocking wait asks for, after one that asked for `asked` found `got`
/// completions, with `in_flight` operations on the ring ("Batch waits"): twice as many when
/// it found at least twice what it asked for, half as many when it found fewer; never more
/// than one per [`IN_FLIGHT_PER_BATCHED`] operations in flight, nor [`BATCH_MAX`].
fn next_batch(asked: u32, got: usize, in_flight: usize) -> u32 {
    let cap = u32::try_from(in_flight / IN_FLIGHT_PER_BATCHED)
        .unwrap_or(u32::MAX)
        .clamp(1, BATCH_MAX);
    let got = u32::try_from(got).unwrap_or(u32::MAX);
    let next = if got >= asked.saturating_mul(2) {
        asked.saturating_mul(2)
    } else if got < asked {
        asked / 2
    } else {
        asked
    };
    next.clamp(1, cap)
}

/// The group id of the driver's receive buffers (one group per ring).
const GROUP_ID: u16 = 0;
/// How long `shutdown` waits for the final completions of what was in flight.
const SHUTDOWN_PATIENCE: Duration = Duration::from_secs(1);
/// `poll_add` masks per direction.
const POLL_READ: u32 = (libc::POLLIN | libc::POLLRDHUP | libc::POLLPRI) as u32;
const POLL_WRITE: u32 = libc::POLLOUT as u32;

thread_local! {
    /// A process-unique number of this thread (0: not assigned yet), compared with a ring's
    /// `owner` to tell whether this thread may push to the ring directly.
    static THREAD_NO: Cell<u64> = const { Cell::new(0) };
}

fn thread_no() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    THREAD_NO.with(|c| {
        let n = c.get();
        if n != 0 {
            return n;
        }
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        c.set(n);
        n
    })
}

/// One ring, its buffer group, and the state of the IO made on it.
pub(crate) struct UringDriver {
    inner: Mutex<Inner>,
    /// Work handed to the owner by other threads (step 1 of a turn).
    remote: Mutex<Vec<Request>>,
    remote_pending: AtomicBool,
    waker: c10k_uring::Waker,
    /// The owner is in (or about to enter) a blocking `submit_and_wait`.
    parked: AtomicBool,
    /// Readiness registrations (`poll_add`).
    regs: Mutex<Registry>,
    group: BufGroup,
    /// `thread_no()` of the owner; 0 until the first park.
    owner: AtomicU64,
    /// Shut down: nothing is pushed any more; every wait fails.
    closed: AtomicBool,
    pub(crate) config: UringConfig,
}

/// What only the owner touches (plus `shutdown`).
struct Inner {
    /// `None` after shutdown.
    ring: Option<Ring>,
    /// Who receives each operation's completions: the operation's `u64` tag is the key.
    targets: Slab<Target>,
    /// Streams with bytes to send at the end of this turn.
    flush: Vec<Arc<StreamShared>>,
    /// Streams whose receive ended with `ENOBUFS` this turn, re-armed at its end.
    no_buffers: Vec<Arc<StreamShared>>,
    /// The live `poll_add` operations of each readiness registration, by token:
    /// `[read, write]`, for cancelling them when the registration goes.
    polls: std::collections::HashMap<usize, [Option<OpId>; 2]>,
    /// Completions reaped this turn, handed out after the lock is released.
    batch: Vec<(Target, Completion)>,
    /// How many completions the next blocking wait asks for ("Batch waits").
    wait_for: u32,
}

/// The receiver of an operation's completions.
#[derive(Clone)]
enum Target {
    Poll {
        io: Arc<ScheduledIo>,
        dir: u8,
    },
    Recv(Arc<StreamShared>),
    Send(Arc<StreamShared>),
    /// The linger deadline of a dropped stream.
    Linger(Arc<StreamShared>),
    Accept(Arc<ListenerShared>),
    /// Closes and cancels: nothing to report.
    Ignore,
}

/// Work for the ring, pushed directly by the owner or queued by other threads.
enum Request {
    ArmPoll {
        io: Arc<ScheduledIo>,
        dir: u8,
    },
    RemovePolls {
        token: usize,
    },
    Recv(Arc<StreamShared>),
    /// Arm again, at the end of the turn, a receive that ended with `ENOBUFS`.
    NoBuffers(Arc<StreamShared>),
    Flush(Arc<StreamShared>),
    /// Start the linger deadline of a dropped stream.
    Linger(Arc<StreamShared>),
    Accept(Arc<ListenerShared>),
    Cancel(OpId),
    /// Cancel a stream's receive (untracked: its id is the stream's).
    CancelRecv(Arc<StreamShared>),
    Close(OwnedFd),
}

impl UringDriver {
    pub(crate) fn new(config: UringConfig) -> io::Result<UringDriver> {
        let mut ring = c10k_uring::Builder::new()
            .entries(config.entries)
            .cq_entries(config.entries.saturating_mul(2))
            .single_issuer(config.single_issuer)
            .defer_taskrun(config.single_issuer)
            .disabled(config.single_issuer)
            .build()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("the uring backend is unavailable: cannot set up an io_uring ({e})"),
                )
            })?;
        let mut buffers = BufGroup::builder(GROUP_ID);
        buffers
            .count(config.initial_buffers.clamp(1, config.buffers))
            .capacity(config.buffers)
            .buf_size(config.buffer_size);
        let group = ring.register_buf_group(&buffers)?;
        let waker = ring.waker()?;
        Ok(UringDriver {
            inner: Mutex::new(Inner {
                ring: Some(ring),
                targets: Slab::with_capacity(256),
                flush: Vec::with_capacity(64),
                no_buffers: Vec::new(),
                polls: std::collections::HashMap::new(),
                batch: Vec::with_capacity(256),
                wait_for: 1,
            }),
            remote: Mutex::new(Vec::new()),
            remote_pending: AtomicBool::new(false),
            waker,
            parked: AtomicBool::new(false),
            regs: Mutex::new(Registry::new()),
            group,
            owner: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            config,
        })
    }

    /// The driver's provided buffer group (for tests and statistics).
    pub(crate) fn buf_group(&self) -> &BufGroup {
        &self.group
    }

    /// Grows the group for a receive that ended with `ENOBUFS` and still finds it empty
    /// (owner only, ring locked): doubles it, at most to its capacity (see "Provided
    /// buffers" in the module docs). `Ok(false)`: the group is at its capacity, the stream
    /// falls back to `recv(2)`.
    fn grow_buffers(&self, ring: &mut Ring) -> io::Result<bool> {
        let (total, cap) = (self.group.total(), self.group.capacity());
        if total >= cap {
            return Ok(false);
        }
        let more = u16::try_from(total.min(cap - total)).unwrap_or(u16::MAX);
        Ok(ring.grow_buf_group(&self.group, more)? > 0)
    }

    fn is_owner(&self) -> bool {
        self.owner.load(Ordering::Relaxed) == thread_no()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Hands `req` to the ring: pushed at once on the owner thread, else queued for the
    /// owner, who is woken if parked. After shutdown, requests are dropped (closes still
    /// close: dropping an `OwnedFd` closes it, and the ring has no operation left).
    fn request(&self, req: Request) {
        if self.is_owner() {
            let mut inner = lock(&self.inner);
            self.apply(&mut inner, req);
            return;
        }
        if self.is_closed() {
            return;
        }
        lock(&self.remote).push(req);
        self.remote_pending.store(true, Ordering::Release);
        self.unpark();
    }

    /// Pushes the SQE(s) for `req` (owner only, ring locked).
    fn apply(&self, inner: &mut Inner, req: Request) {
        let Inner {
            ring,
            targets,
            flush,
            polls,
            ..
        } = inner;
        let Some(ring) = ring.as_mut() else {
            return; // shut down
        };
        match req {
            Request::ArmPoll { io, dir } => {
                if io.is_removed() {
                    return;
                }
                let mask = if dir == ARM_READ {
                    POLL_READ
                } else {
                    POLL_WRITE
                };
                let (fd, token) = (io.fd, io.token);
                let key = targets.insert(Target::Poll {
                    io: Arc::clone(&io),
                    dir,
                });
                match push(ring, Op::poll(fd, mask), key) {
                    Ok(id) => {
                        polls.entry(token).or_default()[slot_of_dir(dir)] = Some(id);
                    }
                    Err(_) => {
                        targets.remove(key);
                        lock(&io.waiters).armed &= !dir;
                        // The descriptor is broken (e.g. closed under us): report an error.
                        io.set_readiness(ERROR);
                        io.wake(ERROR);
                    }
                }
            }
            Request::RemovePolls { token } => {
                if let Some(ids) = polls.remove(&token) {
                    for id in ids.into_iter().flatten() {
                        let _ = ring.cancel(id);
                    }
                }
            }
            Request::Recv(s) => s.arm_recv(ring, &self.group),
            Request::NoBuffers(s) => inner.no_buffers.push(s),
            // Asked once per turn (`State::queue_flush` in `stream.rs`).
            Request::Flush(s) => flush.push(s),
            Request::Linger(s) => s.arm_linger(ring, targets, self.config.linger),
            Request::Accept(l) => l.arm_accept(ring, targets),
            Request::Cancel(id) => {
                // A stale id (the op already ended) is a no-op.
                let _ = ring.cancel(id);
            }
            Request::CancelRecv(s) => {
                // Asked only while the receive is armed, and it is re-armed only after
                // its final completion, so this cannot name a newer receive
                // (`c10k-uring`'s untracked rules).
                if let Some(id) = s.recv_id() {
                    let _ = ring.cancel_untracked(id);
                }
            }
            Request::Close(fd) => {
                let key = targets.insert(Target::Ignore);
                if let Err(e) = ring.push(Op::close(fd), key as u64) {
                    targets.remove(key);
                    // The ring refused: close here (nothing queued names it any more,
                    // since the ring could not take even this SQE after flushing).
                    drop(e.into_op().into_fd());
                }
            }
        }
    }

    pub(super) fn add(&self, fd: RawFd, _interest: Interest) -> io::Result<Arc<ScheduledIo>> {
        let mut regs = lock(&self.regs);
        if regs.shutdown {
            return Err(shutdown_error());
        }
        // Nothing is armed until a task waits (`arm`): a registration nobody waits on costs
        // no operation on the ring.
        regs.insert(|token| Ok(Arc::new(ScheduledIo::new(token, fd))))
    }

    pub(super) fn remove(&self, io: &ScheduledIo) -> io::Result<()> {
        let mut regs = lock(&self.regs);
        regs.remove(io);
        if regs.shutdown {
            return Ok(());
        }
        drop(regs);
        io.set_removed();
        let armed = {
            let mut w = lock(&io.waiters);
            w.removed = true;
            w.armed
        };
        if armed != 0 {
            self.request(Request::RemovePolls { token: io.token });
        }
        Ok(())
    }

    /// A task is about to sleep on `dir` (waiters locked): mark the direction armed, and
    /// ask for the `poll_add` in [`arm_unlocked`](Self::arm_unlocked) (pushing it needs the
    /// ring, whose owner path must not run under the waiters lock).
    pub(super) fn arm(&self, w: &mut Waiters, dir: u8) -> bool {
        if w.removed || w.armed & dir != 0 {
            return false;
        }
        w.armed |= dir;
        true
    }

    pub(super) fn arm_unlocked(&self, io: &Arc<ScheduledIo>, dir: u8) {
        self.request(Request::ArmPoll {
            io: Arc::clone(io),
            dir,
        });
    }

    /// Panics if this thread may not drive the ring (see "Threads and `SINGLE_ISSUER`" in
    /// the module docs); called by `block_on` before it takes the scheduler's core.
    pub(crate) fn assert_can_drive(&self) {
        let owner = self.owner.load(Ordering::Acquire);
        if self.config.single_issuer && owner != 0 && owner != thread_no() {
            panic!("{}", WRONG_THREAD);
        }
    }

    /// See [`Driver::park`](super::Driver::park).
    pub(crate) fn park(
        &self,
        timeout: Option<Duration>,
        can_block: impl FnOnce() -> bool,
    ) -> io::Result<usize> {
        let me = thread_no();
        match self
            .owner
            .compare_exchange(0, me, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                let mut inner = lock(&self.inner);
                if let Some(ring) = inner.ring.as_mut() {
                    if self.config.single_issuer {
                        ring.enable()?;
                    }
                }
            }
            Err(owner) if owner == me => {}
            Err(_) if !self.config.single_issuer => {
                // Rings without SINGLE_ISSUER may be driven by any thread, one at a time
                // (the scheduler guarantees it): the new driver becomes the owner.
                self.owner.store(me, Ordering::Release);
            }
            Err(_) => panic!("{}", WRONG_THREAD),
        }
        let mut inner = lock(&self.inner);
        if inner.ring.is_none() {
            return Err(shutdown_error());
        }
        // Step 2: remote work, then the flush list.
        if self.remote_pending.swap(false, Ordering::AcqRel) {
            let reqs = std::mem::take(&mut *lock(&self.remote));
            for r in reqs {
                self.apply(&mut inner, r);
            }
        }
        let Inner {
            ring,
            targets,
            flush,
            no_buffers,
            wait_for,
            ..
        } = &mut *inner;
        let ring = ring.as_mut().expect("checked above");
        if !no_buffers.is_empty() {
            // "Provided buffers", step 2: by now the tasks woken this turn have returned the
            // buffers they read, so the group grows only if that left fewer free buffers
            // than receives to re-arm. Growing may fail (out of memory): then the starved
            // path still reads everything.
            if self.group.available() < no_buffers.len() {
                let _ = self.grow_buffers(ring);
            }
            let mut room = self.group.available();
            for s in no_buffers.drain(..) {
                s.retry_recv(ring, &self.group, room > 0);
                room = room.saturating_sub(1);
            }
        }
        for s in flush.drain(..) {
            s.push_send(ring, targets);
        }
        let mut timeout = timeout;
        let blocking = timeout != Some(Duration::ZERO);
        if blocking {
            self.parked.store(true, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            if !can_block() || self.remote_pending.load(Ordering::Acquire) {
                timeout = Some(Duration::ZERO);
            }
        }
        let waits = timeout != Some(Duration::ZERO);
        let res = if waits {
            ring.submit_and_wait_batch(*wait_for, self.config.batch_wait, timeout)
        } else {
            ring.submit_and_wait(0, timeout)
        };
        if blocking {
            self.parked.store(false, Ordering::Relaxed);
        }
        res?;
        // Step 3: reap under the lock, dispatch without it.
        let Inner {
            ring,
            targets,
            batch,
            wait_for,
            ..
        } = &mut *inner;
        let ring = ring.as_mut().expect("checked above");
        let got = ring.reap(|c| {
            if c.untracked().is_some() {
                // A stream's receive: the tag is the reference `arm_recv` took.
                batch.push((Target::Recv(recv_target(&c)), c));
                return;
            }
            let key = c.tag() as usize;
            let final_ = c.is_final();
            let target = if final_ {
                targets.try_remove(key)
            } else {
                targets.get(key).cloned()
            };
            if let Some(t) = target {
                batch.push((t, c));
            }
        });
        if waits && ring.supports_batch_wait() && !self.config.batch_wait.is_zero() {
            *wait_for = next_batch(*wait_for, got, ring.in_flight());
        }
        let mut batch = std::mem::take(&mut inner.batch);
        drop(inner);
        let mut woken = 0;
        for (target, c) in batch.drain(..) {
            woken += self.complete(target, c);
        }
        // Give the (empty) batch vector back for the next turn.
        let mut inner = lock(&self.inner);
        if inner.batch.capacity() < batch.capacity() {
            inner.batch = batch;
        }
        drop(inner);
        Ok(woken)
    }

    /// Hands one completion to its target; returns the number of tasks woken.
    fn complete(&self, target: Target, mut c: Completion) -> usize {
        match target {
            Target::Poll { io, dir } => {
                let res = c.raw_result();
                {
                    let mut w = lock(&io.waiters);
                    w.armed &= !dir;
                }
                let ready = if res >= 0 {
                    ready_of_revents(res as u32)
                } else if res == -libc::ECANCELED {
                    0
                } else {
                    ERROR
                };
                if ready == 0 {
                    return 0;
                }
                io.set_readiness(ready);
                io.wake(ready)
            }
            Target::Recv(s) => s.on_recv(self, &mut c),
            Target::Send(s) => s.on_send(self, &mut c),
            Target::Linger(s) => s.on_linger(self, &c),
            Target::Accept(l) => l.on_accept(self, &mut c),
            Target::Ignore => 0,
        }
    }

    /// See [`Driver::unpark`](super::Driver::unpark).
    pub(crate) fn unpark(&self) {
        fence(Ordering::SeqCst);
        if self.parked.load(Ordering::Relaxed) {
            let _ = self.waker.wake();
        }
    }

    /// Wakes the driver unconditionally (shutdown, timers).
    pub(crate) fn wake(&self) {
        let _ = self.waker.wake();
    }

    /// See the module docs, "Shutdown".
    pub(crate) fn shutdown(&self) {
        self.closed.store(true, Ordering::Release);
        let all = lock(&self.regs).drain_for_shutdown();
        for io in all {
            io.set_shutdown();
        }
        let (ring, targets) = {
            let mut inner = lock(&self.inner);
            inner.flush.clear();
            inner.no_buffers.clear();
            inner.polls.clear();
            (inner.ring.take(), std::mem::take(&mut inner.targets))
        };
        // The streams' receives are untracked: their references come back only with their
        // final completions, so cancel and reap those before the ring's drop (which would
        // swallow them). Past the patience the ring's own rule applies: what the kernel has
        // not completed is leaked, here one stream's state per receive.
        let mut receivers = Vec::new();
        if let Some(mut ring) = ring {
            if ring.in_flight() > 0 && ring.cancel_all().is_ok() {
                let deadline = std::time::Instant::now() + SHUTDOWN_PATIENCE;
                while ring.in_flight() > 0 {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() || ring.submit_and_wait(1, Some(left)).is_err() {
                        break;
                    }
                    ring.reap(|c| {
                        if c.untracked().is_some() && c.is_final() {
                            receivers.push(recv_target(&c));
                        }
                    });
                }
            }
            // Drops what is left in flight as the ring's protocol says (rule 7).
            drop(ring);
        }
        for s in receivers {
            s.shut_down();
        }
        lock(&self.remote).clear();
        for (_, t) in targets {
            match t {
                Target::Recv(s) | Target::Send(s) | Target::Linger(s) => s.shut_down(),
                Target::Accept(l) => l.shut_down(),
                Target::Poll { io, .. } => io.set_shutdown(),
                Target::Ignore => {}
            }
        }
    }
}

impl fmt::Debug for UringDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UringDriver")
            .field("group", &self.group)
            .field("owner", &self.owner.load(Ordering::Relaxed))
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The stream an untracked receive completion is for: its tag is the pointer of the
/// reference [`StreamShared::arm_recv`] took, handed over by the final completion and
/// cloned for the others.
fn recv_target(c: &Completion) -> Arc<StreamShared> {
    let ptr = c.tag() as *const StreamShared;
    // SAFETY: the only untracked operations of this driver are stream receives, whose tag
    // is `Arc::into_raw` of a reference held until their final completion, which is this
    // one or a later one: the pointer is live, and only the final one takes the reference.
    unsafe {
        if !c.is_final() {
            Arc::increment_strong_count(ptr);
        }
        Arc::from_raw(ptr)
    }
}

/// Pushes `op` with tag `key`, mapping a refused push to its error.
fn push(ring: &mut Ring, op: Op, key: usize) -> io::Result<OpId> {
    ring.push(op, key as u64).map_err(|e| e.into_parts().1)
}

fn slot_of_dir(dir: u8) -> usize {
    usize::from(dir == ARM_WRITE)
}

fn ready_of_revents(ev: u32) -> usize {
    let ev = ev as i16;
    let mut ready = 0;
    if ev & (libc::POLLIN | libc::POLLPRI) != 0 {
        ready |= READABLE;
    }
    if ev & libc::POLLOUT != 0 {
        ready |= WRITABLE;
    }
    if ev & (libc::POLLRDHUP | libc::POLLHUP) != 0 {
        ready |= READ_CLOSED | READABLE;
    }
    if ev & libc::POLLHUP != 0 {
        ready |= WRITE_CLOSED | WRITABLE;
    }
    if ev & libc::POLLERR != 0 {
        ready |= ERROR;
    }
    ready
}

#[cfg(test)]
mod tests {
    use super::{next_batch, BATCH_MAX};

    #[test]
    fn a_batch_grows_with_a_surplus_shrinks_with_a_shortfall_and_stays_within_the_in_flight_cap() {
        // Plenty in flight: doubles when a wait finds twice what it asked for.
        assert_eq!(next_batch(1, 2, 1000), 2);
        assert_eq!(next_batch(2, 3, 1000), 2);
        assert_eq!(next_batch(2, 4, 1000), 4);
        assert_eq!(next_batch(32, 500, 1000), BATCH_MAX);
        assert_eq!(next_batch(BATCH_MAX, 500, 1000), BATCH_MAX);
        // Halves when a wait found fewer (its minimum wait ran out); never below 1.
        assert_eq!(next_batch(16, 5, 1000), 8);
        assert_eq!(next_batch(1, 0, 1000), 1);
        // One per four operations in flight: a ring with a connection or two never batches.
        assert_eq!(next_batch(1, 2, 3), 1);
        assert_eq!(next_batch(1, 2, 7), 1);
        assert_eq!(next_batch(1, 2, 8), 2);
        assert_eq!(next_batch(16, 40, 20), 5);
    }
}
