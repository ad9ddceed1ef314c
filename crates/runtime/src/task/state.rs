//! The task's state word: every state bit and the reference count share one `AtomicUsize`,
//! so each transition is a single compare-and-swap and no transition can observe a state
//! half-updated.
//!
//! ```text
//!  63 ............ 6 | 5          | 4             | 3      | 2        | 1         | 0
//!  refcount (REF_ONE) | JOIN_WAKER | JOIN_INTEREST | CLOSED | COMPLETE | SCHEDULED | RUNNING
//! ```
//!
//! # The bits
//!
//! * `RUNNING`: one thread owns the future and is polling (or cancelling) it. Only the
//!   thread that set it touches the stage (future/output) until it clears it.
//! * `SCHEDULED`: a `Notified` reference to the task sits in (or is on its way to) a run
//!   queue. Set by a wake while the task is idle (the waker's reference becomes the queue's),
//!   or while it runs (the runner then re-queues the task after the poll). Cleared when the
//!   task starts running. At most one queue entry exists per task while the task is live.
//! * `COMPLETE`: the future is gone and the stage holds the output (or the `JoinError`), or
//!   nothing if no one was interested. Never cleared.
//! * `CLOSED`: cancellation was requested (`abort`, runtime shutdown). The next thread to
//!   own the task drops the future instead of polling it. Never cleared.
//! * `JOIN_INTEREST`: a `JoinHandle` exists. Cleared when it is dropped. When it is clear at
//!   completion, the runner drops the output itself.
//! * `JOIN_WAKER`: the join waker slot holds a waker and belongs to the runtime, which may
//!   read it (to wake the `JoinHandle`) once the task completes. While it is clear and the
//!   task is not complete, the slot belongs to the `JoinHandle`.
//!
//! Nothing here knows about diagnostics: long-poll detection, user poll hooks and task dumps
//! observe tasks from the scheduler's side (`executor/hooks.rs`), never through this word.
//!
//! # References
//!
//! Each of these holds one reference: the `JoinHandle`, the owned-tasks list of the
//! scheduler, a `Notified` in a run queue, and every `Waker`. The cell is freed when the
//! count drops to zero. A task starts with three: list, handle, and the first `Notified`.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};

pub(crate) const RUNNING: usize = 1 << 0;
pub(crate) const SCHEDULED: usize = 1 << 1;
pub(crate) const COMPLETE: usize = 1 << 2;
pub(crate) const CLOSED: usize = 1 << 3;
pub(crate) const JOIN_INTEREST: usize = 1 << 4;
pub(crate) const JOIN_WAKER: usize = 1 << 5;
const STATE_MASK: usize = (1 << 6) - 1;
/// One reference in the count that occupies the bits above the state bits.
pub(crate) const REF_ONE: usize = 1 << 6;

/// The state word of one task (see the module docs).
pub(crate) struct State {
    val: AtomicUsize,
}

/// A copy of the state word.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(pub(crate) usize);

impl Snapshot {
    pub(crate) fn is(self, bit: usize) -> bool {
        self.0 & bit != 0
    }
    pub(crate) fn refs(self) -> usize {
        self.0 / REF_ONE
    }
    fn is_idle(self) -> bool {
        self.0 & (RUNNING | COMPLETE) == 0
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is(RUNNING))
            .field("scheduled", &self.is(SCHEDULED))
            .field("complete", &self.is(COMPLETE))
            .field("closed", &self.is(CLOSED))
            .field("join_interest", &self.is(JOIN_INTEREST))
            .field("join_waker", &self.is(JOIN_WAKER))
            .field("refs", &self.refs())
            .finish()
    }
}

/// What the runner must do after trying to take the task.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToRunning {
    /// Poll the future.
    Poll,
    /// Cancellation was requested: drop the future and complete.
    Cancel,
    /// Someone else owns or finished the task: the `Notified` reference was dropped.
    Failed,
    /// As `Failed`, and it was the last reference: free the cell.
    Dealloc,
}

/// What the runner must do after a poll returned `Pending`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToIdle {
    /// Idle; the runner's reference was dropped.
    Ok,
    /// Woken during the poll: the runner's reference becomes the new `Notified`; queue it.
    Notified,
    /// Idle and the runner's reference was the last: free the cell.
    Dealloc,
    /// Aborted during the poll: the runner still owns the task; cancel it.
    Cancel,
}

/// What a waker (or `abort`) must do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WakeAction {
    Nothing,
    /// Hand a `Notified` (whose reference the transition accounted for) to the scheduler.
    Submit,
    /// The waker's reference was the last one: free the cell.
    Dealloc,
}

impl State {
    /// A new task: scheduled, with a join handle, and three references.
    pub(crate) fn new() -> State {
        State {
            val: AtomicUsize::new(SCHEDULED | JOIN_INTEREST | (3 * REF_ONE)),
        }
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.val.load(Acquire))
    }

    fn update<T>(&self, mut f: impl FnMut(Snapshot) -> (Option<usize>, T)) -> T {
        let mut cur = self.val.load(Acquire);
        loop {
            let (next, out) = f(Snapshot(cur));
            let Some(next) = next else { return out };
            match self.val.compare_exchange_weak(cur, next, AcqRel, Acquire) {
                Ok(_) => return out,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Called by the holder of a `Notified` reference before polling.
    pub(crate) fn transition_to_running(&self) -> ToRunning {
        self.update(|s| {
            if !s.is_idle() {
                // A stale queue entry: the task was cancelled at shutdown while queued.
                let next = s.0 - REF_ONE;
                let action = if Snapshot(next).refs() == 0 {
                    ToRunning::Dealloc
                } else {
                    ToRunning::Failed
                };
                return (Some(next), action);
            }
            debug_assert!(
                s.is(SCHEDULED),
                "running a task that was not scheduled: {s:?}"
            );
            let next = (s.0 & !SCHEDULED) | RUNNING;
            let action = if s.is(CLOSED) {
                ToRunning::Cancel
            } else {
                ToRunning::Poll
            };
            (Some(next), action)
        })
    }

    /// Called by the runner after a poll returned `Pending`.
    pub(crate) fn transition_to_idle(&self) -> ToIdle {
        self.update(|s| {
            debug_assert!(s.is(RUNNING));
            if s.is(CLOSED) {
                return (None, ToIdle::Cancel);
            }
            let next = s.0 & !RUNNING;
            if s.is(SCHEDULED) {
                (Some(next), ToIdle::Notified)
            } else {
                let next = next - REF_ONE;
                let action = if Snapshot(next).refs() == 0 {
                    ToIdle::Dealloc
                } else {
                    ToIdle::Ok
                };
                (Some(next), action)
            }
        })
    }

    /// Called by the runner when the future is gone. Returns the state *before* the update,
    /// which tells whether someone wants the output and whether there is a join waker.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_xor(RUNNING | COMPLETE, AcqRel));
        debug_assert!(prev.is(RUNNING) && !prev.is(COMPLETE));
        prev
    }

    /// A waker consumes its reference.
    pub(crate) fn wake_by_val(&self) -> WakeAction {
        self.update(|s| {
            if s.is(RUNNING) {
                // The runner holds a reference, so ours is not the last.
                (Some((s.0 | SCHEDULED) - REF_ONE), WakeAction::Nothing)
            } else if s.is(SCHEDULED) || s.is(COMPLETE) {
                let next = s.0 - REF_ONE;
                let action = if Snapshot(next).refs() == 0 {
                    WakeAction::Dealloc
                } else {
                    WakeAction::Nothing
                };
                (Some(next), action)
            } else {
                // Our reference becomes the `Notified` one.
                (Some(s.0 | SCHEDULED), WakeAction::Submit)
            }
        })
    }

    /// A waker keeps its reference.
    pub(crate) fn wake_by_ref(&self) -> WakeAction {
        self.update(|s| {
            if s.is(RUNNING) {
                (Some(s.0 | SCHEDULED), WakeAction::Nothing)
            } else if s.is(SCHEDULED) || s.is(COMPLETE) {
                (None, WakeAction::Nothing)
            } else {
                (Some(ref_inc(s.0) | SCHEDULED), WakeAction::Submit)
            }
        })
    }

    /// `JoinHandle::abort` and friends: request cancellation from any thread.
    pub(crate) fn transition_to_cancelled(&self) -> WakeAction {
        self.update(|s| {
            if s.is(COMPLETE) || s.is(CLOSED) {
                (None, WakeAction::Nothing)
            } else if s.is(RUNNING) || s.is(SCHEDULED) {
                // The runner, or whoever dequeues the task, sees CLOSED.
                (Some(s.0 | CLOSED), WakeAction::Nothing)
            } else {
                (Some(ref_inc(s.0) | CLOSED | SCHEDULED), WakeAction::Submit)
            }
        })
    }

    /// Runtime shutdown: mark the task cancelled and, if nobody is running it, take
    /// ownership (set `RUNNING`) so the caller can drop the future right here. Returns
    /// whether the caller now owns the task.
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        self.update(|s| {
            if s.is_idle() {
                (Some(s.0 | CLOSED | RUNNING), true)
            } else {
                (Some(s.0 | CLOSED), false)
            }
        })
    }

    /// Drops the join handle's interest unless the task already completed (then the handle
    /// must drop the output itself and `Err` is returned). On `Ok`, the returned snapshot
    /// tells whether the handle had stored a waker, which it now owns again.
    pub(crate) fn unset_join_interest(&self) -> Result<Snapshot, ()> {
        self.update(|s| {
            debug_assert!(s.is(JOIN_INTEREST));
            if s.is(COMPLETE) {
                (None, Err(()))
            } else {
                (Some(s.0 & !(JOIN_INTEREST | JOIN_WAKER)), Ok(s))
            }
        })
    }

    /// Hands the join waker slot to the runtime. Fails if the task completed meanwhile.
    pub(crate) fn set_join_waker(&self) -> Result<(), Snapshot> {
        self.update(|s| {
            debug_assert!(s.is(JOIN_INTEREST) && !s.is(JOIN_WAKER));
            if s.is(COMPLETE) {
                (None, Err(s))
            } else {
                (Some(s.0 | JOIN_WAKER), Ok(()))
            }
        })
    }

    /// Takes the join waker slot back from the runtime. Fails if the task completed.
    pub(crate) fn unset_join_waker(&self) -> Result<(), Snapshot> {
        self.update(|s| {
            debug_assert!(s.is(JOIN_INTEREST) && s.is(JOIN_WAKER));
            if s.is(COMPLETE) {
                (None, Err(s))
            } else {
                (Some(s.0 & !JOIN_WAKER), Ok(()))
            }
        })
    }

    pub(crate) fn ref_inc(&self) {
        let prev = self.val.fetch_add(REF_ONE, Relaxed);
        if prev > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// Drops `n` references; returns true if they were the last ones.
    pub(crate) fn ref_dec_by(&self, n: usize) -> bool {
        let prev = Snapshot(self.val.fetch_sub(n * REF_ONE, AcqRel));
        debug_assert!(prev.refs() >= n, "task refcount underflow: {prev:?}");
        prev.refs() == n
    }
}

fn ref_inc(v: usize) -> usize {
    if v > isize::MAX as usize {
        std::process::abort();
    }
    v + REF_ONE
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.load().fmt(f)
    }
}

#[allow(dead_code)]
const _: () = assert!(STATE_MASK < REF_ONE);
