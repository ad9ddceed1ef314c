//! [`Ring`]: one io_uring instance, its op table, its buffer groups and its
//! waker; submission batching and completion dispatch.
//! (The protocol of a turn is documented on [`Ring`].)

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, IntoRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use io_uring::types::{CancelBuilder, Fd, Fixed, SubmitArgs, Timespec};
use io_uring::{cqueue, opcode, squeue, EnterFlags, IoUring};

use crate::buf_group::{BufGroup, BufGroupBuilder, GroupOwner};
use crate::builder::{Builder, SetupFlags};
use crate::completion::Completion;
use crate::op::{Inner, Op, OpId, OpKind, PushError};
use crate::sys::SockAddrBuf;
use crate::table::{InFlight, Pinned, Resources, Table};
use crate::untracked::UntrackedId;
use crate::waker::{self, Waker};

/// User data of cancel requests (their results are ignored).
const CANCEL: u64 = 0;
/// User data of the waker's eventfd read.
const WAKER: u64 = 1;

/// One io_uring instance, driven by one thread.
///
/// See the [crate docs](crate) for the buffer-ownership protocol and the
/// threading rules.
///
/// # A turn
///
/// 1. The owner pushes operations ([`Ring::push`]); each becomes one SQE
///    whose user data is its [`OpId`]. A full SQ is flushed by a
///    non-blocking `io_uring_enter` inside the push.
/// 2. [`Ring::submit_and_wait`] re-arms the waker's read if needed and makes
///    one `io_uring_enter(to_submit, min_complete, GETEVENTS | EXT_ARG)`,
///    the timeout riding in the extended argument (no timeout SQE). `EINTR`
///    is retried with the remaining time; `ETIME` means the timeout passed.
///    `EBUSY`/`EAGAIN` (the kernel cannot post more completions, or is short
///    of memory) are handled by moving the CQ into a user-space backlog and
///    retrying without waiting.
/// 3. [`Ring::reap`] drains the backlog, then the CQ, with no system call:
///    each CQE is dispatched by its user data to its slot, turned into a
///    [`Completion`], and handed to the caller, unless the op is detached
///    (then dropped). The final CQE frees the slot (rule 2 of the
///    [protocol](crate#the-buffer-ownership-protocol)). User data with a
///    zero high half is internal: `CANCEL` (results of cancel requests,
///    ignored: the target's own completion carries the outcome) and `WAKER`.
///
/// Completions that did not fit in the CQ sit in the kernel's overflow list
/// (`IORING_FEAT_NODROP`); the next enter flushes them into the CQ.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use c10k_uring::{Op, Ring};
///
/// let mut ring = Ring::new()?;
/// let id = ring.push(Op::timeout(Duration::from_millis(1)), 5)?;
/// let mut fired = false;
/// while !fired {
///     ring.submit_and_wait(1, Some(Duration::from_secs(10)))?;
///     ring.reap(|c| {
///         assert_eq!(c.id(), id);
///         fired = c.result().is_ok();
///     });
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Ring {
    uring: IoUring,
    state: State,
}

/// Everything but the kernel ring, so that CQ iteration (which borrows the
/// ring) can dispatch into it.
struct State {
    table: Table,
    /// Untracked operations in flight (`untracked.rs`).
    untracked: usize,
    /// Registered buffer groups, indexed by group id.
    groups: Vec<Option<GroupOwner>>,
    waker: Option<WakerSlot>,
    /// CQEs moved out of the CQ to let the kernel post more (step 2).
    backlog: std::collections::VecDeque<cqueue::Entry>,
    flags: SetupFlags,
    drop_timeout: Duration,
    /// Dropping: do not re-arm the waker.
    closing: bool,
    /// `io_uring_enter` calls made (see `Ring::enter_count`).
    enters: u64,
    /// The kernel takes a batch wait (`IORING_FEAT_MIN_TIMEOUT`, Linux 6.12).
    batch_wait: bool,
}

/// The ring's side of its [`Waker`].
struct WakerSlot {
    inner: Arc<waker::Inner>,
    /// The 8-byte buffer of the eventfd read, owned while it is in flight.
    counter: Pinned<u64>,
    in_flight: bool,
    /// An error the read completed with, reported once by the next submit.
    error: Option<i32>,
}

impl Ring {
    /// A ring with the default configuration ([`Builder`]'s table).
    ///
    /// # Errors
    ///
    /// As [`Builder::build`]: `Unsupported` when io_uring cannot be used.
    pub fn new() -> io::Result<Ring> {
        Builder::new().build()
    }

    /// Starts a configuration.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn from_parts(uring: IoUring, flags: SetupFlags, drop_timeout: Duration) -> Ring {
        let batch_wait = uring.params().is_feature_min_timeout();
        Ring {
            uring,
            state: State {
                table: Table::new(),
                untracked: 0,
                groups: Vec::new(),
                waker: None,
                backlog: Default::default(),
                flags,
                drop_timeout,
                closing: false,
                enters: 0,
                batch_wait,
            },
        }
    }

    /// The setup flags the kernel accepted (see [`Builder`]).
    pub fn setup_flags(&self) -> SetupFlags {
        self.state.flags
    }

    /// Enables a ring built [disabled](Builder::disabled). Call it on the
    /// thread that will drive the ring: with single issuer, that thread
    /// becomes the only one allowed to submit.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the ring is not disabled; the kernel's error of
    /// `IORING_REGISTER_ENABLE_RINGS` otherwise.
    pub fn enable(&mut self) -> io::Result<()> {
        if !self.state.flags.disabled {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "io_uring ring is already enabled",
            ));
        }
        self.uring.submitter().register_enable_rings()?;
        self.state.flags.disabled = false;
        Ok(())
    }

    /// Operations in flight, tracked and untracked: pushed, and their final
    /// completion not reaped.
    pub fn in_flight(&self) -> usize {
        self.state.table.len() + self.state.untracked
    }

    /// SQEs queued and not yet submitted.
    pub fn queued(&mut self) -> usize {
        self.uring.submission().len()
    }

    /// How many `io_uring_enter` system calls this ring has made: for
    /// tests and statistics of the batching (one per turn is the goal).
    pub fn enter_count(&self) -> u64 {
        self.state.enters
    }

    /// Completions waiting to be reaped, as far as user space can see
    /// without a system call.
    pub fn ready(&mut self) -> usize {
        self.state.backlog.len() + self.uring.completion().len()
    }

    /// The SQ's size: how many operations one turn queues before a push has
    /// to flush.
    pub fn sq_capacity(&mut self) -> usize {
        self.uring.submission().capacity()
    }

    /// Queues `op` with the caller's `tag` (returned with each of its
    /// completions) and returns its id. Nothing is submitted until the next
    /// [`submit`](Self::submit) or [`submit_and_wait`](Self::submit_and_wait),
    /// unless the SQ is full, which makes the push flush it first.
    ///
    /// # Errors
    ///
    /// The operation comes back in the [`PushError`] with:
    /// - `InvalidInput`: a receive or read into a buffer without spare
    ///   capacity, a send or write offset past the buffer's length, a
    ///   `recv_multi` on a group not registered with this ring;
    /// - the error of the flushing submit, when the SQ was full (e.g. the
    ///   ring is still disabled, or is entered from the wrong thread).
    pub fn push(&mut self, op: Op, tag: u64) -> Result<OpId, PushError> {
        if let Err(e) = self.check(&op) {
            return Err(PushError::new(op, e));
        }
        if let Err(e) = self.reserve_sq() {
            return Err(PushError::new(op, e));
        }
        let kind = op.kind();
        let fixed = op.fixed;
        let shape = Shape::of(&op.inner);
        let (resources, fd) = match op.inner {
            Inner::Accept { fd, peer: true } => {
                (Resources::Addr(Pinned::new(SockAddrBuf::empty())), fd)
            }
            Inner::Connect { fd, addr } => (
                Resources::Addr(Pinned::new(SockAddrBuf::from_socket_addr(addr))),
                fd,
            ),
            Inner::Recv { fd, buf }
            | Inner::Send { fd, buf, .. }
            | Inner::SendZc { fd, buf, .. }
            | Inner::Read { fd, buf, .. }
            | Inner::Write { fd, buf, .. } => (Resources::Buf(buf), fd),
            Inner::RecvMulti { fd, ref group } => (Resources::Group(group.clone()), fd),
            Inner::Timeout { after } => {
                (Resources::Timespec(Pinned::new(Timespec::from(after))), -1)
            }
            Inner::Accept { fd, peer: false }
            | Inner::AcceptMulti { fd }
            | Inner::Poll { fd, .. } => (Resources::None, fd),
            Inner::Close { fd } => {
                let fd = fd.into_raw_fd();
                (Resources::CloseFd(fd), fd)
            }
            Inner::Nop => (Resources::None, -1),
        };
        let id = self.state.table.insert(InFlight {
            tag,
            kind,
            resources,
            detached: false,
            zc_result: 0,
        });
        let slot = self.state.table.get_mut(id).expect("just inserted");
        let mut entry = build_sqe(shape, slot, fd).user_data(id.user_data());
        if fixed {
            // `fd` is a registered file index; with this flag the kernel
            // reads the SQE's fd field as one.
            entry = entry.flags(squeue::Flags::FIXED_FILE);
        }
        // SAFETY: every pointer in the entry points into `slot.resources`
        // (heap memory that stays put while the slot moves) or is null, and
        // the slot keeps it until the op's final CQE is reaped (rule 2 of the
        // protocol), or leaks it if the ring is dropped before that (rule 7).
        let pushed = unsafe { self.uring.submission().push(&entry) };
        pushed.expect("the SQ has room: reserve_sq made it");
        Ok(id)
    }

    /// The argument checks of [`push`](Self::push).
    fn check(&self, op: &Op) -> io::Result<()> {
        let bad = |what: &str| {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                what.to_string(),
            ))
        };
        match &op.inner {
            Inner::Recv { buf, .. } | Inner::Read { buf, .. } if buf.capacity() == buf.len() => {
                bad("receive buffer has no spare capacity")
            }
            Inner::Send { buf, offset, .. }
            | Inner::SendZc { buf, offset, .. }
            | Inner::Write { buf, offset, .. }
                if *offset > buf.len() =>
            {
                bad("send offset is past the end of the buffer")
            }
            Inner::Timeout { .. } | Inner::Nop | Inner::Close { .. } if op.fixed => {
                bad("this operation has no registered-file form")
            }
            Inner::RecvMulti { group, .. } => match self.state.group(group.id()) {
                Some(owner) if Arc::ptr_eq(&owner.group.shared, &group.shared) => Ok(()),
                _ => bad("buffer group is not registered with this ring"),
            },
            _ => Ok(()),
        }
    }

    /// Queues `op` without a slot in the op table: its completions carry
    /// `tag` (at most 48 bits) and an [`UntrackedId`] made of its kind, its
    /// group and `tag`, and the caller takes on the uniqueness of that id
    /// (see [`UntrackedId`] and the crate's `untracked` rules). Only operations
    /// that own no memory qualify: `accept` without the peer's address,
    /// `accept_multi`, `recv_multi` (on a group id up to 254), `poll`,
    /// `poll_multi`, `nop`.
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push), plus `InvalidInput` for an operation that
    /// owns memory, a tag wider than 48 bits, a group id above 254.
    pub fn push_untracked(&mut self, op: Op, tag: u64) -> Result<UntrackedId, PushError> {
        if let Err(e) = self.check(&op) {
            return Err(PushError::new(op, e));
        }
        let group = match &op.inner {
            Inner::RecvMulti { group, .. } => Some(group.id()),
            _ => None,
        };
        let owns_memory = matches!(
            op.inner,
            Inner::Accept { peer: true, .. } | Inner::Close { .. }
        );
        let id = match UntrackedId::new(op.kind(), group, tag) {
            Some(id) if !owns_memory => id,
            _ => {
                let e = io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "an untracked operation must own no memory, have a tag of at most \
                     48 bits and a buffer group id of at most 254",
                );
                return Err(PushError::new(op, e));
            }
        };
        if let Err(e) = self.reserve_sq() {
            return Err(PushError::new(op, e));
        }
        let fixed = op.fixed;
        let shape = Shape::of(&op.inner);
        let fd = match op.inner {
            Inner::Accept { fd, .. }
            | Inner::AcceptMulti { fd }
            | Inner::RecvMulti { fd, .. }
            | Inner::Poll { fd, .. } => fd,
            _ => -1,
        };
        let mut slot = InFlight {
            tag,
            kind: op.kind(),
            resources: Resources::None,
            detached: false,
            zc_result: 0,
        };
        let mut entry = build_sqe(shape, &mut slot, fd).user_data(id.as_u64());
        if fixed {
            entry = entry.flags(squeue::Flags::FIXED_FILE);
        }
        // SAFETY: the entry holds no pointer: these operations own no memory
        // (the group's buffers are the group's, which the ring keeps).
        let pushed = unsafe { self.uring.submission().push(&entry) };
        pushed.expect("the SQ has room: reserve_sq made it");
        self.state.untracked += 1;
        Ok(id)
    }

    /// Queues a cancel request for the untracked operation `id`. Unlike
    /// [`cancel`](Self::cancel) it cannot tell a finished operation: call
    /// it only before the operation's final completion was reaped (see
    /// [`UntrackedId`]).
    ///
    /// # Errors
    ///
    /// The error of the flushing submit, when the SQ was full.
    pub fn cancel_untracked(&mut self, id: UntrackedId) -> io::Result<()> {
        self.reserve_sq()?;
        let entry = opcode::AsyncCancel::new(id.as_u64())
            .build()
            .user_data(CANCEL);
        self.push_internal(&entry);
        Ok(())
    }

    /// Queues one request cancelling every operation in flight
    /// (`IORING_ASYNC_CANCEL_ANY`); each has its final completion as usual.
    /// Before dropping a ring, a caller whose untracked tags stand for
    /// references calls this, then reaps until [`in_flight`](Self::in_flight)
    /// is 0 (or its patience ends).
    ///
    /// # Errors
    ///
    /// The error of the flushing submit, when the SQ was full.
    pub fn cancel_all(&mut self) -> io::Result<()> {
        self.reserve_sq()?;
        let entry = opcode::AsyncCancel2::new(CancelBuilder::any())
            .build()
            .user_data(CANCEL);
        self.push_internal(&entry);
        Ok(())
    }

    /// Makes room for one SQE, flushing the SQ if it is full.
    fn reserve_sq(&mut self) -> io::Result<()> {
        if !self.uring.submission().is_full() {
            return Ok(());
        }
        self.enter(0, Duration::ZERO, None)?;
        if self.uring.submission().is_full() {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "io_uring submission queue is full and the kernel accepted none of it",
            ));
        }
        Ok(())
    }

    /// Queues a cancel request for `id` (`IORING_OP_ASYNC_CANCEL`) and
    /// returns `true`, or returns `false` if `id` is stale (its op already
    /// had its final completion). The op's final completion still comes,
    /// with `ECANCELED` or its real result (rule 3 of the
    /// [protocol](crate#the-buffer-ownership-protocol)).
    ///
    /// # Errors
    ///
    /// The error of the flushing submit, when the SQ was full.
    pub fn cancel(&mut self, id: OpId) -> io::Result<bool> {
        if self.state.table.get_mut(id).is_none() {
            return Ok(false);
        }
        self.reserve_sq()?;
        let entry = opcode::AsyncCancel::new(id.user_data())
            .build()
            .user_data(CANCEL);
        self.push_internal(&entry);
        Ok(true)
    }

    /// Queues a request cancelling every operation on descriptor `fd`
    /// (`IORING_ASYNC_CANCEL_FD | ALL`); each has its final completion as
    /// usual.
    ///
    /// # Errors
    ///
    /// The error of the flushing submit, when the SQ was full.
    pub fn cancel_fd(&mut self, fd: RawFd) -> io::Result<()> {
        self.reserve_sq()?;
        let entry = opcode::AsyncCancel2::new(CancelBuilder::fd(Fd(fd)).all())
            .build()
            .user_data(CANCEL);
        self.push_internal(&entry);
        Ok(())
    }

    /// Like [`cancel_fd`](Self::cancel_fd), for operations on registered
    /// file `index` (pushed with [`Op::fixed`]).
    ///
    /// # Errors
    ///
    /// The error of the flushing submit, when the SQ was full.
    pub fn cancel_fixed(&mut self, index: u32) -> io::Result<()> {
        self.reserve_sq()?;
        let entry = opcode::AsyncCancel2::new(CancelBuilder::fd(Fixed(index)).all())
            .build()
            .user_data(CANCEL);
        self.push_internal(&entry);
        Ok(())
    }

    /// Registers a file table of `slots` empty entries
    /// (`IORING_REGISTER_FILES2`, sparse), for operations made with
    /// [`Op::fixed`]. Fill and clear entries with
    /// [`update_files`](Self::update_files).
    ///
    /// # Errors
    ///
    /// The kernel's: `EBUSY` if the ring has a file table already,
    /// `EMFILE` beyond the process's descriptor limit.
    pub fn register_files(&mut self, slots: u32) -> io::Result<()> {
        self.uring.submitter().register_files_sparse(slots)
    }

    /// Sets registered file entries `offset..offset + fds.len()` to `fds`
    /// (`IORING_REGISTER_FILES_UPDATE`); `-1` clears an entry. The table
    /// holds its own reference to each file: closing a descriptor after
    /// registering it does not clear its entry, and clearing an entry does
    /// not stop operations in flight on it ([`cancel_fixed`](Self::cancel_fixed)
    /// does). Returns how many entries were updated.
    ///
    /// # Errors
    ///
    /// The kernel's: `ENXIO` without a file table, `EINVAL` past its end,
    /// `EBADF` for a descriptor that is not open.
    pub fn update_files(&mut self, offset: u32, fds: &[RawFd]) -> io::Result<usize> {
        self.uring.submitter().register_files_update(offset, fds)
    }

    /// Stops delivering the completions of `id`: the ring drops what they
    /// carry when they arrive and frees the op's resources at its final
    /// completion (rule 4 of the [protocol](crate#the-buffer-ownership-protocol)).
    /// It does not cancel: a dropped future calls [`cancel`](Self::cancel)
    /// too. Returns `false` if `id` is stale.
    pub fn detach(&mut self, id: OpId) -> bool {
        match self.state.table.get_mut(id) {
            Some(op) => {
                op.detached = true;
                true
            }
            None => false,
        }
    }

    fn push_internal(&mut self, entry: &squeue::Entry) {
        // SAFETY: internal entries carry no pointers (cancel requests), or
        // point into the waker slot's counter, which the ring keeps until the
        // read's CQE (or leaks, rule 7).
        let pushed = unsafe { self.uring.submission().push(entry) };
        pushed.expect("the SQ has room: reserve_sq made it");
    }

    /// Submits everything queued, without waiting; also makes completions
    /// the kernel has deferred visible to [`reap`](Self::reap). With nothing
    /// queued and no completion work flagged by the kernel
    /// ([`SetupFlags::taskrun_flag`]), it makes no system call.
    ///
    /// # Errors
    ///
    /// As [`submit_and_wait`](Self::submit_and_wait).
    pub fn submit(&mut self) -> io::Result<()> {
        self.submit_and_wait(0, None)
    }

    /// Submits everything queued and waits until at least `min_complete`
    /// completions can be reaped or `timeout` passes (`None`: no limit), in
    /// one `io_uring_enter`. A timeout is not an error; nor is `EINTR`
    /// (retried with the remaining time). A [`Waker`]'s wake ends the wait
    /// (its completion counts, but is not shown by [`reap`](Self::reap)).
    ///
    /// # Errors
    ///
    /// - `Other` naming the cause when the ring is entered from a thread
    ///   that is not its single issuer (`EEXIST`), or is still disabled
    ///   (`EBADFD`);
    /// - the error the waker's eventfd read failed with, once;
    /// - other errors of `io_uring_enter` as the kernel reported them.
    pub fn submit_and_wait(
        &mut self,
        min_complete: u32,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        self.wait(min_complete, Duration::ZERO, timeout)
    }

    /// Reports the waker's failed read once, re-arms the waker, and enters (the waits of
    /// `submit_and_wait` and `submit_and_wait_batch`).
    fn wait(
        &mut self,
        min_complete: u32,
        min_wait: Duration,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        if let Some(error) = self.state.waker.as_mut().and_then(|w| w.error.take()) {
            return Err(io::Error::other(format!(
                "io_uring waker read failed: {}",
                io::Error::from_raw_os_error(-error)
            )));
        }
        self.arm_waker()?;
        self.enter(min_complete, min_wait, timeout)
    }

    /// Whether [`submit_and_wait_batch`](Self::submit_and_wait_batch) can wait for a batch
    /// here (the kernel has `IORING_FEAT_MIN_TIMEOUT`, Linux 6.12).
    pub fn supports_batch_wait(&self) -> bool {
        self.state.batch_wait
    }

    /// [`submit_and_wait`](Self::submit_and_wait) for a batch: returns when `batch`
    /// completions can be reaped, or once `min_wait` has passed and at least one can, or
    /// when `timeout` passes (the `min_wait_usec` of `IORING_ENTER_EXT_ARG`). On a ring with
    /// `DEFER_TASKRUN` the kernel wakes the thread for the batch, not for each completion,
    /// so one wake-up and one `io_uring_enter` serve the whole batch. What it costs: a
    /// completion may wait up to `min_wait` for the others, and so may a [`Waker`]'s wake.
    /// Where the kernel cannot ([`supports_batch_wait`](Self::supports_batch_wait) is
    /// false), or with `batch` ≤ 1 or a zero `min_wait`, this is
    /// `submit_and_wait(batch.min(1), timeout)`.
    ///
    /// # Errors
    ///
    /// As [`submit_and_wait`](Self::submit_and_wait).
    pub fn submit_and_wait_batch(
        &mut self,
        batch: u32,
        min_wait: Duration,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        if batch <= 1 || min_wait.is_zero() || !self.state.batch_wait {
            return self.submit_and_wait(batch.min(1), timeout);
        }
        self.wait(batch, min_wait, timeout)
    }

    /// Step 2 of a turn: one `io_uring_enter`, retried as documented. A non-zero `min_wait`
    /// asks for a batch (see `submit_and_wait_batch`; the caller checked the feature).
    fn enter(
        &mut self,
        min_complete: u32,
        min_wait: Duration,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        // A deadline too far to represent is no deadline.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut want = min_complete;
        let mut busy = 0;
        loop {
            if !self.state.backlog.is_empty() {
                want = 0;
            }
            let to_submit = self.uring.submission().len() as u32;
            if to_submit == 0 && want == 0 && self.state.flags.taskrun_flag {
                // Nothing to submit, nothing to wait for: enter only if the
                // kernel flags completion work to run or an overflow to
                // flush. Work flagged just after this check is seen by the
                // next turn (a waiting enter always enters).
                let sq = self.uring.submission();
                if !sq.taskrun() && !sq.cq_overflow() {
                    return Ok(());
                }
            }
            self.state.enters += 1;
            let flags = (EnterFlags::GETEVENTS | EnterFlags::EXT_ARG).bits();
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if remaining == Some(Duration::ZERO) {
                want = 0;
            }
            // Whole microseconds, at least one; more than u32 can say is no batch wait.
            let min_wait_usec = if want > 1 && !min_wait.is_zero() {
                u32::try_from(min_wait.as_micros().max(1)).unwrap_or(0)
            } else {
                0
            };
            let submitter = self.uring.submitter();
            let result = match remaining {
                Some(rem) if want > 0 => {
                    let ts = Timespec::from(rem);
                    let args = SubmitArgs::new().timespec(&ts).min_wait_usec(min_wait_usec);
                    // SAFETY: `args` is a valid `io_uring_getevents_arg`
                    // (with a timespec that outlives the call); every queued
                    // SQE obeys the ownership protocol (see `push`).
                    unsafe { submitter.enter(to_submit, want, flags, Some(&args)) }
                }
                _ => {
                    let args = SubmitArgs::new().min_wait_usec(min_wait_usec);
                    // SAFETY: as above, without a timeout.
                    unsafe { submitter.enter(to_submit, want, flags, Some(&args)) }
                }
            };
            let Err(e) = result else { return Ok(()) };
            match e.raw_os_error() {
                Some(libc::ETIME) => return Ok(()),
                Some(libc::EINTR) => continue,
                Some(libc::EBUSY | libc::EAGAIN) => {
                    // Make room in the CQ, then retry without waiting: the
                    // backlog is reaped first. Retrying forever with nothing
                    // to move would spin, so a few empty rounds fail.
                    let moved = self.spill();
                    busy = if moved > 0 { 0 } else { busy + 1 };
                    if busy > 3 {
                        return Err(e);
                    }
                }
                Some(libc::EEXIST) if self.state.flags.single_issuer => {
                    return Err(io::Error::other(
                        "io_uring ring entered from a thread other than its single issuer \
                         (the thread that built it, or that called Ring::enable)",
                    ))
                }
                Some(libc::EBADFD) if self.state.flags.disabled => {
                    return Err(io::Error::other(
                        "io_uring ring is disabled: call Ring::enable on the driving thread first",
                    ))
                }
                _ => return Err(e),
            }
        }
    }

    /// Moves every CQE into the backlog; returns how many.
    fn spill(&mut self) -> usize {
        let before = self.state.backlog.len();
        self.state.backlog.extend(self.uring.completion());
        self.state.backlog.len() - before
    }

    /// Drains the completions: calls `f` with each [`Completion`] of a
    /// non-detached operation, in the kernel's order, and returns how many
    /// it delivered. Makes no system call (so, with `DEFER_TASKRUN`, it sees
    /// only what the last [`submit`](Self::submit) or
    /// [`submit_and_wait`](Self::submit_and_wait) made visible).
    ///
    /// `f` cannot push operations (the ring is borrowed); collect what to do
    /// and push after `reap` returns.
    pub fn reap<F: FnMut(Completion)>(&mut self, mut f: F) -> usize {
        let mut delivered = 0;
        while let Some(cqe) = self.state.backlog.pop_front() {
            if let Some(c) = self.state.dispatch(&cqe) {
                delivered += 1;
                f(c);
            }
        }
        let cq = self.uring.completion();
        for cqe in cq {
            if let Some(c) = self.state.dispatch(&cqe) {
                delivered += 1;
                f(c);
            }
        }
        delivered
    }

    /// Returns a [`Waker`] for this ring (the same eventfd each time). The
    /// first call creates the eventfd; its read is armed by the next
    /// submit.
    ///
    /// # Errors
    ///
    /// The error of `eventfd(2)`.
    pub fn waker(&mut self) -> io::Result<Waker> {
        if self.state.waker.is_none() {
            self.state.waker = Some(WakerSlot {
                inner: waker::Inner::new()?,
                counter: Pinned::new(0),
                in_flight: false,
                error: None,
            });
        }
        let slot = self.state.waker.as_ref().expect("just created");
        let waker = Waker {
            inner: Arc::clone(&slot.inner),
        };
        for owner in self.state.groups.iter().flatten() {
            owner.group.shared.set_waker(waker.clone());
        }
        Ok(waker)
    }

    /// Keeps the waker's read in flight (see `waker.rs`).
    fn arm_waker(&mut self) -> io::Result<()> {
        match &self.state.waker {
            Some(w) if !w.in_flight && w.error.is_none() && !self.state.closing => {}
            _ => return Ok(()),
        }
        self.reserve_sq()?;
        let w = self.state.waker.as_mut().expect("checked above");
        let entry = opcode::Read::new(Fd(w.inner.fd.as_raw_fd()), w.counter.as_ptr().cast(), 8)
            .build()
            .user_data(WAKER);
        w.in_flight = true;
        self.push_internal(&entry);
        Ok(())
    }

    /// Registers a provided buffer group (`IORING_REGISTER_PBUF_RING`) and
    /// publishes its buffers.
    ///
    /// # Errors
    ///
    /// `AlreadyExists` if this ring has a group with that id;
    /// `InvalidInput` for sizes out of range (see [`BufGroupBuilder`]);
    /// `OutOfMemory`; the kernel's error of the registration.
    pub fn register_buf_group(&mut self, config: &BufGroupBuilder) -> io::Result<BufGroup> {
        let id = config.id;
        if self.state.group(id).is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("buffer group {id} is already registered with this ring"),
            ));
        }
        let (group, addrs) = config.allocate()?;
        // SAFETY: the ring memory (`ring_entries` entries, page-aligned) is
        // owned by `group.shared`, which the ring keeps until it unregisters
        // the group in `Drop`, or leaks (rule 7 of the protocol).
        unsafe {
            self.uring.submitter().register_buf_ring_with_flags(
                group.shared.ring_addr(),
                group.shared.ring_entries(),
                id,
                0,
            )?;
        }
        let index = usize::from(id);
        if self.state.groups.len() <= index {
            self.state.groups.resize_with(index + 1, || None);
        }
        if let Some(w) = &self.state.waker {
            group.shared.set_waker(Waker {
                inner: Arc::clone(&w.inner),
            });
        }
        self.state.groups[index] = Some(GroupOwner {
            group: group.clone(),
            addrs,
        });
        Ok(group)
    }

    /// Adds up to `count` buffers to `group`, as far as its capacity allows,
    /// and returns how many it added (0 when the group is at capacity). The
    /// answer to `ENOBUFS` when memory allows.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the group is not registered with this ring;
    /// `OutOfMemory`.
    pub fn grow_buf_group(&mut self, group: &BufGroup, count: u16) -> io::Result<u16> {
        let owner = match self.state.group_mut(group.id()) {
            Some(o) if Arc::ptr_eq(&o.group.shared, &group.shared) => o,
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "buffer group is not registered with this ring",
                ))
            }
        };
        let room = group.capacity() - group.total();
        let count = count.min(u16::try_from(room).unwrap_or(u16::MAX));
        let addrs = group.shared.add_chunk(count)?;
        owner.addrs.extend(addrs);
        Ok(count)
    }

    /// The group registered under `id`, if any.
    pub fn buf_group(&self, id: u16) -> Option<BufGroup> {
        self.state.group(id).map(|o| o.group.clone())
    }
}

/// The parameters of an op that its SQE needs besides its resources,
/// copied out before the resources move into the slot.
#[derive(Clone, Copy)]
enum Shape {
    Accept,
    AcceptMulti,
    Recv,
    RecvMulti { group: u16 },
    Send { offset: usize },
    SendZc { offset: usize },
    Read { at: u64 },
    Write { offset: usize, at: u64 },
    Connect,
    Poll { events: u32, multi: bool },
    Timeout,
    Close,
    Nop,
}

impl Shape {
    fn of(inner: &Inner) -> Shape {
        match *inner {
            Inner::Accept { .. } => Shape::Accept,
            Inner::AcceptMulti { .. } => Shape::AcceptMulti,
            Inner::Recv { .. } => Shape::Recv,
            Inner::RecvMulti { ref group, .. } => Shape::RecvMulti { group: group.id() },
            Inner::Send { offset, .. } => Shape::Send { offset },
            Inner::SendZc { offset, .. } => Shape::SendZc { offset },
            Inner::Read { at, .. } => Shape::Read { at },
            Inner::Write { offset, at, .. } => Shape::Write { offset, at },
            Inner::Connect { .. } => Shape::Connect,
            Inner::Poll { events, multi, .. } => Shape::Poll { events, multi },
            Inner::Timeout { .. } => Shape::Timeout,
            Inner::Close { .. } => Shape::Close,
            Inner::Nop => Shape::Nop,
        }
    }
}

/// The SQE of one operation, pointing into the resources its slot owns.
fn build_sqe(shape: Shape, slot: &mut InFlight, fd: RawFd) -> squeue::Entry {
    let cloexec = libc::SOCK_CLOEXEC;
    let nosignal = libc::MSG_NOSIGNAL;
    let fd = Fd(fd);
    match (shape, &mut slot.resources) {
        (Shape::Accept, Resources::Addr(a)) => {
            let a = a.as_ptr();
            // SAFETY: `a` points at the slot's live SockAddrBuf; we only
            // compute field addresses.
            let (addr, len) = unsafe {
                (
                    std::ptr::addr_of_mut!((*a).storage),
                    std::ptr::addr_of_mut!((*a).len),
                )
            };
            opcode::Accept::new(fd, addr.cast(), len)
                .flags(cloexec)
                .build()
        }
        (Shape::Accept, _) => opcode::Accept::new(fd, std::ptr::null_mut(), std::ptr::null_mut())
            .flags(cloexec)
            .build(),
        (Shape::AcceptMulti, _) => opcode::AcceptMulti::new(fd).flags(cloexec).build(),
        (Shape::Connect, Resources::Addr(a)) => {
            let a = a.as_ptr();
            // SAFETY: as for accept; the kernel only reads it.
            let (addr, len) = unsafe { (std::ptr::addr_of!((*a).storage), (*a).len) };
            opcode::Connect::new(fd, addr.cast(), len).build()
        }
        (Shape::Recv, Resources::Buf(buf)) => {
            let (ptr, len) = spare(buf);
            opcode::Recv::new(fd, ptr, len).build()
        }
        (Shape::Read { at }, Resources::Buf(buf)) => {
            let (ptr, len) = spare(buf);
            opcode::Read::new(fd, ptr, len).offset(at).build()
        }
        (Shape::Send { offset }, Resources::Buf(buf)) => {
            let (ptr, len) = tail(buf, offset);
            opcode::Send::new(fd, ptr, len).flags(nosignal).build()
        }
        (Shape::SendZc { offset }, Resources::Buf(buf)) => {
            let (ptr, len) = tail(buf, offset);
            opcode::SendZc::new(fd, ptr, len).flags(nosignal).build()
        }
        (Shape::Write { offset, at }, Resources::Buf(buf)) => {
            let (ptr, len) = tail(buf, offset);
            opcode::Write::new(fd, ptr, len).offset(at).build()
        }
        (Shape::RecvMulti { group }, _) => opcode::RecvMulti::new(fd, group).build(),
        (Shape::Poll { events, multi }, _) => opcode::PollAdd::new(fd, events).multi(multi).build(),
        (Shape::Timeout, Resources::Timespec(ts)) => opcode::Timeout::new(ts.as_ptr()).build(),
        (Shape::Close, _) => opcode::Close::new(fd).build(),
        (Shape::Nop, _) => opcode::Nop::new().build(),
        _ => unreachable!("resources always match their op (see push)"),
    }
}

/// The spare capacity of `buf`, where receives write.
fn spare(buf: &mut Vec<u8>) -> (*mut u8, u32) {
    let spare = buf.spare_capacity_mut();
    (
        spare.as_mut_ptr().cast(),
        u32::try_from(spare.len()).unwrap_or(u32::MAX),
    )
}

/// `buf[offset..]`, where sends read.
fn tail(buf: &[u8], offset: usize) -> (*const u8, u32) {
    let rest = &buf[offset..];
    (rest.as_ptr(), u32::try_from(rest.len()).unwrap_or(u32::MAX))
}

impl State {
    fn group(&self, id: u16) -> Option<&GroupOwner> {
        self.groups.get(usize::from(id)).and_then(Option::as_ref)
    }

    fn group_mut(&mut self, id: u16) -> Option<&mut GroupOwner> {
        self.groups
            .get_mut(usize::from(id))
            .and_then(Option::as_mut)
    }

    /// Step 3 of a turn, for one CQE.
    fn dispatch(&mut self, cqe: &cqueue::Entry) -> Option<Completion> {
        let user_data = cqe.user_data();
        let res = cqe.result();
        let flags = cqe.flags();
        if user_data >> 32 == 0 {
            self.internal(user_data, res);
            return None;
        }
        if UntrackedId::is(user_data) {
            return Some(self.dispatch_untracked(UntrackedId(user_data), res, flags));
        }
        let id = OpId::from_user_data(user_data);
        let Some(op) = self.table.get_mut(id) else {
            debug_assert!(false, "completion for an unknown op {id:?}");
            return None;
        };
        let kind = op.kind;
        let notification = kind == OpKind::SendZc && cqueue::notif(flags);
        let is_final = notification || !cqueue::more(flags);
        let mut adjusted = res;
        match kind {
            OpKind::SendZc if notification => adjusted = op.zc_result,
            OpKind::SendZc => op.zc_result = res,
            OpKind::Timeout if res == -libc::ETIME => adjusted = 0,
            _ => {}
        }
        let provided = match (cqueue::buffer_select(flags), &op.resources) {
            (Some(bid), Resources::Group(group)) => {
                let owner = self
                    .groups
                    .get(usize::from(group.id()))
                    .and_then(Option::as_ref);
                let buf = owner.and_then(|o| o.take(bid, usize::try_from(res).unwrap_or(0)));
                debug_assert!(
                    buf.is_some(),
                    "the kernel named buffer {bid} of an unknown group"
                );
                buf
            }
            _ => None,
        };
        if res == -libc::ENOBUFS {
            if let Resources::Group(group) = &op.resources {
                group.shared.set_starved();
            }
        }
        let fd = match kind {
            OpKind::Accept | OpKind::AcceptMulti if res >= 0 => {
                // SAFETY: the kernel created this descriptor for this accept
                // and nobody else knows its number: we are its only owner.
                Some(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(res) })
            }
            _ => None,
        };
        let peer = if kind == OpKind::Accept && res >= 0 {
            op.peer_addr()
        } else {
            None
        };
        let mut completion = Completion {
            tag: op.tag,
            id,
            untracked: None,
            kind,
            res: adjusted,
            flags,
            is_final,
            notification,
            buf: None,
            provided,
            fd,
            peer,
        };
        let detached = op.detached;
        if is_final {
            let op = self.table.remove(id).expect("looked up above");
            if let Resources::Buf(mut buf) = op.resources {
                if matches!(kind, OpKind::Recv | OpKind::Read) && res > 0 {
                    let new_len = buf.len() + res as usize;
                    debug_assert!(new_len <= buf.capacity());
                    // SAFETY: the kernel wrote `res` bytes into the spare
                    // capacity this op offered (at most its length), and the
                    // final CQE says it is done with the buffer.
                    unsafe { buf.set_len(new_len.min(buf.capacity())) };
                }
                completion.buf = Some(buf);
            }
        }
        if detached {
            // Rule 4: drop what it carries (closes the socket, returns the
            // provided buffer, frees the data buffer).
            return None;
        }
        Some(completion)
    }

    /// [`dispatch`](Self::dispatch) of an untracked operation: everything
    /// comes from the user data and the CQE.
    fn dispatch_untracked(&mut self, id: UntrackedId, res: i32, flags: u32) -> Completion {
        let kind = id.kind();
        let is_final = !cqueue::more(flags);
        if is_final {
            self.untracked -= 1;
        }
        let group = id.group().and_then(|g| self.group(g));
        let provided = match (cqueue::buffer_select(flags), group) {
            (Some(bid), Some(owner)) => owner.take(bid, usize::try_from(res).unwrap_or(0)),
            _ => None,
        };
        debug_assert!(
            cqueue::buffer_select(flags).is_none() || provided.is_some(),
            "the kernel named a buffer of an unknown group"
        );
        if res == -libc::ENOBUFS {
            if let Some(owner) = group {
                owner.group.shared.set_starved();
            }
        }
        let fd = match kind {
            OpKind::Accept | OpKind::AcceptMulti if res >= 0 => {
                // SAFETY: the kernel created this descriptor for this accept
                // and nobody else knows its number: we are its only owner.
                Some(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(res) })
            }
            _ => None,
        };
        Completion {
            tag: id.tag(),
            id: OpId::UNTRACKED,
            untracked: Some(id),
            kind,
            res,
            flags,
            is_final,
            notification: false,
            buf: None,
            provided,
            fd,
            peer: None,
        }
    }

    fn internal(&mut self, user_data: u64, res: i32) {
        match user_data {
            CANCEL => {} // the target's own completion tells the outcome
            WAKER => {
                if let Some(w) = &mut self.waker {
                    w.in_flight = false;
                    w.inner.clear();
                    let benign = [-libc::EINTR, -libc::EAGAIN, -libc::ECANCELED];
                    if res < 0 && !benign.contains(&res) {
                        w.error = Some(res);
                    }
                }
            }
            _ => debug_assert!(false, "unknown internal user data {user_data}"),
        }
    }
}

impl AsRawFd for Ring {
    /// The ring's descriptor (to watch it with epoll, or to send it
    /// messages with `IORING_OP_MSG_RING`).
    fn as_raw_fd(&self) -> RawFd {
        self.uring.as_raw_fd()
    }
}

impl fmt::Debug for Ring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("fd", &self.uring.as_raw_fd())
            .field("flags", &self.state.flags)
            .field("in_flight", &self.state.table.len())
            .field("untracked", &self.state.untracked)
            .field("backlog", &self.state.backlog.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Ring {
    /// Rule 7 of the [protocol](crate#the-buffer-ownership-protocol):
    /// cancel, wait at most `drop_timeout`, then free or leak.
    fn drop(&mut self) {
        self.state.closing = true;
        let outstanding = |s: &State| {
            s.table.len() > 0 || s.untracked > 0 || s.waker.as_ref().is_some_and(|w| w.in_flight)
        };
        if self.state.flags.disabled {
            // Nothing ever reached the kernel: every resource is ours, and
            // descriptors handed to a close are still open.
            for op in self.state.table.drain() {
                if let Resources::CloseFd(fd) = op.resources {
                    // SAFETY: `Op::close` took ownership of `fd`, and its SQE
                    // was never submitted, so nobody closed it.
                    drop(unsafe {
                        <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd)
                    });
                }
            }
            return;
        }
        if outstanding(&self.state) {
            let cancel = opcode::AsyncCancel2::new(CancelBuilder::any())
                .build()
                .user_data(CANCEL);
            if self.reserve_sq().is_ok() {
                self.push_internal(&cancel);
            }
            let deadline = Instant::now() + self.state.drop_timeout;
            while outstanding(&self.state) {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                // An error here (say, dropped on a thread that is not the
                // single issuer) cannot be retried into success: stop and
                // take the leak path.
                if self.enter(1, Duration::ZERO, Some(deadline - now)).is_err() {
                    break;
                }
                self.reap(drop);
            }
        }
        if outstanding(&self.state) {
            // The kernel may still write into these: leak them.
            for op in self.state.table.drain() {
                std::mem::forget(op);
            }
            if let Some(w) = self.state.waker.take() {
                std::mem::forget(w.counter);
            }
            for owner in self.state.groups.drain(..).flatten() {
                std::mem::forget(owner.group);
            }
            return;
        }
        for owner in self.state.groups.drain(..).flatten() {
            if self
                .uring
                .submitter()
                .unregister_buf_ring(owner.group.id())
                .is_err()
            {
                // Still registered: the kernel may pick its buffers.
                std::mem::forget(owner.group);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Rule 7 needs the ring's internals to observe: whether the memory of
    //! a buffer group was released or leaked.

    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;
    use std::sync::Arc;

    use super::Ring;
    use crate::{BufGroup, Op};

    fn ring_with_ops_in_flight() -> std::io::Result<(Ring, BufGroup, TcpStream, TcpStream)> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let client = TcpStream::connect(listener.local_addr()?)?;
        let (server, _) = listener.accept()?;
        let mut ring = Ring::new()?;
        let group = ring.register_buf_group(BufGroup::builder(0).count(2))?;
        ring.push(Op::recv_multi(server.as_raw_fd(), &group), 1)?;
        ring.push(Op::recv(server.as_raw_fd(), Vec::with_capacity(64)), 2)?;
        ring.submit()?;
        Ok((ring, group, client, server))
    }

    #[test]
    fn drop_on_the_issuing_thread_releases_the_group() -> std::io::Result<()> {
        let (ring, group, _client, _server) = ring_with_ops_in_flight()?;
        drop(ring);
        assert_eq!(
            Arc::strong_count(&group.shared),
            1,
            "only our handle is left"
        );
        Ok(())
    }

    #[test]
    fn drop_on_a_foreign_thread_leaks_the_group() -> std::io::Result<()> {
        let (ring, group, _client, _server) = ring_with_ops_in_flight()?;
        if !ring.setup_flags().single_issuer {
            return Ok(()); // any thread may enter: nothing to leak
        }
        std::thread::spawn(move || drop(ring))
            .join()
            .expect("dropping thread");
        // The ring could not wait for the cancelled receives, so it leaked
        // its reference and the op's instead of freeing what the kernel may
        // still write into.
        assert!(Arc::strong_count(&group.shared) > 1);
        Ok(())
    }
}
