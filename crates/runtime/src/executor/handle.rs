use std::fmt;
use std::future::Future;

use super::scheduler;
use crate::context;
use crate::task::{Id, JoinHandle};

/// A cheap, cloneable reference to a runtime: spawn on it from any thread, or enter its
/// context.
///
/// # Examples
///
/// ```
/// let rt = c10k_runtime::Runtime::builder().multi_thread().worker_threads(1).build()?;
/// let handle = rt.handle().clone();
/// let from_thread = std::thread::spawn(move || handle.spawn(async { 5 })).join().unwrap();
/// assert_eq!(rt.block_on(from_thread).unwrap(), 5);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: scheduler::Handle,
}

/// Returned by [`Handle::try_current`] outside a runtime.
///
/// # Examples
///
/// ```
/// let err = c10k_runtime::Handle::try_current().unwrap_err();
/// assert_eq!(err.to_string(), "this thread is not inside a c10k runtime");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryCurrentError(());

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("this thread is not inside a c10k runtime")
    }
}

impl std::error::Error for TryCurrentError {}

impl Handle {
    /// The runtime this thread is in.
    ///
    /// # Panics
    ///
    /// Panics outside a runtime (see [`try_current`](Self::try_current)).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// let handle = rt.block_on(async { c10k_runtime::Handle::current() });
    /// // Hand it to a plain thread to spawn from there.
    /// let h = std::thread::spawn(move || handle.spawn(async { 9 })).join().unwrap();
    /// assert_eq!(rt.block_on(h).unwrap(), 9);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(h) => h,
            Err(_) => panic!("`Handle::current()` called outside a c10k runtime: call it from inside `block_on` or a task"),
        }
    }

    /// The runtime this thread is in, if any.
    ///
    /// # Errors
    ///
    /// Outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::Handle;
    /// assert!(Handle::try_current().is_err());
    /// c10k_runtime::run(async { assert!(Handle::try_current().is_ok()) });
    /// ```
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::current()
            .map(|inner| Handle { inner })
            .ok_or(TryCurrentError(()))
    }

    /// Spawns a task on this runtime, from any thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().worker_threads(1).build()?;
    /// let handle = rt.handle().clone();
    /// let h = std::thread::spawn(move || handle.spawn(async { "spawned from a plain thread" }))
    ///     .join()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(h).unwrap(), "spawned from a plain thread");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let info = crate::task::Info::new(std::panic::Location::caller(), None);
        self.inner.spawn(future, Id::next(), info)
    }

    /// Runs `f` on this runtime's blocking pool (see [`spawn_blocking`](crate::task::spawn_blocking)).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// let h = rt.handle().spawn_blocking(|| std::fs::metadata(".").is_ok());
    /// assert!(rt.block_on(h).unwrap());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner
            .blocking()
            .spawn(f, std::panic::Location::caller())
    }

    /// Makes this runtime the current one on this thread until the guard is dropped, so that
    /// `spawn`, IO constructors and timers work outside `block_on`.
    ///
    /// # Examples
    ///
    /// IO constructors and `spawn` need a current runtime; `enter` provides one outside
    /// `block_on`:
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().worker_threads(1).build()?;
    /// let h = {
    ///     let _guard = rt.handle().enter();
    ///     c10k_runtime::spawn(async { 1 })
    /// };
    /// assert_eq!(rt.block_on(h).unwrap(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn enter(&self) -> EnterGuard {
        EnterGuard {
            _guard: context::enter(self.inner.clone()),
        }
    }

    /// The selector backend of this runtime's IO driver.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::driver::Backend;
    /// let rt = c10k_runtime::Runtime::builder().current_thread().backend(Backend::Poll).build()?;
    /// assert_eq!(rt.handle().backend(), Backend::Poll);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn backend(&self) -> crate::driver::Backend {
        self.inner.backend()
    }

    /// The number of live tasks (spawned and not yet completed).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// let h = rt.spawn(std::future::pending::<()>());
    /// assert_eq!(rt.handle().num_tasks(), 1);
    /// h.abort();
    /// assert!(rt.block_on(h).unwrap_err().is_cancelled());
    /// assert_eq!(rt.handle().num_tasks(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn num_tasks(&self) -> usize {
        self.inner.num_tasks_hint()
    }

    /// A snapshot of every live task of this runtime: id, name, spawn location, state, time
    /// since its last poll, and what it waits on (see [`task::dump`](crate::task::dump)).
    ///
    /// Callable from any thread, including a task of this runtime; it never waits for a
    /// worker, so it works while one is stuck in a long poll.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::task::dump::{TaskState, WaitOn};
    /// let rt = c10k_runtime::Runtime::builder().multi_thread().worker_threads(2).build()?;
    /// rt.block_on(async {
    ///     let child = c10k_runtime::spawn(std::future::pending::<()>());
    ///     let child_id = child.id();
    ///     let parent = c10k_runtime::task::Builder::new().name("parent").spawn(child);
    ///     // Wait until the parent has polled its join handle and returned `Pending` (the
    ///     // other worker may still be inside that poll when the record first shows).
    ///     loop {
    ///         let dump = c10k_runtime::Handle::current().dump();
    ///         let p = dump.tasks().iter().find(|t| t.id() == parent.id()).unwrap();
    ///         if p.waiting_on() == Some(&WaitOn::Join { task: child_id })
    ///             && p.state() == TaskState::Idle
    ///         {
    ///             print!("{dump}");
    ///             break;
    ///         }
    ///         c10k_runtime::task::yield_now().await;
    ///     }
    ///     parent.abort();
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn dump(&self) -> crate::task::dump::Dump {
        self.inner.dump()
    }

    /// The provided receive buffers of the io_uring backend, summed over the runtime's
    /// rings: `(free, total)`, where free buffers are published to the kernel and the others
    /// hold received data not yet read. `None` on the readiness backends.
    ///
    /// Once every stream is dropped (and the ring has reaped their cancellations), `free`
    /// equals `total`: no buffer is leaked by dropped reads or streams.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::driver::Backend;
    /// let rt = c10k_runtime::Runtime::builder().current_thread().backend(Backend::Epoll).build()?;
    /// assert_eq!(rt.handle().uring_buffers(), None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn uring_buffers(&self) -> Option<(usize, usize)> {
        self.inner.uring_buffers()
    }

    /// The number of threads of the blocking pool (running or idle).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// assert_eq!(rt.handle().num_blocking_threads(), 0); // the pool grows on demand
    /// rt.block_on(rt.handle().spawn_blocking(|| ())).unwrap();
    /// assert!(rt.handle().num_blocking_threads() >= 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn num_blocking_threads(&self) -> usize {
        self.inner.blocking().num_threads()
    }

    /// Fault injection for tests: makes the next `n` waits of the runtime's IO driver(s)
    /// fail, as a failing `epoll_wait` would, to exercise the scheduler's retry, report and
    /// give-up path (see the [`executor`](crate::executor) docs, "When the IO driver fails").
    /// Not part of the stable API.
    ///
    /// # Examples
    ///
    /// A few failures are retried; the runtime carries on:
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// rt.handle().inject_park_failures(2);
    /// let v = rt.block_on(async {
    ///     c10k_runtime::time::sleep(std::time::Duration::from_millis(1)).await;
    ///     7
    /// });
    /// assert_eq!(v, 7);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[doc(hidden)]
    pub fn inject_park_failures(&self, n: u32) {
        self.inner.inject_park_failures(n);
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// Returned by [`Handle::enter`]; leaves the runtime's context when dropped. Must be dropped
/// on the thread that created it.
///
/// # Examples
///
/// ```
/// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// let guard = rt.enter();
/// assert!(c10k_runtime::Handle::try_current().is_ok());
/// drop(guard);
/// assert!(c10k_runtime::Handle::try_current().is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "the runtime context is left as soon as the guard is dropped"]
pub struct EnterGuard {
    _guard: context::EnterGuard,
}
