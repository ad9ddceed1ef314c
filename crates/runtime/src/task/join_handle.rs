use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{Id, JoinError, RawTask};

/// An owned permission to await a task's output (or its failure) and to cancel it.
///
/// Awaiting gives `Ok(output)`, or `Err(JoinError)` if the task panicked (the panic is
/// contained: it never unwinds into the runtime) or was cancelled.
///
/// # Drop detaches
///
/// Dropping a `JoinHandle` does **not** cancel the task: it keeps running in the
/// background and its output is dropped when it completes (as with tokio and
/// `std::thread::JoinHandle`). Call [`abort`](Self::abort) to cancel, or use a
/// [`JoinSet`](super::JoinSet) / [`TaskGroup`](super::TaskGroup), which cancel their tasks
/// when dropped.
///
/// # Cancellation
///
/// [`abort`](Self::abort) requests cancellation: the task's future is dropped the next time
/// the scheduler would poll it (at once if it is idle, after its current poll if it is
/// running), on the scheduler's own thread. Awaiting the handle then yields a `JoinError`
/// with [`is_cancelled`](JoinError::is_cancelled), unless the task completed first.
///
/// # Examples
///
/// ```
/// use c10k_runtime::task;
///
/// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// rt.block_on(async {
///     let answer = task::spawn(async { 6 * 7 });
///     assert_eq!(answer.await.unwrap(), 42);
///
///     let stuck = task::spawn(std::future::pending::<()>());
///     stuck.abort();
///     assert!(stuck.await.unwrap_err().is_cancelled());
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// The handle of a task whose output is not `Send` cannot leave its thread:
///
/// ```compile_fail
/// fn is_send<T: Send>(_: T) {}
/// let local = c10k_runtime::task::LocalSet::new();
/// is_send(local.spawn_local(async { std::rc::Rc::new(1) }));
/// ```
#[must_use = "dropping a JoinHandle detaches the task; `let _ = spawn(..)` if that is intended"]
pub struct JoinHandle<T> {
    raw: RawTask,
    _output: PhantomData<T>,
}

// SAFETY: the handle only moves the output `T` across threads (hence `T: Send`); the task
// machinery it touches is thread-safe (atomic state, join waker protocol).
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only allows `abort`, `is_finished` and `id`, which touch atomics.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// # Safety
    ///
    /// `raw` is a task whose output type is `T`; the handle takes over its join reference.
    pub(crate) unsafe fn from_raw(raw: RawTask) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _output: PhantomData,
        }
    }

    /// Requests cancellation of the task (see the type docs). Does nothing if the task has
    /// completed. Never blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let h = c10k_runtime::spawn(std::future::pending::<()>());
    ///     h.abort();
    ///     let err = h.await.unwrap_err();
    ///     assert!(err.is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        self.raw.abort();
    }

    /// A handle that can abort the task without owning its output.
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let h = c10k_runtime::spawn(std::future::pending::<()>());
    ///     let abort = h.abort_handle();
    ///     assert_eq!(abort.id(), h.id());
    ///     // The abort handle can be sent elsewhere, e.g. to a watchdog task.
    ///     c10k_runtime::spawn(async move { abort.abort() });
    ///     assert!(h.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort_handle(&self) -> AbortHandle {
        self.raw.header().state.ref_inc();
        AbortHandle { raw: self.raw }
    }

    /// Whether the task has completed (with an output, a panic, or by cancellation), i.e.
    /// whether awaiting the handle would return at once.
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let h = c10k_runtime::spawn(async { 7 });
    ///     // Yield until the task has run; bounded so that a bug cannot hang the example.
    ///     for _ in 0..1000 {
    ///         if h.is_finished() {
    ///             break;
    ///         }
    ///         c10k_runtime::task::yield_now().await;
    ///     }
    ///     assert!(h.is_finished());
    ///     assert_eq!(h.await.unwrap(), 7);
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is(super::state::COMPLETE)
    }

    /// The task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let h = c10k_runtime::spawn(async { c10k_runtime::task::id() });
    ///     let id = h.id();
    ///     assert_eq!(h.await.unwrap(), id);
    /// });
    /// ```
    pub fn id(&self) -> Id {
        self.raw.header().id
    }

    /// The task's name, if it was spawned with [`Builder::name`](super::Builder::name).
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let h = c10k_runtime::task::Builder::new().name("fetcher").spawn(async {});
    ///     assert_eq!(h.name(), Some("fetcher"));
    ///     assert_eq!(c10k_runtime::spawn(async {}).name(), None);
    /// });
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.raw.header().name()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Awaiting a stream of finished handles must still yield now and then.
        std::task::ready!(super::coop::poll_proceed(cx));
        let mut out = Poll::Pending;
        // SAFETY: `out` has the task's output type; we are its join handle.
        unsafe {
            self.raw.try_read_output(
                &mut out as *mut Poll<Result<T, JoinError>> as *mut (),
                cx.waker(),
            )
        };
        if out.is_pending() {
            // For the task dump: the polling task waits on this one.
            c10k_wait::record(
                cx,
                c10k_wait::Reason::Join {
                    task: self.id().as_u64(),
                },
            );
        }
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // SAFETY: called once, by the join handle.
        unsafe { self.raw.drop_join_handle() }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Cancels a task without owning its output; cheap to clone and to send.
///
/// # Examples
///
/// ```
/// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// rt.block_on(async {
///     let h = c10k_runtime::spawn(std::future::pending::<()>());
///     let abort = h.abort_handle();
///     abort.abort();
///     assert!(h.await.unwrap_err().is_cancelled());
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct AbortHandle {
    raw: RawTask,
}

// SAFETY: only atomics of the task are touched through an `AbortHandle`.
unsafe impl Send for AbortHandle {}
// SAFETY: as above.
unsafe impl Sync for AbortHandle {}

impl AbortHandle {
    /// See [`JoinHandle::abort`].
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let h = c10k_runtime::spawn(std::future::pending::<()>());
    ///     let abort = h.abort_handle();
    ///     abort.abort();
    ///     assert!(h.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        self.raw.abort();
    }

    /// See [`JoinHandle::is_finished`].
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let h = c10k_runtime::spawn(async { 7 });
    ///     let abort = h.abort_handle();
    ///     assert_eq!(h.await.unwrap(), 7);
    ///     assert!(abort.is_finished());
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is(super::state::COMPLETE)
    }

    /// The task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let h = c10k_runtime::spawn(async {});
    ///     assert_eq!(h.abort_handle().id(), h.id());
    ///     h.await.unwrap();
    /// });
    /// ```
    pub fn id(&self) -> Id {
        self.raw.header().id
    }
}

impl Clone for AbortHandle {
    fn clone(&self) -> AbortHandle {
        self.raw.header().state.ref_inc();
        AbortHandle { raw: self.raw }
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        if self.raw.header().state.ref_dec_by(1) {
            self.raw.dealloc();
        }
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .finish()
    }
}
