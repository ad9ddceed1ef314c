//! [`ProcessPool`]: `concurrent.futures.ProcessPoolExecutor` on c10k-process.
//!
//! # Why here, on top of `c10k-process`
//!
//! Both pools hand out the same [`PoolFuture`] (callbacks, `await`, `as_completed`,
//! `wait`), so the process pool lives beside the thread pool in this crate, one layer above
//! `c10k-process`, whose public API (`Process`, `Entry`, `Queue`, `run_registered`) it uses
//! as any program would. The process crate stays free of futures and callbacks.
//!
//! # How it works
//!
//! ```text
//!  submit ──► backlog (parent) ──► jobs: Queue<Job> (shared memory) ──► worker processes
//!                                                                          │
//!  futures ◄── collector thread ◄── done: Queue<Done> (shared memory) ◄────┘
//!                                          ▲
//!  manager thread: starts workers, watches their exit fds (poll), replaces the ones that
//!  retired after max_tasks_per_child, reports the ones that died (Done::Died)
//! ```
//!
//! 1. **Submit.** The arguments are encoded (postcard) in the caller's thread. Under the
//!    state lock, the job's pending entry is recorded, and the job goes into the shared jobs
//!    queue if it has room and no older job waits in the backlog, or into the backlog. A job
//!    in the shared queue is *running* (a worker may take it at any moment), so
//!    [`PoolFuture::cancel`] succeeds only while it is in the backlog, as Python's call queue
//!    does. The shared queue holds [`Builder::queue_depth`] jobs.
//! 2. **Collect.** One collector thread takes `Done` messages in order: a result completes
//!    its future (decoding the value into the entry's type; done-callbacks run on this
//!    thread) and moves backlog jobs into the freed room.
//! 3. **Death.** The manager thread `poll`s every worker's exit descriptor. A worker that
//!    exits cleanly (it ran `max_tasks_per_child` jobs, or the queue closed) is replaced
//!    while the pool is open. Any other end is put as `Done::Died` into the same results
//!    queue, *after* whatever the worker sent before dying, so results already sent are
//!    delivered; the collector then breaks the pool: every pending future fails with
//!    [`PoolError::BrokenPool`], the backlog is dropped, the jobs queue is closed, the
//!    other workers are terminated, and `submit` returns failed futures from then on.
//! 4. **Shutdown.** [`ProcessPool::shutdown`] marks the pool closing (new submits fail with
//!    [`PoolError::Shutdown`]), cancels the backlog if asked, and closes the jobs queue once
//!    the backlog is in it. Workers drain the queue and return; when none is left the manager
//!    sends `Done::Stop` and both threads end; `wait` joins them.
//!
//! The manager thread starts every worker, also the first ones: a daemon child is tied to the
//! thread that started it (`PR_SET_PDEATHSIG`), and that thread lives exactly as long as the
//! pool, whichever thread built it.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use c10k_process::{Bytes, Entry, GetError, PutError, Queue, Registered, StartMethod};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::PoolError;
use crate::future::{Inner, PoolFuture};

mod manager;
mod map;
mod mp;
mod worker;

pub use map::ProcessMap;
pub use mp::Pool;
pub use worker::PROCESS_WORKER;
use worker::{remote_error, Done, Job};

/// The default [`Builder::queue_depth`] per worker: deep enough that trivial tasks keep the
/// workers busy (2 workers: about 85 000 tasks/s with 4 per worker, 150 000–230 000 with
/// 16, on 2 busy vCPUs), shallow enough that most of a large submission stays cancellable.
pub const DEFAULT_QUEUE_DEPTH_PER_WORKER: usize = 16;

/// Builds a [`ProcessPool`].
#[derive(Debug, Clone)]
pub struct Builder {
    workers: usize,
    method: Option<StartMethod>,
    name_prefix: String,
    max_tasks_per_child: u64,
    queue_depth: Option<usize>,
    max_job_bytes: u32,
    max_result_bytes: u32,
    init: Option<(String, Bytes)>,
    init_error: Option<String>,
}

/// The default [`Builder::max_job_bytes`] and [`Builder::max_result_bytes`]: what the
/// process crate's default queue ring holds in one item (1 MiB less its framing).
pub const DEFAULT_MAX_MESSAGE_BYTES: u32 = c10k_process::DEFAULT_BUFFER_BYTES - RING_FRAMING;

/// What a queue ring keeps for itself beside its largest item (see
/// `c10k_process::QueueBuilder::buffer_bytes`).
const RING_FRAMING: u32 = 32;

impl Builder {
    /// Worker processes (Python's `max_workers`); default: the number of CPUs. At least 1.
    #[must_use]
    pub fn workers(mut self, n: usize) -> Builder {
        self.workers = n.max(1);
        self
    }

    /// How workers start (Python's `mp_context`); default: the process crate's default
    /// ([`c10k_process::default_start_method`]).
    #[must_use]
    pub fn start_method(mut self, method: StartMethod) -> Builder {
        self.method = Some(method);
        self
    }

    /// The workers' names are `PREFIX-N` (`current_process().name` in a worker); default
    /// `ProcessPool`.
    #[must_use]
    pub fn name_prefix(mut self, prefix: impl Into<String>) -> Builder {
        self.name_prefix = prefix.into();
        self
    }

    /// A worker exits after this many jobs and a fresh one replaces it (Python's
    /// `max_tasks_per_child`); 0, the default, means never. A chunk of [`ProcessPool::map`]
    /// counts as one job.
    #[must_use]
    pub fn max_tasks_per_child(mut self, n: u64) -> Builder {
        self.max_tasks_per_child = n;
        self
    }

    /// Jobs at most in the shared queue the workers take from; default
    /// [`DEFAULT_QUEUE_DEPTH_PER_WORKER`] per worker. Jobs beyond wait in the pool's backlog,
    /// where they can still be cancelled; a deeper queue keeps workers busier when tasks are
    /// tiny, a shallower one keeps more work cancellable.
    #[must_use]
    pub fn queue_depth(mut self, n: usize) -> Builder {
        self.queue_depth = Some(n.max(1));
        self
    }

    /// The largest job the pool sends, in encoded bytes: a `submit`'s argument, or a `map`
    /// chunk's arguments together, plus the entry's name and a few bytes of framing; default
    /// [`DEFAULT_MAX_MESSAGE_BYTES`] (1 MiB). A larger job is not sent: its future fails at
    /// once with [`PoolError::Failed`] naming both sizes, and nothing else is affected. The
    /// shared jobs ring is this size (plus 32 bytes), touched only as it is used.
    #[must_use]
    pub fn max_job_bytes(mut self, n: u32) -> Builder {
        self.max_job_bytes = n.clamp(64, u32::MAX - 2 * RING_FRAMING);
        self
    }

    /// The largest result a worker sends back, in encoded bytes (a `submit`'s value, or a
    /// `map` chunk's values together, plus framing); default [`DEFAULT_MAX_MESSAGE_BYTES`]
    /// (1 MiB). A larger result is not sent: that job's future (or each item of that chunk)
    /// fails with [`PoolError::Failed`] naming both sizes; the worker goes on.
    #[must_use]
    pub fn max_result_bytes(mut self, n: u32) -> Builder {
        self.max_result_bytes = n.clamp(64, u32::MAX - 2 * RING_FRAMING);
        self
    }

    /// Each worker runs `entry(args)` once before its first job (Python's `initializer` and
    /// `initargs`). If it panics, the pool breaks: every future fails with
    /// [`PoolError::BrokenPool`] naming the panic.
    #[must_use]
    pub fn initializer<A: Serialize>(mut self, entry: &'static Entry<A, ()>, args: A) -> Builder
    where
        Entry<A, ()>: Registered,
    {
        match c10k_process::encode(&args) {
            Ok(b) => self.init = Some((entry.name().to_owned(), Bytes::from(b))),
            Err(e) => self.init_error = Some(format!("the initializer's arguments: {e}")),
        }
        self
    }

    /// Starts the workers.
    ///
    /// # Errors
    ///
    /// `NotFound` if [`PROCESS_WORKER`] is not listed in [`c10k_process::init`] (or `init`
    /// was not called); `InvalidInput` if the initializer's arguments did not serialize;
    /// the system's error creating the queues, the threads or the processes.
    pub fn build(self) -> io::Result<ProcessPool> {
        if let Some(e) = self.init_error {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, e));
        }
        let depth = self
            .queue_depth
            .unwrap_or(self.workers * DEFAULT_QUEUE_DEPTH_PER_WORKER);
        // Both queues carry turns (a job, then its result): their waiters yield the CPU
        // while they spin, so that the side they wait for can run (see
        // `QueueBuilder::turn_taking`: 117 µs → 21 µs for a round trip on 2 busy vCPUs).
        let jobs: Queue<Job> = Queue::<Job>::builder()
            .capacity(depth.min(u32::MAX as usize) as u32)
            .buffer_bytes(self.max_job_bytes + RING_FRAMING)
            .turn_taking(true)
            .build()?;
        let done: Queue<Done> = Queue::<Done>::builder()
            .buffer_bytes(self.max_result_bytes + RING_FRAMING)
            .turn_taking(true)
            .build()?;
        let shared = Arc::new(Shared {
            jobs,
            done,
            next_id: AtomicU64::new(0),
            pending: Mutex::new(HashMap::new()),
            needs_refill: AtomicBool::new(false),
            state: Mutex::new(State {
                backlog: VecDeque::new(),
                closing: false,
                broken: None,
            }),
            threads: Mutex::new(Vec::new()),
            workers: self.workers,
            ctl: manager::Control::new()?,
        });
        let config = manager::Config {
            workers: self.workers,
            method: self
                .method
                .unwrap_or_else(c10k_process::default_start_method),
            name_prefix: self.name_prefix,
            max_tasks: self.max_tasks_per_child,
            init: self.init,
        };
        let manager = manager::start(shared.clone(), config)?;
        let collector = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("c10k-ppool-collect".into())
                .spawn(move || collect(&shared))
        };
        let collector = match collector {
            Ok(c) => c,
            Err(e) => {
                shared.break_pool("the collector thread could not start".into());
                shared.ctl.request(manager::Request::Terminate);
                let _ = manager.join();
                return Err(e);
            }
        };
        lock(&shared.threads).extend([manager, collector]);
        Ok(ProcessPool { shared })
    }
}

/// A pool of worker processes running registered functions: Python's
/// `ProcessPoolExecutor` (and, through [`Pool`], `multiprocessing.Pool`).
///
/// A task is a registered [`Entry`] and its argument, both serde: the argument travels to
/// a worker through a shared-memory queue and the value comes back the same way, as a
/// [`PoolFuture`] that can be waited on, awaited from a task (this is the process pool's
/// `run_in_executor`), given done-callbacks, or watched with [`as_completed`](crate::as_completed)
/// and [`wait`](crate::wait). The program lists [`PROCESS_WORKER`] and its entries in
/// [`c10k_process::init`], first in `main`.
///
/// See the module docs of `process/mod.rs` for the protocol; in short: a panic in a task is
/// that future's [`PoolError::Panicked`]; a worker that dies abruptly breaks the pool
/// ([`PoolError::BrokenPool`] on every pending future, and on every later submit: build a new
/// pool); dropping the pool is `shutdown(true, false)`.
///
/// # Examples
///
/// ```no_run
/// use c10k_pool::ProcessPool;
/// use c10k_process::Entry;
///
/// fn square(x: u64) -> u64 {
///     x * x
/// }
/// static SQUARE: Entry<u64, u64> = Entry::new("square", square);
///
/// fn main() -> std::io::Result<()> {
///     c10k_process::init(&[c10k_pool::PROCESS_WORKER, &SQUARE]);
///     let pool = ProcessPool::new(2)?;
///     let fut = pool.submit(&SQUARE, 7);
///     fut.add_done_callback(|r| println!("call_back {r:?}"));
///     assert_eq!(fut.result(), Ok(49));
///     let squares: Vec<u64> = pool.map(&SQUARE, 0..10, 4).map(|r| r.unwrap()).collect();
///     assert_eq!(squares[9], 81);
///     Ok(())
/// }
/// ```
pub struct ProcessPool {
    shared: Arc<Shared>,
}

/// What the pool's handle, its collector and its manager share.
pub(crate) struct Shared {
    pub(crate) jobs: Queue<Job>,
    pub(crate) done: Queue<Done>,
    next_id: AtomicU64,
    /// Every job submitted and not yet answered, by id. A lock of its own, taken briefly
    /// and never around a system call, so that the collector's usual path (take the job's
    /// future out) never waits for a submit, which holds `state` across the put and the
    /// `futex` wake of a worker (a wake that often hands the CPU to that worker at once).
    /// Lock order: `state`, then `pending`.
    pending: Mutex<HashMap<u64, Box<dyn Pending>>>,
    /// Whether the collector must take `state` after a result: the backlog is not empty,
    /// or the pool is closing. Written under `state`; see [`Shared::enqueue`] for why the
    /// collector's unlocked look cannot miss a job.
    needs_refill: AtomicBool,
    state: Mutex<State>,
    /// The manager's and the collector's join handles, taken by the first waiting shutdown.
    threads: Mutex<Vec<JoinHandle<()>>>,
    workers: usize,
    pub(crate) ctl: manager::Control,
}

/// Guarded by `Shared::state`.
struct State {
    /// Jobs waiting for room in the shared queue, oldest first, each with whether its
    /// future was moved to `RUNNING` already (by a refill that then found the queue full).
    backlog: VecDeque<(Job, bool)>,
    /// `shutdown` was called: refuse new work, close the jobs queue once the backlog is in.
    closing: bool,
    /// Why the pool broke.
    broken: Option<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A job's future, with its result type erased for the collector.
trait Pending: Send {
    /// `PENDING` → `RUNNING` as the job enters the shared queue; `false` if cancelled.
    fn start(&self) -> bool;
    /// Completes the future from the job's outcomes, or fails it.
    fn finish(self: Box<Self>, outcomes: Result<Vec<Result<Bytes, String>>, PoolError>);
    /// Cancels the future of a job still in the backlog.
    fn cancel(&self) -> bool;
}

fn decode_one<R: DeserializeOwned>(outcome: Result<Bytes, String>) -> Result<R, PoolError> {
    match outcome {
        Ok(bytes) => c10k_process::decode(&bytes)
            .map_err(|e| PoolError::Failed(format!("the value did not decode: {e}"))),
        Err(why) => Err(remote_error(why)),
    }
}

/// `n` copies of `e` as item outcomes.
pub(crate) fn errors<R>(e: &PoolError, n: usize) -> Vec<Result<R, PoolError>> {
    (0..n).map(|_| Err(e.clone())).collect()
}

/// One `submit`.
struct One<R>(Arc<Inner<R>>);

impl<R: DeserializeOwned + Send + 'static> Pending for One<R> {
    fn start(&self) -> bool {
        self.0.set_running()
    }
    fn cancel(&self) -> bool {
        self.0.cancel()
    }
    fn finish(self: Box<Self>, outcomes: Result<Vec<Result<Bytes, String>>, PoolError>) {
        let outcome = outcomes.and_then(|v| {
            let first = v
                .into_iter()
                .next()
                .ok_or_else(|| PoolError::Failed("the worker sent no outcome".into()))?;
            decode_one(first)
        });
        self.0.complete(outcome);
    }
}

/// A chunk of `map`: one outcome per item, also when the whole job failed (each of its
/// `n` items then carries the error), so the chunk's future fails only when cancelled.
struct Chunk<R>(Arc<Inner<Vec<Result<R, PoolError>>>>, usize);

impl<R: DeserializeOwned + Send + 'static> Pending for Chunk<R> {
    fn start(&self) -> bool {
        self.0.set_running()
    }
    fn cancel(&self) -> bool {
        self.0.cancel()
    }
    fn finish(self: Box<Self>, outcomes: Result<Vec<Result<Bytes, String>>, PoolError>) {
        let values = match outcomes {
            Ok(v) => v.into_iter().map(decode_one).collect(),
            Err(e) => errors(&e, self.1),
        };
        self.0.complete(Ok(values));
    }
}

impl Shared {
    /// Step 1 of the protocol, for a job whose future is `pending`.
    fn enqueue(
        &self,
        entry: &'static str,
        args: Vec<Bytes>,
        pending: Box<dyn Pending>,
    ) -> Result<(), PoolError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let job = Job {
            id,
            entry: entry.to_owned(),
            args,
        };
        let mut st = lock(&self.state);
        if let Some(why) = &st.broken {
            return Err(PoolError::BrokenPool(why.clone()));
        }
        if st.closing {
            return Err(PoolError::Shutdown);
        }
        // Recorded before the job can reach a worker, so that its result finds it.
        lock(&self.pending).insert(id, pending);
        let refused = |e: PoolError| {
            lock(&self.pending).remove(&id);
            Err(e)
        };
        if st.backlog.is_empty() {
            match self.jobs.try_put(job) {
                Ok(()) => {
                    // `PENDING` → `RUNNING`, unless the result came back first (then the
                    // collector took the entry out and completed the future already).
                    if let Some(p) = lock(&self.pending).get(&id) {
                        p.start();
                    }
                    return Ok(());
                }
                Err(PutError::Full(job)) => st.backlog.push_back((job, false)),
                Err(PutError::Closed(_)) => return refused(PoolError::Shutdown),
                Err(PutError::Invalid(_, e)) => {
                    return refused(PoolError::Failed(format!(
                        "the arguments cannot travel: {e}"
                    )))
                }
                Err(_) => return refused(PoolError::Failed("the job could not be queued".into())),
            }
        } else {
            st.backlog.push_back((job, false));
        }
        // The collector looks at `needs_refill` without the lock, after each result. If it
        // looked before this store, the room that result's worker made by taking its job is
        // visible here (the SeqCst store and the collector's SeqCst fence order the two
        // looks), so the refill below moves the job itself: a job never waits in the
        // backlog while the queue has room and nothing is left to come back.
        self.needs_refill.store(true, Ordering::SeqCst);
        let failed = self.refill(&mut st);
        drop(st);
        for p in failed {
            p.finish(Err(PoolError::Shutdown));
        }
        Ok(())
    }

    /// Moves backlog jobs into the shared queue while it has room (step 2); closes the queue
    /// once a closing pool's backlog is empty (step 4). Returns the futures of jobs that
    /// could not be queued, to fail outside the lock (their callbacks may submit).
    #[must_use = "the returned futures must be failed"]
    fn refill(&self, st: &mut State) -> Vec<Box<dyn Pending>> {
        let mut failed = Vec::new();
        while let Some(&(_, started_before)) = st.backlog.front() {
            // Only `state`'s holder puts jobs, so room seen here is room for this job: a
            // job is started (and no longer cancellable) only when it can go in.
            if !started_before && self.jobs.is_full() {
                break;
            }
            let (job, _) = st.backlog.pop_front().expect("a front");
            // `pending` is locked for each step alone, never across the put's system call.
            let started =
                started_before || lock(&self.pending).get(&job.id).is_some_and(|p| p.start());
            if !started {
                lock(&self.pending).remove(&job.id); // cancelled: its future is complete
                continue;
            }
            match self.jobs.try_put(job) {
                Ok(()) => {}
                Err(PutError::Full(job)) => {
                    // Full of bytes below the item capacity (large jobs).
                    st.backlog.push_front((job, true));
                    break;
                }
                Err(e) => {
                    // Closed (the pool broke): it cannot run.
                    let job = e.into_inner();
                    failed.extend(lock(&self.pending).remove(&job.id));
                }
            }
        }
        if st.backlog.is_empty() && !st.closing {
            self.needs_refill.store(false, Ordering::SeqCst);
        }
        if st.closing && st.backlog.is_empty() {
            self.jobs.close();
        }
        failed
    }

    /// Step 3: fails every pending future, drops the backlog, closes the jobs queue and asks
    /// the manager to terminate the workers.
    pub(crate) fn break_pool(&self, why: String) {
        let pending = {
            let mut st = lock(&self.state);
            if st.broken.is_some() {
                return;
            }
            st.broken = Some(why.clone());
            st.backlog.clear();
            std::mem::take(&mut *lock(&self.pending))
        };
        self.jobs.close();
        self.ctl.request(manager::Request::Terminate);
        for (_, p) in pending {
            p.finish(Err(PoolError::BrokenPool(why.clone())));
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        let st = lock(&self.state);
        !st.closing && st.broken.is_none()
    }
}

/// The collector thread (step 2).
fn collect(shared: &Shared) {
    loop {
        let msg = match shared.done.get() {
            Ok(m) => m,
            Err(GetError::Closed) => return,
            Err(e) => {
                shared.break_pool(format!("a result did not decode: {e}"));
                continue;
            }
        };
        match msg {
            Done::Ran { id, outcomes } => {
                let pending = lock(&shared.pending).remove(&id);
                // Pairs with the store in `enqueue`: see there.
                fence(Ordering::SeqCst);
                let failed = if shared.needs_refill.load(Ordering::SeqCst) {
                    shared.refill(&mut lock(&shared.state))
                } else {
                    Vec::new()
                };
                if let Some(p) = pending {
                    p.finish(Ok(outcomes));
                }
                for p in failed {
                    p.finish(Err(PoolError::Shutdown));
                }
            }
            Done::InitFailed { worker, why } => {
                shared.break_pool(format!(
                    "the initializer failed in worker {worker}: {}",
                    remote_error(why)
                ));
            }
            Done::Died { why } => shared.break_pool(why),
            Done::Stop => {
                // Nothing can answer what is left (jobs a shutdown queued after the last
                // worker exited): fail it rather than leave it pending forever.
                let left = std::mem::take(&mut *lock(&shared.pending));
                for (_, p) in left {
                    p.finish(Err(PoolError::BrokenPool(
                        "every worker exited before the job ran".into(),
                    )));
                }
                return;
            }
        }
    }
}

impl ProcessPool {
    /// A pool of `workers` processes with the default settings.
    ///
    /// # Errors
    ///
    /// As [`Builder::build`].
    pub fn new(workers: usize) -> io::Result<ProcessPool> {
        ProcessPool::builder().workers(workers).build()
    }

    /// A builder: workers, start method, name prefix, initializer, `max_tasks_per_child`,
    /// queue depth, message size limits.
    pub fn builder() -> Builder {
        Builder {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            method: None,
            name_prefix: "ProcessPool".into(),
            max_tasks_per_child: 0,
            queue_depth: None,
            max_job_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_result_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            init: None,
            init_error: None,
        }
    }

    /// Runs `entry(args)` in a worker: Python's `executor.submit(fn, *args)`.
    ///
    /// The future fails at once with [`PoolError::Shutdown`] after [`shutdown`](Self::shutdown),
    /// [`PoolError::BrokenPool`] once broken, [`PoolError::Failed`] if `args` does not
    /// serialize.
    pub fn submit<A, R>(&self, entry: &'static Entry<A, R>, args: A) -> PoolFuture<R>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
        Entry<A, R>: Registered,
    {
        let bytes = match c10k_process::encode(&args) {
            Ok(b) => Bytes::from(b),
            Err(e) => {
                return PoolFuture::failed(PoolError::Failed(format!(
                    "the arguments do not serialize: {e}"
                )))
            }
        };
        let (inner, fut) = PoolFuture::pending();
        match self
            .shared
            .enqueue(entry.name(), vec![bytes], Box::new(One(inner)))
        {
            Ok(()) => fut,
            Err(e) => PoolFuture::failed(e),
        }
    }

    /// Submits a chunk of arguments as one job; the future's value has one outcome per item.
    pub(crate) fn submit_chunk<A, R>(
        &self,
        entry: &'static Entry<A, R>,
        items: Vec<A>,
    ) -> PoolFuture<Vec<Result<R, PoolError>>>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        let n = items.len();
        let failed = |e: PoolError| {
            let (inner, fut) = PoolFuture::pending();
            inner.complete(Ok(errors(&e, n)));
            fut
        };
        let mut args = Vec::with_capacity(n);
        for item in &items {
            match c10k_process::encode(item) {
                Ok(b) => args.push(Bytes::from(b)),
                Err(e) => {
                    return failed(PoolError::Failed(format!(
                        "the arguments do not serialize: {e}"
                    )))
                }
            }
        }
        let (inner, fut) = PoolFuture::pending();
        match self
            .shared
            .enqueue(entry.name(), args, Box::new(Chunk(inner, n)))
        {
            Ok(()) => fut,
            Err(e) => failed(e),
        }
    }

    /// `entry` over `items`, results in order: Python's `executor.map(fn, iterable,
    /// chunksize=)`. Items travel `chunksize` to a job (at least 1); the iterator submits
    /// lazily, keeping a few chunks per worker in flight, so an endless input is fine.
    ///
    /// Each item's outcome is a `Result`: a panic on one item does not stop the others.
    pub fn map<A, R, I>(
        &self,
        entry: &'static Entry<A, R>,
        items: I,
        chunksize: usize,
    ) -> ProcessMap<'_, I::IntoIter, A, R>
    where
        I: IntoIterator<Item = A>,
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
        Entry<A, R>: Registered,
    {
        ProcessMap::new(
            self,
            entry,
            items.into_iter(),
            chunksize.max(1),
            2 * self.shared.workers + 2,
        )
    }

    /// Stops taking work: Python's `executor.shutdown(wait, cancel_futures)`.
    ///
    /// Submits fail with [`PoolError::Shutdown`] from now on. With `cancel_futures`, jobs
    /// still in the backlog are cancelled; the rest runs. With `wait`, returns once every
    /// worker exited and every future is complete. Called from a done-callback (the
    /// collector's thread), `wait` does not wait for that thread itself.
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) {
        let cancelled = {
            let mut st = lock(&self.shared.state);
            st.closing = true;
            self.shared.needs_refill.store(true, Ordering::SeqCst);
            let cancelled: Vec<Box<dyn Pending>> = if cancel_futures {
                // A job a refill started already cannot be cancelled: it stays.
                let (started, waiting): (Vec<_>, Vec<_>) =
                    st.backlog.drain(..).partition(|(_, s)| *s);
                st.backlog.extend(started);
                let ids: Vec<u64> = waiting.iter().map(|(j, _)| j.id).collect();
                let mut pending = lock(&self.shared.pending);
                ids.iter().filter_map(|id| pending.remove(id)).collect()
            } else {
                Vec::new()
            };
            let failed = self.shared.refill(&mut st);
            (cancelled, failed)
        };
        let (cancelled, failed) = cancelled;
        for p in cancelled {
            p.cancel();
        }
        for p in failed {
            p.finish(Err(PoolError::Shutdown));
        }
        if wait {
            self.join_threads();
        }
    }

    /// Waits for the manager and the collector to end (after a shutdown or a break).
    pub(crate) fn join_threads(&self) {
        let me = std::thread::current().id();
        let threads = std::mem::take(&mut *lock(&self.shared.threads));
        let mut others = Vec::new();
        for t in threads {
            if t.thread().id() == me {
                others.push(t); // a callback shutting the pool down: cannot join itself
            } else {
                let _ = t.join();
            }
        }
        lock(&self.shared.threads).extend(others);
    }

    /// Sends SIGTERM to every worker now and shuts down without waiting, cancelling the
    /// backlog (Python 3.14's `terminate_workers`). Jobs the workers held fail with
    /// [`PoolError::BrokenPool`].
    pub fn terminate_workers(&self) {
        self.shutdown(false, true);
        self.shared.ctl.request(manager::Request::Terminate);
    }

    /// As [`terminate_workers`](Self::terminate_workers), with SIGKILL (`kill_workers`).
    pub fn kill_workers(&self) {
        self.shutdown(false, true);
        self.shared.ctl.request(manager::Request::Kill);
    }

    /// Whether the pool broke (a worker died, or an initializer failed).
    pub fn is_broken(&self) -> bool {
        lock(&self.shared.state).broken.is_some()
    }

    /// Whether [`shutdown`](Self::shutdown) was called or the pool broke.
    pub fn is_shutdown(&self) -> bool {
        !self.shared.is_open()
    }

    /// The number of worker processes.
    pub fn workers(&self) -> usize {
        self.shared.workers
    }

    /// The pids of the workers alive now.
    pub fn worker_pids(&self) -> Vec<u32> {
        self.shared.ctl.pids()
    }

    /// Jobs submitted and not answered yet (backlog, queue, and running).
    pub fn pending(&self) -> usize {
        lock(&self.shared.pending).len()
    }
}

impl Drop for ProcessPool {
    /// `shutdown(true, false)`: queued work runs, then the workers exit and are joined.
    fn drop(&mut self) {
        self.shutdown(true, false);
    }
}

impl fmt::Debug for ProcessPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock(&self.shared.state);
        f.debug_struct("ProcessPool")
            .field("workers", &self.shared.workers)
            .field("pending", &lock(&self.shared.pending).len())
            .field("backlog", &st.backlog.len())
            .field("closing", &st.closing)
            .field("broken", &st.broken)
            .finish()
    }
}
