//! Task-poll hooks: what a scheduler runs around each task poll.
//!
//! The task core (`task/raw.rs`) only transitions and polls; everything that *observes* polls
//! lives here, on the scheduler's side of `Notified::run`, in the shape of tokio's
//! `on_before_task_poll` / `on_after_task_poll`:
//!
//! * the user's hooks ([`Builder::on_before_task_poll`], [`Builder::on_after_task_poll`]),
//!   e.g. for a task dump or per-task accounting;
//! * long-poll detection (`watchdog.rs`), installed only when
//!   [`Builder::long_poll_threshold`] is set.
//!
//! # Cost
//!
//! A scheduler holds an `Option<Arc<TaskHooks>>`, `None` unless one of the three is
//! configured, and reads it once per turn of its loop: with no hook the poll path is the task
//! dump's stamp (two relaxed stores into the header, `task/dump.rs`) and `Notified::run`. With hooks, one poll costs a reference count increment and decrement
//! (the hooks read the task's name after the poll, when the task may have completed and
//! released its own references; skipped for an unnamed task when only the on-return
//! long-poll detector needs it) plus what the hooks do; `BENCH-core.md` has the figures.
//!
//! # Protocol of one hooked poll
//!
//! 1. Take a counted reference to the task (`Notified::to_task`), so its header outlives the
//!    poll (unless nothing reads it after the poll, see `TaskHooks::run`).
//! 2. Call the before-hook with the task's [`TaskMeta`].
//! 3. Run the task, inside the long-poll detector if there is one (so the user's hooks are
//!    never counted as the task's time).
//! 4. Call the after-hook with the same [`TaskMeta`], then drop the reference.
//!
//! [`Builder::on_before_task_poll`]: super::Builder::on_before_task_poll
//! [`Builder::on_after_task_poll`]: super::Builder::on_after_task_poll
//! [`Builder::long_poll_threshold`]: super::Builder::long_poll_threshold

use std::fmt;
use std::io;
use std::sync::Arc;

use super::builder::Config;
use super::watchdog::LongPollDetector;
use crate::task::{Id, Notified};

/// What a task-poll hook sees of the task being polled: its id and its name.
///
/// Handed to the hooks of [`Builder::on_before_task_poll`](super::Builder::on_before_task_poll)
/// and [`Builder::on_after_task_poll`](super::Builder::on_after_task_poll); it borrows the task,
/// so a hook that wants to keep the name copies it.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// let names = Arc::new(Mutex::new(Vec::new()));
/// let sink = Arc::clone(&names);
/// let rt = c10k_runtime::Runtime::builder()
///     .current_thread()
///     .on_before_task_poll(move |meta| {
///         sink.lock().unwrap().push((meta.id(), meta.name().map(String::from)));
///     })
///     .build()?;
/// let id = rt.block_on(async {
///     let h = c10k_runtime::task::Builder::new().name("job").spawn(async {});
///     let id = h.id();
///     h.await.unwrap();
///     id
/// });
/// assert_eq!(names.lock().unwrap()[0], (id, Some("job".to_string())));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TaskMeta<'a> {
    id: Id,
    name: Option<&'a str>,
}

impl<'a> TaskMeta<'a> {
    /// The task's id (the one its `JoinHandle::id` and `task::id()` return).
    ///
    /// # Examples
    ///
    /// See [`TaskMeta`].
    pub fn id(&self) -> Id {
        self.id
    }

    /// The task's name, if it was spawned with
    /// [`task::Builder::name`](crate::task::Builder::name).
    ///
    /// # Examples
    ///
    /// See [`TaskMeta`].
    pub fn name(&self) -> Option<&'a str> {
        self.name
    }
}

/// A user hook around task polls.
pub(crate) type PollHook = Arc<dyn Fn(&TaskMeta<'_>) + Send + Sync>;

/// Everything a scheduler calls around a task poll (see the module docs).
pub(crate) struct TaskHooks {
    before: Option<PollHook>,
    after: Option<PollHook>,
    long_poll: Option<LongPollDetector>,
    /// Whether every hooked poll must hold a reference to its task (user hooks, watchdog).
    keep_alive: bool,
}

impl TaskHooks {
    /// The hooks of a scheduler with `threads` scheduler threads, or `None` when nothing
    /// observes polls. `watchdog_default` is the flavor's default for the long-poll watchdog.
    ///
    /// # Errors
    ///
    /// Starting the watchdog thread or installing the `SIGCONT` counter failed (see
    /// `watchdog.rs`).
    pub(crate) fn new(
        config: &Config,
        threads: usize,
        watchdog_default: bool,
    ) -> io::Result<Option<Arc<TaskHooks>>> {
        let long_poll = LongPollDetector::new(
            &config.long_poll,
            threads,
            &config.thread_name,
            watchdog_default,
        )?;
        if long_poll.is_none() && config.before_poll.is_none() && config.after_poll.is_none() {
            return Ok(None);
        }
        let keep_alive = config.before_poll.is_some()
            || config.after_poll.is_some()
            || long_poll
                .as_ref()
                .is_some_and(LongPollDetector::has_watchdog);
        Ok(Some(Arc::new(TaskHooks {
            before: config.before_poll.clone(),
            after: config.after_poll.clone(),
            long_poll,
            keep_alive,
        })))
    }

    /// Runs `task` with the hooks around it (protocol above). `thread` is the index of the
    /// calling scheduler thread (its watchdog slot), or `None` for a poll that no slot covers
    /// (a `LocalSet`'s task, polled inside another poll).
    pub(crate) fn run(&self, task: Notified, thread: Option<usize>) {
        let raw = task.raw();
        let header = raw.header();
        // Step 1. The header is read after the poll by the user's hooks, by the watchdog
        // during it, and by the on-return long-poll report for the name of a long poll; a
        // task with no name and only the on-return detector needs no reference (its id is
        // copied now), which saves two atomic operations per poll.
        let keep = (self.keep_alive || header.info.is_named()).then(|| task.to_task());
        let meta = TaskMeta {
            id: header.id,
            name: header.name(),
        };
        if let Some(f) = &self.before {
            f(&meta);
        }
        match &self.long_poll {
            None => task.run(),
            // `header` is passed on only where `keep_alive` holds a reference (`run` says
            // which way measures; the on-return way reads only `meta` after the poll).
            Some(d) => d.run(header, &meta, thread, || task.run()),
        }
        if let Some(f) = &self.after {
            f(&meta);
        }
        drop(keep);
    }

    /// Stops the watchdog thread, if any (runtime shutdown).
    pub(crate) fn shutdown(&self) {
        if let Some(d) = &self.long_poll {
            d.shutdown();
        }
    }
}

/// Runs one queue entry: with the hooks around it if there are any, else directly.
///
/// Every poll, hooked or not, first stamps the task's dump record (`task/dump.rs`): the
/// coarse time the poll begins and a cleared wait reason (two relaxed stores into the
/// header's cache line, which the poll is about to touch anyway).
#[inline]
pub(crate) fn run(hooks: Option<&TaskHooks>, task: Notified, thread: Option<usize>) {
    crate::task::dump::begin_poll(task.raw().header());
    // Nothing without the `tracing` feature (`trace.rs`).
    let _trace = crate::trace::begin_poll(&task);
    match hooks {
        None => task.run(),
        Some(h) => h.run(task, thread),
    }
}

impl fmt::Debug for TaskHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHooks")
            .field("before", &self.before.is_some())
            .field("after", &self.after.is_some())
            .field("long_poll", &self.long_poll)
            .finish()
    }
}
