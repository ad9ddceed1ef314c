//! The type-erased front of every task cell.
//!
//! Everything the scheduler needs without knowing the future's type lives here, at offset 0
//! of the `#[repr(C)]` cell, so that a `NonNull<Header>` is a pointer to the whole cell.
//! It is 80 bytes on 64-bit targets (asserted below): the 64 bytes the task core needs,
//! plus 16 for the task dump (`trace`: what the task waits on and when it was last polled;
//! see `dump.rs`). The spawn location and the name share one word (`Info`), so naming a task
//! or knowing where it was spawned costs no header space.

use std::panic::Location;
use std::ptr::NonNull;
use std::sync::atomic::AtomicU64;
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
    /// Where the task was spawned and its `task::Builder::name`. Immutable.
    pub(crate) info: Info,
    /// Links of the scheduler's owned-tasks list. Only touched with that list's shard lock
    /// held (`list.rs`).
    pub(crate) owned: UnsafeCell<Pointers>,
    /// The `JoinHandle`'s waker. Owned by the `JoinHandle` while `JOIN_WAKER` is clear and the
    /// task is incomplete; readable by the runtime once `JOIN_WAKER` is set (see `state.rs`).
    pub(crate) join_waker: UnsafeCell<Option<Waker>>,
    /// What the dump reads of the task's polls (`dump.rs`). Written by the polling thread
    /// (the scheduler around each poll, the task's leaf futures during it); read by dumps.
    pub(crate) trace: Trace,
    /// The task's `tracing` span (`trace.rs`); zero-sized without the `tracing` feature.
    /// Immutable.
    pub(crate) span: crate::trace::TaskSpan,
}

/// The task's poll record, for dumps: plain relaxed atomics, never read by the runtime
/// itself, so no ordering matters beyond each word being read whole.
pub(crate) struct Trace {
    /// What the last poll waited on, as its leaf futures recorded it (`c10k_wait`). Cleared
    /// at the start of each poll.
    pub(crate) wait: c10k_wait::Slot,
    /// When the last poll began, in nanoseconds of the coarse clock (`dump::coarse_now`), or
    /// 0 before the first poll.
    pub(crate) polled_at: AtomicU64,
}

impl Trace {
    pub(crate) const fn new() -> Trace {
        Trace {
            wait: c10k_wait::Slot::new(),
            polled_at: AtomicU64::new(0),
        }
    }
}

#[derive(Default)]
pub(crate) struct Pointers {
    pub(crate) prev: Option<NonNull<Header>>,
    pub(crate) next: Option<NonNull<Header>>,
}

#[cfg(all(target_pointer_width = "64", not(loom), not(feature = "tracing")))]
const _: () = assert!(std::mem::size_of::<Header>() == 80);

impl Header {
    pub(crate) fn name(&self) -> Option<&str> {
        self.info.name()
    }
}

/// A task's spawn location and optional name, in one word: a `&'static Location` for an
/// unnamed task, or (low bit set) a `Box<Named>` for a named one. A `Location` is at least
/// 4-aligned (asserted below), so its low bit is free for the tag.
pub(crate) struct Info(NonNull<()>);

struct Named {
    location: &'static Location<'static>,
    name: Box<str>,
}

const NAMED: usize = 1;
const _: () = assert!(std::mem::align_of::<Location<'static>>() >= 2);
const _: () = assert!(std::mem::align_of::<Named>() >= 2);

// SAFETY: `Info` is an immutable `&'static Location` or an owned `Box<Named>`, both `Send`
// and `Sync`.
unsafe impl Send for Info {}
// SAFETY: as above.
unsafe impl Sync for Info {}

impl Info {
    #[inline]
    pub(crate) fn new(location: &'static Location<'static>, name: Option<Box<str>>) -> Info {
        match name {
            None => Info(NonNull::from(location).cast()),
            Some(name) => {
                let named = Box::into_raw(Box::new(Named { location, name }));
                // SAFETY: `Box::into_raw` is never null; setting the low bit of an aligned
                // pointer keeps it non-null.
                Info(unsafe {
                    NonNull::new_unchecked(named.cast::<u8>().wrapping_add(NAMED).cast())
                })
            }
        }
    }

    #[inline]
    fn named(&self) -> Option<&Named> {
        let addr = self.0.as_ptr() as usize;
        if addr & NAMED == 0 {
            return None;
        }
        let ptr = self
            .0
            .as_ptr()
            .cast::<u8>()
            .wrapping_sub(NAMED)
            .cast::<Named>();
        // SAFETY: a tagged pointer came from `Box::into_raw` in `new` and lives until drop.
        Some(unsafe { &*ptr })
    }

    #[inline]
    pub(crate) fn location(&self) -> &'static Location<'static> {
        match self.named() {
            Some(n) => n.location,
            // SAFETY: untagged, the pointer is the `&'static Location` given to `new`.
            None => unsafe { self.0.cast::<Location<'static>>().as_ref() },
        }
    }

    #[inline]
    pub(crate) fn name(&self) -> Option<&str> {
        self.named().map(|n| &*n.name)
    }

    #[inline]
    pub(crate) fn is_named(&self) -> bool {
        self.0.as_ptr() as usize & NAMED != 0
    }
}

impl Drop for Info {
    #[inline]
    fn drop(&mut self) {
        if self.is_named() {
            let ptr = self
                .0
                .as_ptr()
                .cast::<u8>()
                .wrapping_sub(NAMED)
                .cast::<Named>();
            // SAFETY: the tagged pointer owns the `Box<Named>` made in `new`.
            drop(unsafe { Box::from_raw(ptr) });
        }
    }
}
