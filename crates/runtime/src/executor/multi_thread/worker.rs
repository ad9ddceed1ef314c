//! The worker loop.
//!
//! ```text
//! loop {
//!     every 61 ticks: poll own selector without blocking, fire due timers
//!     task = LIFO slot? (≤ 3 in a row) | every 31st tick: injector first | local queue
//!            | injector (batch) | steal half from a random victim
//!     run it, or else park in own selector
//! }
//! ```
//!
//! The worker's `Core` (its queue's owner end, LIFO slot) sits in a
//! thread-local `RefCell` while a task runs and while the worker parks, so that wakes made
//! on this thread (by the task, or by the IO events the park dispatches) go straight to the
//! local queue.

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use super::{lock, queue, Handle, NO_OWNER};
use crate::context::{self, Scoped};
use crate::executor::current_thread::{EVENT_INTERVAL, INJECT_INTERVAL};
use crate::task::{self, Notified, RawTask, Schedule};

/// Tasks taken from the LIFO slot in a row before the queue gets a turn (fairness).
const MAX_LIFO_POLLS: u32 = 3;

pub(crate) struct Core {
    pub(super) index: usize,
    run_queue: queue::Local,
    lifo: Option<Notified>,
    is_searching: bool,
    tick: u32,
    rand: u32,
}

impl Core {
    pub(super) fn new(index: usize, run_queue: queue::Local) -> Box<Core> {
        Box::new(Core {
            index,
            run_queue,
            lifo: None,
            is_searching: false,
            tick: 0,
            rand: 0x9E37_79B9u32.wrapping_mul(index as u32 + 1) | 1,
        })
    }

    fn next_rand(&mut self, n: usize) -> usize {
        // xorshift32: victim choice needs spread, not quality.
        let mut x = self.rand;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rand = x;
        (x as usize) % n
    }
}

struct WorkerCx {
    handle: Arc<Handle>,
    index: usize,
    core: RefCell<Option<Box<Core>>>,
}

thread_local! {
    static WORKER: Scoped<WorkerCx> = const { Scoped::new() };
}

/// Whether this thread is one of `handle`'s workers.
pub(super) fn is_worker_of(handle: &Arc<Handle>) -> bool {
    WORKER.with(|w| w.with(|cx| cx.is_some_and(|cx| Arc::ptr_eq(&cx.handle, handle))))
}

impl Schedule for Arc<Handle> {
    fn schedule(&self, task: Notified) {
        schedule(self, task, false);
    }

    fn yield_now(&self, task: Notified) {
        schedule(self, task, true);
    }

    fn release(&self, task: RawTask) -> bool {
        self.owned.remove(task)
    }

    fn long_poll(&self) -> Option<&crate::executor::LongPollConfig> {
        Some(&self.long_poll)
    }
}

pub(super) fn schedule(handle: &Arc<Handle>, task: Notified, is_yield: bool) {
    let task = WORKER.with(|w| {
        w.with(|cx| {
            let Some(cx) = cx.filter(|cx| Arc::ptr_eq(&cx.handle, handle)) else {
                return Some(task);
            };
            let mut core = cx.core.borrow_mut();
            let Some(core) = core.as_mut() else {
                return Some(task);
            };
            schedule_local(handle, core, task, is_yield);
            None
        })
    });
    if let Some(task) = task {
        if let Err(task) = handle.inject.push(task) {
            drop(task); // shut down
            return;
        }
        handle.notify_parked();
    }
}

fn schedule_local(handle: &Handle, core: &mut Core, task: Notified, is_yield: bool) {
    let task = if !is_yield && handle.lifo_enabled {
        match core.lifo.replace(task) {
            None => return,
            Some(prev) => prev,
        }
    } else {
        task
    };
    core.run_queue.push_back(task, &handle.inject);
    handle.notify_parked();
}

/// The worker thread's body.
pub(super) fn run(handle: Arc<Handle>, core: Box<Core>) {
    let index = core.index;
    let cx = WorkerCx {
        handle: Arc::clone(&handle),
        index,
        core: RefCell::new(None),
    };
    let _enter = context::enter(crate::executor::scheduler::Handle::MultiThread(Arc::clone(
        &handle,
    )));
    let slot = handle.watchdog.as_ref().map(|w| w.slot(index));
    WORKER.with(|w| w.set(&cx, || context::with_watch_slot(slot, || cx.run_loop(core))));
    // A ring bound to this thread must be torn down by it (see `driver::uring`).
    handle.remotes[index].driver.owner_exiting();
    // Leave: drop our queued tasks (their owned-list entries are cancelled by shutdown).
    if let Some(core) = cx.core.borrow_mut().take() {
        drop(core);
    }
    *lock(&handle.exited) += 1;
    handle.exited_cv.notify_all();
}

impl WorkerCx {
    fn run_loop(&self, mut core: Box<Core>) {
        let h = &self.handle;
        while !h.is_shutdown() {
            core.tick = core.tick.wrapping_add(1);
            if core.tick % EVENT_INTERVAL == 0 {
                core = self.maintenance(core);
            }
            if let Some(task) = self.next_task(&mut core) {
                core = self.run_task(task, core);
                continue;
            }
            if let Some(task) = self.steal_work(&mut core) {
                core = self.run_task(task, core);
                continue;
            }
            core = self.park(core);
        }
        *self.core.borrow_mut() = Some(core);
    }

    fn next_task(&self, core: &mut Core) -> Option<Notified> {
        let h = &self.handle;
        if core.tick % INJECT_INTERVAL == 0 {
            if let Some(t) = h.inject.pop() {
                return Some(t);
            }
        }
        if let Some(t) = core.lifo.take() {
            return Some(t);
        }
        if let Some(t) = core.run_queue.pop() {
            return Some(t);
        }
        // Take a share of the injection queue into our queue.
        let n = (h.inject.len() / h.remotes.len() + 1).min(queue::CAPACITY / 2);
        let mut first = None;
        let rq = &mut core.run_queue;
        h.inject.pop_n(n, |t| match first {
            None => first = Some(t),
            Some(_) => rq.push_back(t, &h.inject),
        });
        first
    }

    fn steal_work(&self, core: &mut Core) -> Option<Notified> {
        let h = &self.handle;
        if !core.is_searching {
            if !h.idle.transition_worker_to_searching() {
                return None;
            }
            core.is_searching = true;
        }
        let n = h.remotes.len();
        let start = core.next_rand(n);
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == core.index {
                continue;
            }
            if let Some(t) = h.remotes[victim].steal.steal_into(&mut core.run_queue) {
                return Some(t);
            }
        }
        h.inject.pop()
    }

    fn transition_from_searching(&self, core: &mut Core) {
        if !core.is_searching {
            return;
        }
        core.is_searching = false;
        if self.handle.idle.transition_worker_from_searching() {
            // We were the last searcher: wake another in case there is more work.
            self.handle.notify_parked();
        }
    }

    fn run_task(&self, task: Notified, mut core: Box<Core>) -> Box<Core> {
        self.transition_from_searching(&mut core);
        let mut task = task;
        let mut lifo_polls = 0;
        loop {
            *self.core.borrow_mut() = Some(core);
            task.run();
            core = self
                .core
                .borrow_mut()
                .take()
                .expect("worker core stolen during a poll");
            let Some(next) = core.lifo.take() else {
                return core;
            };
            lifo_polls += 1;
            if lifo_polls >= MAX_LIFO_POLLS || self.handle.is_shutdown() {
                core.run_queue.push_back(next, &self.handle.inject);
                return core;
            }
            task = next;
        }
    }

    /// Every `EVENT_INTERVAL` ticks: poll own IO without blocking, fire due timers.
    fn maintenance(&self, core: Box<Core>) -> Box<Core> {
        let h = &self.handle;
        let driver = Arc::clone(&h.remotes[self.index].driver);
        *self.core.borrow_mut() = Some(core);
        let _ = driver.park(Some(Duration::ZERO), || true);
        context::invalidate_poll_stamp();
        h.time.process();
        self.core
            .borrow_mut()
            .take()
            .expect("worker core missing after IO poll")
    }

    fn park(&self, mut core: Box<Core>) -> Box<Core> {
        let h = &self.handle;
        let index = self.index;
        let was_searching = std::mem::replace(&mut core.is_searching, false);
        if h.idle.transition_worker_to_parked(index, was_searching) {
            // Last searcher: re-check everything once, so no pushed task is left unseen.
            if !h.inject.is_empty() || h.remotes.iter().any(|r| !r.steal.is_empty()) {
                h.notify_parked();
            }
        }
        let owns_timer = h
            .timer_owner
            .compare_exchange(NO_OWNER, index, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        let timeout = if owns_timer {
            h.time.next_timeout()
        } else {
            None
        };
        let driver = Arc::clone(&h.remotes[index].driver);
        *self.core.borrow_mut() = Some(core);
        let _ = driver.park(timeout, || h.idle.is_parked(index) && !h.is_shutdown());
        context::invalidate_poll_stamp();
        if owns_timer {
            h.timer_owner.store(NO_OWNER, Ordering::Release);
            // With the core still reachable, so that woken tasks land in our queue.
            h.time.process();
        }
        let mut core = self
            .core
            .borrow_mut()
            .take()
            .expect("worker core missing after park");
        if !h.idle.unpark_self(index) {
            // A notifier woke us: we count as searching.
            core.is_searching = true;
        }
        if core.run_queue.len() > 1 {
            h.notify_parked();
        }
        core
    }
}

/// Wakes a thread blocked in `block_on` off the workers.
struct ThreadWaker {
    woken: AtomicBool,
    thread: std::thread::Thread,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

/// `block_on` for the multi-thread runtime: the calling thread only polls `future`; the
/// workers run the tasks.
pub(crate) fn block_on<F: Future>(handle: &Arc<Handle>, future: F) -> F::Output {
    let _block_on = context::enter_block_on();
    let _enter = context::enter(crate::executor::scheduler::Handle::MultiThread(Arc::clone(
        handle,
    )));
    let signal = Arc::new(ThreadWaker {
        woken: AtomicBool::new(true),
        thread: std::thread::current(),
    });
    let waker = Waker::from(Arc::clone(&signal));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if signal.woken.swap(false, Ordering::AcqRel) {
            let prev = context::budget();
            context::set_budget(Some(task::coop::BUDGET));
            let res = future.as_mut().poll(&mut cx);
            context::set_budget(prev);
            if let Poll::Ready(out) = res {
                return out;
            }
        }
        if !signal.woken.load(Ordering::Acquire) {
            std::thread::park();
        }
    }
}
