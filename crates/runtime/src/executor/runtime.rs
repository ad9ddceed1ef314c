use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::{current_thread, multi_thread, Builder, Handle};
use crate::blocking;

/// The runtime: a scheduler, its IO driver(s) and timers, and a blocking thread pool.
///
/// Built by [`Runtime::builder`]. Dropping it shuts it down: every task is cancelled
/// (its future dropped), IO registrations report an error, and the drop waits for running
/// blocking tasks to finish ([`shutdown_timeout`](Self::shutdown_timeout) bounds that wait).
///
/// # Examples
///
/// ```
/// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// let out = rt.block_on(async {
///     let a = c10k_runtime::spawn(async { 20 });
///     let b = c10k_runtime::spawn(async { 22 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(out, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    handle: Handle,
    scheduler: Scheduler,
    blocking: Option<blocking::Pool>,
}

pub(crate) enum Scheduler {
    CurrentThread(Arc<current_thread::Handle>),
    MultiThread(Arc<multi_thread::Handle>),
}

impl Runtime {
    pub(crate) fn new(handle: Handle, scheduler: Scheduler, blocking: blocking::Pool) -> Runtime {
        Runtime {
            handle,
            scheduler,
            blocking: Some(blocking),
        }
    }

    /// A [`Builder`] (multi-thread by default; see its table of defaults).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().worker_threads(2).build()?;
    /// assert_eq!(rt.block_on(async { 2 + 2 }), 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Runs `future` to completion on the current thread, and returns its output.
    ///
    /// On a current-thread runtime, the calling thread also runs every task and the IO
    /// driver while it waits; tasks that are not finished when `future` is stay in the
    /// runtime and continue at the next `block_on`. On a multi-thread runtime, the workers run
    /// the tasks and the calling thread only polls `future`.
    ///
    /// # Panics
    ///
    /// Panics when called from inside a runtime (from a task or another `block_on`), which
    /// would block a thread that the runtime needs; if `future` panics; and if the IO driver
    /// cannot wait for events any more (a wait that fails twelve times in a row, about a
    /// second of retrying with backoff; the first failure is reported on stderr), with a
    /// message carrying the error: a runtime that cannot wait for IO cannot make progress,
    /// and there is nothing left for the caller to retry (see the
    /// [`executor`](crate::executor) docs, "When the IO driver fails").
    ///
    /// # Examples
    ///
    /// On a current-thread runtime, an unfinished task continues at the next `block_on`:
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// rt.spawn(async move {
    ///     c10k_runtime::task::yield_now().await;
    ///     tx.send("done").unwrap();
    /// });
    /// rt.block_on(async {}); // may or may not run the task to completion
    /// rt.block_on(async {
    ///     for _ in 0..100 {
    ///         c10k_runtime::task::yield_now().await;
    ///     }
    /// });
    /// assert_eq!(rx.try_recv(), Ok("done"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match &self.scheduler {
            Scheduler::CurrentThread(h) => current_thread::block_on(h, future),
            Scheduler::MultiThread(h) => multi_thread::block_on(h, future),
        }
    }

    /// A handle to spawn on this runtime from anywhere.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// let handle = rt.handle().clone();
    /// assert_eq!(rt.block_on(handle.spawn(async { 8 })).unwrap(), 8);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Spawns a task on this runtime (see [`spawn`](crate::spawn)).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().worker_threads(1).build()?;
    /// let h = rt.spawn(async { "ran on a worker" });
    /// assert_eq!(rt.block_on(h).unwrap(), "ran on a worker");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> crate::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Enters the runtime's context on this thread until the guard is dropped (see
    /// [`Handle::enter`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// let _guard = rt.enter();
    /// let h = c10k_runtime::spawn(async { 1 }); // works: the runtime is current
    /// assert_eq!(rt.block_on(h).unwrap(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn enter(&self) -> super::EnterGuard {
        self.handle.enter()
    }

    /// Shuts down, waiting at most `timeout` for worker threads stuck in a task poll and for
    /// running blocking tasks. Threads still busy after that are detached (they finish on
    /// their own; their results are dropped).
    ///
    /// Every task is cancelled either way.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// rt.spawn(std::future::pending::<()>());
    /// rt.shutdown_timeout(Duration::from_secs(1));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(timeout));
    }

    /// Shuts down without waiting for blocking tasks or stuck workers at all.
    ///
    /// Every task is cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// let h = rt.handle().spawn_blocking(|| 1);
    /// rt.shutdown_background(); // returns at once; the blocking thread finishes alone
    /// drop(h);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_background(mut self) {
        self.shutdown(Some(Duration::ZERO));
    }

    fn shutdown(&mut self, timeout: Option<Duration>) {
        let Some(pool) = self.blocking.take() else {
            return;
        };
        let start = std::time::Instant::now();
        match &self.scheduler {
            Scheduler::CurrentThread(h) => current_thread::shutdown(h),
            Scheduler::MultiThread(h) => multi_thread::shutdown(h, timeout),
        }
        let left = timeout.map(|t| t.saturating_sub(start.elapsed()));
        pool.shutdown(left);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("handle", &self.handle)
            .finish()
    }
}

/// Runs `future` on a new current-thread runtime and returns its output: the equivalent of
/// Python's `asyncio.run(main())`.
///
/// Like asyncio's loop, the runtime is single-threaded (plus the blocking pool), and
/// `future` runs inside a [`LocalSet`](crate::task::LocalSet), so that
/// [`spawn_local`](crate::task::spawn_local) works as well as [`spawn`](crate::spawn).
/// When `future` completes, the runtime shuts down and cancels what is left.
/// For a multi-thread runtime, use [`Runtime::builder`].
///
/// # Panics
///
/// Panics if the runtime cannot be created (no selector, e.g. out of descriptors), if called
/// from inside a runtime, if `future` panics, or if the IO driver fails for good (as
/// [`Runtime::block_on`]).
///
/// # Examples
///
/// ```
/// let answer = c10k_runtime::run(async {
///     let h = c10k_runtime::spawn(async { 40 });
///     h.await.unwrap() + 2
/// });
/// assert_eq!(answer, 42);
/// ```
#[track_caller]
pub fn run<F: Future>(future: F) -> F::Output {
    let rt = match Runtime::builder().current_thread().build() {
        Ok(rt) => rt,
        Err(e) => panic!("c10k_runtime::run: cannot create the runtime: {e}"),
    };
    let local = crate::task::LocalSet::new();
    rt.block_on(local.run_until(future))
}
