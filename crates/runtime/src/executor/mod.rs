//! Schedulers and the runtime that owns them.
//!
//! * [`Runtime`] is built by [`Builder`]: a *current-thread* scheduler (every task runs on
//!   the thread that calls `block_on`, like asyncio's event loop) or a *multi-thread*
//!   work-stealing scheduler (N worker threads).
//! * [`Handle`] is a cloneable reference to a runtime, to spawn on it from anywhere.
//!
//! # Current-thread scheduler (`current_thread.rs`)
//!
//! The thread in `block_on` owns the *core* (run queue, event buffer) and loops: poll the
//! `block_on` future when it was woken; run up to 61 tasks (every 31st from the injection
//! queue first, so outside wakeups are not starved); then poll the IO driver, blocking only
//! when nothing is runnable. Wakes from the same thread push to the run queue with no
//! synchronisation; wakes from other threads go through the injection queue and write the
//! selector's waker only if the thread is actually parked in `select`.
//!
//! # Multi-thread scheduler (`multi_thread/`)
//!
//! Work stealing in the style of Go and tokio: each worker has a bounded local ring queue
//! (256 tasks) that other workers may steal half of, a LIFO slot holding the task most
//! recently woken by the running task (message-passing locality: the receiver runs next,
//! while the data is hot in cache), and all workers share a global injection queue.
//! Idle workers park; a worker that makes work available wakes one parked worker only if no
//! worker is already searching for work, which avoids the thundering herd.
//!
//! ## Who wakes whom
//!
//! A wake-up of a parked thread costs a system call on each side and, on a busy machine, a
//! context switch, i.e. far more than the task it brings. So the scheduler wakes as few as
//! it can while never leaving runnable work without a thread that will look at it:
//!
//! 1. A task woken by the running task goes to the worker's LIFO slot and wakes nobody: this
//!    worker runs it next. A task displaced from the slot, or woken from another worker's
//!    task or IO, goes to a stealable queue.
//! 2. Work pushed to a stealable queue (the worker's own, or the injection queue from off
//!    the workers) wakes one parked worker, unless a worker is *searching*: the searcher
//!    will find it. At most half the workers search at once.
//! 3. A searcher that finds work stops searching; if it was the last searcher and more work
//!    is waiting in a stealable queue, it wakes one more worker (who searches in turn). Work
//!    pushed after its check finds no searcher and wakes a worker by rule 2.
//! 4. The last searcher to park re-checks every queue, so that work pushed while it still
//!    counted as searching is not left behind.
//!
//! ## Spinning before parking
//!
//! A searcher that found nothing, and the thread in `block_on` whose future is pending,
//! look again a few times before they park: four times after a spin-loop hint, then twice
//! after yielding the CPU (the shape of `c10k-sync`'s `Backoff`, shorter). Two tasks
//! handing messages back and forth across threads (a producer task and a consumer in
//! `block_on`, on a bounded channel) wake each other within microseconds; a thread still
//! looking takes the wake with no futex call on either side, and a searcher still looking
//! keeps the waker from waking anybody (rule 2). The yields hand the CPU over when the peer
//! is not running; when the two share a core, as they often do on a small machine, a yield
//! is the whole hand-over. But a thread that yields while other programs' threads are
//! runnable waits behind them, a time slice each, where a thread woken from sleep would run
//! at once: on a machine busy with other work, a bench whose every hand-over yielded took
//! 5–9× tokio's time. So a yield that kept the thread off the CPU for more than 200 µs
//! turns the yields off for the next 64 spins of that thread (`worker.rs`, `Spin`).
//!
//! On the async bounded mpsc bench (`crates/sync/benches/interleaved_async.rs`) this took
//! the context switches from about one per 10 messages to one per 50 or fewer, and the
//! process's CPU time to about 0.4 of tokio's (`crates/runtime/BENCH-core.md`). Spinning on
//! one side only did not help: both ends of a hand-over must be looking. An idle runtime pays
//! the spin once each time a worker runs dry (a few microseconds), then sleeps.
//!
//! ## How IO is split between workers
//!
//! tokio has one IO driver per runtime, polled by whichever worker parks first while the
//! others sleep on a condition variable; under load every readiness event funnels through
//! that one worker and its lock. c10k gives **each worker its own selector**. Registrations
//! are dealt round-robin to the workers' selectors, and each worker dispatches the events of
//! its own. Consequences:
//!
//! 1. A worker parks *in its own selector*, so wakes to it (new work, a timer) go through
//!    that selector's waker, and only when the worker is actually parked. A worker whose
//!    readiness driver has no registration has no IO to wait for and parks on a futex
//!    instead (cheaper to wake: one system call on each side, no eventfd write and read);
//!    a registration made on its driver wakes it to park in the selector.
//! 2. IO spreads over all workers even when one task accepts every connection (a server's
//!    accept loop): with "register on the current worker", every connection would land on the
//!    acceptor's worker, which would then dispatch all events alone.
//! 3. Tasks settle next to their IO: the worker that dispatches an event wakes the task into
//!    its own LIFO slot, so after its first wakeup a connection's task runs on the worker
//!    that owns its descriptor, with the data hot in that CPU's cache. Stealing still moves
//!    tasks when a worker falls behind; the wake then crosses back.
//! 4. There is no lock shared by all workers on the IO path.
//!
//! The cost: a worker busy with long polls delays its own registrations' events (by at most
//! 61 task polls). Long polls can be reported (see [`Builder::long_poll_threshold`]).
//!
//! ## Diagnostics are hooks around the poll
//!
//! The task core (`task/raw.rs`) only transitions and polls. Whatever observes task polls
//! wraps `Notified::run` from the scheduler's side (`hooks.rs`), in the shape of tokio's
//! before/after-poll hooks: the user's [`Builder::on_before_task_poll`] and
//! [`Builder::on_after_task_poll`] (they see a [`TaskMeta`]: id and name), and long-poll
//! detection (`watchdog.rs`). A scheduler without any of them holds `None` and runs tasks
//! directly; the check is one branch per task on a field read once per turn.
//!
//! ## Long polls
//!
//! Off by default. With [`Builder::long_poll_threshold`], a task poll that holds its thread
//! for longer than the threshold is reported once per task, with its id, name and duration:
//! on a multi-thread runtime by a watchdog thread that looks every eighth of the threshold
//! and reports a poll *while* it is still running (so a task stuck for good does not take a
//! worker away unnoticed); on a current-thread runtime when the poll returns (two coarse
//! clock reads per poll). Neither counts the time the process spends stopped (`SIGSTOP`,
//! Ctrl-Z, a debugger): see `watchdog.rs`.
//!
//! The watchdog is on by default for the multi-thread scheduler only. A current-thread
//! runtime starts no thread of its own, so its process can stay single-threaded, and Linux
//! serves a single-threaded process's system calls on cheaper paths: the descriptor table is
//! not shared, so looking a descriptor up takes no reference count, and glibc skips the
//! cancellation bookkeeping around blocking calls. For an echo server that is about 1 % of
//! its CPU (`crates/cli/LAB.md`). [`Builder::long_poll_watchdog`] turns it on.
//!
//! ## When the IO driver fails
//!
//! A failed wait for IO (`epoll_wait` returning an error other than `EINTR`, which the
//! selector retries) is retried with a growing pause, and the first failure of a streak is
//! reported on stderr; after twelve failures in a row (about a second), `block_on` panics
//! with the error (see `park.rs`).
//!
//! ## Timers
//!
//! One timer wheel per runtime. The worker that parks first takes the *timer token* and bounds
//! its wait by the next deadline; others park without timeout. The timer wheel's unpark hook
//! wakes the token holder.

pub(crate) mod builder;
pub(crate) mod current_thread;
mod handle;
pub(crate) mod hooks;
pub(crate) mod inject;
pub(crate) mod multi_thread;
pub(crate) mod park;
mod runtime;
pub(crate) mod scheduler;
pub(crate) mod watchdog;

pub use builder::Builder;
pub use handle::{EnterGuard, Handle, TryCurrentError};
pub use hooks::TaskMeta;
pub use runtime::{run, Runtime};

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The report of a task poll that held its thread for longer than the long-poll threshold
/// ([`Builder::long_poll_threshold`]), like asyncio's debug mode "Executing `<Task>` took
/// 0.150 seconds".
///
/// # Examples
///
/// See [`Builder::long_poll_threshold`] for a hook that collects reports. Printed with
/// `Display`, a report reads:
///
/// ```text
/// task 12 ("blocker") held its thread for 0.150 s in a single poll: it blocks the runtime
/// (use spawn_blocking for blocking work, or yield_now in long computations)
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LongPoll {
    /// The task.
    pub id: crate::task::Id,
    /// Its name, if it was spawned with [`task::Builder::name`](crate::task::Builder::name).
    pub name: Option<String>,
    /// How long the single poll took (measured with the coarse monotonic clock, resolution
    /// a few milliseconds, when the threshold is at least 50 ms); if `still_running`, how
    /// long the watchdog has seen it running so far (never more than it ran, and never
    /// counting time the process was stopped).
    pub duration: Duration,
    /// `true` when the report comes from the watchdog while the poll has not returned (the
    /// task may be stuck for good); `false` when the poll returned.
    pub still_running: bool,
}

impl fmt::Display for LongPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "task {} ({n:?})", self.id)?,
            None => write!(f, "task {}", self.id)?,
        }
        let verb = if self.still_running {
            "has held its thread for"
        } else {
            "held its thread for"
        };
        write!(
            f,
            " {verb} {:.3} s in a single poll{}: it blocks the runtime (use spawn_blocking for \
             blocking work, or yield_now in long computations)",
            self.duration.as_secs_f64(),
            if self.still_running {
                " and is still running"
            } else {
                ""
            }
        )
    }
}

pub(crate) type LongPollHook = Arc<dyn Fn(&LongPoll) + Send + Sync>;

/// Long-poll detection settings, as the builder collected them (see `watchdog.rs`).
#[derive(Clone)]
pub(crate) struct LongPollConfig {
    pub(crate) threshold: Option<Duration>,
    pub(crate) hook: Option<LongPollHook>,
    /// Whether a watchdog thread reports polls still running; `None`: the flavor's default
    /// (on for the multi-thread scheduler, off for the current-thread one).
    pub(crate) watchdog: Option<bool>,
}

impl fmt::Debug for LongPollConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LongPollConfig")
            .field("threshold", &self.threshold)
            .field("hook", &self.hook.is_some())
            .field("watchdog", &self.watchdog)
            .finish()
    }
}
