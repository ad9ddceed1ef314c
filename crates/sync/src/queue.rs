//! `Queue<T>`: FIFO, LIFO and priority queues with back-pressure, `task_done`/`join`, and
//! shutdown, for tasks and threads (Python's `queue.Queue`, `LifoQueue`, `PriorityQueue`,
//! `asyncio.Queue`, `multiprocessing.JoinableQueue`, in one type).
//!
//! # Algorithm
//!
//! The engine is shared with the `mpsc`/`mpmc` channels (`engine.rs` has the protocol). A
//! FIFO queue stores its items in a lock-free store (a ring when bounded, a linked list of
//! blocks when not), so that a put or a get that finds room or an item, with nobody
//! waiting, takes no lock. LIFO and priority queues keep their items under a mutex. Waiters
//! queue on one FIFO waiter list per side, and values are **handed over** rather than
//! re-raced for:
//!
//! 1. A `put` with getters waiting gives the value to the oldest getter (through the store,
//!    in order: getters wait only while the store is empty).
//! 2. A `get` that frees a slot of a full queue moves the oldest waiting putter's value into
//!    the store and releases that putter.
//! 3. A getter future dropped after it was handed a value passes the value to the next waiting
//!    getter, or puts it back at the head of the queue (where it would have been served next).
//!    A putter future dropped before its value entered the queue drops the value with the
//!    future; once the value entered (moved in by a `get`, step 2), the put has happened, even
//!    if the future is dropped before it is polled again.
//!
//! `len`, `is_empty` and `is_full` are snapshots, stale as soon as they return. A value put
//! back by a cancelled getter (step 3) is not counted against `maxsize` (it had already left
//! the queue), so a bounded queue can briefly hold one more item per cancelled getter.
//!
//! # Shutdown (asyncio 3.13 semantics)
//!
//! [`Queue::shutdown`] makes every later and every waiting `put` fail with the value handed
//! back; gets keep draining what is left, then fail with [`GetError::Closed`]. With
//! `immediate = true` the remaining items are discarded at once (their unfinished-task counts
//! are dropped too, so `join` can return) and gets fail immediately.

use std::cmp::Ordering as CmpOrdering;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::engine::{Core, NoValue, Ordered, PutSlot, Rejected, Store};

/// Why a waiting put failed; the value comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
#[non_exhaustive]
pub enum PutError<T> {
    /// The queue was shut down.
    Closed(T),
    /// A `_timeout` form gave up while the queue stayed full.
    Timeout(T),
}

/// Why [`Queue::try_put`] failed; the value comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
#[non_exhaustive]
pub enum TryPutError<T> {
    /// The queue is at `maxsize` (or putters are already waiting).
    Full(T),
    /// The queue was shut down.
    Closed(T),
}

/// Why a get failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GetError {
    /// The queue was shut down and is empty.
    Closed,
    /// A `_timeout` form gave up while the queue stayed empty.
    Timeout,
}

/// Why [`Queue::try_get`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryGetError {
    /// Nothing to get right now.
    Empty,
    /// The queue was shut down and is empty.
    Closed,
}

/// [`Queue::task_done`] was called more times than items were put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError;

macro_rules! value_error {
    ($name:ident { $($variant:ident => $msg:literal),* }) => {
        impl<T> $name<T> {
            /// The value that was not put.
            pub fn into_inner(self) -> T {
                match self { $($name::$variant(v) => v),* }
            }
        }
        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self { $($name::$variant(_) => f.write_str(concat!(stringify!($name), "::", stringify!($variant), "(..)"))),* }
            }
        }
        impl<T> fmt::Display for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self { $($name::$variant(_) => f.write_str($msg)),* }
            }
        }
        impl<T> std::error::Error for $name<T> {}
    };
}

value_error!(PutError { Closed => "queue shut down", Timeout => "timed out waiting for room in the queue" });
value_error!(TryPutError { Full => "queue full", Closed => "queue shut down" });

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GetError::Closed => "queue shut down and empty",
            GetError::Timeout => "timed out waiting for an item",
        })
    }
}

impl std::error::Error for GetError {}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryGetError::Empty => "queue empty",
            TryGetError::Closed => "queue shut down and empty",
        })
    }
}

impl std::error::Error for TryGetError {}

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called more times than there were items")
    }
}

impl std::error::Error for TaskDoneError {}

/// A FIFO, LIFO or priority queue shared by tasks and threads, optionally bounded, joinable,
/// and closable.
///
/// Every operation comes as `async` (`put`, `get`, `join`), blocking (`put_blocking`, ...),
/// blocking with a `Duration` timeout (`put_blocking_timeout`, ...) and non-waiting
/// (`try_put`, `try_get`). For `async` timeouts use your runtime's `timeout` around the future:
/// all futures here are cancellation-safe (see each method).
///
/// Waiters are served FIFO: the getter waiting longest gets the next value, the putter waiting
/// longest puts next.
///
/// # Examples
///
/// The tutorials' cooks and customers: producers `put`, consumers `get` and `task_done`, and
/// `join` returns once every item was processed.
///
/// ```
/// use c10k_sync::Queue;
///
/// let q = Queue::bounded(2);
/// std::thread::scope(|s| {
///     for _ in 0..2 {
///         s.spawn(|| while let Ok(bun) = q.get_blocking() {
///             let _: u32 = bun; // eat it
///             q.task_done().unwrap();
///         });
///     }
///     for bun in 0..10 {
///         q.put_blocking(bun).unwrap();
///     }
///     q.join_blocking();
///     q.shutdown(false); // let the customers go home
/// });
/// assert!(q.is_empty());
/// ```
///
/// A priority queue serves the smallest first:
///
/// ```
/// let q = c10k_sync::Queue::priority();
/// for x in [3, 1, 2] {
///     q.try_put(x).unwrap();
/// }
/// assert_eq!([q.try_get(), q.try_get(), q.try_get()], [Ok(1), Ok(2), Ok(3)]);
/// ```
pub struct Queue<T> {
    core: Core<T>,
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("kind", &self.core.kind())
            .field("len", &self.core.len())
            .field("maxsize", &self.core.maxsize())
            .field("unfinished", &self.core.unfinished())
            .field("closed", &self.core.is_closed())
            .finish()
    }
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue::new()
    }
}

impl<T> Queue<T> {
    /// The engine over the store `make` builds for the bound (`Some(0)` means unbounded).
    fn engine(make: impl FnOnce(Option<usize>) -> Store<T>, maxsize: Option<usize>) -> Core<T> {
        let maxsize = maxsize.filter(|&m| m > 0);
        Core::new(make(maxsize), maxsize, true)
    }

    /// An unbounded FIFO queue.
    pub fn new() -> Queue<T> {
        Queue {
            core: Core::new(Store::fifo(None), None, true),
        }
    }

    /// A FIFO queue holding at most `maxsize` items (`0` means unbounded, as in Python).
    pub fn bounded(maxsize: usize) -> Queue<T> {
        Queue {
            core: Queue::<T>::engine(Store::fifo, Some(maxsize)),
        }
    }

    /// A LIFO queue (a stack), optionally bounded (`None` or `Some(0)`: unbounded).
    pub fn lifo(maxsize: Option<usize>) -> Queue<T> {
        Queue {
            core: Queue::engine(
                |m| Store::locked(Ordered::Lifo(VecDeque::new()), m),
                maxsize,
            ),
        }
    }

    /// A priority queue serving the smallest item by `Ord` first (equal items in FIFO order),
    /// unbounded. Use [`Queue::priority_with`] for a bound or a key.
    pub fn priority() -> Queue<T>
    where
        T: Ord,
    {
        Queue::priority_with(None, |a: &T, b: &T| a.cmp(b))
    }

    /// A priority queue serving the item with the smallest `key` first (equal keys in FIFO
    /// order), optionally bounded.
    ///
    /// ```
    /// let q = c10k_sync::Queue::priority_by_key(None, |job: &(u8, &str)| job.0);
    /// q.try_put((2, "later")).unwrap();
    /// q.try_put((1, "first")).unwrap();
    /// assert_eq!(q.try_get().unwrap().1, "first");
    /// ```
    pub fn priority_by_key<K: Ord>(
        maxsize: Option<usize>,
        key: impl Fn(&T) -> K + Send + Sync + 'static,
    ) -> Queue<T> {
        Queue::priority_with(maxsize, move |a: &T, b: &T| key(a).cmp(&key(b)))
    }

    /// A priority queue ordered by `cmp` (the `Less` item first), optionally bounded.
    pub fn priority_with(
        maxsize: Option<usize>,
        cmp: impl Fn(&T, &T) -> CmpOrdering + Send + Sync + 'static,
    ) -> Queue<T> {
        Queue {
            core: Queue::engine(
                |m| {
                    Store::locked(
                        Ordered::Priority {
                            heap: Vec::new(),
                            cmp: Arc::new(cmp),
                            seq: 0,
                        },
                        m,
                    )
                },
                maxsize,
            ),
        }
    }

    /// Items in the queue now (a snapshot).
    pub fn len(&self) -> usize {
        self.core.len()
    }

    /// Whether the queue is empty now (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the queue is at `maxsize` now (a snapshot; never true for unbounded queues).
    pub fn is_full(&self) -> bool {
        self.core.is_full()
    }

    /// The bound, `None` if unbounded.
    pub fn maxsize(&self) -> Option<usize> {
        self.core.maxsize()
    }

    /// Items put and not yet marked [`task_done`](Self::task_done) (a snapshot).
    pub fn unfinished_tasks(&self) -> usize {
        self.core.unfinished()
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.core.is_closed()
    }

    /// Puts without waiting.
    ///
    /// # Errors
    ///
    /// [`TryPutError::Full`] or [`TryPutError::Closed`], with the value.
    pub fn try_put(&self, value: T) -> Result<(), TryPutError<T>> {
        self.core.try_put(value).map_err(|e| match e {
            Rejected::Full(v) => TryPutError::Full(v),
            Rejected::Closed(v) => TryPutError::Closed(v),
        })
    }

    /// Puts, waiting for room if the queue is bounded and full.
    ///
    /// Cancellation safety: nothing is lost or duplicated, but a dropped put may have
    /// happened. While the future waits for room, a `get` that frees a slot moves the waiting
    /// value in and wakes the future; the put has then happened even if the future is dropped
    /// before it is polled again (runtimes' `timeout` poll the inner future first, so they
    /// report it as completed). Otherwise the value did not enter the queue and is dropped
    /// with the future. To keep the value on a timeout, use
    /// [`put_blocking_timeout`](Self::put_blocking_timeout) or [`try_put`](Self::try_put).
    ///
    /// # Errors
    ///
    /// [`PutError::Closed`] with the value if the queue is (or gets) shut down.
    ///
    /// # Examples
    ///
    /// A task waits for room that a thread makes:
    ///
    /// ```
    /// use std::sync::Arc;
    /// use c10k_sync::Queue;
    ///
    /// let q = Arc::new(Queue::bounded(1));
    /// q.try_put(1).unwrap();
    /// let q2 = q.clone();
    /// let consumer = std::thread::spawn(move || (q2.get_blocking().unwrap(), q2.get_blocking().unwrap()));
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(q.put(2)).unwrap(); // waits until the thread took 1
    /// assert_eq!(consumer.join().unwrap(), (1, 2));
    /// ```
    pub fn put(&self, value: T) -> Put<'_, T> {
        Put {
            core: &self.core,
            slot: PutSlot {
                value: Some(value),
                key: None,
            },
        }
    }

    /// Puts, blocking the thread while the queue is full.
    ///
    /// # Errors
    ///
    /// [`PutError::Closed`] with the value if the queue is (or gets) shut down.
    pub fn put_blocking(&self, value: T) -> Result<(), PutError<T>> {
        self.put_blocking_inner(value, None)
    }

    /// Puts, blocking for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`PutError::Timeout`] or [`PutError::Closed`], with the value.
    pub fn put_blocking_timeout(&self, value: T, timeout: Duration) -> Result<(), PutError<T>> {
        self.put_blocking_inner(value, Some(Instant::now() + timeout))
    }

    fn put_blocking_inner(&self, value: T, deadline: Option<Instant>) -> Result<(), PutError<T>> {
        self.core
            .put_blocking(value, deadline)
            .map_err(|e| match e {
                Rejected::Full(v) => PutError::Timeout(v),
                Rejected::Closed(v) => PutError::Closed(v),
            })
    }

    /// Gets without waiting.
    ///
    /// # Errors
    ///
    /// [`TryGetError::Empty`], or [`TryGetError::Closed`] once shut down and drained.
    pub fn try_get(&self) -> Result<T, TryGetError> {
        self.core.try_get().map_err(|e| match e {
            NoValue::Empty => TryGetError::Empty,
            NoValue::Closed => TryGetError::Closed,
        })
    }

    /// Gets, waiting for an item.
    ///
    /// Cancellation safety: a dropped future never loses an item. If one had already been
    /// handed to it, the item goes to the next waiting getter or back to the head of the queue.
    ///
    /// # Errors
    ///
    /// [`GetError::Closed`] once the queue is shut down and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let q = Arc::new(c10k_sync::Queue::new());
    /// let q2 = q.clone();
    /// std::thread::spawn(move || q2.put_blocking("hello").unwrap());
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// assert_eq!(rt.block_on(q.get()), Ok("hello"));
    /// ```
    pub fn get(&self) -> Get<'_, T> {
        Get {
            core: &self.core,
            key: None,
        }
    }

    /// Gets, blocking the thread while the queue is empty.
    ///
    /// # Errors
    ///
    /// [`GetError::Closed`] once the queue is shut down and drained.
    pub fn get_blocking(&self) -> Result<T, GetError> {
        self.get_blocking_inner(None)
    }

    /// Gets, blocking for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`GetError::Timeout`] or [`GetError::Closed`].
    pub fn get_blocking_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.get_blocking_inner(Some(Instant::now() + timeout))
    }

    fn get_blocking_inner(&self, deadline: Option<Instant>) -> Result<T, GetError> {
        self.core.get_blocking(deadline).map_err(|e| match e {
            NoValue::Empty => GetError::Timeout,
            NoValue::Closed => GetError::Closed,
        })
    }

    /// Marks one item taken by a getter as processed; when every put item has been marked,
    /// every `join` returns.
    ///
    /// # Errors
    ///
    /// [`TaskDoneError`] if called more times than items were put.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = c10k_sync::Queue::new();
    /// q.try_put("job").unwrap();
    /// assert_eq!(q.unfinished_tasks(), 1);
    /// let _job = q.try_get().unwrap(); // taken, but not yet processed
    /// assert_eq!(q.unfinished_tasks(), 1);
    /// q.task_done().unwrap();
    /// assert_eq!(q.unfinished_tasks(), 0);
    /// assert!(q.task_done().is_err()); // one call per item
    /// ```
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        if self.core.task_done() {
            Ok(())
        } else {
            Err(TaskDoneError)
        }
    }

    /// Waits until every item put so far has been marked [`task_done`](Self::task_done).
    ///
    /// Cancellation safety: dropping the future only removes the waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let q = Arc::new(c10k_sync::Queue::new());
    /// for i in 0..3 {
    ///     q.try_put(i).unwrap();
    /// }
    /// let worker = {
    ///     let q = q.clone();
    ///     std::thread::spawn(move || {
    ///         for _ in 0..3 {
    ///             q.get_blocking().unwrap();
    ///             q.task_done().unwrap();
    ///         }
    ///     })
    /// };
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(q.join()); // returns only after the third task_done
    /// assert_eq!(q.unfinished_tasks(), 0);
    /// worker.join().unwrap();
    /// ```
    pub fn join(&self) -> Join<'_, T> {
        Join {
            core: &self.core,
            key: None,
        }
    }

    /// Blocks the thread until every item put so far has been marked done.
    pub fn join_blocking(&self) {
        self.join_blocking_inner(None);
    }

    /// Blocks for at most `timeout`; returns whether every item was marked done.
    pub fn join_blocking_timeout(&self, timeout: Duration) -> bool {
        self.join_blocking_inner(Some(Instant::now() + timeout))
    }

    fn join_blocking_inner(&self, deadline: Option<Instant>) -> bool {
        self.core.join_blocking(deadline)
    }

    /// Shuts the queue down (asyncio 3.13 `Queue.shutdown`): puts fail from now on, waiting
    /// putters get their values back in [`PutError::Closed`]. Gets drain what is left, then
    /// fail with [`GetError::Closed`]. With `immediate`, the remaining items are dropped now
    /// (and no longer count as unfinished for `join`), so gets fail at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_sync::queue::{GetError, TryPutError};
    ///
    /// let q = c10k_sync::Queue::new();
    /// q.try_put(1).unwrap();
    /// q.shutdown(false);
    /// assert_eq!(q.try_put(2), Err(TryPutError::Closed(2))); // the value comes back
    /// assert_eq!(q.get_blocking(), Ok(1)); // what was left is drained
    /// assert_eq!(q.get_blocking(), Err(GetError::Closed));
    ///
    /// let q = c10k_sync::Queue::new();
    /// q.try_put(1).unwrap();
    /// q.shutdown(true); // immediate: discard
    /// assert_eq!(q.get_blocking(), Err(GetError::Closed));
    /// q.join_blocking(); // discarded items no longer count
    /// ```
    pub fn shutdown(&self, immediate: bool) {
        self.core.close(immediate);
    }
}

/// Future of [`Queue::put`].
#[must_use = "futures do nothing unless polled"]
pub struct Put<'a, T> {
    core: &'a Core<T>,
    slot: PutSlot<T>,
}

impl<T> fmt::Debug for Put<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put")
            .field("waiting", &self.slot.key.is_some())
            .finish()
    }
}

impl<T> Unpin for Put<'_, T> {}

impl<T> Future for Put<'_, T> {
    type Output = Result<(), PutError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let p = Self::unrecorded_poll(self, cx);
        crate::waiting::channel(
            cx,
            &p,
            crate::waiting::ChannelKind::Queue,
            crate::waiting::ChannelOp::Send,
        );
        p
    }
}

impl<T> Put<'_, T> {
    /// The poll itself; `poll` records what it waits on for task dumps (`waiting.rs`).
    #[inline]
    fn unrecorded_poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<<Self as Future>::Output> {
        let this = self.get_mut();
        this.core
            .poll_put(&mut this.slot, cx)
            .map(|r| r.map_err(PutError::Closed))
    }
}

impl<T> Drop for Put<'_, T> {
    fn drop(&mut self) {
        self.core.cancel_put(&mut self.slot);
    }
}

/// Future of [`Queue::get`].
#[must_use = "futures do nothing unless polled"]
pub struct Get<'a, T> {
    core: &'a Core<T>,
    key: Option<usize>,
}

impl<T> fmt::Debug for Get<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

impl<T> Future for Get<'_, T> {
    type Output = Result<T, GetError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let p = Self::unrecorded_poll(self, cx);
        crate::waiting::channel(
            cx,
            &p,
            crate::waiting::ChannelKind::Queue,
            crate::waiting::ChannelOp::Recv,
        );
        p
    }
}

impl<T> Get<'_, T> {
    /// The poll itself; `poll` records what it waits on for task dumps (`waiting.rs`).
    #[inline]
    fn unrecorded_poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<<Self as Future>::Output> {
        let this = self.get_mut();
        this.core.poll_get(&mut this.key, cx).map(|r| {
            r.map_err(|e| {
                debug_assert_eq!(e, NoValue::Closed);
                GetError::Closed
            })
        })
    }
}

impl<T> Drop for Get<'_, T> {
    fn drop(&mut self) {
        self.core.cancel_get(&mut self.key);
    }
}

/// Future of [`Queue::join`].
#[must_use = "futures do nothing unless polled"]
pub struct Join<'a, T> {
    core: &'a Core<T>,
    key: Option<usize>,
}

impl<T> fmt::Debug for Join<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

impl<T> Future for Join<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let p = Self::unrecorded_poll(self, cx);
        crate::waiting::sync(cx, &p, crate::waiting::SyncKind::QueueJoin, None);
        p
    }
}

impl<T> Join<'_, T> {
    /// The poll itself; `poll` records what it waits on for task dumps (`waiting.rs`).
    #[inline]
    fn unrecorded_poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.core.poll_join(&mut this.key, cx)
    }
}

impl<T> Drop for Join<'_, T> {
    fn drop(&mut self) {
        self.core.cancel_join(&mut self.key);
    }
}
