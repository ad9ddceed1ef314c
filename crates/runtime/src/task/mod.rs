//! Tasks: spawning, joining, cancelling, and the structured-concurrency helpers.
//!
//! A task is a future the runtime polls on its own, like asyncio's `create_task` or a
//! green thread of gevent. [`spawn`] starts one and returns a [`JoinHandle`] that resolves
//! to its output; [`spawn_local`] does the same for `!Send` futures inside a [`LocalSet`];
//! [`spawn_blocking`] runs a blocking closure on the blocking thread pool.
//!
//! # Memory layout
//!
//! Each task is one allocation (`raw.rs`): an 80-byte header (state word, vtable, id, spawn
//! location and name in one word, owned-list links, join waker, and 16 bytes of task-dump
//! record), an 8-byte scheduler pointer, then the future and, once it completes, its
//! output, sharing the same bytes. A task whose future is tiny is a 104-byte cell (a
//! 112-byte malloc chunk), against tokio's 128-byte-aligned cells; see `BENCH-core.md` and
//! `BENCHMARKS.md` for the bytes per idle task against tokio's.
//!
//! # State machine
//!
//! One atomic word holds every state bit and the reference count; see `state.rs` for the
//! bits and when each may change, and `raw.rs` for the run/complete/cancel protocols.
//!
//! # Cooperative budget
//!
//! Each poll of a task gets a budget of [`coop::BUDGET`] (128) IO readiness checks; see
//! [`coop`] for why.

use std::future::Future;
use std::ptr::NonNull;

pub mod coop;
pub mod dump;
mod error;
mod group;
mod header;
mod id;
mod join_handle;
mod join_set;
pub(crate) mod list;
pub(crate) mod local;
pub(crate) mod raw;
pub(crate) mod state;
mod waker;
mod yield_now;

#[cfg(all(test, loom))]
mod tests;

pub use error::JoinError;
pub use group::{GroupError, TaskGroup};
pub use id::Id;
pub use join_handle::{AbortHandle, JoinHandle};
pub use join_set::JoinSet;
pub use local::{spawn_local, LocalSet};
pub use yield_now::{yield_now, YieldNow};

pub use crate::blocking::spawn_blocking;

use crate::context;
pub(crate) use header::{Header, Info};
pub(crate) use waker::register_wait_executor;

/// A pointer to a task cell, owning nothing by itself (see [`Task`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct RawTask(pub(crate) NonNull<Header>);

// SAFETY: tasks are designed to be shared between threads: their state is atomic, their
// stage is guarded by the `RUNNING` bit, and a `!Send` future is only polled and dropped by
// its `LocalSet` on its own thread (see `local.rs`).
unsafe impl Send for RawTask {}
// SAFETY: as above.
unsafe impl Sync for RawTask {}

/// One counted reference to a task.
#[derive(Debug)]
pub(crate) struct Task(pub(crate) RawTask);

impl Task {
    pub(crate) fn into_raw(self) -> RawTask {
        let raw = self.0;
        std::mem::forget(self);
        raw
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if self.0.header().state.ref_dec_by(1) {
            self.0.dealloc();
        }
    }
}

/// A task in a run queue: a reference plus the right to poll it once.
#[derive(Debug)]
pub(crate) struct Notified(pub(crate) Task);

impl Notified {
    /// Polls the task (or cancels it, if aborted), consuming this queue entry.
    pub(crate) fn run(self) {
        self.0.into_raw().poll();
    }

    pub(crate) fn into_raw(self) -> RawTask {
        self.0.into_raw()
    }

    /// A new counted reference to the same task, which keeps the cell alive after [`run`]
    /// gave this entry's reference up (the poll hooks read the task's id and name after the
    /// poll, when the task may have completed and been released).
    ///
    /// [`run`]: Notified::run
    pub(crate) fn to_task(&self) -> Task {
        let raw = (self.0).0;
        raw.header().state.ref_inc();
        Task(raw)
    }

    /// The task's pointer, without its reference: valid while this entry (or another
    /// reference) keeps the task alive.
    pub(crate) fn raw(&self) -> RawTask {
        (self.0).0
    }

    /// # Safety
    ///
    /// `raw` carries one reference that was a `Notified` (e.g. from a run queue slot).
    pub(crate) unsafe fn from_raw(raw: RawTask) -> Notified {
        Notified(Task(raw))
    }
}

/// What a scheduler provides to its tasks.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// Queues a woken task.
    fn schedule(&self, task: Notified);

    /// Queues a task that was woken during its own poll (it yielded): it goes behind the
    /// tasks already runnable.
    fn yield_now(&self, task: Notified) {
        self.schedule(task);
    }

    /// Removes a completing task from the owned list (see `list.rs`).
    fn release(&self, task: RawTask) -> bool;
}

/// Allocates a task for scheduler `S`: returns the list's reference, the first queue entry,
/// and the join handle.
pub(crate) fn new_task<F, S>(
    future: F,
    scheduler: S,
    id: Id,
    info: Info,
) -> (Task, Notified, JoinHandle<F::Output>)
where
    F: Future + 'static,
    S: Schedule,
{
    let raw = raw::allocate(future, scheduler, id, info);
    // SAFETY: `allocate` returns three references for these three owners, and the handle's
    // output type is `F::Output`.
    (Task(raw), Notified(Task(raw)), unsafe {
        JoinHandle::from_raw(raw)
    })
}

/// Spawns a task on the current runtime and returns its [`JoinHandle`].
///
/// The task starts running at once on the runtime's threads, whether or not the handle is
/// awaited; dropping the handle detaches the task.
///
/// # Panics
///
/// Panics if called outside a runtime (outside `block_on`, a task, or `Handle::enter`). Use
/// [`Handle::spawn`](crate::Handle::spawn) from other threads.
///
/// # Examples
///
/// ```
/// let rt = c10k_runtime::Runtime::builder().multi_thread().worker_threads(2).build()?;
/// let sum = rt.block_on(async {
///     let handles: Vec<_> = (0..10u64).map(|i| c10k_runtime::spawn(async move { i * i })).collect();
///     let mut sum = 0;
///     for h in handles {
///         sum += h.await.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, 285);
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_inner(future, None)
}

#[track_caller]
fn spawn_inner<F>(future: F, name: Option<Box<str>>) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let info = Info::new(std::panic::Location::caller(), name);
    context::with_handle(|h| match h {
        Some(h) => h.spawn(future, Id::next(), info),
        None => panic!(
            "`c10k_runtime::spawn` called outside a runtime: call it from inside \
             `Runtime::block_on`, a task, or after `Handle::enter`, or use `Handle::spawn`"
        ),
    })
}

/// The id of the task being polled on this thread.
///
/// # Panics
///
/// Panics if called outside a task (see [`try_id`]).
///
/// # Examples
///
/// ```
/// c10k_runtime::run(async {
///     let h = c10k_runtime::spawn(async { c10k_runtime::task::id() });
///     assert_eq!(h.id(), h.await.unwrap());
/// });
/// ```
#[track_caller]
pub fn id() -> Id {
    try_id().expect("`task::id()` called outside a task")
}

/// The id of the task being polled on this thread, or `None` outside a task (`block_on`'s
/// own future is not a task).
///
/// # Examples
///
/// ```
/// use c10k_runtime::task::try_id;
/// assert!(try_id().is_none()); // plain thread
/// c10k_runtime::run(async {
///     assert!(c10k_runtime::spawn(async { try_id() }).await.unwrap().is_some());
/// });
/// ```
pub fn try_id() -> Option<Id> {
    context::current_task()
}

/// The task being polled on this thread: its id and name, from inside the task.
///
/// # Panics
///
/// Panics if called outside a task (see [`try_current`]).
///
/// # Examples
///
/// ```
/// c10k_runtime::run(async {
///     let h = c10k_runtime::task::Builder::new()
///         .name("worker")
///         .spawn(async { c10k_runtime::task::current().name().map(String::from) });
///     assert_eq!(h.await.unwrap().as_deref(), Some("worker"));
/// });
/// ```
#[track_caller]
pub fn current() -> Current {
    try_current().expect("`task::current()` called outside a task")
}

/// The task being polled on this thread, or `None` outside a task (`block_on`'s own future
/// is not a task).
///
/// # Examples
///
/// ```
/// assert!(c10k_runtime::task::try_current().is_none());
/// ```
pub fn try_current() -> Option<Current> {
    context::with_current_task(|h| {
        h.map(|h| {
            h.state.ref_inc();
            Current {
                task: Task(RawTask(NonNull::from(h))),
                _not_send: std::marker::PhantomData,
            }
        })
    })
}

/// A task, from inside itself ([`current`]): a counted reference that keeps its id and name
/// readable. Not `Send`: it stays with the task's thread (a `LocalSet` task's last
/// reference must not be dropped elsewhere).
pub struct Current {
    task: Task,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Current {
    /// The task's id, as [`id()`] returns it.
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let h = c10k_runtime::spawn(async { c10k_runtime::task::current().id() });
    ///     assert_eq!(h.id(), h.await.unwrap());
    /// });
    /// ```
    pub fn id(&self) -> Id {
        (self.task.0).header().id
    }

    /// The task's name, if it was spawned with [`Builder::name`].
    ///
    /// # Examples
    ///
    /// See [`current`].
    pub fn name(&self) -> Option<&str> {
        (self.task.0).header().name()
    }
}

impl std::fmt::Debug for Current {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Current")
            .field("id", &self.id())
            .field("name", &self.name())
            .finish()
    }
}

/// Spawns tasks with options: a name, shown in the long-poll report and in `Debug` output.
///
/// # Examples
///
/// ```
/// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// rt.block_on(async {
///     let h = c10k_runtime::task::Builder::new().name("greeter").spawn(async { "hi" });
///     assert_eq!(h.await.unwrap(), "hi");
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Builder {
    name: Option<Box<str>>,
}

impl Builder {
    /// A builder with no options set.
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let h = c10k_runtime::task::Builder::new().spawn(async { 1 + 1 });
    ///     assert_eq!(h.await.unwrap(), 2);
    /// });
    /// ```
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task.
    ///
    /// # Examples
    ///
    /// The name shows in the handle's `Debug` output of the long-poll report:
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let h = c10k_runtime::task::Builder::new().name("worker-7").spawn(async {});
    ///     h.await.unwrap();
    /// });
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into().into_boxed_str());
        self
    }

    /// Spawns on the current runtime, as [`spawn`].
    ///
    /// # Panics
    ///
    /// Panics outside a runtime, as [`spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let h = c10k_runtime::task::Builder::new().name("adder").spawn(async { 2 + 2 });
    ///     assert_eq!(h.await.unwrap(), 4);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_inner(future, self.name)
    }

    /// Spawns on the given runtime, as [`Handle::spawn`](crate::Handle::spawn).
    ///
    /// # Examples
    ///
    /// From outside any runtime:
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().worker_threads(1).build()?;
    /// let h = c10k_runtime::task::Builder::new()
    ///     .name("outside")
    ///     .spawn_on(async { "ran" }, rt.handle());
    /// assert_eq!(rt.block_on(h).unwrap(), "ran");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, handle: &crate::Handle) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let info = Info::new(std::panic::Location::caller(), self.name);
        handle.inner.spawn(future, Id::next(), info)
    }

    /// Spawns a `!Send` future on the current [`LocalSet`], as [`spawn_local`].
    ///
    /// # Panics
    ///
    /// Panics outside a `LocalSet`, as [`spawn_local`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// c10k_runtime::run(async {
    ///     let hits = Rc::new(Cell::new(0));
    ///     let h2 = hits.clone();
    ///     let h = c10k_runtime::task::Builder::new()
    ///         .name("local")
    ///         .spawn_local(async move { h2.set(h2.get() + 1) });
    ///     h.await.unwrap();
    ///     assert_eq!(hits.get(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        local::spawn_local_inner(future, self.name)
    }
}

#[cfg(all(test, not(loom), not(feature = "tracing")))]
mod size_tests {
    use std::future::Pending;
    use std::sync::Arc;

    /// Guards the footprint reported in BENCH-core.md: an 80-byte header (64 for the task
    /// core, 16 for the task dump), and 104 bytes for a task whose future is trivial (a
    /// 112-byte malloc chunk with glibc).
    #[test]
    fn cell_sizes() {
        assert_eq!(std::mem::size_of::<super::Header>(), 80);
        let small = super::raw::cell_size::<Pending<()>, Arc<()>>();
        eprintln!("cell of a trivial task: {small} bytes");
        assert!(small <= 104, "cell of a trivial task grew to {small} bytes");
    }
}
