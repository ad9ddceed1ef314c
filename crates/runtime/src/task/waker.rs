//! One `RawWakerVTable` for every task: the waker's data pointer is the task's header, and
//! the header's own vtable knows the concrete types. Cloning a waker is one reference-count
//! increment; no allocation ever.

use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::header::Header;
use super::state::WakeAction;
use super::RawTask;

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

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
