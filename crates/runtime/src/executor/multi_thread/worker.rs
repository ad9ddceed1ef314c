//! The worker loop.
//!
//! ```text
//! loop {
//!     every 61 ticks: poll own selector without blocking, fire due timers
//!     task = LIFO slot? (≤ 3 in a row) | every 31st tick: injector first | local queue
//!            | injector (batch) | steal half from a random victim
//!            | the searcher only: look again, 4 times after a spin hint, twice after a yield
//!     run it, or else park in own selector (on a futex while it has no registration)
//! }
//! ```
//!
//! The worker's `Core` (its queue's owner end, LIFO slot) sits in a
//! thread-local `RefCell` while a task runs and while the worker parks, so that wakes made
//! on this thread (by the task, or by the IO events the park dispatches) go straight to the
//! local queue.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use super::{queue, Handle, NO_OWNER};
use crate::context::{self, Scoped};
use crate::executor::current_thread::{EVENT_INTERVAL, INJECT_INTERVAL};
use crate::executor::{hooks, park};
use crate::loom::lock;
use crate::task::{self, Notified, RawTask, Schedule};

/// Tasks taken from the LIFO slot in a row before the queue gets a turn (fairness).
const MAX_LIFO_POLLS: u32 = 3;

/// Looks for work a searcher (and the `block_on` thread) makes before it parks: first
/// `SPIN_POLLS` after one spin-loop hint each, then `SPIN_YIELDS` after yielding the CPU
/// (see "Spinning before parking" in the `executor` docs for why, and how it was measured).
const SPIN_POLLS: u32 = 4;
const SPIN_YIELDS: u32 = 2;
/// A yield that kept us off the CPU this long gave it to other programs' threads for a time
/// slice (ours hand over in microseconds): the machine is busy.
const SLOW_YIELD: Duration = Duration::from_micros(200);
/// Spins that skip their yields after a slow one.
const SKIP_AFTER_SLOW_YIELD: u32 = 64;

/// The spin before parking, and whether yielding is worth it now.
///
/// A thread that yields while other programs' threads are runnable waits behind them, a
/// time slice each, where one that sleeps and is woken would run at once (the kernel favours
/// a thread that slept). So a yield that took longer than [`SLOW_YIELD`] turns the yields
/// off for the next [`SKIP_AFTER_SLOW_YIELD`] spins: on a busy machine a spin costs a few
/// hints, and at most one slow yield in 64 parks.
#[derive(Debug, Default, Clone, Copy)]
struct Spin {
    skip_yields: u32,
}

thread_local! {
    /// The spin state of a thread's `block_on` calls, kept between them: a program that calls
    /// `block_on` often on a busy machine would otherwise pay a slow yield in each.
    static BLOCK_ON_SPIN: Cell<Spin> = const { Cell::new(Spin { skip_yields: 0 }) };
}

impl Spin {
    /// Calls `look` after each pause until it finds something; `None` if it never did.
    fn run<T>(&mut self, mut look: impl FnMut() -> Option<T>) -> Option<T> {
        for _ in 0..SPIN_POLLS {
            std::hint::spin_loop();
            if let Some(v) = look() {
                return Some(v);
            }
        }
        if self.skip_yields > 0 {
            self.skip_yields -= 1;
            return None;
        }
        for _ in 0..SPIN_YIELDS {
            let start = Instant::now();
            std::thread::yield_now();
            if start.elapsed() > SLOW_YIELD {
                self.skip_yields = SKIP_AFTER_SLOW_YIELD;
                return look();
            }
            if let Some(v) = look() {
                return Some(v);
            }
        }
        None
    }
}

pub(crate) struct Core {
    pub(super) index: usize,
    run_queue: queue::Local,
    lifo: Option<Notified>,
    is_searching: bool,
    spin: Spin,
    tick: u32,
    rand: u32,
    /// The failure streak of this worker's park (`park.rs`).
    park_failures: park::Streak,
    /// Tasks taken from the injection queue, kept between batches for its capacity.
    inject_batch: Vec<Notified>,
}

impl Core {
    pub(super) fn new(index: usize, run_queue: queue::Local) -> Box<Core> {
        Box::new(Core {
            index,
            run_queue,
            lifo: None,
            is_searching: false,
            spin: Spin::default(),
            tick: 0,
            rand: 0x9E37_79B9u32.wrapping_mul(index as u32 + 1) | 1,
            park_failures: park::Streak::default(),
            inject_batch: Vec::with_capacity(queue::CAPACITY / 2),
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
    WORKER.with(|w| w.set(&cx, || cx.run_loop(core)));
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
                core = match self.maintenance(core) {
                    Ok(core) => core,
                    Err((core, e)) => return self.stop(core, e),
                };
            }
            if let Some(task) = self.next_task(&mut core) {
                core = self.run_task(task, core);
                continue;
            }
            if let Some(task) = self.steal_work(&mut core) {
                core = self.run_task(task, core);
                continue;
            }
            if let Some(task) = self.spin_for_work(&mut core) {
                core = self.run_task(task, core);
                continue;
            }
            core = match self.park(core) {
                Ok(core) => core,
                Err((core, e)) => return self.stop(core, e),
            };
        }
        *self.core.borrow_mut() = Some(core);
    }

    /// This worker's driver failed for good (`park.rs`): leave the loop, keeping the core
    /// (its queue stays stealable), and make `block_on` fail.
    fn stop(&self, core: Box<Core>, e: std::io::Error) {
        *self.core.borrow_mut() = Some(core);
        self.handle.fail(e);
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
        // Out of the injection queue under its lock, into our queue after releasing it:
        // `push_back` may itself push to the injection queue (when a thief stalled
        // mid-steal leaves no room), and taking the lock again there would self-deadlock.
        let mut batch = std::mem::take(&mut core.inject_batch);
        h.inject.pop_n(n, |t| batch.push(t));
        let mut tasks = batch.drain(..);
        let first = tasks.next();
        for t in tasks {
            core.run_queue.push_back(t, &h.inject);
        }
        core.inject_batch = batch;
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

    /// The searcher looks for work a little longer before it parks (see "Spinning before
    /// parking" in the module docs). Only the searcher spins: while it does, a thread that
    /// makes work available wakes nobody, and the spinner takes the work.
    fn spin_for_work(&self, core: &mut Core) -> Option<Notified> {
        if !core.is_searching {
            return None;
        }
        let h = &self.handle;
        let Core {
            spin,
            run_queue,
            index,
            ..
        } = core;
        spin.run(|| {
            if h.is_shutdown() {
                return None;
            }
            if let Some(t) = h.inject.pop() {
                return Some(t);
            }
            h.remotes
                .iter()
                .enumerate()
                .filter(|&(i, r)| i != *index && !r.steal.is_empty())
                .find_map(|(_, r)| r.steal.steal_into(run_queue))
        })
    }

    fn transition_from_searching(&self, core: &mut Core) {
        if !core.is_searching {
            return;
        }
        core.is_searching = false;
        let h = &self.handle;
        // The last searcher found work: wake another worker if more is waiting to be
        // stolen (see "Who wakes whom" in the module docs). Work pushed after this check
        // finds no searcher and wakes a worker itself; work pushed before it, while we still
        // counted as searching, woke nobody, so the check must see it: our read-modify-write
        // of the idle state follows the pusher's (which read ours as searching) in the
        // state's modification order, so its push happened before this check.
        if h.idle.transition_worker_from_searching()
            && (!h.inject.is_empty() || h.remotes.iter().any(|r| !r.steal.is_empty()))
        {
            h.notify_parked();
        }
    }

    fn run_task(&self, task: Notified, mut core: Box<Core>) -> Box<Core> {
        self.transition_from_searching(&mut core);
        let mut task = task;
        let mut lifo_polls = 0;
        let hooks = self.handle.hooks.as_deref();
        loop {
            *self.core.borrow_mut() = Some(core);
            hooks::run(hooks, task, Some(self.index));
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
    fn maintenance(&self, mut core: Box<Core>) -> Result<Box<Core>, (Box<Core>, std::io::Error)> {
        let h = &self.handle;
        let driver = Arc::clone(&h.remotes[self.index].driver);
        let mut failures = std::mem::take(&mut core.park_failures);
        *self.core.borrow_mut() = Some(core);
        let res = failures.check(&h.park_faults, || {
            driver.park(Some(Duration::ZERO), || true)
        });
        h.time.process();
        let mut core = self
            .core
            .borrow_mut()
            .take()
            .expect("worker core missing after IO poll");
        core.park_failures = failures;
        match res {
            Ok(_) => Ok(core),
            Err(e) => Err((core, e)),
        }
    }

    fn park(&self, mut core: Box<Core>) -> Result<Box<Core>, (Box<Core>, std::io::Error)> {
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
        let mut failures = std::mem::take(&mut core.park_failures);
        *self.core.borrow_mut() = Some(core);
        let res = failures.check(&h.park_faults, || {
            driver.park(timeout, || h.idle.is_parked(index) && !h.is_shutdown())
        });
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
        core.park_failures = failures;
        if !h.idle.unpark_self(index) {
            // A notifier woke us: we count as searching.
            core.is_searching = true;
        }
        if core.run_queue.len() > 1 {
            h.notify_parked();
        }
        match res {
            Ok(_) => Ok(core),
            Err(e) => Err((core, e)),
        }
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
    // Registered so that a worker whose driver fails for good wakes us (`Handle::fail`).
    let _blocker = Blocker::register(handle);
    let mut spin = BLOCK_ON_SPIN.with(|s| s.get());
    loop {
        if let Some(why) = handle.fatal() {
            panic!("{why}");
        }
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
            // Spin briefly before parking (see `spin_for_work`): a wake in the next
            // microsecond or two then costs the waker no futex call and us no sleep.
            let woken = spin.run(|| signal.woken.load(Ordering::Acquire).then_some(()));
            BLOCK_ON_SPIN.with(|s| s.set(spin));
            if woken.is_none() {
                std::thread::park();
            }
        }
    }
}

/// A thread's entry in `Handle::blockers` for the time of its `block_on`.
struct Blocker<'a> {
    handle: &'a Handle,
    id: std::thread::ThreadId,
}

impl Blocker<'_> {
    fn register(handle: &Handle) -> Blocker<'_> {
        let me = std::thread::current();
        let id = me.id();
        lock(&handle.blockers).push(me);
        Blocker { handle, id }
    }
}

impl Drop for Blocker<'_> {
    fn drop(&mut self) {
        let mut all = lock(&self.handle.blockers);
        if let Some(i) = all.iter().position(|t| t.id() == self.id) {
            all.swap_remove(i);
        }
    }
}
