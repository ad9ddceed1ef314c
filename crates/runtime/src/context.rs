//! Thread-local runtime context: which runtime this thread is in (for `spawn`,
//! `Handle::current`, IO registration and timers), which task it is polling (for
//! `task::id()`), and that task's cooperative budget.

use std::cell::{Cell, RefCell};

use crate::executor::scheduler;
use crate::task::Id;

struct Context {
    /// The runtime entered by this thread (`block_on`, a worker, `Handle::enter`).
    handle: RefCell<Option<scheduler::Handle>>,
    /// The header of the task being polled on this thread (null outside a poll). Valid while
    /// set: the poll holds a reference to the task and restores the previous value (a
    /// `TaskGuard`) before it returns.
    current_task: Cell<*const crate::task::Header>,
    /// Remaining cooperative budget of that task; `None` outside tasks (unconstrained).
    budget: Cell<Option<u8>>,
    /// Set while this thread is inside `block_on` (nested `block_on` would deadlock).
    in_block_on: Cell<bool>,
}

thread_local! {
    static CONTEXT: Context = const {
        Context {
            handle: RefCell::new(None),
            current_task: Cell::new(std::ptr::null()),
            budget: Cell::new(None),
            in_block_on: Cell::new(false),
        }
    };
}

/// Calls `f` with the current runtime handle, if any.
pub(crate) fn with_handle<R>(f: impl FnOnce(Option<&scheduler::Handle>) -> R) -> R {
    match CONTEXT.try_with(|c| f(c.handle.borrow().as_ref())) {
        Ok(r) => r,
        Err(_) => panic!("the c10k runtime context was used while its thread was being destroyed"),
    }
}

/// A clone of the current runtime handle.
pub(crate) fn current() -> Option<scheduler::Handle> {
    CONTEXT
        .try_with(|c| c.handle.borrow().clone())
        .ok()
        .flatten()
}

/// Restores the previous handle when dropped.
#[derive(Debug)]
pub(crate) struct EnterGuard {
    prev: Option<scheduler::Handle>,
    // Guards restore thread-local state: they must be dropped on the thread that made them.
    _not_send: std::marker::PhantomData<*const ()>,
}

pub(crate) fn enter(handle: scheduler::Handle) -> EnterGuard {
    let prev = CONTEXT.with(|c| c.handle.replace(Some(handle)));
    EnterGuard {
        prev,
        _not_send: std::marker::PhantomData,
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CONTEXT.try_with(|c| *c.handle.borrow_mut() = prev);
    }
}

/// Marks the thread as inside `block_on`.
#[derive(Debug)]
pub(crate) struct BlockOnGuard(std::marker::PhantomData<*const ()>);

pub(crate) fn enter_block_on() -> BlockOnGuard {
    CONTEXT.with(|c| {
        if c.in_block_on.replace(true) {
            panic!(
                "cannot start a runtime from within a runtime: `block_on` was called while this \
                 thread was already driving a runtime (or a task); use `.await` or `spawn` instead"
            );
        }
    });
    BlockOnGuard(std::marker::PhantomData)
}

impl Drop for BlockOnGuard {
    fn drop(&mut self) {
        let _ = CONTEXT.try_with(|c| c.in_block_on.set(false));
    }
}

/// Per-poll task context: sets the current task id and a fresh budget, restoring the
/// previous ones on drop (a `LocalSet` polls its tasks inside an outer task's poll).
pub(crate) struct TaskGuard {
    prev_task: *const crate::task::Header,
    prev_budget: Option<u8>,
}

pub(crate) fn enter_task(header: &crate::task::Header) -> TaskGuard {
    CONTEXT.with(|c| TaskGuard {
        prev_task: c.current_task.replace(header),
        prev_budget: c.budget.replace(Some(crate::task::coop::BUDGET)),
    })
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        let _ = CONTEXT.try_with(|c| {
            c.current_task.set(self.prev_task);
            c.budget.set(self.prev_budget);
        });
    }
}

pub(crate) fn current_task() -> Option<Id> {
    with_current_task(|h| h.map(|h| h.id))
}

/// Calls `f` with the header of the task being polled on this thread, if any.
pub(crate) fn with_current_task<R>(f: impl FnOnce(Option<&crate::task::Header>) -> R) -> R {
    let ptr = CONTEXT
        .try_with(|c| c.current_task.get())
        .unwrap_or(std::ptr::null());
    // SAFETY: a non-null pointer was set by `enter_task` for the poll running on this thread,
    // which holds a reference to the task until it restores the previous pointer; `f` runs
    // inside that poll.
    f(unsafe { ptr.as_ref() })
}

pub(crate) fn budget() -> Option<u8> {
    CONTEXT.try_with(|c| c.budget.get()).ok().flatten()
}

pub(crate) fn set_budget(b: Option<u8>) {
    let _ = CONTEXT.try_with(|c| c.budget.set(b));
}

/// A thread-local pointer set for the duration of a closure: how a scheduler finds its own
/// per-thread state (the current-thread core, a multi-thread worker, a `LocalSet`).
pub(crate) struct Scoped<T> {
    inner: Cell<*const T>,
}

impl<T> Scoped<T> {
    pub(crate) const fn new() -> Scoped<T> {
        Scoped {
            inner: Cell::new(std::ptr::null()),
        }
    }

    /// Makes `t` current while `f` runs.
    pub(crate) fn set<R>(&self, t: &T, f: impl FnOnce() -> R) -> R {
        struct Reset<'a, T> {
            cell: &'a Cell<*const T>,
            prev: *const T,
        }
        impl<T> Drop for Reset<'_, T> {
            fn drop(&mut self) {
                self.cell.set(self.prev);
            }
        }
        let prev = self.inner.replace(t as *const T);
        let _reset = Reset {
            cell: &self.inner,
            prev,
        };
        f()
    }

    /// Calls `f` with the current value, if one is set on this thread.
    pub(crate) fn with<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        let ptr = self.inner.get();
        // SAFETY: a non-null pointer was stored by `set`, whose borrow of `t` outlives the
        // closure during which the pointer is visible, and is reset before `set` returns.
        f(unsafe { ptr.as_ref() })
    }
}

/// Runs `f` with the current runtime's time driver.
///
/// # Panics
///
/// Panics outside a runtime, with a message saying so.
#[track_caller]
pub(crate) fn with_time_driver<R>(
    f: impl FnOnce(&std::sync::Arc<crate::time::TimeDriver>) -> R,
) -> R {
    match try_with_time_driver(f) {
        Some(r) => r,
        None => panic!(
            "timers must be used inside a c10k runtime (in `block_on`, a task, or after \
             `Handle::enter`): there is no runtime on this thread"
        ),
    }
}

/// Runs `f` with the current runtime's time driver, or returns `None` outside a runtime.
/// A plain thread-local read: no lock, no allocation.
pub(crate) fn try_with_time_driver<R>(
    f: impl FnOnce(&std::sync::Arc<crate::time::TimeDriver>) -> R,
) -> Option<R> {
    CONTEXT
        .try_with(|c| c.handle.borrow().as_ref().map(|h| f(h.time())))
        .ok()
        .flatten()
}
