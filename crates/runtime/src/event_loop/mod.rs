//! asyncio's low-level event loop API — callbacks, timers and fd watchers — on the same
//! runtime and the same IO driver as tasks.
//!
//! The tutorials start from callbacks on a selector (`loop.call_soon`, `call_later`,
//! `add_reader`) before coroutines; this module is that layer, so the callback style and
//! the async style can be mixed in one program, one thread and one `epoll` instance.
//!
//! # Design
//!
//! An [`EventLoop`] owns a *current-thread* [`Runtime`] and a
//! [`LocalSet`]. Running it (`run_forever`, `run_until_complete`)
//! is `block_on` of a *runner* future; there is no second loop and no second selector:
//!
//! * **Callbacks** (`call_soon`) go to a FIFO *ready queue* owned by the loop thread (they
//!   may be `!Send`, like asyncio's). `call_soon_threadsafe` goes through a mutex-protected
//!   queue and wakes the runner, which costs a write to the selector's waker only if the
//!   thread is parked.
//! * **Timers** (`call_later`, `call_at`) sit in a binary heap keyed by deadline (and a
//!   sequence number, so equal deadlines run in scheduling order); the runner holds one
//!   [`Sleep`] for the earliest, on the runtime's timing wheel. They
//!   never run before their deadline.
//! * **Fd watchers** (`add_reader`, `add_writer`) register the descriptor with the driver
//!   ([`Registration`]) once, for both directions. Each descriptor gets its own waker that
//!   records *which* descriptor fired before waking the runner, so an iteration touches only
//!   the descriptors that fired (O(ready), not O(watched)).
//!
//! # One iteration (asyncio's `_run_once`)
//!
//! 1. Move the thread-safe queue into the ready queue.
//! 2. For each descriptor that fired, queue its reader and/or writer callback.
//! 3. Queue every timer whose deadline has passed, in deadline order; re-arm the sleep for
//!    the next one.
//! 4. Run the callbacks that are in the ready queue *now*; callbacks they schedule run in the
//!    next iteration, after the runtime had the chance to run tasks and poll IO.
//! 5. If `stop()` was called, return; if work is left, wake the runner again.
//!
//! # Level-triggered watchers
//!
//! asyncio's `add_reader` is level-triggered: the callback runs on every iteration while the
//! descriptor is readable, so a callback may read a little at a time. The driver is
//! edge-triggered (see [`driver`](crate::driver)), so after each reader callback the loop
//! asks the kernel (`poll(2)` with a zero timeout on that one descriptor) whether it is still
//! readable: if so the callback is queued again next iteration; if not, the readiness is
//! forgotten and the driver wakes the loop at the next edge. Writers likewise.
//!
//! # Panics
//!
//! A panicking callback unwinds out of `run_forever`/`run_until_complete` (asyncio would
//! log it and continue); the loop stays usable.

mod handle;

pub use handle::{CallbackHandle, TimerHandle};

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::RawFd;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use crate::driver::{Backend, Interest, ReadyEvent, Registration};
use crate::loom::lock;
use crate::task::{JoinHandle, LocalSet};
use crate::time::{Instant, Sleep};
use crate::Runtime;

type LocalCallback = Box<dyn FnOnce()>;
type SendCallback = Box<dyn FnOnce() + Send>;
type Watcher = Rc<RefCell<Box<dyn FnMut()>>>;

/// The part of the loop other threads may touch.
struct Remote {
    /// `call_soon_threadsafe` callbacks.
    queue: Mutex<VecDeque<(SendCallback, CallbackHandle)>>,
    /// Descriptors whose driver waker fired (or that need a first readiness poll).
    fired: Mutex<Vec<RawFd>>,
    /// The runner's waker (the `block_on` future), refreshed at every iteration.
    waker: Mutex<Option<Waker>>,
    stop: AtomicBool,
}

impl Remote {
    fn wake(&self) {
        if let Some(w) = lock(&self.waker).as_ref() {
            w.wake_by_ref();
        }
    }
}

/// The waker given to one descriptor's registration: records the descriptor, wakes the loop.
struct FdWaker {
    fd: RawFd,
    remote: Arc<Remote>,
}

impl Wake for FdWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        lock(&self.remote.fired).push(self.fd);
        self.remote.wake();
    }
}

struct FdEntry {
    reg: Registration,
    waker: Waker,
    reader: Option<Watcher>,
    writer: Option<Watcher>,
    /// A reader (writer) invocation is in the ready queue: do not queue another.
    read_queued: bool,
    write_queued: bool,
}

enum Job {
    Call(LocalCallback, CallbackHandle),
    Reader(RawFd, ReadyEvent),
    Writer(RawFd, ReadyEvent),
}

struct Timer {
    callback: LocalCallback,
    handle: CallbackHandle,
}

/// The loop's state, owned by the loop thread.
struct Shared {
    remote: Arc<Remote>,
    runtime: crate::Handle,
    ready: RefCell<VecDeque<Job>>,
    /// `(deadline, sequence)`, earliest first; the callbacks are in `timer_jobs`.
    timers: RefCell<BinaryHeap<Reverse<(Instant, u64)>>>,
    timer_jobs: RefCell<HashMap<u64, Timer>>,
    seq: Cell<u64>,
    sleep: RefCell<Option<Sleep>>,
    fds: RefCell<HashMap<RawFd, FdEntry>>,
    running: Cell<bool>,
}

/// An asyncio-style event loop on a current-thread c10k runtime (see the module docs).
///
/// # Examples
///
/// The tutorials' first callback program: schedule callbacks, a timer, and stop.
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use c10k_runtime::event_loop::EventLoop;
///
/// let ev = EventLoop::new()?;
/// let h = ev.handle();
/// let log = Rc::new(RefCell::new(Vec::new()));
///
/// let l = log.clone();
/// h.call_soon(move || l.borrow_mut().push("soon"));
/// let (l, h2) = (log.clone(), h.clone());
/// h.call_later(Duration::from_millis(5), move || {
///     l.borrow_mut().push("later");
///     h2.stop();
/// });
/// let cancelled = h.call_soon({ let l = log.clone(); move || l.borrow_mut().push("cancelled") });
/// cancelled.cancel();
///
/// ev.run_forever();
/// assert_eq!(*log.borrow(), ["soon", "later"]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct EventLoop {
    // Drop order: the loop state (registrations) before the runtime that owns the driver.
    handle: LoopHandle,
    local: LocalSet,
    rt: Runtime,
}

impl EventLoop {
    /// A loop on a new current-thread runtime with the best selector backend.
    ///
    /// # Errors
    ///
    /// The runtime cannot be built (e.g. out of descriptors).
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// assert_eq!(ev.run_until_complete(async { 1 + 1 }), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<EventLoop> {
        EventLoop::from_runtime(Runtime::builder().current_thread().build()?)
    }

    /// A loop on a new current-thread runtime with the given selector backend.
    ///
    /// # Errors
    ///
    /// The runtime cannot be built.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::driver::Backend;
    /// use c10k_runtime::event_loop::EventLoop;
    /// let ev = EventLoop::with_backend(Backend::Select)?; // the tutorials' select() loop
    /// assert_eq!(ev.runtime().handle().backend(), Backend::Select);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_backend(backend: Backend) -> io::Result<EventLoop> {
        EventLoop::from_runtime(
            Runtime::builder()
                .current_thread()
                .backend(backend)
                .build()?,
        )
    }

    /// A loop on `rt`, which should be a current-thread runtime: callbacks then run on the
    /// same thread as the runtime's tasks, as in asyncio.
    ///
    /// # Errors
    ///
    /// Never at present; reserved for runtimes that cannot host a loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::{event_loop::EventLoop, Runtime};
    /// let rt = Runtime::builder().current_thread().disable_long_poll_report().build()?;
    /// let ev = EventLoop::from_runtime(rt)?;
    /// assert_eq!(ev.run_until_complete(async { "custom runtime" }), "custom runtime");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_runtime(rt: Runtime) -> io::Result<EventLoop> {
        let shared = Rc::new(Shared {
            remote: Arc::new(Remote {
                queue: Mutex::new(VecDeque::new()),
                fired: Mutex::new(Vec::new()),
                waker: Mutex::new(None),
                stop: AtomicBool::new(false),
            }),
            runtime: rt.handle().clone(),
            ready: RefCell::new(VecDeque::new()),
            timers: RefCell::new(BinaryHeap::new()),
            timer_jobs: RefCell::new(HashMap::new()),
            seq: Cell::new(0),
            sleep: RefCell::new(None),
            fds: RefCell::new(HashMap::new()),
            running: Cell::new(false),
        });
        Ok(EventLoop {
            handle: LoopHandle { shared },
            local: LocalSet::new(),
            rt,
        })
    }

    /// A handle to schedule callbacks on this loop (from the loop thread).
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// let stopper = h.clone();
    /// h.call_soon(move || stopper.stop());
    /// ev.run_forever();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn handle(&self) -> LoopHandle {
        self.handle.clone()
    }

    /// The runtime the loop runs on, e.g. to `spawn` tasks onto it.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let task = ev.runtime().spawn(async { 21 * 2 });
    /// assert_eq!(ev.run_until_complete(task).unwrap(), 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn runtime(&self) -> &Runtime {
        &self.rt
    }

    /// Runs callbacks and tasks until [`LoopHandle::stop`] (or [`RemoteHandle::stop`]) is
    /// called. A `stop` requested before this call makes it run one iteration and return.
    ///
    /// # Panics
    ///
    /// If a callback panics (the panic propagates), or if called from inside a runtime.
    ///
    /// # Examples
    ///
    /// A `stop` requested before the call runs one iteration, so callbacks already queued run:
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// let ran = Rc::new(Cell::new(false));
    /// let r = ran.clone();
    /// h.call_soon(move || r.set(true));
    /// h.stop();
    /// ev.run_forever();
    /// assert!(ran.get());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn run_forever(&self) {
        let shared = &self.handle.shared;
        shared.running.set(true);
        let _running = Running(shared);
        self.rt
            .block_on(self.local.run_until(std::future::poll_fn(|cx| {
                if shared.iterate(cx) {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })));
    }

    /// Runs callbacks and tasks until `future` completes, and returns its output. `stop()`
    /// does not end this call (only `run_forever`); it is remembered for the next
    /// `run_forever`.
    ///
    /// # Panics
    ///
    /// As [`run_forever`](Self::run_forever), and if `future` panics.
    ///
    /// # Examples
    ///
    /// Callbacks and tasks run while the future is awaited:
    ///
    /// ```
    /// use std::time::Duration;
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// let slot = std::rc::Rc::new(std::cell::Cell::new(None));
    /// let (tx, rx) = (slot.clone(), slot);
    /// h.call_later(Duration::from_millis(1), move || tx.set(Some(7)));
    /// let got = ev.run_until_complete(async move {
    ///     loop {
    ///         if let Some(v) = rx.get() {
    ///             break v;
    ///         }
    ///         c10k_runtime::time::sleep(Duration::from_millis(1)).await;
    ///     }
    /// });
    /// assert_eq!(got, 7);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn run_until_complete<F: Future>(&self, future: F) -> F::Output {
        let shared = &self.handle.shared;
        shared.running.set(true);
        let _running = Running(shared);
        let mut future = pin!(future);
        self.rt
            .block_on(self.local.run_until(std::future::poll_fn(|cx| {
                if let Poll::Ready(out) = future.as_mut().poll(cx) {
                    return Poll::Ready(out);
                }
                if shared.iterate(cx) {
                    // Keep the request for run_forever: iterate() consumed it.
                    shared.remote.stop.store(true, Ordering::Release);
                }
                // Callbacks may have completed the future.
                future.as_mut().poll(cx)
            })))
    }
}

impl Drop for EventLoop {
    fn drop(&mut self) {
        // Callbacks often hold a `LoopHandle` (an `Rc` of the state that stores them): drop
        // them explicitly to break that cycle, and deregister the watched descriptors while
        // the runtime (the driver) is still alive.
        let shared = &self.handle.shared;
        let ready = std::mem::take(&mut *shared.ready.borrow_mut());
        let timers = std::mem::take(&mut *shared.timer_jobs.borrow_mut());
        let fds = std::mem::take(&mut *shared.fds.borrow_mut());
        shared.timers.borrow_mut().clear();
        shared.sleep.borrow_mut().take();
        lock(&shared.remote.queue).clear();
        drop((ready, timers, fds));
    }
}

struct Running<'a>(&'a Shared);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.set(false);
    }
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLoop")
            .field("handle", &self.handle)
            .field("runtime", &self.rt)
            .finish()
    }
}

impl Shared {
    /// One iteration (module docs, "One iteration"). Returns `true` when stopped.
    fn iterate(&self, cx: &mut Context<'_>) -> bool {
        {
            let mut w = lock(&self.remote.waker);
            match w.as_ref() {
                Some(old) if old.will_wake(cx.waker()) => {}
                _ => *w = Some(cx.waker().clone()),
            }
        }
        // 1. Thread-safe callbacks.
        {
            let mut q = lock(&self.remote.queue);
            let mut ready = self.ready.borrow_mut();
            for (f, h) in q.drain(..) {
                ready.push_back(Job::Call(f, h));
            }
        }
        // 2. Descriptors that fired.
        let fired = std::mem::take(&mut *lock(&self.remote.fired));
        if !fired.is_empty() {
            let mut fds = self.fds.borrow_mut();
            let mut ready = self.ready.borrow_mut();
            for fd in fired {
                let Some(e) = fds.get_mut(&fd) else { continue };
                let mut fcx = Context::from_waker(&e.waker);
                if e.reader.is_some() && !e.read_queued {
                    if let Poll::Ready(Ok(ev)) = e.reg.poll_read_ready(&mut fcx) {
                        e.read_queued = true;
                        ready.push_back(Job::Reader(fd, ev));
                    }
                }
                if e.writer.is_some() && !e.write_queued {
                    if let Poll::Ready(Ok(ev)) = e.reg.poll_write_ready(&mut fcx) {
                        e.write_queued = true;
                        ready.push_back(Job::Writer(fd, ev));
                    }
                }
            }
        }
        // 3. Due timers.
        self.collect_timers(cx);
        // 4. Run this iteration's batch.
        let batch = self.ready.borrow().len();
        for _ in 0..batch {
            let Some(job) = self.ready.borrow_mut().pop_front() else {
                break;
            };
            self.run_job(job);
        }
        // 5. Stop, or come back for what is left.
        if self.remote.stop.swap(false, Ordering::AcqRel) {
            return true;
        }
        if !self.ready.borrow().is_empty()
            || !lock(&self.remote.fired).is_empty()
            || !lock(&self.remote.queue).is_empty()
        {
            cx.waker().wake_by_ref();
        } else {
            // Timers added by callbacks need the sleep re-armed.
            self.collect_timers(cx);
            if !self.ready.borrow().is_empty() {
                cx.waker().wake_by_ref();
            }
        }
        false
    }

    fn collect_timers(&self, cx: &mut Context<'_>) {
        loop {
            let now = Instant::now();
            {
                let mut timers = self.timers.borrow_mut();
                let mut jobs = self.timer_jobs.borrow_mut();
                let mut ready = self.ready.borrow_mut();
                while let Some(Reverse((when, seq))) = timers.peek().copied() {
                    if when > now {
                        break;
                    }
                    timers.pop();
                    if let Some(t) = jobs.remove(&seq) {
                        ready.push_back(Job::Call(t.callback, t.handle));
                    }
                }
            }
            let next = self.timers.borrow().peek().map(|Reverse((when, _))| *when);
            let mut sleep = self.sleep.borrow_mut();
            let Some(next) = next else {
                *sleep = None;
                return;
            };
            match sleep.as_mut() {
                Some(s) if s.deadline() == next => {}
                Some(s) => s.reset(next),
                None => *sleep = Some(crate::time::sleep_until(next)),
            }
            let s = sleep.as_mut().expect("just set");
            if Pin::new(s).poll(cx).is_pending() {
                return;
            }
            // The earliest deadline passed while we looked: collect again.
        }
    }

    fn run_job(&self, job: Job) {
        match job {
            Job::Call(f, h) => {
                if !h.cancelled() {
                    f();
                }
            }
            Job::Reader(fd, ev) => self.run_watcher(fd, ev, true),
            Job::Writer(fd, ev) => self.run_watcher(fd, ev, false),
        }
    }

    fn run_watcher(&self, fd: RawFd, ev: ReadyEvent, read: bool) {
        let watcher = {
            let mut fds = self.fds.borrow_mut();
            let Some(e) = fds.get_mut(&fd) else { return };
            if read {
                e.read_queued = false;
                e.reader.clone()
            } else {
                e.write_queued = false;
                e.writer.clone()
            }
        };
        let Some(watcher) = watcher else { return };
        // No borrow of `fds` is held: the callback may add or remove watchers.
        (watcher.borrow_mut())();
        let fds = self.fds.borrow();
        let Some(e) = fds.get(&fd) else { return };
        // Level-triggered emulation (module docs): forget the readiness only if the kernel
        // says the direction is no longer ready; then look again next iteration (which
        // either queues the callback again or stores the waker for the next edge).
        if !still_ready(fd, read) {
            e.reg.clear_readiness(ev);
        }
        lock(&self.remote.fired).push(fd);
    }

    fn add_watcher(&self, fd: RawFd, callback: Box<dyn FnMut()>, read: bool) -> io::Result<()> {
        let mut fds = self.fds.borrow_mut();
        let e = match fds.entry(fd) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let reg = Registration::new_with_handle(
                    fd,
                    Interest::READABLE | Interest::WRITABLE,
                    &self.runtime,
                )?;
                let waker = Waker::from(Arc::new(FdWaker {
                    fd,
                    remote: Arc::clone(&self.remote),
                }));
                v.insert(FdEntry {
                    reg,
                    waker,
                    reader: None,
                    writer: None,
                    read_queued: false,
                    write_queued: false,
                })
            }
        };
        let w: Watcher = Rc::new(RefCell::new(callback));
        if read {
            e.reader = Some(w);
        } else {
            e.writer = Some(w);
        }
        drop(fds);
        lock(&self.remote.fired).push(fd);
        self.remote.wake();
        Ok(())
    }

    fn remove_watcher(&self, fd: RawFd, read: bool) -> bool {
        let mut fds = self.fds.borrow_mut();
        let Some(e) = fds.get_mut(&fd) else {
            return false;
        };
        let had = if read {
            e.reader.take().is_some()
        } else {
            e.writer.take().is_some()
        };
        if e.reader.is_none() && e.writer.is_none() {
            // Dropping the entry deregisters the descriptor.
            fds.remove(&fd);
        }
        had
    }
}

/// Whether `fd` is ready for the direction right now (`poll(2)`, zero timeout).
fn still_ready(fd: RawFd, read: bool) -> bool {
    let events = if read { libc::POLLIN } else { libc::POLLOUT };
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: `pfd` is one valid, initialised `pollfd` and the count is 1. `poll` only
    // reads the descriptor number; a closed descriptor yields `POLLNVAL`, not UB.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    n > 0 && pfd.revents & (events | libc::POLLHUP | libc::POLLERR) != 0
}

/// Schedules callbacks on an [`EventLoop`] from its own thread (`!Send`: callbacks may be
/// `!Send`, like asyncio's). For other threads, see [`remote`](Self::remote).
///
/// It cannot leave the loop's thread:
///
/// ```compile_fail
/// let ev = c10k_runtime::event_loop::EventLoop::new()?;
/// let h = ev.handle();
/// std::thread::spawn(move || h.call_soon(|| ())); // `LoopHandle` is not `Send`
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// let ev = c10k_runtime::event_loop::EventLoop::new()?;
/// let h = ev.handle();
/// let hits = Rc::new(Cell::new(0));
/// let (a, b) = (hits.clone(), h.clone()); // handles are cheap clones
/// h.call_soon(move || {
///     a.set(a.get() + 1);
///     b.stop();
/// });
/// ev.run_forever();
/// assert_eq!(hits.get(), 1);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct LoopHandle {
    shared: Rc<Shared>,
}

impl LoopHandle {
    /// Schedules `f` to run at the next iteration, after callbacks already scheduled
    /// (FIFO), like `loop.call_soon`.
    ///
    /// # Examples
    ///
    /// Callbacks run in the order they were scheduled:
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// let order = Rc::new(RefCell::new(Vec::new()));
    /// for i in 0..3 {
    ///     let o = order.clone();
    ///     h.call_soon(move || o.borrow_mut().push(i));
    /// }
    /// h.stop();
    /// ev.run_forever();
    /// assert_eq!(*order.borrow(), [0, 1, 2]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn call_soon(&self, f: impl FnOnce() + 'static) -> CallbackHandle {
        let h = CallbackHandle::new();
        self.shared
            .ready
            .borrow_mut()
            .push_back(Job::Call(Box::new(f), h.clone()));
        self.shared.remote.wake();
        h
    }

    /// Schedules `f` from the loop thread with the thread-safe queue (see
    /// [`RemoteHandle::call_soon_threadsafe`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// let stopper = h.remote();
    /// h.call_soon_threadsafe(move || stopper.stop());
    /// ev.run_forever();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn call_soon_threadsafe(&self, f: impl FnOnce() + Send + 'static) -> CallbackHandle {
        self.remote().call_soon_threadsafe(f)
    }

    /// Schedules `f` to run `delay` from now (not earlier), like `loop.call_later`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::time::Instant;
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// let start = Instant::now();
    /// let h2 = h.clone();
    /// let timer = h.call_later(Duration::from_millis(2), move || h2.stop());
    /// assert!(timer.when() >= start + Duration::from_millis(2));
    /// ev.run_forever();
    /// assert!(Instant::now() >= timer.when()); // never early
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn call_later(&self, delay: Duration, f: impl FnOnce() + 'static) -> TimerHandle {
        self.call_at(Instant::now() + delay, f)
    }

    /// Schedules `f` to run at `when` (not earlier), like `loop.call_at`. Timers with the
    /// same deadline run in the order they were scheduled.
    ///
    /// # Examples
    ///
    /// Same deadline, scheduling order:
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use std::time::Duration;
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// let when = h.time() + Duration::from_millis(1);
    /// let order = Rc::new(RefCell::new(Vec::new()));
    /// for name in ["a", "b"] {
    ///     let o = order.clone();
    ///     h.call_at(when, move || o.borrow_mut().push(name));
    /// }
    /// let h2 = h.clone();
    /// h.call_at(when, move || h2.stop());
    /// ev.run_forever();
    /// assert_eq!(*order.borrow(), ["a", "b"]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn call_at(&self, when: Instant, f: impl FnOnce() + 'static) -> TimerHandle {
        let seq = self.shared.seq.get();
        self.shared.seq.set(seq + 1);
        let handle = CallbackHandle::new();
        self.shared.timer_jobs.borrow_mut().insert(
            seq,
            Timer {
                callback: Box::new(f),
                handle: handle.clone(),
            },
        );
        self.shared.timers.borrow_mut().push(Reverse((when, seq)));
        self.shared.remote.wake();
        TimerHandle {
            inner: handle,
            when,
        }
    }

    /// The loop's clock (`loop.time()`): the runtime's [`Instant::now`].
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// let t0 = h.time();
    /// assert!(h.time() >= t0); // monotonic
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn time(&self) -> Instant {
        Instant::now()
    }

    /// Calls `f` whenever `fd` is readable (level-triggered, see the module docs), replacing
    /// a previous reader of `fd`. The descriptor must stay open until
    /// [`remove_reader`](Self::remove_reader); it should be non-blocking.
    ///
    /// # Errors
    ///
    /// The registration error (e.g. select(2) refusing a descriptor above `FD_SETSIZE`, or
    /// the runtime shut down).
    ///
    /// # Examples
    ///
    /// The tutorials' callback server in miniature: a socket pair, a reader callback that drains
    /// the socket and stops the loop.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::io::{Read, Write};
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    /// use std::rc::Rc;
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// let (mut a, b) = UnixStream::pair()?;
    /// b.set_nonblocking(true)?;
    /// let fd = b.as_raw_fd();
    /// let got = Rc::new(RefCell::new(Vec::new()));
    /// let (g, h2) = (got.clone(), h.clone());
    /// h.add_reader(fd, move || {
    ///     let mut buf = [0u8; 64];
    ///     while let Ok(n) = (&b).read(&mut buf) {
    ///         if n == 0 {
    ///             break;
    ///         }
    ///         g.borrow_mut().extend_from_slice(&buf[..n]);
    ///     }
    ///     h2.remove_reader(fd);
    ///     h2.stop();
    /// })?;
    /// a.write_all(b"readable")?;
    /// ev.run_forever();
    /// assert_eq!(*got.borrow(), b"readable");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn add_reader(&self, fd: RawFd, f: impl FnMut() + 'static) -> io::Result<()> {
        self.shared.add_watcher(fd, Box::new(f), true)
    }

    /// Calls `f` whenever `fd` is writable, replacing a previous writer of `fd`.
    ///
    /// # Errors
    ///
    /// As [`add_reader`](Self::add_reader).
    ///
    /// # Examples
    ///
    /// A fresh socket is writable at once:
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    /// use std::rc::Rc;
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// let (a, _b) = UnixStream::pair()?;
    /// a.set_nonblocking(true)?;
    /// let fd = a.as_raw_fd();
    /// let calls = Rc::new(Cell::new(0));
    /// let (c, h2) = (calls.clone(), h.clone());
    /// h.add_writer(fd, move || {
    ///     c.set(c.get() + 1);
    ///     assert!(h2.remove_writer(fd)); // level-triggered: remove, or be called again
    ///     h2.stop();
    /// })?;
    /// ev.run_forever();
    /// assert_eq!(calls.get(), 1);
    /// assert!(!h.remove_writer(fd)); // already removed
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn add_writer(&self, fd: RawFd, f: impl FnMut() + 'static) -> io::Result<()> {
        self.shared.add_watcher(fd, Box::new(f), false)
    }

    /// Stops watching `fd` for reading; returns whether a reader was registered. When
    /// neither a reader nor a writer is left, the descriptor is deregistered.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// let (a, _b) = UnixStream::pair()?;
    /// a.set_nonblocking(true)?;
    /// h.add_reader(a.as_raw_fd(), || {})?;
    /// assert!(h.remove_reader(a.as_raw_fd()));
    /// assert!(!h.remove_reader(a.as_raw_fd())); // nothing left to remove
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn remove_reader(&self, fd: RawFd) -> bool {
        self.shared.remove_watcher(fd, true)
    }

    /// Stops watching `fd` for writing; returns whether a writer was registered.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// let (a, _b) = UnixStream::pair()?;
    /// a.set_nonblocking(true)?;
    /// assert!(!h.remove_writer(a.as_raw_fd())); // never added
    /// h.add_writer(a.as_raw_fd(), || {})?;
    /// assert!(h.remove_writer(a.as_raw_fd()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn remove_writer(&self, fd: RawFd) -> bool {
        self.shared.remove_watcher(fd, false)
    }

    /// Spawns a task on the loop's thread (`loop.create_task`); it may be `!Send`.
    ///
    /// # Panics
    ///
    /// Outside a running loop (the task needs the loop's `LocalSet`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// let out = ev.run_until_complete(async {
    ///     let local = Rc::new(5); // !Send is fine
    ///     h.create_task(async move { *local + 1 }).await.unwrap()
    /// });
    /// assert_eq!(out, 6);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create_task<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        crate::task::spawn_local(future)
    }

    /// Asks `run_forever` to return after the current iteration.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// let h2 = h.clone();
    /// h.call_later(Duration::from_millis(1), move || h2.stop());
    /// ev.run_forever(); // returns after the timer
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stop(&self) {
        self.remote().stop();
    }

    /// Whether the loop is running (inside `run_forever` or `run_until_complete`).
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let h = ev.handle();
    /// assert!(!h.is_running());
    /// assert!(ev.run_until_complete(async { h.is_running() }));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_running(&self) -> bool {
        self.shared.running.get()
    }

    /// A `Send + Sync` handle for other threads.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let remote = ev.handle().remote();
    /// std::thread::spawn(move || remote.stop()).join().unwrap();
    /// ev.run_forever(); // the stop requested from the other thread ends it
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn remote(&self) -> RemoteHandle {
        RemoteHandle {
            remote: Arc::clone(&self.shared.remote),
        }
    }
}

impl fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopHandle")
            .field("ready", &self.shared.ready.borrow().len())
            .field("timers", &self.shared.timer_jobs.borrow().len())
            .field("watched_fds", &self.shared.fds.borrow().len())
            .finish()
    }
}

/// The thread-safe part of a loop's API: schedule callbacks and stop it from any thread.
///
/// # Examples
///
/// ```
/// use c10k_runtime::event_loop::EventLoop;
///
/// let ev = EventLoop::new()?;
/// let remote = ev.handle().remote();
/// let worker = std::thread::spawn(move || {
///     let r = remote.clone();
///     remote.call_soon_threadsafe(move || r.stop());
/// });
/// ev.run_forever(); // returns once the other thread's callback ran
/// worker.join().unwrap();
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct RemoteHandle {
    remote: Arc<Remote>,
}

impl RemoteHandle {
    /// Schedules `f` on the loop from any thread (`loop.call_soon_threadsafe`), waking the
    /// loop if it is waiting.
    ///
    /// # Examples
    ///
    /// A worker thread posts its result back to the loop:
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let remote = ev.handle().remote();
    /// let (tx, rx) = mpsc::channel();
    /// let worker = std::thread::spawn(move || {
    ///     let r = remote.clone();
    ///     remote.call_soon_threadsafe(move || {
    ///         tx.send(6 * 7).unwrap();
    ///         r.stop();
    ///     });
    /// });
    /// ev.run_forever();
    /// worker.join().unwrap();
    /// assert_eq!(rx.try_recv(), Ok(42));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn call_soon_threadsafe(&self, f: impl FnOnce() + Send + 'static) -> CallbackHandle {
        let h = CallbackHandle::new();
        lock(&self.remote.queue).push_back((Box::new(f), h.clone()));
        self.remote.wake();
        h
    }

    /// Asks `run_forever` to return after the current iteration.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = c10k_runtime::event_loop::EventLoop::new()?;
    /// let remote = ev.handle().remote();
    /// let stopper = std::thread::spawn(move || remote.stop());
    /// ev.run_forever(); // returns once the stop arrives, whenever that is
    /// stopper.join().unwrap();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stop(&self) {
        self.remote.stop.store(true, Ordering::Release);
        self.remote.wake();
    }
}

impl fmt::Debug for RemoteHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteHandle")
            .field("queued", &lock(&self.remote.queue).len())
            .finish()
    }
}
