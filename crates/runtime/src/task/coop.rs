//! Cooperative scheduling budget.
//!
//! A task that keeps finding its sockets ready would, with a plain `loop { read; write }`,
//! never return `Pending` and hold its worker forever: its neighbours starve and timers fire
//! late. So every task poll starts with a budget of [`BUDGET`] units; each IO readiness
//! check that succeeds (and each `JoinHandle` poll) spends one, and once the budget is spent
//! those operations return `Pending` after waking the task, which goes to the back of the run
//! queue.
//!
//! Why 128: requeueing a task costs about 50 ns, so with ≥ 1 µs of kernel time per socket
//! operation the forced yields cost under 0.1% of throughput; and 128 operations take
//! 0.1–1 ms, which bounds how long one busy connection can delay the others well below
//! human-visible latency. (tokio picked the same number for the same reasons.)

use std::task::{Context, Poll};

use crate::context;

/// Units of work a task may do in one poll before IO resources make it yield.
///
/// # Examples
///
/// A task that reads a socket that is always ready still lets its neighbours run: after
/// `BUDGET` ready operations, the next one returns `Pending` once.
///
/// ```
/// assert!(c10k_runtime::task::coop::BUDGET > 0);
/// ```
pub const BUDGET: u8 = 128;

/// Spends one unit of the current task's budget, or, if it is exhausted, wakes the task and
/// returns `Pending` so that it yields. Outside a task (e.g. in `block_on`'s own future on a
/// foreign thread) the budget is unlimited.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    match context::budget() {
        None => Poll::Ready(()),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            context::set_budget(Some(n - 1));
            Poll::Ready(())
        }
    }
}

/// Gives back the unit a [`poll_proceed`] spent, for an operation that then found nothing
/// to do and returns `Pending` itself (the completion driver checks the budget *before*
/// taking data, so that data is never taken by a poll that returns `Pending`).
#[inline]
pub(crate) fn refund() {
    if let Some(n) = context::budget() {
        context::set_budget(Some(n.saturating_add(1).min(BUDGET)));
    }
}
