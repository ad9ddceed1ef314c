//! [`PoolFuture`]: the handle to a task submitted to a pool, shared by both pools.
//!
//! It is `concurrent.futures.Future` in Rust: blocking `result`, `done`/`running`/
//! `cancelled`, `cancel` before the task starts, done-callbacks, and it is a [`Future`] that
//! any executor can `.await` (its waker is registered, never a thread blocked). The state
//! machine behind it, with its diagram and protocols, is in `state.rs`.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::error::PoolError;

pub(crate) mod state;

#[cfg(all(test, loom))]
mod loom_state;

pub(crate) use state::{Group, Inner, Waiter, OWNER_KEY};

/// What a [`PoolFuture`] points at: its [`Inner`], alone (a future completed from outside,
/// as the process pool's are) or inside the allocation that also holds the task (the thread
/// pool's: one allocation per task).
pub(crate) trait Shared<T>: Send + Sync {
    fn inner(&self) -> &Inner<T>;
}

impl<T: Send> Shared<T> for Inner<T> {
    fn inner(&self) -> &Inner<T> {
        self
    }
}

/// The result of a task submitted to a [`ThreadPool`](crate::ThreadPool) (or a process
/// pool): `concurrent.futures.Future`.
///
/// - Blocking: [`result`](Self::result), [`result_timeout`](Self::result_timeout),
///   [`wait`](Self::wait), [`error`](Self::error) (Python's `exception()`).
/// - Async: `fut.await` gives `Result<T, PoolError>` on any executor (c10k's, tokio's, a
///   hand-written `block_on`); a pending poll registers the task's waker and returns, so it
///   never blocks a scheduler thread.
/// - State: [`done`](Self::done), [`running`](Self::running), [`cancelled`](Self::cancelled),
///   [`cancel`](Self::cancel) (only before the task starts).
/// - [`add_done_callback`](Self::add_done_callback): runs exactly once, on the thread that
///   completes the future, or at once on the caller's thread if it is already done.
///
/// # Drop
///
/// Dropping a `PoolFuture` **detaches** it: the task still runs (as in Python, where a
/// discarded future does not stop its work) and its callbacks still run. Cancel first to
/// stop a task that has not started.
///
/// # Examples
///
/// ```
/// use c10k_pool::ThreadPool;
///
/// let pool = ThreadPool::new(2)?;
/// let fut = pool.submit(|| 6 * 7);
/// fut.add_done_callback(|outcome| println!("done: {outcome:?}"));
/// assert_eq!(fut.result(), Ok(42));
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Awaited from a task:
///
/// ```
/// # use c10k_pool::ThreadPool;
/// let pool = ThreadPool::new(1)?;
/// let answer = c10k_runtime::run(async { pool.submit(|| 6 * 7).await })?;
/// assert_eq!(answer, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "a PoolFuture detaches when dropped; keep it to get the task's result"]
pub struct PoolFuture<T> {
    shared: Arc<dyn Shared<T>>,
    /// This handle has a waiter registered (a task's waker, or a group entry), under the
    /// reserved key [`OWNER_KEY`]: a handle has at most one, and the key needs no storage
    /// (a million pending futures are a million of these handles: 24 bytes, not 40).
    registered: bool,
    /// The outcome was moved out (by a `Ready` poll or `result_timeout`).
    taken: bool,
    /// `&PoolFuture` hands out `&T`: `Sync` only for `T: Sync`.
    _marker: PhantomData<T>,
}

impl<T: Send + 'static> PoolFuture<T> {
    /// A future whose state is `shared`.
    pub(crate) fn from_shared(shared: Arc<dyn Shared<T>>) -> PoolFuture<T> {
        PoolFuture {
            shared,
            registered: false,
            taken: false,
            _marker: PhantomData,
        }
    }

    /// A pending future and the core through which its completer completes it.
    pub(crate) fn pending() -> (Arc<Inner<T>>, PoolFuture<T>) {
        let inner = Arc::new(Inner::new());
        let fut = PoolFuture::from_shared(inner.clone());
        (inner, fut)
    }

    /// A future already failed with `error`.
    pub(crate) fn failed(error: PoolError) -> PoolFuture<T> {
        let (inner, fut) = PoolFuture::pending();
        inner.complete(Err(error));
        fut
    }
}

impl<T> PoolFuture<T> {
    fn inner(&self) -> &Inner<T> {
        self.shared.inner()
    }

    /// Whether the task finished, failed or was cancelled (and its callbacks have run):
    /// [`result`](Self::result) would not block.
    pub fn done(&self) -> bool {
        self.inner().is_done()
    }

    /// Whether the task is running now (started and not finished).
    pub fn running(&self) -> bool {
        self.inner().is_running()
    }

    /// Whether the future was cancelled ([`cancel`](Self::cancel), or a shutdown that
    /// cancelled pending work).
    pub fn cancelled(&self) -> bool {
        self.inner().is_cancelled()
    }

    /// Cancels the task if it has not started: its closure is dropped without running, the
    /// future completes with [`PoolError::Cancelled`] and its callbacks run (on this
    /// thread). Returns `true` if the future is cancelled (now or before), `false` if the
    /// task is running or finished, which cannot be undone.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_pool::{PoolError, ThreadPool};
    /// use std::sync::mpsc;
    ///
    /// let pool = ThreadPool::new(1)?;
    /// let (started_tx, started) = mpsc::channel();
    /// let (release, release_rx) = mpsc::channel::<()>();
    /// let busy = pool.submit(move || {
    ///     started_tx.send(()).unwrap();
    ///     release_rx.recv().unwrap();
    /// });
    /// started.recv().unwrap(); // the only worker is busy now
    /// let queued = pool.submit(|| "never runs");
    /// assert!(queued.cancel());
    /// assert!(!busy.cancel()); // running: too late
    /// release.send(()).unwrap();
    /// assert_eq!(queued.result(), Err(PoolError::Cancelled));
    /// busy.result().unwrap();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cancel(&self) -> bool {
        self.inner().cancel()
    }

    /// Calls `callback` with the outcome once the future is done: on the thread that
    /// completes it (a pool worker, or the thread that cancels it), or right now, on this
    /// thread, if it is done already. Each callback runs exactly once; callbacks run in the
    /// order they were added, and all that were added before completion have returned
    /// before [`done`](Self::done) becomes `true` and waiters wake.
    ///
    /// A panicking callback is reported by the panic hook and does not stop the others or
    /// the worker. Keep callbacks short: they run on a worker thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_pool::ThreadPool;
    /// use std::sync::mpsc;
    ///
    /// let pool = ThreadPool::new(2)?;
    /// let (tx, rx) = mpsc::channel();
    /// for i in 0..3 {
    ///     let tx = tx.clone();
    ///     pool.submit(move || i + 10)
    ///         .add_done_callback(move |outcome| tx.send(*outcome.unwrap()).unwrap());
    /// }
    /// drop(tx);
    /// let mut got: Vec<i32> = rx.iter().collect();
    /// got.sort();
    /// assert_eq!(got, [10, 11, 12]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn add_done_callback<F>(&self, callback: F)
    where
        F: FnOnce(Result<&T, &PoolError>) + Send + 'static,
    {
        self.inner().add_callback(Box::new(callback));
    }

    /// Blocks the thread until the future is done.
    pub fn wait(&self) {
        self.inner().wait_blocking(None);
    }

    /// Blocks the thread until the future is done or `timeout` passes; whether it is done.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.inner().wait_blocking(Some(deadline(timeout)))
    }

    /// The outcome, without waiting: `None` while the future is not done.
    ///
    /// # Panics
    ///
    /// If the outcome was already moved out of this handle (by `.await` or
    /// [`result_timeout`](Self::result_timeout)).
    pub fn peek(&self) -> Option<Result<&T, &PoolError>> {
        if self.taken {
            panic!("PoolFuture::peek after its outcome was taken");
        }
        self.inner().outcome()
    }

    /// Waits until done and returns the error, if the task failed (`exception()` in Python,
    /// which also returns `None` for a success). A cancelled future gives
    /// `Some(PoolError::Cancelled)`.
    ///
    /// # Panics
    ///
    /// As [`peek`](Self::peek).
    #[doc(alias = "exception")]
    pub fn error(&self) -> Option<PoolError> {
        self.wait();
        match self.peek() {
            Some(Err(e)) => Some(e.clone()),
            _ => None,
        }
    }

    /// Waits until done and returns the task's value or why there is none.
    ///
    /// # Errors
    ///
    /// [`PoolError::Panicked`] if the task panicked, [`PoolError::Cancelled`],
    /// [`PoolError::BrokenPool`], [`PoolError::Shutdown`].
    ///
    /// # Panics
    ///
    /// As [`peek`](Self::peek).
    pub fn result(mut self) -> Result<T, PoolError> {
        self.wait();
        self.take_outcome()
    }

    /// Like [`result`](Self::result), but waits at most `timeout`; on
    /// [`PoolError::Timeout`] the future stays pending and can be waited on again.
    ///
    /// # Errors
    ///
    /// As [`result`](Self::result), plus [`PoolError::Timeout`].
    ///
    /// # Panics
    ///
    /// If a previous call (or a `Ready` poll) already returned the outcome.
    pub fn result_timeout(&mut self, timeout: Duration) -> Result<T, PoolError> {
        if self.taken {
            panic!("PoolFuture::result_timeout after its outcome was taken");
        }
        if !self.wait_timeout(timeout) {
            return Err(PoolError::Timeout);
        }
        self.take_outcome()
    }

    /// Moves the outcome out of a done future.
    fn take_outcome(&mut self) -> Result<T, PoolError> {
        if self.taken {
            panic!("PoolFuture: outcome taken twice");
        }
        // SAFETY: `&mut self` is exclusive use of this handle, the only one that reads the
        // outcome (futures are not `Clone`).
        let outcome = unsafe { self.inner().take() };
        self.taken = true;
        self.registered = false;
        outcome.expect("PoolFuture: taken while not done (a bug in c10k-pool)")
    }

    /// Registers this handle's waiter under its key (see `wait.rs`); `false` if done.
    pub(crate) fn register_group(&mut self, group: &Arc<Group>, index: usize) -> bool {
        match self
            .inner()
            .register(Some(OWNER_KEY), Waiter::Group(Arc::clone(group), index))
        {
            Ok(_) => {
                self.registered = true;
                true
            }
            Err(_) => false,
        }
    }

    /// Removes this handle's waiter registration, if any.
    pub(crate) fn deregister(&mut self) {
        if std::mem::take(&mut self.registered) {
            self.inner().deregister(OWNER_KEY);
        }
    }
}

// The outcome lives in the shared allocation, never inline: moving a handle is always fine.
impl<T> Unpin for PoolFuture<T> {}

impl<T> Future for PoolFuture<T> {
    type Output = Result<T, PoolError>;

    /// # Panics
    ///
    /// If polled again after it returned `Ready`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.taken {
            panic!("PoolFuture polled after it returned Ready");
        }
        if !this.inner().is_done() {
            // `None`: it completed meanwhile.
            if this
                .inner()
                .register_waker(Some(OWNER_KEY), cx.waker())
                .is_some()
            {
                this.registered = true;
                return Poll::Pending;
            }
        }
        Poll::Ready(this.take_outcome())
    }
}

impl<T> Drop for PoolFuture<T> {
    fn drop(&mut self) {
        // Free a registered waker now rather than when the task completes.
        if !self.taken {
            self.deregister();
        }
    }
}

impl<T> fmt::Debug for PoolFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.taken {
            "taken"
        } else if self.cancelled() {
            "cancelled"
        } else if self.done() {
            "done"
        } else if self.running() {
            "running"
        } else {
            "pending"
        };
        f.debug_struct("PoolFuture").field("state", &state).finish()
    }
}

/// `now + timeout`, saturating far in the future.
pub(crate) fn deadline(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(60 * 60 * 24 * 365))
}
