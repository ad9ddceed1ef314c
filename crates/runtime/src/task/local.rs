//! `!Send` futures: [`LocalSet`] and [`spawn_local`].
//!
//! A `LocalSet` is a small scheduler that lives *inside* a future: its tasks are polled only
//! while [`LocalSet::run_until`] is being polled, on that thread, and are dropped on that
//! thread (the set itself is `!Send`). This works on both runtimes: on a multi-thread runtime
//! the `run_until` future is polled by whichever thread drives it (pass it to `block_on`, or
//! make it the body of a task that stays on one thread through `spawn_local` of its own).
//!
//! Wakes from the set's own thread, while it runs, push to a plain local queue; wakes from
//! anywhere else (another task, the IO driver, another thread) push to a mutex-protected
//! queue and wake the future that drives the set.
//!
//! [`run`](crate::run) wraps its future in a `LocalSet`, so `spawn_local` works there as in
//! asyncio, where every task runs on the loop's thread.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use crate::loom::sync::Mutex;
use std::task::{Context, Poll, Waker};

use super::list::OwnedTasks;
use super::{Id, Info, JoinHandle, Notified, RawTask, Schedule};
use crate::context::Scoped;
use crate::executor::hooks::{self, TaskHooks};
use crate::executor::inject::Inject;
use std::panic::Location;

/// Tasks run per poll of `run_until` before it yields back to the runtime.
const TASKS_PER_TICK: usize = 61;

struct Shared {
    remote: Inject,
    waker: Mutex<Option<Waker>>,
    owned: OwnedTasks,
    /// The task-poll hooks of the runtime that first drives the set (its tasks are observed
    /// like the runtime's own).
    hooks: std::sync::OnceLock<Option<Arc<TaskHooks>>>,
}

/// The sets driven by each runtime, for its task dumps: the runtime's identity (the address
/// of its time driver) and the set. Touched once per set (when a runtime first drives it)
/// and by dumps; dead sets are dropped from it then.
#[allow(clippy::type_complexity)]
static DRIVEN: std::sync::Mutex<Vec<(usize, std::sync::Weak<Shared>)>> =
    std::sync::Mutex::new(Vec::new());

fn runtime_id(h: &crate::executor::scheduler::Handle) -> usize {
    Arc::as_ptr(h.time()) as usize
}

/// Records that runtime `h` drives the set `shared` (its first `run_until` poll there).
fn driven_by(h: &crate::executor::scheduler::Handle, shared: &Arc<Shared>) {
    let mut sets = DRIVEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    sets.retain(|(_, s)| s.strong_count() > 0);
    sets.push((runtime_id(h), Arc::downgrade(shared)));
}

/// Copies the tasks of every live set driven by runtime `h`, for a dump (`dump.rs`).
pub(crate) fn dump_into(h: &crate::executor::scheduler::Handle, out: &mut Vec<super::dump::Raw>) {
    let id = runtime_id(h);
    let sets: Vec<Arc<Shared>> = DRIVEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .filter(|(rt, _)| *rt == id)
        .filter_map(|(_, s)| s.upgrade())
        .collect();
    for set in sets {
        set.owned
            .for_each(|header| out.push(super::dump::Raw::of(header, false)));
    }
}

impl Shared {
    /// Wakes the future driving the set (outside the lock: the waker may re-enter).
    fn wake(&self) {
        let waker = crate::loom::lock(&self.waker).clone();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

struct LocalCx {
    shared: Arc<Shared>,
    queue: RefCell<VecDeque<Notified>>,
}

thread_local! {
    static CURRENT: Scoped<LocalCx> = const { Scoped::new() };
}

/// A set of `!Send` tasks that run on the thread polling [`run_until`](Self::run_until).
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use c10k_runtime::task::{self, LocalSet};
///
/// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// let local = LocalSet::new();
/// let n = rt.block_on(local.run_until(async {
///     let shared = Rc::new(21); // `Rc` is !Send
///     let h = task::spawn_local({
///         let shared = Rc::clone(&shared);
///         async move { *shared * 2 }
///     });
///     h.await.unwrap()
/// }));
/// assert_eq!(n, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// A `LocalSet` stays on its thread:
///
/// ```compile_fail
/// fn is_send<T: Send>(_: T) {}
/// is_send(c10k_runtime::task::LocalSet::new());
/// ```
pub struct LocalSet {
    cx: LocalCx,
    _not_send: PhantomData<*const ()>,
}

impl Default for LocalSet {
    fn default() -> LocalSet {
        LocalSet::new()
    }
}

impl LocalSet {
    /// An empty set.
    ///
    /// # Examples
    ///
    /// ```
    /// let set = c10k_runtime::task::LocalSet::new();
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// assert_eq!(rt.block_on(set.run_until(async { 1 })), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> LocalSet {
        super::register_wait_executor();
        LocalSet {
            cx: LocalCx {
                shared: Arc::new(Shared {
                    remote: Inject::new(),
                    waker: Mutex::new(None),
                    owned: OwnedTasks::new(1),
                    hooks: std::sync::OnceLock::new(),
                }),
                queue: RefCell::new(VecDeque::new()),
            },
            _not_send: PhantomData,
        }
    }

    /// Spawns a `!Send` future on this set. It runs when the set is driven by
    /// [`run_until`](Self::run_until).
    ///
    /// # Examples
    ///
    /// Spawned before the set runs, the task starts at the next `run_until`:
    ///
    /// ```
    /// use std::rc::Rc;
    /// let set = c10k_runtime::task::LocalSet::new();
    /// let data = Rc::new("not Send");
    /// let d = data.clone();
    /// let h = set.spawn_local(async move { d.len() });
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// assert_eq!(rt.block_on(set.run_until(h)).unwrap(), 8);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn_on(&self.cx, future, Info::new(Location::caller(), None))
    }

    /// Drives `future` and this set's tasks until `future` completes. Tasks not finished by
    /// then stay in the set and run at the next `run_until`; dropping the set cancels them.
    ///
    /// # Panics
    ///
    /// The returned future panics if `future` panics (a task's panic is contained in its
    /// `JoinError` instead).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// let set = c10k_runtime::task::LocalSet::new();
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// let log = Rc::new(RefCell::new(Vec::new()));
    /// rt.block_on(set.run_until(async {
    ///     let l = log.clone();
    ///     c10k_runtime::spawn_local(async move { l.borrow_mut().push("task") })
    ///         .await
    ///         .unwrap();
    ///     log.borrow_mut().push("main");
    /// }));
    /// assert_eq!(*log.borrow(), ["task", "main"]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn run_until<F: Future>(&self, future: F) -> RunUntil<'_, F> {
        RunUntil { set: self, future }
    }

    fn tick(&self) -> bool {
        let hooks = self.cx.shared.hooks.get().and_then(Option::as_deref);
        for _ in 0..TASKS_PER_TICK {
            let task = self
                .cx
                .queue
                .borrow_mut()
                .pop_front()
                .or_else(|| self.cx.shared.remote.pop());
            match task {
                // Polled inside another poll: no watchdog slot of its own.
                Some(t) => hooks::run(hooks, t, None),
                None => return false,
            }
        }
        true
    }
}

fn spawn_on<F>(cx: &LocalCx, future: F, info: Info) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let shared = Arc::clone(&cx.shared);
    let (task, notified, join) = super::new_task(future, LocalSchedule(shared), Id::next(), info);
    if cx.shared.owned.insert(task) {
        cx.queue.borrow_mut().push_back(notified);
        // Outside `run_until` (a `LocalSet::spawn_local` before or between runs), wake the
        // driving future if there is one; inside, the tick loop sees the queue.
        let inside =
            CURRENT.with(|cur| cur.with(|c| c.is_some_and(|c| Arc::ptr_eq(&c.shared, &cx.shared))));
        if !inside {
            cx.shared.wake();
        }
    }
    join
}

pin_project_lite::pin_project! {
    /// The future of [`LocalSet::run_until`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// use c10k_runtime::task::LocalSet;
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// let local = LocalSet::new();
    /// let v = rt.block_on(local.run_until(async {
    ///     let shared = Rc::new(5); // not `Send`: fine on a `LocalSet`
    ///     c10k_runtime::task::spawn_local(async move { *shared + 1 }).await.unwrap()
    /// }));
    /// assert_eq!(v, 6);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct RunUntil<'a, F> {
        set: &'a LocalSet,
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for RunUntil<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let me = self.project();
        let set = *me.set;
        set.cx.shared.hooks.get_or_init(|| {
            crate::context::with_handle(|h| {
                let h = h?;
                driven_by(h, &set.cx.shared);
                h.hooks().cloned()
            })
        });
        {
            let mut w = crate::loom::lock(&set.cx.shared.waker);
            if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *w = Some(cx.waker().clone());
            }
        }
        CURRENT.with(|cur| {
            cur.set(&set.cx, || {
                if let Poll::Ready(out) = me.future.poll(cx) {
                    return Poll::Ready(out);
                }
                if set.tick() {
                    // More to do: yield to the runtime, then continue.
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            })
        })
    }
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        CURRENT.with(|cur| {
            cur.set(&self.cx, || {
                self.cx.shared.owned.close_and_drain();
                drop(self.cx.shared.remote.close());
                let queued = std::mem::take(&mut *self.cx.queue.borrow_mut());
                drop(queued);
            })
        });
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSet")
            .field("tasks", &self.cx.shared.owned.len_hint())
            .finish()
    }
}

impl<F> fmt::Debug for RunUntil<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunUntil").finish_non_exhaustive()
    }
}

/// The scheduler hook of local tasks.
struct LocalSchedule(Arc<Shared>);

impl Schedule for LocalSchedule {
    fn schedule(&self, task: Notified) {
        let task = CURRENT.with(|cur| {
            cur.with(|cx| match cx {
                Some(cx) if Arc::ptr_eq(&cx.shared, &self.0) => {
                    cx.queue.borrow_mut().push_back(task);
                    None
                }
                _ => Some(task),
            })
        });
        if let Some(task) = task {
            if self.0.remote.push(task).is_ok() {
                self.0.wake();
            }
        }
    }

    fn release(&self, task: RawTask) -> bool {
        self.0.owned.remove(task)
    }
}

/// Spawns a `!Send` future on the current [`LocalSet`] (the one whose `run_until` is being
/// polled on this thread), and returns its [`JoinHandle`].
///
/// # Panics
///
/// Panics outside a `LocalSet`. [`run`](crate::run) provides one; with a [`Runtime`](crate::Runtime)
/// use `rt.block_on(local.run_until(fut))`.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
///
/// c10k_runtime::run(async {
///     let counter = Rc::new(Cell::new(0));
///     let c = Rc::clone(&counter);
///     c10k_runtime::task::spawn_local(async move { c.set(c.get() + 1) }).await.unwrap();
///     assert_eq!(counter.get(), 1);
/// });
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_local_inner(future, None)
}

#[track_caller]
pub(crate) fn spawn_local_inner<F>(future: F, name: Option<Box<str>>) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let info = Info::new(Location::caller(), name);
    CURRENT.with(|cur| {
        cur.with(|cx| match cx {
            Some(cx) => spawn_on(cx, future, info),
            None => panic!(
                "`spawn_local` called outside a LocalSet: drive the future with \
                 `LocalSet::run_until` (or use `c10k_runtime::run`, which provides one)"
            ),
        })
    })
}
