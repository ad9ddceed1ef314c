//! The current-thread scheduler: every task runs on the thread that calls `block_on`.
//!
//! # The loop (`Driving::run`)
//!
//! 1. If the `block_on` future was woken, poll it; return when it is ready.
//! 2. Run up to [`EVENT_INTERVAL`] tasks. Every [`INJECT_INTERVAL`]th pick looks at the
//!    injection queue first, so that wakes from other threads are never starved by tasks
//!    waking each other locally.
//! 3. Poll the IO driver: without blocking if tasks remain (so a busy runtime still sees
//!    IO every 61 tasks), else block until an event, a wake, or the next timer.
//!
//! # Wakeups
//!
//! A task woken on the driving thread goes to the local run queue: a `RefCell` push, no
//! atomics, no system call. A task woken on another thread goes to the injection queue, and
//! the selector's waker is written only if the driving thread is parked in `select`
//! (`Driver::unpark`).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Duration;

use super::builder::Config;
use super::hooks::{self, TaskHooks};
use super::inject::Inject;
use super::park;
use crate::blocking;
use crate::context::{self, Scoped};
use crate::driver::Driver;
use crate::loom::lock;
use crate::task::{self, Id, JoinHandle, Notified, RawTask, Schedule};
use crate::time::TimeDriver;

/// Tasks run between two looks at the IO driver while busy.
pub(crate) const EVENT_INTERVAL: u32 = 61;
/// Every this many picks, the injection queue is looked at first.
pub(crate) const INJECT_INTERVAL: u32 = 31;

/// The shared part of a current-thread runtime.
pub(crate) struct Handle {
    inject: Inject,
    pub(crate) owned: task::list::OwnedTasks,
    pub(crate) driver: Arc<Driver>,
    pub(crate) time: Arc<TimeDriver>,
    pub(crate) blocking: blocking::Spawner,
    /// What runs around each task poll, `None` without any (`hooks.rs`); the driving
    /// thread is thread 0 of the long-poll watchdog.
    pub(crate) hooks: Option<Arc<TaskHooks>>,
    /// Injected park failures (`Handle::inject_park_failures`).
    pub(crate) park_faults: park::Faults,
    /// The core, while no thread is driving the runtime.
    core: Mutex<Option<Box<Core>>>,
    /// Threads in `block_on` waiting for the core to come back.
    core_waiters: Mutex<Vec<Thread>>,
}

/// What the driving thread owns.
struct Core {
    run_queue: VecDeque<Notified>,
    tick: u32,
}

/// The driving thread's view, reachable from `schedule` through a scoped thread-local.
struct Driving {
    handle: Arc<Handle>,
    run_queue: RefCell<VecDeque<Notified>>,
    /// The failure streak of the driver's park (`park.rs`).
    park_failures: RefCell<park::Streak>,
}

thread_local! {
    static CURRENT: Scoped<Driving> = const { Scoped::new() };
}

impl Handle {
    pub(crate) fn new(
        driver: Arc<Driver>,
        time: Arc<TimeDriver>,
        blocking: blocking::Spawner,
        config: &Config,
    ) -> std::io::Result<Arc<Handle>> {
        let h = Arc::new(Handle {
            inject: Inject::new(),
            owned: task::list::OwnedTasks::new(1),
            driver,
            time,
            blocking,
            hooks: TaskHooks::new(config, 1, false)?,
            park_faults: park::Faults::default(),
            core: Mutex::new(Some(Box::new(Core {
                run_queue: VecDeque::with_capacity(64),
                tick: 0,
            }))),
            core_waiters: Mutex::new(Vec::new()),
        });
        let driver = Arc::clone(&h.driver);
        h.time.set_unpark(Arc::new(move || driver.wake()));
        Ok(h)
    }

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
            me.schedule(notified);
        }
        join
    }

    fn next_remote(&self) -> Option<Notified> {
        self.inject.pop()
    }
}

impl Schedule for Arc<Handle> {
    fn schedule(&self, task: Notified) {
        CURRENT.with(|cur| {
            cur.with(|d| match d {
                Some(d) if Arc::ptr_eq(&d.handle, self) => d.run_queue.borrow_mut().push_back(task),
                _ => {
                    if let Err(task) = self.inject.push(task) {
                        // Shut down: the owned list cancels the task; drop the queue entry.
                        drop(task);
                        return;
                    }
                    self.driver.unpark();
                }
            })
        });
    }

    fn release(&self, task: RawTask) -> bool {
        self.owned.remove(task)
    }
}

/// Wakes the `block_on` future: flags it, and wakes whichever way the thread sleeps.
struct BlockOnWaker {
    woken: AtomicBool,
    driver: Arc<Driver>,
    thread: Thread,
}

impl Wake for BlockOnWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            self.driver.unpark();
            self.thread.unpark();
        }
    }
}

/// Runs `future` to completion on the current thread, driving the runtime.
pub(crate) fn block_on<F: Future>(handle: &Arc<Handle>, future: F) -> F::Output {
    let _block_on = context::enter_block_on();
    let _enter = context::enter(super::scheduler::Handle::CurrentThread(Arc::clone(handle)));
    let signal = Arc::new(BlockOnWaker {
        woken: AtomicBool::new(true),
        driver: Arc::clone(&handle.driver),
        thread: std::thread::current(),
    });
    let waker = Waker::from(Arc::clone(&signal));
    let mut future = pin!(future);
    loop {
        let core = {
            let mut core = lock(&handle.core);
            if core.is_some() {
                // A ring bound to another thread cannot be driven here: say so before
                // taking the core, which stays for its thread.
                handle.driver.assert_can_drive();
            }
            core.take()
        };
        if let Some(core) = core {
            let driving = Driving {
                handle: Arc::clone(handle),
                run_queue: RefCell::new(core.run_queue),
                park_failures: RefCell::new(park::Streak::default()),
            };
            let tick = core.tick;
            let (out, tick) = CURRENT.with(|cur| {
                cur.set(&driving, || {
                    driving.run(future.as_mut(), &signal, &waker, tick)
                })
            });
            // Give the core back, and tell a waiting `block_on` it may take it.
            let Driving { run_queue, .. } = driving;
            *lock(&handle.core) = Some(Box::new(Core {
                run_queue: run_queue.into_inner(),
                tick,
            }));
            for t in lock(&handle.core_waiters).drain(..) {
                t.unpark();
            }
            return out;
        }
        // Another thread drives the runtime: wait for our future or for the core.
        {
            let me = std::thread::current();
            let mut waiters = lock(&handle.core_waiters);
            if !waiters.iter().any(|t| t.id() == me.id()) {
                waiters.push(me);
            }
        }
        if signal.woken.swap(false, Ordering::AcqRel) {
            let mut cx = Context::from_waker(&waker);
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
        }
        if lock(&handle.core).is_none() && !signal.woken.load(Ordering::Acquire) {
            std::thread::park();
        }
    }
}

impl Driving {
    fn run<F: Future>(
        &self,
        mut future: std::pin::Pin<&mut F>,
        signal: &BlockOnWaker,
        waker: &Waker,
        mut tick: u32,
    ) -> (F::Output, u32) {
        let mut cx = Context::from_waker(waker);
        loop {
            if signal.woken.swap(false, Ordering::AcqRel) {
                // `block_on`'s future is not a task, but it gets a budget so that IO in it
                // yields to the tasks too.
                let prev = context::budget();
                context::set_budget(Some(task::coop::BUDGET));
                let res = future.as_mut().poll(&mut cx);
                context::set_budget(prev);
                if let Poll::Ready(out) = res {
                    return (out, tick);
                }
            }
            let mut ran = 0;
            // Read once per turn: `None` (no hook) runs tasks directly.
            let hooks = self.handle.hooks.as_deref();
            // A woken `block_on` future waits for the batch: breaking out early would let a
            // future that keeps yielding starve every task.
            while ran < EVENT_INTERVAL {
                tick = tick.wrapping_add(1);
                let task = if tick % INJECT_INTERVAL == 0 {
                    self.handle
                        .next_remote()
                        .or_else(|| self.run_queue.borrow_mut().pop_front())
                } else {
                    let local = self.run_queue.borrow_mut().pop_front();
                    local.or_else(|| self.handle.next_remote())
                };
                let Some(task) = task else { break };
                hooks::run(hooks, task, Some(0));
                ran += 1;
            }
            let busy = ran == EVENT_INTERVAL
                || signal.woken.load(Ordering::Relaxed)
                || !self.run_queue.borrow().is_empty()
                || !self.handle.inject.is_empty();
            self.park(busy, signal);
        }
    }

    fn park(&self, busy: bool, signal: &BlockOnWaker) {
        let h = &self.handle;
        if busy {
            self.checked(|| h.driver.park(Some(Duration::ZERO), || true));
            h.time.process();
            return;
        }
        if h.time.is_paused() {
            // Paused clock (tests): look at IO first, and only jump the clock forward when
            // nothing at all can happen otherwise.
            let n = self.checked(|| h.driver.park(Some(Duration::ZERO), || true));
            h.time.process();
            if n > 0
                || !self.run_queue.borrow().is_empty()
                || !h.inject.is_empty()
                || h.time.auto_advance()
            {
                return;
            }
        }
        let timeout = h.time.next_timeout();
        self.checked(|| {
            h.driver.park(timeout, || {
                self.run_queue.borrow().is_empty()
                    && h.inject.is_empty()
                    && !signal.woken.load(Ordering::Acquire)
            })
        });
        h.time.process();
    }

    /// Applies the park failure protocol (`park.rs`) to one park: the number of events, 0
    /// after a failure that will be retried.
    ///
    /// # Panics
    ///
    /// When the failures are final: `block_on` ends with the driver's error.
    fn checked(&self, park: impl FnOnce() -> std::io::Result<usize>) -> usize {
        let res = self
            .park_failures
            .borrow_mut()
            .check(&self.handle.park_faults, park);
        match res {
            Ok(n) => n,
            Err(e) => panic!("{e}"),
        }
    }
}

/// Cancels every task and releases the IO driver: the runtime's drop.
pub(crate) fn shutdown(handle: &Arc<Handle>) {
    // Drop the tasks with the runtime entered, so their destructors may use it.
    let _enter = context::enter(super::scheduler::Handle::CurrentThread(Arc::clone(handle)));
    handle.owned.close_and_drain();
    drop(handle.inject.close());
    let core = lock(&handle.core).take();
    drop(core);
    handle.driver.shutdown();
    if let Some(h) = &handle.hooks {
        h.shutdown();
    }
}
