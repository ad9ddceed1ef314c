//! [`ThreadPool`]: `concurrent.futures.ThreadPoolExecutor`.
//!
//! # Design
//!
//! - **Queue.** Submitted tasks go to one unbounded multi-consumer channel of `c10k-sync`
//!   (lock-free store; an idle worker parks in the channel and is handed the next task).
//!   A task and its future's state are one allocation (`task.rs`).
//! - **Fixed** (`workers(n)`): `n` threads start in `build` and live until shutdown. A submit
//!   is a channel send and nothing else.
//! - **Growing** (`max_workers(m)`): `workers` threads start in `build` (possibly none); a
//!   submit that finds no idle thread starts one, up to `m`; a thread idle for `keep_alive`
//!   exits while more than `workers` live. The bookkeeping is a small mutex (`Workers`):
//!   1. a worker about to wait adds one *idle token*; when it gets a task it removes one if
//!      any is left (a submitter may have taken it already);
//!   2. a submit sends first, then takes an idle token if there is one (an idle worker will
//!      get the task), else starts a thread if fewer than `m` live;
//!   3. a worker whose wait times out exits only if an idle token is left to remove (nobody
//!      counts on it) and more than `workers` live; otherwise it waits again.
//!
//!   Because the send comes before step 2 and an exit removes a token in the same critical
//!   section as it lowers the live count, a sent task always has a live thread that will
//!   receive it.
//! - **Shutdown** (numbered as `shutdown` runs it): 1. mark the pool shut (new submits fail
//!   with [`PoolError::Shutdown`]) and close the channel; 2. with `cancel_futures`, take every
//!   queued task out and cancel it; 3. workers run what is left in the channel, then exit;
//!   4. with `wait`, join them (except the calling thread, if it is a worker of this pool).
//! - **Broken.** If the initializer panics in a worker, the pool breaks, as Python's
//!   `BrokenThreadPool`: new submits and every task not started yet fail with
//!   [`PoolError::BrokenPool`] naming the panic.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use c10k_sync::channel::mpmc::{self, Receiver, Sender};
use c10k_sync::channel::RecvTimeoutError;

use crate::error::PoolError;
use crate::future::PoolFuture;

mod map;
mod task;

pub use map::Map;

use task::Job;

/// The pool accepts work.
const OPEN: u8 = 0;
/// `shutdown` was called.
const SHUT: u8 = 1;
/// The initializer failed in a worker.
const BROKEN: u8 = 2;

/// Items that [`ThreadPool::map`] keeps in flight at least (in whole chunks).
///
/// With small chunks, a window of a few chunks holds a few microseconds of work: the calling
/// thread then waits for (and wakes up after) nearly every chunk, and a worker finds the
/// queue empty as often, and each of those waits is a context switch. A window of this many
/// items keeps both busy: `map` over 1 000 000 cheap items with chunksize 1024 on 2 workers
/// went from about 570 context switches to about 100, and from 5.8 to 3.7 ms of CPU
/// (`perf stat`, `BENCHMARKS.md`). [`ThreadPool::map_buffered`] sets the window exactly.
pub const MAP_ITEMS_IN_FLIGHT: usize = 32 * 1024;

/// How long a thread of a growing pool, beyond its `workers`, stays idle before it exits.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(60);

type Initializer = Arc<dyn Fn() + Send + Sync>;

/// A pool of worker threads running submitted closures: `ThreadPoolExecutor`.
///
/// - [`submit`](Self::submit) returns a [`PoolFuture`] (blocking `result`, `.await`,
///   done-callbacks, `cancel`).
/// - [`map`](Self::map) applies a function to every item of an iterator, in chunks, and
///   yields the results in order, lazily.
/// - A panic in a task is that task's [`PoolError::Panicked`]; the worker goes on.
/// - [`shutdown`](Self::shutdown)`(wait, cancel_futures)`, and dropping the pool shuts it
///   down and waits for its queued work (Python's `with ThreadPoolExecutor() as pool:`).
///
/// `ThreadPool` is `Send + Sync`: share it by reference or in an `Arc`.
///
/// # Examples
///
/// The tutorial's `pool.submit(task, i)` then `future.result()`:
///
/// ```
/// use c10k_pool::ThreadPool;
///
/// let pool = ThreadPool::builder().workers(3).name_prefix("demo").build()?;
/// let futures: Vec<_> = (0..5).map(|i| pool.submit(move || i + 10)).collect();
/// let results: Vec<i32> = futures.into_iter().map(|f| f.result().unwrap()).collect();
/// assert_eq!(results, [10, 11, 12, 13, 14]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ThreadPool {
    shared: Arc<PoolShared>,
}

struct PoolShared {
    tx: Sender<Arc<dyn Job>>,
    rx: Receiver<Arc<dyn Job>>,
    /// `OPEN`, `SHUT` or `BROKEN`.
    state: AtomicU8,
    /// Why the pool broke (set once, before `state` becomes `BROKEN`).
    broken: Mutex<Option<String>>,
    workers: Mutex<Workers>,
    /// `Some(max)` for a growing pool.
    max_workers: Option<usize>,
    min_workers: usize,
    keep_alive: Duration,
    name_prefix: String,
    stack_size: Option<usize>,
    initializer: Option<Initializer>,
    next_thread: AtomicUsize,
}

/// The threads' bookkeeping (see "Growing" in the module docs).
struct Workers {
    live: usize,
    idle_tokens: usize,
    handles: Vec<JoinHandle<()>>,
}

/// Configures a [`ThreadPool`]: `ThreadPool::builder()`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// // Starts with no thread; grows to 8 under load; threads idle for 5 s exit.
/// let pool = c10k_pool::ThreadPool::builder()
///     .workers(0)
///     .max_workers(8)
///     .keep_alive(Duration::from_secs(5))
///     .name_prefix("fetch")
///     .initializer(|| println!("{} ready", std::thread::current().name().unwrap()))
///     .build()?;
/// assert_eq!(pool.submit(|| 1).result(), Ok(1));
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "a builder does nothing until build()"]
pub struct Builder {
    workers: Option<usize>,
    max_workers: Option<usize>,
    keep_alive: Duration,
    name_prefix: String,
    stack_size: Option<usize>,
    initializer: Option<Initializer>,
}

impl Builder {
    /// Threads started by `build`: the pool's size when fixed, its floor when growing.
    /// Default: the machine's available parallelism (fixed), or 0 (growing).
    pub fn workers(mut self, n: usize) -> Builder {
        self.workers = Some(n);
        self
    }

    /// Makes the pool grow on demand up to `max` threads (Python's default behaviour, whose
    /// `max_workers` this is).
    pub fn max_workers(mut self, max: usize) -> Builder {
        self.max_workers = Some(max);
        self
    }

    /// How long a thread of a growing pool beyond `workers` waits for work before it exits
    /// (default [`DEFAULT_KEEP_ALIVE`]). Ignored by a fixed pool.
    pub fn keep_alive(mut self, keep_alive: Duration) -> Builder {
        self.keep_alive = keep_alive;
        self
    }

    /// Threads are named `<prefix>-<n>` (default prefix `pool`), Python's
    /// `thread_name_prefix`.
    pub fn name_prefix(mut self, prefix: impl Into<String>) -> Builder {
        self.name_prefix = prefix.into();
        self
    }

    /// Stack size of the worker threads (default: Rust's default, 2 MiB).
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Runs `f` at the start of every worker thread, before it takes work. If it panics,
    /// the pool breaks: new submits and every task not started yet fail with
    /// [`PoolError::BrokenPool`].
    pub fn initializer<F>(mut self, f: F) -> Builder
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.initializer = Some(Arc::new(f));
        self
    }

    /// Starts the pool's initial threads.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) for a fixed pool of 0 threads or a
    /// `max_workers` of 0 or below `workers`; the OS error if a thread cannot be started.
    pub fn build(self) -> io::Result<ThreadPool> {
        let invalid = |msg: &str| io::Error::new(io::ErrorKind::InvalidInput, msg.to_owned());
        let min_workers = match (self.workers, self.max_workers) {
            (Some(n), _) => n,
            (None, Some(_)) => 0,
            (None, None) => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        match self.max_workers {
            None if min_workers == 0 => {
                return Err(invalid("a fixed thread pool needs at least one worker"))
            }
            Some(0) => return Err(invalid("max_workers must be at least 1")),
            Some(max) if max < min_workers => {
                return Err(invalid("max_workers must be at least workers"))
            }
            _ => {}
        }
        let (tx, rx) = mpmc::unbounded();
        let shared = Arc::new(PoolShared {
            tx,
            rx,
            state: AtomicU8::new(OPEN),
            broken: Mutex::new(None),
            workers: Mutex::new(Workers {
                live: 0,
                idle_tokens: 0,
                handles: Vec::new(),
            }),
            max_workers: self.max_workers,
            min_workers,
            keep_alive: self.keep_alive,
            name_prefix: self.name_prefix,
            stack_size: self.stack_size,
            initializer: self.initializer,
            next_thread: AtomicUsize::new(0),
        });
        let pool = ThreadPool { shared };
        {
            let mut w = lock(&pool.shared.workers);
            for _ in 0..min_workers {
                if let Err(e) = pool.shared.start_worker(&mut w) {
                    drop(w);
                    pool.shutdown(true, true);
                    return Err(e);
                }
            }
        }
        Ok(pool)
    }
}

impl ThreadPool {
    /// A fixed pool of `workers` threads named `pool-<n>`.
    ///
    /// # Errors
    ///
    /// As [`Builder::build`].
    pub fn new(workers: usize) -> io::Result<ThreadPool> {
        ThreadPool::builder().workers(workers).build()
    }

    /// A builder: thread count, growth, names, initializer.
    pub fn builder() -> Builder {
        Builder {
            workers: None,
            max_workers: None,
            keep_alive: DEFAULT_KEEP_ALIVE,
            name_prefix: "pool".to_owned(),
            stack_size: None,
            initializer: None,
        }
    }

    /// Schedules `f` on a worker and returns its future.
    ///
    /// After [`shutdown`](Self::shutdown) the future is already failed with
    /// [`PoolError::Shutdown`] (Python raises at `submit`; here the error arrives through
    /// the future, so a submit never panics), and in a broken pool with
    /// [`PoolError::BrokenPool`].
    pub fn submit<F, T>(&self, f: F) -> PoolFuture<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let shared = &self.shared;
        if shared.state.load(Ordering::Acquire) != OPEN {
            return PoolFuture::failed(shared.refusal());
        }
        let (job, fut) = task::new(f);
        if let Err(e) = shared.tx.try_send(job) {
            // Shut down meanwhile (the channel is unbounded: never full).
            e.into_inner().fail(shared.refusal());
            return fut;
        }
        if shared.max_workers.is_some() {
            shared.grow();
        }
        fut
    }

    /// Applies `f` to every item of `items` on the pool, `chunksize` items per task, and
    /// yields the results **in input order**, lazily: `Executor.map`.
    ///
    /// Items are read from `items` on the calling thread as results are consumed, keeping
    /// `2 × workers` chunks (at least 4) in flight, or as many as hold [`MAP_ITEMS_IN_FLIGHT`]
    /// items if that is more, so a long input is never held in memory at once (Python submits everything up front; its `buffersize` is
    /// [`map_buffered`](Self::map_buffered) here). Each result is a `Result`: an item whose
    /// call panicked gives its own [`PoolError::Panicked`] and the others are unaffected.
    /// Dropping the iterator cancels the chunks that have not started.
    ///
    /// A `chunksize` of 0 is taken as 1.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = c10k_pool::ThreadPool::new(2)?;
    /// let squares: Vec<u64> = pool
    ///     .map(|x: u64| x * x, 0..1000, 64)
    ///     .map(Result::unwrap)
    ///     .collect();
    /// assert_eq!(squares[999], 998_001);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn map<F, I, R>(&self, f: F, items: I, chunksize: usize) -> Map<'_, I::IntoIter, F, R>
    where
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        I: IntoIterator,
        I::Item: Send + 'static,
        R: Send + 'static,
    {
        let chunks = MAP_ITEMS_IN_FLIGHT / chunksize.max(1);
        let window = (2 * self.max_threads()).max(4).max(chunks);
        self.map_buffered(f, items, chunksize, window)
    }

    /// [`map`](Self::map) with at most `buffer` chunks in flight (at least 1), Python 3.14's
    /// `buffersize`.
    pub fn map_buffered<F, I, R>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
        buffer: usize,
    ) -> Map<'_, I::IntoIter, F, R>
    where
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        I: IntoIterator,
        I::Item: Send + 'static,
        R: Send + 'static,
    {
        Map::new(
            self,
            Arc::new(f),
            items.into_iter(),
            chunksize.max(1),
            buffer.max(1),
        )
    }

    /// Shuts the pool down (numbered in the module docs): no new work is accepted; with
    /// `cancel_futures`, every task that has not started is cancelled (its future gets
    /// [`PoolError::Cancelled`]); the others run to completion; with `wait`, this returns
    /// once every worker thread has exited. Calling it again is harmless.
    ///
    /// Called from a task of this pool, `wait` does not wait for the calling thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = c10k_pool::ThreadPool::new(2)?;
    /// let fut = pool.submit(|| "finished");
    /// pool.shutdown(true, false);
    /// assert_eq!(fut.result(), Ok("finished")); // queued work still ran
    /// assert!(pool.submit(|| ()).result().is_err()); // PoolError::Shutdown
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) {
        let shared = &self.shared;
        let _ = shared
            .state
            .compare_exchange(OPEN, SHUT, Ordering::AcqRel, Ordering::Acquire);
        shared.rx.close();
        if cancel_futures {
            while let Ok(job) = shared.rx.try_recv() {
                job.cancel();
            }
        }
        if wait {
            shared.join_workers();
        }
    }

    /// Whether [`shutdown`](Self::shutdown) was called (or the pool broke).
    pub fn is_shutdown(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) != OPEN
    }

    /// Whether the pool is broken (its initializer failed).
    pub fn is_broken(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) == BROKEN
    }

    /// Worker threads alive now.
    pub fn threads(&self) -> usize {
        lock(&self.shared.workers).live
    }

    /// Tasks waiting in the queue now (a snapshot).
    pub fn queued(&self) -> usize {
        self.shared.rx.len()
    }

    /// The most threads this pool runs: its size, or its `max_workers`.
    pub fn max_threads(&self) -> usize {
        self.shared.max_workers.unwrap_or(self.shared.min_workers)
    }
}

impl Drop for ThreadPool {
    /// `shutdown(true, false)`: queued work runs, then the threads are joined.
    fn drop(&mut self) {
        self.shutdown(true, false);
    }
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPool")
            .field("name_prefix", &self.shared.name_prefix)
            .field("threads", &self.threads())
            .field("max_threads", &self.max_threads())
            .field("queued", &self.queued())
            .field("shutdown", &self.is_shutdown())
            .finish()
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("workers", &self.workers)
            .field("max_workers", &self.max_workers)
            .field("keep_alive", &self.keep_alive)
            .field("name_prefix", &self.name_prefix)
            .field("initializer", &self.initializer.is_some())
            .finish()
    }
}

impl PoolShared {
    /// The error for work refused or abandoned by a shut or broken pool.
    fn refusal(&self) -> PoolError {
        if self.state.load(Ordering::Acquire) == BROKEN {
            let why = lock(&self.broken).clone().unwrap_or_default();
            PoolError::BrokenPool(why)
        } else {
            PoolError::Shutdown
        }
    }

    /// Step 2 of "Growing": after a send.
    fn grow(self: &Arc<Self>) {
        let max = self.max_workers.unwrap_or(0);
        let mut w = lock(&self.workers);
        if w.idle_tokens > 0 {
            w.idle_tokens -= 1;
        } else if w.live < max {
            // A failure to start a thread leaves the task queued for the threads alive or
            // the next submit's attempt.
            let _ = self.start_worker(&mut w);
        }
    }

    /// Starts a worker; the caller holds `workers`, so `live` and `handles` agree.
    fn start_worker(self: &Arc<Self>, w: &mut Workers) -> io::Result<()> {
        let n = self.next_thread.fetch_add(1, Ordering::Relaxed);
        let mut builder = std::thread::Builder::new().name(format!("{}-{n}", self.name_prefix));
        if let Some(size) = self.stack_size {
            builder = builder.stack_size(size);
        }
        let shared = Arc::clone(self);
        let handle = builder.spawn(move || shared.work())?;
        w.live += 1;
        w.handles.retain(|h| !h.is_finished());
        w.handles.push(handle);
        Ok(())
    }

    /// A worker thread's life.
    fn work(self: Arc<Self>) {
        /// Lowers `live` when the thread ends, unless the exit already did (under the same
        /// lock as its decision, step 3 of "Growing").
        struct Exit<'a> {
            shared: &'a PoolShared,
            counted: bool,
        }
        impl Drop for Exit<'_> {
            fn drop(&mut self) {
                if !self.counted {
                    lock(&self.shared.workers).live -= 1;
                }
            }
        }
        let mut exit = Exit {
            shared: &self,
            counted: false,
        };
        if let Some(init) = &self.initializer {
            if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| init()))
            {
                let why = match PoolError::from_panic(payload) {
                    PoolError::Panicked(msg) => msg,
                    other => other.to_string(),
                };
                self.break_pool(format!("the initializer panicked: {why}"));
                return;
            }
        }
        if self.max_workers.is_none() {
            while let Ok(job) = self.rx.recv_blocking() {
                self.run(&*job);
            }
        } else {
            exit.counted = self.work_growing();
        }
    }

    fn run(&self, job: &dyn Job) {
        if self.state.load(Ordering::Relaxed) == BROKEN {
            job.fail(self.refusal());
        } else {
            job.run();
        }
    }

    /// Steps 1 and 3 of "Growing"; returns whether it lowered `live` itself.
    fn work_growing(&self) -> bool {
        loop {
            lock(&self.workers).idle_tokens += 1;
            match self.rx.recv_blocking_timeout(self.keep_alive) {
                Ok(job) => {
                    {
                        let mut w = lock(&self.workers);
                        w.idle_tokens = w.idle_tokens.saturating_sub(1);
                    }
                    self.run(&*job);
                }
                Err(RecvTimeoutError::Timeout) => {
                    let mut w = lock(&self.workers);
                    if w.idle_tokens > 0 && w.live > self.min_workers {
                        w.idle_tokens -= 1;
                        w.live -= 1;
                        return true;
                    }
                    // Someone counts on this thread (or it is one of the floor): wait again
                    // (the loop adds a fresh token, so give this one back).
                    w.idle_tokens = w.idle_tokens.saturating_sub(1);
                }
                Err(_) => {
                    // Closed and drained: shutdown.
                    let mut w = lock(&self.workers);
                    w.idle_tokens = w.idle_tokens.saturating_sub(1);
                    return false;
                }
            }
        }
    }

    /// The initializer failed: break the pool and fail everything queued.
    fn break_pool(&self, why: String) {
        {
            let mut broken = lock(&self.broken);
            if broken.is_none() {
                *broken = Some(why);
            }
        }
        self.state.store(BROKEN, Ordering::Release);
        self.rx.close();
        while let Ok(job) = self.rx.try_recv() {
            job.fail(self.refusal());
        }
    }

    /// Step 4 of shutdown: joins every worker but the calling thread.
    fn join_workers(&self) {
        let me = std::thread::current().id();
        loop {
            let handles = std::mem::take(&mut lock(&self.workers).handles);
            if handles.is_empty() {
                return;
            }
            for h in handles {
                if h.thread().id() != me {
                    let _ = h.join();
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
