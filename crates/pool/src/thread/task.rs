//! A submitted closure and its future's state in one allocation.
//!
//! The pool's queue holds `Arc<dyn Job>` and the caller's [`PoolFuture`] holds the same
//! allocation as `Arc<dyn Shared<T>>`, so a submit costs one allocation, as a task of the
//! runtime does.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::error::PoolError;
use crate::future::{Inner, PoolFuture, Shared};

/// What a worker does with a queued job.
pub(crate) trait Job: Send + Sync {
    /// Runs the closure unless the future was cancelled or failed first.
    fn run(&self);
    /// Completes the future with `error` without running the closure (a broken pool);
    /// no-op if it already started or finished.
    fn fail(&self, error: PoolError);
    /// Cancels it if it has not started (a shutdown with `cancel_futures`).
    fn cancel(&self);
}

/// A closure and the state of its future.
pub(crate) struct Task<F, T> {
    inner: Inner<T>,
    /// Moved out by the one thread whose `set_running` succeeded, which also sets the
    /// state's `STARTED` flag; so it is initialized exactly while `STARTED` is clear (see
    /// the `Sync` argument). No `Option` tag: one word less per queued task.
    f: UnsafeCell<MaybeUninit<F>>,
}

// SAFETY: `f` is only touched (1) by the thread that wins `Inner::set_running`, which
// succeeds at most once, since nothing returns a future to PENDING, and (2) by `Drop`, with
// exclusive access. So no two threads ever access `f` at once; `F: Send` lets the winner, on
// any thread, take it. `inner` is `Sync` for `T: Send` by its own argument.
unsafe impl<F: Send, T: Send> Sync for Task<F, T> {}

/// Allocates the task; returns it as a queue job and as its caller's future.
pub(crate) fn new<F, T>(f: F) -> (Arc<dyn Job>, PoolFuture<T>)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let task = Arc::new(Task {
        inner: Inner::new(),
        f: UnsafeCell::new(MaybeUninit::new(f)),
    });
    let fut = PoolFuture::from_shared(task.clone());
    (task, fut)
}

impl<F, T> Shared<T> for Task<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    fn inner(&self) -> &Inner<T> {
        &self.inner
    }
}

impl<F, T> Job for Task<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    fn run(&self) {
        if !self.inner.set_running() {
            return; // cancelled or failed: the closure is dropped with the task
        }
        // SAFETY: this thread won `set_running`, the only one ever to succeed (see the `Sync`
        // impl), so `f` is still initialized and nobody else reads it; `STARTED` is set now,
        // so `Drop` will not drop it again.
        let f = unsafe { (*self.f.get()).assume_init_read() };
        let outcome = catch_unwind(AssertUnwindSafe(f)).map_err(PoolError::from_panic);
        self.inner.complete(outcome);
    }

    fn fail(&self, error: PoolError) {
        self.inner.complete(Err(error));
    }

    fn cancel(&self) {
        self.inner.cancel();
    }
}

impl<F, T> Drop for Task<F, T> {
    fn drop(&mut self) {
        // A job dropped without being run or completed (a pool whose queue was dropped with
        // work in it) must still complete, so that its callbacks run: no callback is lost.
        // Every path of the pool completes its jobs, so this is a safety net. The futures'
        // own handles are gone (they hold this allocation), so only callbacks observe it.
        self.inner.complete(Err(PoolError::Shutdown));
        if !self.inner.was_started() {
            // SAFETY: no `set_running` succeeded (it sets `STARTED`), so the closure was never
            // moved out, and `&mut self` is exclusive: drop it here, once.
            unsafe { self.f.get_mut().assume_init_drop() };
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Task;
    use crate::future::PoolFuture;

    /// What one pending trivial task costs: the pool's bench keeps a million of them alive,
    /// and their bytes (page faults, the allocator) were its calling thread's main cost.
    #[test]
    fn a_pending_task_stays_small() {
        fn task_of<F: FnOnce() -> usize>(_: &F) -> usize {
            std::mem::size_of::<Task<F, usize>>()
        }
        let i = 7usize;
        let f = move || i;
        // state word, outcome (16), registrations (8), the closure (8): with `Arc`'s two
        // counts, a 56-byte allocation (glibc's 64-byte class).
        assert_eq!(task_of(&f), 40);
        // The fat pointer and two flags.
        assert_eq!(std::mem::size_of::<PoolFuture<usize>>(), 24);
    }
}
