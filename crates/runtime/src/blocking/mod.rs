//! The blocking thread pool behind [`spawn_blocking`]: where blocking work (file IO, DNS,
//! CPU-heavy computations, legacy blocking APIs) runs so that it does not hold a worker.
//!
//! # Algorithm
//!
//! 1. A closure becomes a task (the same one-allocation task as `spawn`, so the caller gets
//!    the same [`JoinHandle`] with panics contained and `abort` for closures not started yet),
//!    whose scheduler is the pool's queue.
//! 2. Scheduling it pushes to the queue and wakes one idle thread; if no thread is idle and
//!    fewer than `max_blocking_threads` exist, a new thread is spawned (named
//!    `<thread_name>-blocking-<n>`). Otherwise the task waits in the queue: the cap bounds
//!    the threads, not the work.
//! 3. A thread that finds the queue empty waits `thread_keep_alive` (10 s) for more, then
//!    exits: the pool shrinks back to zero when idle.
//! 4. Shutdown cancels queued tasks, wakes idle threads so they exit, and waits (with an
//!    optional timeout) for running closures to return.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::executor::builder::Config;
use crate::loom::lock;
use crate::task::{self, list::OwnedTasks, Id, JoinHandle, Notified, RawTask, Schedule};

thread_local! {
    /// The pool this thread belongs to (its `Shared` address), 0 elsewhere.
    static IN_POOL: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

struct Shared {
    state: Mutex<State>,
    /// Idle threads wait here for work.
    work: Condvar,
    /// Shutdown waits here for threads to exit.
    exited: Condvar,
    owned: OwnedTasks,
    max_threads: usize,
    keep_alive: Duration,
    thread_name: String,
    stack_size: usize,
}

struct State {
    queue: VecDeque<Notified>,
    num_threads: usize,
    num_idle: usize,
    /// Notifications sent to idle threads and not yet consumed.
    num_notify: usize,
    next_id: usize,
    shutdown: bool,
}

/// The pool owned by a runtime.
pub(crate) struct Pool {
    shared: Arc<Shared>,
}

/// Spawns on a pool (held by the runtime's handle).
#[derive(Clone)]
pub(crate) struct Spawner {
    shared: Arc<Shared>,
}

impl Pool {
    pub(crate) fn new(config: &Config) -> Pool {
        Pool {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    num_threads: 0,
                    num_idle: 0,
                    num_notify: 0,
                    next_id: 0,
                    shutdown: false,
                }),
                work: Condvar::new(),
                exited: Condvar::new(),
                owned: OwnedTasks::new(4),
                max_threads: config.max_blocking_threads,
                keep_alive: config.keep_alive,
                thread_name: config.thread_name.clone(),
                stack_size: config.stack_size,
            }),
        }
    }

    pub(crate) fn spawner(&self) -> Spawner {
        Spawner {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Step 4 of the module docs.
    pub(crate) fn shutdown(self, timeout: Option<Duration>) {
        let queued = {
            let mut st = lock(&self.shared.state);
            st.shutdown = true;
            std::mem::take(&mut st.queue)
        };
        self.shared.work.notify_all();
        drop(queued);
        self.shared.owned.close_and_drain();
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        // Shut down from one of our own threads (a blocking closure dropped the runtime): that
        // thread exits after this returns, so do not wait for it.
        let me = IN_POOL.with(|p| p.get() == Arc::as_ptr(&self.shared) as usize) as usize;
        let mut st = lock(&self.shared.state);
        while st.num_threads > me {
            match deadline {
                None => {
                    st = self
                        .shared
                        .exited
                        .wait(st)
                        .unwrap_or_else(|e| e.into_inner())
                }
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return;
                    }
                    st = self
                        .shared
                        .exited
                        .wait_timeout(st, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }
}

impl Spawner {
    pub(crate) fn spawn<F, R>(
        &self,
        f: F,
        location: &'static std::panic::Location<'static>,
    ) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (task, notified, join) = task::new_task(
            BlockingTask(Some(f)),
            BlockingSchedule(Arc::clone(&self.shared)),
            Id::next(),
            task::Info::new(location, None),
        );
        if self.shared.owned.insert(task) {
            self.shared.push(notified);
        }
        join
    }

    /// Copies every task of the pool for a dump (`task/dump.rs`).
    pub(crate) fn dump_into(&self, out: &mut Vec<crate::task::dump::Raw>) {
        self.shared
            .owned
            .for_each(|h| out.push(crate::task::dump::Raw::of(h, true)));
    }

    pub(crate) fn num_threads(&self) -> usize {
        lock(&self.shared.state).num_threads
    }
}

impl Shared {
    fn push(self: &Arc<Self>, task: Notified) {
        let mut st = lock(&self.state);
        if st.shutdown {
            return; // the owned list cancels it
        }
        st.queue.push_back(task);
        if st.num_idle > st.num_notify {
            st.num_notify += 1;
            drop(st);
            self.work.notify_one();
        } else if st.num_threads < self.max_threads {
            st.num_threads += 1;
            crate::trace::blocking_grew(st.num_threads);
            let id = st.next_id;
            st.next_id += 1;
            drop(st);
            let shared = Arc::clone(self);
            let spawned = std::thread::Builder::new()
                .name(format!("{}-blocking-{id}", self.thread_name))
                .stack_size(self.stack_size)
                .spawn(move || shared.run());
            if spawned.is_err() {
                // Out of threads: the queued task waits for an existing thread. If there is
                // none, it stays queued until shutdown cancels it.
                lock(&self.state).num_threads -= 1;
            }
        }
    }

    fn run(&self) {
        IN_POOL.with(|p| p.set(self as *const Shared as usize));
        let mut st = lock(&self.state);
        loop {
            if let Some(task) = st.queue.pop_front() {
                drop(st);
                crate::task::dump::begin_poll(task.raw().header());
                task.run();
                st = lock(&self.state);
                continue;
            }
            if st.shutdown {
                break;
            }
            st.num_idle += 1;
            let (guard, res) = self
                .work
                .wait_timeout(st, self.keep_alive)
                .unwrap_or_else(|e| e.into_inner());
            st = guard;
            st.num_idle -= 1;
            if st.num_notify > 0 {
                st.num_notify -= 1;
                continue;
            }
            if res.timed_out() && st.queue.is_empty() {
                break;
            }
        }
        st.num_threads -= 1;
        drop(st);
        self.exited.notify_all();
    }
}

/// The scheduler hook of blocking tasks.
struct BlockingSchedule(Arc<Shared>);

impl Schedule for BlockingSchedule {
    fn schedule(&self, task: Notified) {
        // Only reached for the first run and for `abort` of a queued task.
        self.0.push(task);
    }

    fn release(&self, task: RawTask) -> bool {
        self.0.owned.remove(task)
    }
}

/// A closure as a future that completes in its first poll.
struct BlockingTask<F>(Option<F>);

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self
            .0
            .take()
            .expect("blocking task polled after completion");
        // Blocking code has no budget to respect.
        crate::context::set_budget(None);
        Poll::Ready(f())
    }
}

/// Runs the blocking closure `f` on the current runtime's blocking pool and returns a
/// [`JoinHandle`] for its result: the equivalent of asyncio's `run_in_executor(None, f)`.
///
/// The pool grows on demand up to
/// [`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads) and shrinks when
/// idle. `abort` cancels a closure that has not started; a running closure cannot be
/// interrupted.
///
/// # Panics
///
/// Panics outside a runtime. Use [`Handle::spawn_blocking`](crate::Handle::spawn_blocking)
/// from other threads.
///
/// # Examples
///
/// ```
/// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// let len = rt.block_on(async {
///     c10k_runtime::task::spawn_blocking(|| std::fs::read_dir(".").map(|d| d.count()).unwrap_or(0)).await
/// });
/// assert!(len.is_ok());
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let location = std::panic::Location::caller();
    crate::context::with_handle(|h| {
        match h {
        Some(h) => h.blocking().spawn(f, location),
        None => panic!("`spawn_blocking` called outside a c10k runtime: use `Handle::spawn_blocking` from other threads"),
    }
    })
}
