//! The multi-thread work-stealing scheduler. The design (queues, LIFO slot, idle workers,
//! per-worker IO drivers, timer token) is described in the `executor` module docs; the worker
//! loop is in `worker.rs`, the run queue in `queue.rs`, sleeping in `idle.rs`.

mod idle;
pub(crate) mod queue;
mod worker;

#[cfg(all(test, loom))]
mod tests;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::builder::Config;
use super::hooks::TaskHooks;
use super::inject::Inject;
use super::park;
use crate::blocking;
use crate::context;
use crate::driver::Driver;
use crate::loom::lock;
use crate::task::{self, Id, JoinHandle};
use crate::time::TimeDriver;

pub(crate) use worker::block_on;

const NO_OWNER: usize = usize::MAX;

/// What other threads see of a worker.
struct Remote {
    steal: queue::Steal,
    driver: Arc<Driver>,
}

pub(crate) struct Handle {
    remotes: Box<[Remote]>,
    inject: Inject,
    idle: idle::Idle,
    pub(crate) owned: task::list::OwnedTasks,
    pub(crate) time: Arc<TimeDriver>,
    pub(crate) blocking: blocking::Spawner,
    /// What runs around each task poll, `None` without any (`hooks.rs`); worker `i` is
    /// thread `i` of the long-poll watchdog.
    pub(crate) hooks: Option<Arc<TaskHooks>>,
    /// Injected park failures (`Handle::inject_park_failures`).
    pub(crate) park_faults: park::Faults,
    /// Set when a worker's IO driver failed for good (`park.rs`); `block_on` panics with it.
    fatal: Mutex<Option<String>>,
    /// Whether `fatal` is set (read by `block_on` at each wake, without the lock).
    failed: AtomicBool,
    /// Threads in `block_on`, woken when `fatal` is set.
    blockers: Mutex<Vec<std::thread::Thread>>,
    shutdown: AtomicBool,
    /// The worker bounding its park by the next timer, or `NO_OWNER`.
    timer_owner: AtomicUsize,
    /// Round-robin choice of driver for registrations made off the workers.
    next_driver: AtomicUsize,
    /// Workers that have left their loop.
    exited: Mutex<usize>,
    exited_cv: Condvar,
    lifo_enabled: bool,
}

/// Builds the scheduler and starts its worker threads.
pub(crate) fn start(
    config: &Config,
    time: Arc<TimeDriver>,
    blocking: blocking::Spawner,
) -> std::io::Result<Arc<Handle>> {
    let n = config.worker_threads.max(1);
    let mut remotes = Vec::with_capacity(n);
    let mut cores = Vec::with_capacity(n);
    for i in 0..n {
        let (steal, local) = queue::new();
        let driver = Arc::new(Driver::new(config.backend, &config.uring)?);
        remotes.push(Remote { steal, driver });
        cores.push(worker::Core::new(i, local));
    }
    let handle = Arc::new(Handle {
        remotes: remotes.into_boxed_slice(),
        inject: Inject::new(),
        idle: idle::Idle::new(n),
        owned: task::list::OwnedTasks::new(4 * n),
        time,
        blocking,
        hooks: TaskHooks::new(config, n, true)?,
        park_faults: park::Faults::default(),
        fatal: Mutex::new(None),
        failed: AtomicBool::new(false),
        blockers: Mutex::new(Vec::new()),
        shutdown: AtomicBool::new(false),
        timer_owner: AtomicUsize::new(NO_OWNER),
        next_driver: AtomicUsize::new(0),
        exited: Mutex::new(0),
        exited_cv: Condvar::new(),
        lifo_enabled: true,
    });
    handle.time.set_pausable(false);
    let weak = Arc::downgrade(&handle);
    handle.time.set_unpark(Arc::new(move || {
        if let Some(h) = weak.upgrade() {
            h.wake_timer_owner();
        }
    }));
    for core in cores {
        let h = Arc::clone(&handle);
        let name = format!("{}-{}", config.thread_name, core.index);
        let spawned = std::thread::Builder::new()
            .name(name)
            .stack_size(config.stack_size)
            .spawn(move || worker::run(h, core));
        if let Err(e) = spawned {
            shutdown(&handle, Some(Duration::from_secs(1)));
            return Err(e);
        }
    }
    Ok(handle)
}

impl Handle {
    pub(crate) fn spawn<F>(
        me: &Arc<Handle>,
        future: F,
        id: Id,
        info: task::Info,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (task, notified, join) = task::new_task(future, Arc::clone(me), id, info);
        if me.owned.insert(task) {
            worker::schedule(me, notified, false);
        }
        join
    }

    pub(crate) fn num_workers(&self) -> usize {
        self.remotes.len()
    }

    /// The driver of the current worker, or round-robin off the workers.
    /// The driver a new registration goes to: round-robin over the workers (see "How IO is
    /// split between workers" in the `executor` docs for why not the current worker's).
    pub(crate) fn io_driver(self: &Arc<Self>) -> Arc<Driver> {
        let i = self.next_driver.fetch_add(1, Ordering::Relaxed) % self.remotes.len();
        Arc::clone(&self.remotes[i].driver)
    }

    /// Every worker's driver.
    pub(crate) fn drivers(&self) -> impl Iterator<Item = &Driver> {
        self.remotes.iter().map(|r| &*r.driver)
    }

    fn notify_parked(&self) {
        if let Some(w) = self.idle.worker_to_notify() {
            self.remotes[w].driver.unpark();
        }
    }

    fn wake_timer_owner(&self) {
        let o = self.timer_owner.load(Ordering::Acquire);
        if o != NO_OWNER {
            self.remotes[o].driver.wake();
        } else {
            // Nobody waits on timers: make sure somebody will.
            self.notify_parked();
        }
    }

    fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// A worker's IO driver failed for good: remember why, say it, and wake the threads in
    /// `block_on`, which panic with it.
    fn fail(&self, e: std::io::Error) {
        let msg = e.to_string();
        eprintln!("c10k: a worker stopped: {msg}");
        lock(&self.fatal).get_or_insert(msg);
        self.failed.store(true, Ordering::Release);
        for t in lock(&self.blockers).iter() {
            t.unpark();
        }
    }

    /// Why a worker stopped, if one did.
    fn fatal(&self) -> Option<String> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        lock(&self.fatal).clone()
    }
}

/// Stops the workers (waiting at most `timeout` for them), cancels every task, and
/// releases the IO drivers.
pub(crate) fn shutdown(handle: &Arc<Handle>, timeout: Option<Duration>) {
    handle.shutdown.store(true, Ordering::Release);
    handle.idle.take_all();
    for r in handle.remotes.iter() {
        r.driver.wake();
    }
    {
        // Dropped from one of our own workers (a task owned the runtime): that worker leaves
        // its loop only after this returns, so do not wait for it.
        let n = handle.remotes.len() - worker::is_worker_of(handle) as usize;
        let mut exited = lock(&handle.exited);
        let deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(t));
        while *exited < n {
            match deadline {
                None => {
                    exited = handle
                        .exited_cv
                        .wait(exited)
                        .unwrap_or_else(|e| e.into_inner())
                }
                Some(d) => {
                    let now = std::time::Instant::now();
                    if now >= d {
                        break;
                    }
                    exited = handle
                        .exited_cv
                        .wait_timeout(exited, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }
    let _enter = context::enter(super::scheduler::Handle::MultiThread(Arc::clone(handle)));
    handle.owned.close_and_drain();
    drop(handle.inject.close());
    for r in handle.remotes.iter() {
        r.driver.shutdown();
    }
    if let Some(h) = &handle.hooks {
        h.shutdown();
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("multi_thread::Handle")
            .field("workers", &self.remotes.len())
            .field("idle", &self.idle)
            .finish()
    }
}
