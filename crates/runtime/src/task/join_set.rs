use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::stream::FuturesUnordered;

use super::{AbortHandle, JoinError, JoinHandle};

/// A set of tasks, awaited in the order they finish: asyncio's `wait(..., FIRST_COMPLETED)`
/// in a loop, or gevent's `joinall`.
///
/// Every task of the set is **aborted when the set is dropped**, so a `JoinSet` scopes the
/// lifetime of its tasks to the code that owns it (unlike a bare `JoinHandle`, which
/// detaches).
///
/// # Examples
///
/// ```
/// use c10k_runtime::task::JoinSet;
///
/// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// rt.block_on(async {
///     let mut set = JoinSet::new();
///     for i in 0..5u32 {
///         set.spawn(async move { i * 10 });
///     }
///     let mut sum = 0;
///     while let Some(res) = set.join_next().await {
///         sum += res.unwrap();
///     }
///     assert_eq!(sum, 100);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct JoinSet<T> {
    tasks: FuturesUnordered<JoinHandle<T>>,
}

impl<T> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::task::JoinSet;
    /// let set: JoinSet<u32> = JoinSet::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn new() -> JoinSet<T> {
        JoinSet {
            tasks: FuturesUnordered::new(),
        }
    }

    /// The number of tasks not yet returned by `join_next`.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::task::JoinSet;
    /// c10k_runtime::run(async {
    ///     let mut set = JoinSet::new();
    ///     set.spawn(async { 1 });
    ///     set.spawn(async { 2 });
    ///     assert_eq!(set.len(), 2);
    ///     set.join_next().await.unwrap().unwrap();
    ///     assert_eq!(set.len(), 1);
    /// });
    /// ```
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the set holds no task.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::task::JoinSet;
    /// c10k_runtime::run(async {
    ///     let mut set = JoinSet::new();
    ///     set.spawn(async { 1 });
    ///     assert!(!set.is_empty());
    ///     assert_eq!(set.join_next().await.unwrap().unwrap(), 1);
    ///     assert!(set.is_empty());
    /// });
    /// ```
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Adds a task spawned elsewhere (e.g. with a name through `task::Builder`).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::task::{Builder, JoinSet};
    /// c10k_runtime::run(async {
    ///     let mut set = JoinSet::new();
    ///     set.insert(Builder::new().name("named").spawn(async { 1 }));
    ///     assert_eq!(set.len(), 1);
    ///     assert_eq!(set.join_next().await.unwrap().unwrap(), 1);
    ///     assert!(set.is_empty());
    /// });
    /// ```
    pub fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        self.tasks.push(handle);
        abort
    }

    /// Requests cancellation of every task in the set; they stay in the set, and
    /// `join_next` returns their cancellation errors (or outputs, for those that finished
    /// first).
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let mut set = c10k_runtime::task::JoinSet::new();
    ///     for _ in 0..3 {
    ///         set.spawn(std::future::pending::<()>());
    ///     }
    ///     set.abort_all();
    ///     assert_eq!(set.len(), 3); // still in the set until joined
    ///     while let Some(res) = set.join_next().await {
    ///         assert!(res.unwrap_err().is_cancelled());
    ///     }
    /// });
    /// ```
    pub fn abort_all(&mut self) {
        for h in self.tasks.iter() {
            h.abort();
        }
    }

    /// Aborts every task and waits for all of them to finish.
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let mut set = c10k_runtime::task::JoinSet::new();
    ///     set.spawn(std::future::pending::<()>());
    ///     set.shutdown().await;
    ///     assert!(set.is_empty());
    /// });
    /// ```
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for the next task to finish and returns its result, or `None` if the set is
    /// empty.
    ///
    /// Cancel-safe: if the returned future is dropped before it completes, no result is lost; the
    /// task stays in the set.
    ///
    /// # Examples
    ///
    /// The first result wins; dropping the set cancels the rest:
    ///
    /// ```
    /// use std::time::Duration;
    /// c10k_runtime::run(async {
    ///     let mut set = c10k_runtime::task::JoinSet::new();
    ///     set.spawn(async { "fast" });
    ///     set.spawn(async {
    ///         c10k_runtime::time::sleep(Duration::from_secs(60)).await;
    ///         "slow"
    ///     });
    ///     assert_eq!(set.join_next().await.unwrap().unwrap(), "fast");
    ///     drop(set); // aborts the slow task
    /// });
    /// ```
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        std::future::poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// The polling form of [`join_next`](Self::join_next).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// c10k_runtime::run(async {
    ///     let mut set = c10k_runtime::task::JoinSet::new();
    ///     set.spawn(async { 5 });
    ///     let res = poll_fn(|cx| set.poll_join_next(cx)).await;
    ///     assert_eq!(res.unwrap().unwrap(), 5);
    /// });
    /// ```
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        Pin::new(&mut self.tasks).poll_next(cx)
    }

    /// Waits for every task and returns their results in completion order.
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let mut set = c10k_runtime::task::JoinSet::new();
    ///     for i in 0..4u32 {
    ///         set.spawn(async move { i * i });
    ///     }
    ///     let mut squares: Vec<u32> = set.join_all().await.into_iter().map(Result::unwrap).collect();
    ///     squares.sort();
    ///     assert_eq!(squares, [0, 1, 4, 9]);
    /// });
    /// ```
    pub async fn join_all(mut self) -> Vec<Result<T, JoinError>> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(r) = self.join_next().await {
            out.push(r);
        }
        out
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawns a task on the current runtime into the set.
    ///
    /// # Panics
    ///
    /// Panics outside a runtime, as [`spawn`](super::spawn).
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let mut set = c10k_runtime::task::JoinSet::new();
    ///     let abort = set.spawn(std::future::pending::<u8>());
    ///     set.spawn(async { 1u8 });
    ///     abort.abort();
    ///     let mut outputs = Vec::new();
    ///     while let Some(res) = set.join_next().await {
    ///         outputs.push(res.ok());
    ///     }
    ///     outputs.sort();
    ///     assert_eq!(outputs, [None, Some(1)]);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(super::spawn(future))
    }

    /// Spawns a blocking closure into the set (see [`spawn_blocking`](super::spawn_blocking)).
    ///
    /// # Examples
    ///
    /// ```
    /// c10k_runtime::run(async {
    ///     let mut set = c10k_runtime::task::JoinSet::new();
    ///     set.spawn_blocking(|| std::env::temp_dir().exists());
    ///     assert!(set.join_next().await.unwrap().unwrap());
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
    {
        self.insert(super::spawn_blocking(f))
    }
}

impl<T: 'static> JoinSet<T> {
    /// Spawns a `!Send` task on the current [`LocalSet`](super::LocalSet) into the set.
    ///
    /// # Panics
    ///
    /// Panics outside a `LocalSet`, as [`spawn_local`](super::spawn_local).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// c10k_runtime::run(async {
    ///     // `run` drives its future inside a `LocalSet`.
    ///     let shared = Rc::new(3);
    ///     let mut set = c10k_runtime::task::JoinSet::new();
    ///     let s = shared.clone();
    ///     set.spawn_local(async move { *s * 2 });
    ///     assert_eq!(set.join_next().await.unwrap().unwrap(), 6);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(super::spawn_local(future))
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

impl<T> Stream for JoinSet<T> {
    type Item = Result<T, JoinError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_join_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl<T: Send + 'static, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
{
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> JoinSet<T> {
        let mut set = JoinSet::new();
        for f in iter {
            set.spawn(f);
        }
        set
    }
}
