//! The type-erased front of every task cell.
//!
//! Everything the scheduler needs without knowing the future's type lives here, at offset 0
//! of the `#[repr(C)]` cell, so that a `NonNull<Header>` is a pointer to the whole cell.
//! It is 64 bytes on 64-bit targets: one cache line (asserted below).

use std::ptr::NonNull;
use std::task::Waker;

use super::raw::Vtable;
use super::state::State;
use super::Id;
use crate::loom::cell::UnsafeCell;

#[repr(C)]
pub(crate) struct Header {
    /// State bits and reference count (see `state.rs`). Any reference holder.
    pub(crate) state: State,
    /// The functions that know the concrete future and scheduler types. Immutable.
    pub(crate) vtable: &'static Vtable,
    /// Immutable.
    pub(crate) id: Id,
    /// `task::Builder::name`. Immutable. Boxed twice so that unnamed tasks pay 8 bytes, not 16.
    pub(crate) name: Option<Box<Box<str>>>,
    /// Links of the scheduler's owned-tasks list. Only touched with that list's shard lock
    /// held (`list.rs`).
    pub(crate) owned: UnsafeCell<Pointers>,
    /// The `JoinHandle`'s waker. Owned by the `JoinHandle` while `JOIN_WAKER` is clear and the
    /// task is incomplete; readable by the runtime once `JOIN_WAKER` is set (see `state.rs`).
    pub(crate) join_waker: UnsafeCell<Option<Waker>>,
}

#[derive(Default)]
pub(crate) struct Pointers {
    pub(crate) prev: Option<NonNull<Header>>,
    pub(crate) next: Option<NonNull<Header>>,
}

#[cfg(all(target_pointer_width = "64", not(loom)))]
const _: () = assert!(std::mem::size_of::<Header>() == 64);

impl Header {
    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref().map(|b| &**b)
    }
}
