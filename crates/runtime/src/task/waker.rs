//! One `RawWakerVTable` for every task: the waker's data pointer is the task's header, and
//! the header's own vtable knows the concrete types. Cloning a waker is one reference-count
//! increment; no allocation ever.

use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::header::Header;
use super::state::WakeAction;
use super::RawTask;

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// How a task's waker leads to its task-dump slot and id (`c10k_wait`, `task/dump.rs`).
// SAFETY: a waker with `VTABLE` exists only while it holds a reference to its task, whose
// data pointer is the task's header: a live `Header`, with the wait slot and the id (a
// `NonZeroU64`, laid out as a `u64`, immutable) at these offsets of the `#[repr(C)]` struct.
static WAIT_EXECUTOR: c10k_wait::Executor = unsafe {
    c10k_wait::Executor::new(
        &VTABLE,
        std::mem::offset_of!(Header, trace) + std::mem::offset_of!(super::header::Trace, wait),
        std::mem::offset_of!(Header, id),
    )
};

/// Lets the leaf futures of this runtime's tasks record what they wait on (once per
/// process; called when a runtime or a `LocalSet` is built).
pub(crate) fn register_wait_executor() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        c10k_wait::register(&WAIT_EXECUTOR);
        // The dump's clock starts before any task is polled (`dump::begin_poll`).
        super::dump::tick();
    });
}

/// # Safety
///
/// The returned waker owns one reference of the task at `ptr`.
pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Waker {
    // SAFETY: `VTABLE`'s functions treat the data pointer as a task header with one reference
    // owned by the waker (the caller's contract).
    unsafe { Waker::from_raw(RawWaker::new(ptr.as_ptr() as *const (), &VTABLE)) }
}

fn task(data: *const ()) -> RawTask {
    // SAFETY: wakers are only created by `from_raw`, from a non-null header pointer.
    RawTask(unsafe { NonNull::new_unchecked(data as *mut Header) })
}

unsafe fn clone(data: *const ()) -> RawWaker {
    task(data).header().state.ref_inc();
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    let t = task(data);
    match t.header().state.wake_by_val() {
        WakeAction::Nothing => {}
        WakeAction::Submit => t.schedule(),
        WakeAction::Dealloc => t.dealloc(),
    }
}

unsafe fn wake_by_ref(data: *const ()) {
    let t = task(data);
    if t.header().state.wake_by_ref() == WakeAction::Submit {
        t.schedule();
    }
}

unsafe fn drop_waker(data: *const ()) {
    let t = task(data);
    if t.header().state.ref_dec_by(1) {
        t.dealloc();
    }
}
