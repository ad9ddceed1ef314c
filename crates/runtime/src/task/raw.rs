//! The task cell and the functions that run it.
//!
//! A spawned task is ONE heap allocation, a `#[repr(C)]` [`Cell`]: the [`Header`] first,
//! then the scheduler hook `S` (an `Arc` to the scheduler that owns the task), then the
//! stage, which holds the future while it runs and its output after. The header carries a
//! `&'static Vtable` instantiated for the concrete `F` and `S`, so run queues, wakers and
//! join handles handle a plain `NonNull<Header>` and never allocate or box anything else.
//!
//! # Protocols
//!
//! 1. *Run*: a queue entry (`Notified`) owns a reference. `poll` is transition → poll →
//!    transition, nothing else (as in async-task and tokio's harness): it takes the task
//!    (`transition_to_running`), polls the future with a waker borrowed from that reference,
//!    then either completes, or goes idle (dropping the reference), or, if woken meanwhile,
//!    re-queues itself with the same reference. Whatever observes polls (long-poll
//!    detection, user hooks) wraps this call from the scheduler's side
//!    (`executor/hooks.rs`).
//! 2. *Complete*: the stage gets the output (or the failure); `COMPLETE` is set and
//!    `RUNNING` cleared in one atomic step whose prior value says whether a `JoinHandle` wants
//!    the output (else the runner drops it) and whether it left a waker to wake. The task
//!    leaves the owned list, and the runner drops its reference and the list's.
//! 3. *Cancel*: `abort` sets `CLOSED`; an idle task is also queued so that whoever runs it
//!    next drops the future on the scheduler's own thread (a `!Send` future is never dropped
//!    elsewhere). At shutdown the scheduler takes idle tasks directly (`shutdown`).
//! 4. *Free*: the last reference, whoever holds it, drops the cell.

use std::any::Any;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

use super::error::{Failure, JoinError};
use super::header::{Header, Info, Pointers, Trace};
use super::state::{State, ToIdle, ToRunning, WakeAction, JOIN_INTEREST, JOIN_WAKER};
use super::{waker, Id, Notified, RawTask, Schedule, Task};
use crate::loom::cell::UnsafeCell;

/// The per-type functions of a task.
pub(crate) struct Vtable {
    pub(crate) poll: unsafe fn(NonNull<Header>),
    pub(crate) schedule: unsafe fn(NonNull<Header>),
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    /// `dst` is a `*mut Poll<Result<F::Output, JoinError>>`.
    pub(crate) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    pub(crate) drop_join_handle: unsafe fn(NonNull<Header>),
    pub(crate) shutdown: unsafe fn(NonNull<Header>),
}

/// The single allocation of a task.
#[repr(C)]
pub(crate) struct Cell<F: Future, S> {
    pub(crate) header: Header,
    pub(crate) scheduler: S,
    /// Owned by whoever holds `RUNNING`; after completion by the `JoinHandle` if
    /// `JOIN_INTEREST` was set at completion, else by the runner.
    pub(crate) stage: UnsafeCell<Stage<F>>,
}

pub(crate) enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, Failure>),
    Consumed,
}

/// The size of the cell of a task with future `F` (for the memory report and tests).
#[cfg(all(test, not(loom), not(feature = "tracing")))]
pub(crate) const fn cell_size<F: Future, S>() -> usize {
    std::mem::size_of::<Cell<F, S>>()
}

struct VtableOf<F, S>(std::marker::PhantomData<(F, S)>);

impl<F: Future, S: Schedule> VtableOf<F, S> {
    const VTABLE: Vtable = Vtable {
        poll: poll::<F, S>,
        schedule: schedule::<F, S>,
        dealloc: dealloc::<F, S>,
        try_read_output: try_read_output::<F, S>,
        drop_join_handle: drop_join_handle::<F, S>,
        shutdown: shutdown::<F, S>,
    };
}

/// Allocates a task; the returned pointer carries the three initial references (owned list,
/// join handle, first `Notified`).
pub(crate) fn allocate<F, S>(future: F, scheduler: S, id: Id, info: Info) -> RawTask
where
    F: Future + 'static,
    S: Schedule,
{
    let span = crate::trace::task_span(id, &info);
    let cell = Box::new(Cell {
        header: Header {
            state: State::new(),
            vtable: &VtableOf::<F, S>::VTABLE,
            id,
            info,
            owned: UnsafeCell::new(Pointers::default()),
            join_waker: UnsafeCell::new(None),
            trace: Trace::new(),
            span,
        },
        scheduler,
        stage: UnsafeCell::new(Stage::Running(future)),
    });
    // SAFETY: `Box::into_raw` never returns null.
    let ptr = unsafe { NonNull::new_unchecked(Box::into_raw(cell)) };
    RawTask(ptr.cast())
}

/// The cell behind a header pointer.
///
/// # Safety
///
/// `ptr` must point to a live `Cell<F, S>` with exactly these type parameters.
unsafe fn cell<'a, F: Future, S>(ptr: NonNull<Header>) -> &'a Cell<F, S> {
    // SAFETY: the header is the first field of the `#[repr(C)]` cell (caller's contract).
    unsafe { ptr.cast::<Cell<F, S>>().as_ref() }
}

unsafe fn poll<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the vtable was instantiated for this cell's `F` and `S`; the caller's
    // `Notified` reference keeps the cell alive for the whole call.
    let cell = unsafe { cell::<F, S>(ptr) };
    match cell.header.state.transition_to_running() {
        ToRunning::Poll => {}
        ToRunning::Cancel => {
            // SAFETY: we hold `RUNNING`.
            unsafe { cancel_and_complete(cell, ptr) };
            return;
        }
        ToRunning::Failed => return,
        // SAFETY: the count reached zero: nobody else can reach the cell.
        ToRunning::Dealloc => return unsafe { dealloc::<F, S>(ptr) },
    }
    // The poll borrows the runner's reference: no reference count traffic unless the future
    // clones the waker.
    // SAFETY: the runner's reference outlives `waker`, which is never dropped (ManuallyDrop).
    let waker = ManuallyDrop::new(unsafe { waker::from_raw(ptr) });
    let mut cx = Context::from_waker(&waker);
    let guard = crate::context::enter_task(&cell.header);
    // SAFETY: we hold `RUNNING`, so the stage is ours.
    let done = unsafe { poll_future(cell, &mut cx) };
    drop(guard);
    if done {
        // SAFETY: still `RUNNING`.
        unsafe { complete(cell, ptr) };
        return;
    }
    match cell.header.state.transition_to_idle() {
        ToIdle::Ok => {}
        ToIdle::Notified => cell.scheduler.yield_now(Notified(Task(RawTask(ptr)))),
        // SAFETY: last reference.
        ToIdle::Dealloc => unsafe { dealloc::<F, S>(ptr) },
        // SAFETY: `Cancel` means we kept `RUNNING`.
        ToIdle::Cancel => unsafe { cancel_and_complete(cell, ptr) },
    }
}

/// Polls the future, storing its output (or the panic) when it is done. Returns whether it
/// is done.
///
/// # Safety
///
/// The caller holds `RUNNING`.
unsafe fn poll_future<F: Future, S>(cell: &Cell<F, S>, cx: &mut Context<'_>) -> bool {
    let res = panic::catch_unwind(AssertUnwindSafe(|| {
        cell.stage.with_mut(|stage| {
            // SAFETY: `RUNNING` gives exclusive access to the stage; the future is never moved
            // out of the heap cell while `Running`, so pinning it is sound.
            let stage = unsafe { &mut *stage };
            let Stage::Running(fut) = stage else {
                unreachable!("polled a task that is not running")
            };
            // SAFETY: see above.
            let out = unsafe { Pin::new_unchecked(fut) }.poll(cx);
            if out.is_ready() {
                // Drop the future now, inside the catch, before the output moves in.
                *stage = Stage::Consumed;
            }
            out
        })
    }));
    let finished = match res {
        Ok(Poll::Pending) => return false,
        Ok(Poll::Ready(out)) => Ok(out),
        Err(payload) => {
            // SAFETY: we still hold `RUNNING`.
            unsafe { drop_stage(cell) };
            Err(Failure::Panic(Box::new(payload)))
        }
    };
    // SAFETY: we hold `RUNNING`; the previous stage was dropped above.
    cell.stage
        .with_mut(|s| unsafe { s.write(Stage::Finished(finished)) });
    true
}

/// Replaces the stage with `Consumed`, containing a panic from the dropped value.
///
/// # Safety
///
/// The caller owns the stage.
unsafe fn drop_stage<F: Future, S>(cell: &Cell<F, S>) -> Option<Box<dyn Any + Send>> {
    panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the caller owns the stage.
        cell.stage.with_mut(|s| unsafe { *s = Stage::Consumed });
    }))
    .err()
}

/// Drops the future of a cancelled task and completes it with `Cancelled` (or with the
/// panic of the future's destructor).
///
/// # Safety
///
/// The caller holds `RUNNING` and one reference, which this consumes.
unsafe fn cancel_and_complete<F: Future, S: Schedule>(cell: &Cell<F, S>, ptr: NonNull<Header>) {
    // SAFETY: the caller holds `RUNNING`.
    let failure = match unsafe { drop_stage(cell) } {
        None => Failure::Cancelled,
        Some(p) => Failure::Panic(Box::new(p)),
    };
    // SAFETY: as above; the stage is `Consumed`.
    cell.stage
        .with_mut(|s| unsafe { s.write(Stage::Finished(Err(failure))) });
    // SAFETY: the caller's contract.
    unsafe { complete(cell, ptr) };
}

/// # Safety
///
/// The caller holds `RUNNING` and one reference (its `Notified`, or at shutdown the list's),
/// which this consumes; the stage is `Finished`.
unsafe fn complete<F: Future, S: Schedule>(cell: &Cell<F, S>, ptr: NonNull<Header>) {
    let prev = cell.header.state.transition_to_complete();
    if !prev.is(JOIN_INTEREST) {
        // Nobody will read the output: the runner still owns the stage.
        // SAFETY: `JOIN_INTEREST` was clear at completion, see `state.rs`.
        unsafe { drop_stage(cell) };
    } else if prev.is(JOIN_WAKER) {
        cell.header.join_waker.with(|w| {
            // SAFETY: `JOIN_WAKER` was set at completion: the slot is the runtime's to read,
            // and the handle no longer writes it since `COMPLETE` is set.
            if let Some(w) = unsafe { &*w } {
                w.wake_by_ref();
            }
        });
    }
    let released = cell.scheduler.release(RawTask(ptr));
    if cell.header.state.ref_dec_by(1 + released as usize) {
        // SAFETY: last reference.
        unsafe { dealloc::<F, S>(ptr) };
    }
}

unsafe fn schedule<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller hands over one reference, which the `Notified` now owns.
    let cell = unsafe { cell::<F, S>(ptr) };
    cell.scheduler.schedule(Notified(Task(RawTask(ptr))));
}

unsafe fn dealloc<F: Future, S>(ptr: NonNull<Header>) {
    // SAFETY: the reference count reached zero, so this is the only pointer to the cell,
    // which `allocate` created with `Box::new`.
    drop(unsafe { Box::from_raw(ptr.cast::<Cell<F, S>>().as_ptr()) });
}

unsafe fn try_read_output<F: Future, S>(ptr: NonNull<Header>, dst: *mut (), waker: &Waker) {
    // SAFETY: the join handle holds a reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    if !can_read_output(&cell.header, waker) {
        return;
    }
    // SAFETY: `COMPLETE` with `JOIN_INTEREST` set: the handle owns the stage.
    let stage = cell
        .stage
        .with_mut(|s| unsafe { std::mem::replace(&mut *s, Stage::Consumed) });
    let Stage::Finished(res) = stage else {
        panic!("`JoinHandle` polled after it returned")
    };
    let id = cell.header.id;
    // SAFETY: the caller passes a `*mut Poll<Result<F::Output, JoinError>>`.
    unsafe {
        *dst.cast::<Poll<Result<F::Output, JoinError>>>() =
            Poll::Ready(res.map_err(|f| JoinError::new(id, f)));
    }
}

/// The join waker protocol of `state.rs`: returns true if the task is complete, otherwise
/// leaves `waker` to be woken on completion.
fn can_read_output(header: &Header, waker: &Waker) -> bool {
    let s = header.state.load();
    if s.is(super::state::COMPLETE) {
        return true;
    }
    if s.is(JOIN_WAKER) {
        // SAFETY: with `JOIN_WAKER` set, the slot is only read, by us and by the runner.
        let same = header
            .join_waker
            .with(|w| unsafe { &*w }.as_ref().is_some_and(|w| w.will_wake(waker)));
        if same {
            return false;
        }
        if header.state.unset_join_waker().is_err() {
            return true;
        }
    }
    // SAFETY: `JOIN_WAKER` is clear and the task incomplete: the slot is the handle's.
    header
        .join_waker
        .with_mut(|w| unsafe { *w = Some(waker.clone()) });
    if header.state.set_join_waker().is_err() {
        // Completed meanwhile, without seeing our waker: the slot is still ours.
        // SAFETY: as above.
        header.join_waker.with_mut(|w| unsafe { *w = None });
        return true;
    }
    false
}

unsafe fn drop_join_handle<F: Future, S>(ptr: NonNull<Header>) {
    // SAFETY: the handle's reference keeps the cell alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    match cell.header.state.unset_join_interest() {
        Ok(prev) => {
            if prev.is(JOIN_WAKER) {
                // SAFETY: clearing `JOIN_WAKER` before completion gave the slot back to us.
                cell.header.join_waker.with_mut(|w| unsafe { *w = None });
            }
        }
        Err(()) => {
            // Complete with interest: the output is ours to drop.
            // SAFETY: see `complete`.
            unsafe { drop_stage(cell) };
        }
    }
    if cell.header.state.ref_dec_by(1) {
        // SAFETY: last reference.
        unsafe { dealloc::<F, S>(ptr) };
    }
}

unsafe fn shutdown<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller hands over the owned list's reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    if cell.header.state.transition_to_shutdown() {
        // SAFETY: we now hold `RUNNING`, and the list's reference.
        unsafe { cancel_and_complete(cell, ptr) };
    } else if cell.header.state.ref_dec_by(1) {
        // SAFETY: last reference.
        unsafe { dealloc::<F, S>(ptr) };
    }
}

impl RawTask {
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a `RawTask` is only built from a live cell and used while a reference is held.
        unsafe { self.0.as_ref() }
    }

    /// Polls (or cancels) the task, consuming the caller's `Notified` reference.
    pub(crate) fn poll(self) {
        // SAFETY: the vtable matches the cell; the caller gives up one reference.
        unsafe { (self.header().vtable.poll)(self.0) }
    }

    /// Hands one reference owned by the caller to the scheduler as a `Notified`.
    pub(crate) fn schedule(self) {
        // SAFETY: as above.
        unsafe { (self.header().vtable.schedule)(self.0) }
    }

    pub(crate) fn dealloc(self) {
        // SAFETY: called only when the count reached zero.
        unsafe { (self.header().vtable.dealloc)(self.0) }
    }

    /// Cancels the task at runtime shutdown, consuming the list's reference.
    pub(crate) fn shutdown(self) {
        // SAFETY: the caller owns the list's reference.
        unsafe { (self.header().vtable.shutdown)(self.0) }
    }

    /// # Safety
    ///
    /// `dst` points to a `Poll<Result<T, JoinError>>` with `T` the task's output type; the
    /// caller is the task's `JoinHandle`.
    pub(crate) unsafe fn try_read_output(self, dst: *mut (), waker: &Waker) {
        // SAFETY: the caller's contract.
        unsafe { (self.header().vtable.try_read_output)(self.0, dst, waker) }
    }

    /// # Safety
    ///
    /// Called once, by the task's `JoinHandle`, giving up its reference.
    pub(crate) unsafe fn drop_join_handle(self) {
        // SAFETY: the caller's contract.
        unsafe { (self.header().vtable.drop_join_handle)(self.0) }
    }

    /// Requests cancellation (see protocol 3).
    pub(crate) fn abort(self) {
        if self.header().state.transition_to_cancelled() == WakeAction::Submit {
            self.schedule();
        }
    }
}
