//! The hub: one scheduler of green threads per OS thread, running on the runtime's driver.
//!
//! # Design
//!
//! A hub is a future ([`Hub`]'s [`enter`](Hub::enter), or [`run`] which builds a
//! current-thread runtime and blocks on it). Polling it runs the hub's ready green threads,
//! one after the other, each until it parks; it returns `Pending` when none is ready, and the
//! runtime then waits in its driver (epoll, poll, select or io_uring) like for any task. Green
//! threads wait on IO, timers and `c10k-sync` primitives with the runtime's own futures:
//! [`block_on`] polls a future with the green thread's [`Waker`] and, while it is pending,
//! switches back to the hub. When the driver reports readiness (or a completion) the waker
//! puts the green thread back on the hub's ready queue and wakes the hub's future.
//!
//! # A green thread never migrates
//!
//! The hub future is `!Send` (it owns `Rc`s and the coroutines, which are `!Send`), so the
//! compiler keeps it on the thread that created it: it can be `block_on`ed or run by a
//! `LocalSet`, never spawned on a work-stealing scheduler. Every resume also checks it runs on
//! the hub's thread (a thread-local address comparison) and panics otherwise. This is what
//! keeps thread-locals sound: code on a green thread may hold a reference into a
//! thread-local (the standard library's `thread::current()`, a `RefCell` in a
//! `thread_local!`, a lock guard that must be released by the thread that took it) across a
//! blocking call; if the green thread woke up on another OS thread, that reference would point
//! into the wrong thread's storage. Runtimes whose coroutines migrate (`may`) are unsound
//! for that reason; gevent's model, one hub per thread, is the one kept here. To use more
//! cores, run one hub per thread (`echo --model green --threads N` does, with `SO_REUSEPORT`).
//!
//! # Scheduling protocol
//!
//! 1. `spawn` creates the coroutine (its stack from the hub's pool of finished ones, or a new
//!    guard-paged mapping) and queues it at the back of the ready queue. Nothing runs yet.
//! 2. A poll of the hub drains the wake-up queues (step 4), then resumes ready green threads
//!    front to back, at most [`BUDGET`] per poll; past the budget it wakes itself and
//!    returns `Pending`, so that the runtime polls its driver and other tasks between rounds
//!    (a green thread that yields in a loop cannot starve IO). Every `PREFETCH_AHEAD` (8)
//!    resumes it prefetches the records and stack tops of the next green threads in the
//!    queue (see `prefetch_ahead`: with a thousand green threads, the first touch of each
//!    one's stack page was the costliest step of a resume).
//! 3. A green thread gives the CPU back by yielding ([`sleep`] of zero, [`yield_now`]: back of
//!    the queue; with nothing else ready the hub resumes it at once, still counting it
//!    against the budget), parking ([`block_on`] on a pending future: off the queue until its waker
//!    fires) or switching ([`switch`]: the target goes to the front, the caller parks until
//!    something switches back to it).
//! 4. A waker marks its green thread notified (once) and pushes `(key, generation)` to a
//!    queue of the hub, then wakes the hub's future unless it was woken since it last went
//!    idle; a key whose generation changed (the green thread finished and the slot was
//!    reused) is ignored. On the hub's own thread (the driver's dispatch after `epoll_wait`,
//!    or a green thread waking another: nearly every wake-up of a server) the queue is a
//!    plain `Vec` only that thread touches, and the notified flag a load and a store; from
//!    other threads it is a queue under a mutex and an atomic swap. A green thread woken
//!    from both sides at once may be pushed twice; the `queued` flag keeps it once in the
//!    ready queue.
//! 5. Finishing: the result goes to the [`GreenHandle`], the slot is freed, the stack returns
//!    to the pool. Killing (see [`GreenHandle::kill`]) is a flag plus a wake-up: the hub, on
//!    its next turn, unwinds the green thread's stack instead of resuming it.
//! 6. When the hub future is dropped (after [`run`]'s main function returned), every green
//!    thread still alive is unwound, so that all their destructors run on this thread.

use std::cell::{Cell, RefCell, UnsafeCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use slab::Slab;

use crate::handle::{GreenError, GreenHandle, JoinInner};
use crate::stack::{ColoredStack, GuardedStack, Running, DEFAULT_STACK_SIZE};

/// How many green threads a hub resumes in one poll before it lets the runtime poll its
/// driver (step 2 of the protocol).
pub const BUDGET: usize = 256;

/// How many finished stacks a hub keeps for reuse. A reused stack keeps the pages its last
/// green thread touched, so the pool is small.
pub const STACK_POOL: usize = 64;

/// How many green threads ahead of the one it resumes the hub prefetches (see
/// [`prefetch_ahead`]): every `PREFETCH_AHEAD` resumes, the next `PREFETCH_AHEAD` at once.
const PREFETCH_AHEAD: usize = 8;

/// How many cache lines of a parked green thread's stack the hub prefetches, from just below
/// where it suspended upwards: the registers the switch saved and the frame it returns to.
/// What counts is the first touch of the stack's page (its TLB entry): 2, 4, 8 or 12 lines
/// measured alike, and adding the lines of the outer frames near the stack top measured
/// 2 % slower (they evict more than they save).
const PREFETCH_LINES: usize = 4;

type GreenCo = Coroutine<(), (), (), ColoredStack>;

/// One green thread, owned by its hub's slab.
///
/// `repr(C)` with the fields the hub touches on every switch first (flags, the coroutine's
/// stack pointer, the shared record): with a thousand green threads resumed in turn, each
/// record is a cache miss, so the fewer lines a resume touches the better.
#[repr(C)]
pub(crate) struct Green {
    /// On the local ready queue (avoids queueing twice).
    queued: Cell<bool>,
    /// Set by [`yield_now`] before it suspends: the hub puts the green thread back at the end
    /// of the ready queue when the resume returns, with the `Rc` it already holds (no lookup,
    /// no hub access from the green thread's side of the switch).
    requeue: Cell<bool>,
    /// Parked in [`switch`] until another green thread switches to it.
    awaiting_switch: Cell<bool>,
    /// The hub is unwinding this green thread: its panic catcher must let the unwind pass.
    unwinding: Cell<bool>,
    /// The green thread's `Yielder`, on its own stack; set by the coroutine's first lines.
    yielder: Cell<*const Yielder<(), ()>>,
    /// Its stack pointer when it last suspended (0 before its first run): the frames it
    /// returns through when resumed start there (see [`prefetch_ahead`]).
    sp: Cell<usize>,
    /// What wakers and the handle share: the notified and kill flags, read on every resume.
    wake: Arc<GreenWake>,
    /// The coroutine; `None` once it finished. Borrowed mutably only by the hub, while it
    /// resumes or unwinds it (never while the green thread runs something else).
    co: RefCell<Option<GreenCo>>,
    range: [usize; 3],
    key: usize,
    generation: u64,
    /// Its stack has the hub's default size, so it goes back to the pool when it finishes.
    pooled: bool,
    waker: Waker,
    /// Completes the handle with `Killed` if the green thread is unwound or dropped unrun.
    kill: Box<dyn Fn()>,
}

/// What a [`GreenHandle`] and a green thread share besides the result: the kill request,
/// the name, and the way back to the hub (it is the green thread's waker record).
pub(crate) type Control = GreenWake;

/// The hub's side that other threads (and wakers) reach: the remote ready queue.
pub(crate) struct Remote {
    queue: Mutex<Vec<(usize, u64)>>,
    /// Something was pushed since the hub last drained `queue`.
    pending: AtomicBool,
    /// The hub's future was woken since it last went idle: later pushes need not wake it
    /// again. Cleared by the hub just before its last look at `queue` (see `HubCore::run`).
    hub_woken: AtomicBool,
    hub_waker: Mutex<Option<Waker>>,
    /// Wake-ups made on the hub's own thread: the driver's dispatch after `epoll_wait`, or a
    /// green thread waking another. Most wake-ups are these; they take no lock and no atomic
    /// read-modify-write (step 4).
    local: LocalQueue,
}

/// A queue only its owner thread touches (checked on every access, so that `Remote` stays
/// `Sync`: wakers on other threads take the mutex-protected queue instead).
struct LocalQueue {
    /// The [`thread_id`] of the hub's thread.
    owner: u64,
    queue: UnsafeCell<Vec<(usize, u64)>>,
}

// SAFETY: `queue` is only accessed through `LocalQueue::with`, which checks that the caller
// runs on the owner thread; a thread id is never reused, so no two threads ever pass the check.
unsafe impl Sync for LocalQueue {}

impl LocalQueue {
    /// Runs `f` on the queue if the caller is the owner thread.
    #[inline]
    fn with<R>(&self, f: impl FnOnce(&mut Vec<(usize, u64)>) -> R) -> Option<R> {
        if thread_id() != self.owner {
            return None;
        }
        // SAFETY: only the owner thread gets here (see `Sync` above), and `f` is one of the
        // two callers below, which neither wake nor re-enter: no second `&mut` can exist.
        Some(f(unsafe { &mut *self.queue.get() }))
    }
}

impl Remote {
    fn push(&self, key: usize, generation: u64) {
        crate::lock(&self.queue).push((key, generation));
        self.pending.store(true, Ordering::SeqCst);
        self.wake_hub();
    }

    /// Wakes the hub's future unless it was woken since it last went idle. The first load
    /// (a plain `mov` on x86) spares the read-modify-write when it was.
    fn wake_hub(&self) {
        if !self.hub_woken.load(Ordering::SeqCst) && !self.hub_woken.swap(true, Ordering::SeqCst) {
            if let Some(w) = crate::lock(&self.hub_waker).as_ref() {
                w.wake_by_ref();
            }
        }
    }
}

/// A green thread's waker (step 4 of the protocol), which is also what its handle holds
/// ([`Control`]): one allocation, so that a resume reads its flags from one cache line.
pub(crate) struct GreenWake {
    pub(crate) notified: AtomicBool,
    pub(crate) kill: AtomicBool,
    pub(crate) key: usize,
    pub(crate) generation: u64,
    pub(crate) hub: Arc<Remote>,
    pub(crate) name: Option<Arc<str>>,
}

impl GreenWake {
    /// Wakes the green thread (queues it on its hub unless already notified).
    pub(crate) fn wake_now(&self) {
        // On the hub's thread, a load and a store instead of a swap: a wake from another
        // thread racing with it may queue the green thread twice, which the hub's `queued`
        // flag absorbs (step 4).
        let local = self.hub.local.with(|queue| {
            if !self.notified.load(Ordering::Acquire) {
                self.notified.store(true, Ordering::Release);
                queue.push((self.key, self.generation));
                true
            } else {
                false
            }
        });
        match local {
            Some(true) => self.hub.wake_hub(),
            Some(false) => {}
            None => {
                if !self.notified.swap(true, Ordering::AcqRel) {
                    self.hub.push(self.key, self.generation);
                }
            }
        }
    }
}

impl Wake for GreenWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_now();
    }
}

/// The per-thread scheduler state; reached through the `HUB` thread-local while the hub's
/// future is polled.
pub(crate) struct HubCore {
    ready: RefCell<VecDeque<Rc<Green>>>,
    /// The remote queue's contents, swapped out under its lock (both keep their capacity).
    drained: RefCell<Vec<(usize, u64)>>,
    greens: RefCell<Slab<Rc<Green>>>,
    remote: Arc<Remote>,
    stack_size: usize,
    pool: RefCell<Vec<DefaultStack>>,
    next_generation: Cell<u64>,
    /// The address of a thread-local of the thread the hub belongs to (its identity).
    thread_mark: usize,
}

thread_local! {
    /// This thread's [`thread_id`] (0 until first asked).
    static THREAD_ID: Cell<u64> = const { Cell::new(0) };
    static HUB: Cell<*const HubCore> = const { Cell::new(std::ptr::null()) };
    static GREEN: Cell<*const Green> = const { Cell::new(std::ptr::null()) };
    static THREAD_MARK: u8 = const { 0 };
}

/// A number that names the calling thread and is never given to another thread.
fn thread_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    THREAD_ID.with(|id| match id.get() {
        0 => {
            let fresh = NEXT.fetch_add(1, Ordering::Relaxed);
            id.set(fresh);
            fresh
        }
        known => known,
    })
}

fn thread_mark() -> usize {
    THREAD_MARK.with(|m| m as *const u8 as usize)
}

/// Sets `cell` to `value` until dropped, then restores what it held.
struct Scoped<T: Copy + 'static> {
    key: &'static std::thread::LocalKey<Cell<T>>,
    previous: T,
}

impl<T: Copy + 'static> Scoped<T> {
    fn set(key: &'static std::thread::LocalKey<Cell<T>>, value: T) -> Self {
        let previous = key.with(|c| c.replace(value));
        Self { key, previous }
    }
}

impl<T: Copy + 'static> Drop for Scoped<T> {
    fn drop(&mut self) {
        self.key.with(|c| c.set(self.previous));
    }
}

/// Runs `f` with the hub running on this thread, if any.
fn with_hub<R>(f: impl FnOnce(Option<&HubCore>) -> R) -> R {
    let hub = HUB.with(Cell::get);
    // SAFETY: `HUB` is non-null only inside `HubFuture::poll`/`drop` (a `Scoped` guard resets
    // it), during which the `HubCore` it points to is alive (the future owns it through an
    // `Rc`) and only ever used through shared references.
    f(unsafe { hub.as_ref() })
}

/// Runs `f` with the green thread running on this thread, if any.
fn with_green<R>(f: impl FnOnce(Option<&Green>) -> R) -> R {
    let green = GREEN.with(Cell::get);
    // SAFETY: `GREEN` is non-null only while the hub resumes or unwinds that green thread
    // (`HubCore::resume` sets it with a `Scoped` guard); the hub holds an `Rc<Green>` for
    // that whole time, so the pointee is alive.
    f(unsafe { green.as_ref() })
}

/// Whether the caller runs on a green thread.
pub fn in_green_thread() -> bool {
    GREEN.with(|g| !g.get().is_null())
}

/// The stack pointer of the caller (an address in its frame on other architectures).
#[inline(always)]
fn stack_pointer() -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let sp: usize;
        // SAFETY: reads a register; touches no memory, no flags.
        unsafe {
            std::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags));
        }
        sp
    }
    #[cfg(target_arch = "aarch64")]
    {
        let sp: usize;
        // SAFETY: reads a register; touches no memory, no flags.
        unsafe {
            std::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags));
        }
        sp
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let marker = 0u8;
        std::hint::black_box(&marker) as *const u8 as usize
    }
}

/// Asks the CPU to bring the line of `addr` into its caches (nothing on other architectures).
#[inline(always)]
fn prefetch(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it never faults, whatever the address, and changes no
    // memory.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(addr as *const i8);
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above (`prfm` never faults).
    unsafe {
        std::arch::asm!("prfm pldl1keep, [{}]", in(reg) addr, options(nostack, readonly, preserves_flags));
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = addr;
}

/// Prefetches what the next green threads of `ready` touch first when resumed.
///
/// With a thousand green threads taking turns, each resume starts on memory that went cold
/// since that green thread last ran: its record, its waker's flags, and above all its own
/// stack, a page of its own (the epoll model's tasks sit densely in a few heap pages). On a
/// virtual machine the first touch of that page is a two-dimensional page walk. Done one at
/// a time, right as the switch needs it, those misses add up (the first instruction after
/// the switch was the costliest of the whole server); asked for in a batch of
/// [`PREFETCH_AHEAD`] green threads, they overlap each other and the work in between. The
/// records of the batch after are prefetched too, so that reading `sp` then hits.
#[inline(always)]
fn prefetch_ahead(ready: &VecDeque<Rc<Green>>) {
    for g in ready.iter().skip(PREFETCH_AHEAD).take(PREFETCH_AHEAD) {
        let record = Rc::as_ptr(g) as usize;
        prefetch(record);
        prefetch(record + 64);
    }
    for g in ready.iter().take(PREFETCH_AHEAD) {
        prefetch(&g.wake.notified as *const AtomicBool as usize);
        let sp = g.sp.get() & !63;
        if sp == 0 {
            continue;
        }
        let top = g.range[1] + g.range[2];
        let end = (sp + PREFETCH_LINES * 64).min(top);
        // From the line below `sp`: the switch saves its registers just under it.
        let mut line = sp - 64;
        while line < end {
            prefetch(line);
            line += 64;
        }
    }
}

/// Suspends the running green thread back to its hub (it is resumed when queued again).
#[inline]
fn suspend(green: &Green) {
    green.sp.set(stack_pointer());
    let yielder = green.yielder.get();
    // SAFETY: the yielder lives on the green thread's own stack for as long as its body runs,
    // and we are on that stack now (the caller is the running green thread).
    unsafe { (*yielder).suspend(()) };
}

impl HubCore {
    fn new(stack_size: usize) -> Self {
        Self {
            ready: RefCell::new(VecDeque::new()),
            drained: RefCell::new(Vec::new()),
            greens: RefCell::new(Slab::new()),
            remote: Arc::new(Remote {
                queue: Mutex::new(Vec::new()),
                pending: AtomicBool::new(false),
                hub_woken: AtomicBool::new(false),
                hub_waker: Mutex::new(None),
                local: LocalQueue {
                    owner: thread_id(),
                    queue: UnsafeCell::new(Vec::new()),
                },
            }),
            stack_size,
            pool: RefCell::new(Vec::new()),
            next_generation: Cell::new(0),
            thread_mark: thread_mark(),
        }
    }

    fn take_stack(&self, size: usize) -> io::Result<DefaultStack> {
        if size == self.stack_size {
            if let Some(s) = self.pool.borrow_mut().pop() {
                return Ok(s);
            }
        }
        Ok(GuardedStack::new(size)?.stack)
    }

    fn spawn<T, F>(
        &self,
        name: Option<Arc<str>>,
        stack_size: Option<usize>,
        f: F,
    ) -> io::Result<GreenHandle<T>>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let size = stack_size.unwrap_or(self.stack_size);
        let stack = self.take_stack(size)?;
        let range = GuardedStack::range_of(&stack);
        let generation = self.next_generation.get();
        self.next_generation.set(generation + 1);
        let stack = ColoredStack::new(stack, generation as usize);
        let mut greens = self.greens.borrow_mut();
        let entry = greens.vacant_entry();
        let key = entry.key();
        let wake = Arc::new(GreenWake {
            notified: AtomicBool::new(false),
            kill: AtomicBool::new(false),
            key,
            generation,
            hub: Arc::clone(&self.remote),
            name,
        });
        let waker = Waker::from(Arc::clone(&wake));
        let control = Arc::clone(&wake);
        let join = Arc::new(JoinInner::new(Arc::clone(&control)));
        let body_join = Arc::clone(&join);
        let co = Coroutine::with_stack(stack, move |yielder: &Yielder<(), ()>, ()| {
            with_green(|g| {
                let g = g.expect("a green thread starts with GREEN set");
                g.yielder.set(yielder);
            });
            match panic::catch_unwind(AssertUnwindSafe(f)) {
                Ok(v) => body_join.complete(Ok(v)),
                Err(payload) => {
                    if with_green(|g| g.is_some_and(|g| g.unwinding.get())) {
                        // The hub is unwinding us (kill or shutdown): let it through.
                        panic::resume_unwind(payload);
                    }
                    body_join.complete(Err(GreenError::Panicked(payload)));
                }
            }
        });
        let kill_join = Arc::clone(&join);
        let green = Rc::new(Green {
            queued: Cell::new(false),
            requeue: Cell::new(false),
            awaiting_switch: Cell::new(false),
            unwinding: Cell::new(false),
            yielder: Cell::new(std::ptr::null()),
            sp: Cell::new(0),
            wake,
            co: RefCell::new(Some(co)),
            range,
            key,
            generation,
            pooled: size == self.stack_size,
            waker,
            kill: Box::new(move || kill_join.complete(Err(GreenError::Killed))),
        });
        entry.insert(Rc::clone(&green));
        drop(greens);
        self.enqueue(green, false);
        Ok(GreenHandle::new(join))
    }

    #[inline(always)]
    fn enqueue(&self, green: Rc<Green>, front: bool) {
        if !green.queued.replace(true) {
            let mut ready = self.ready.borrow_mut();
            if front {
                ready.push_front(green);
            } else {
                ready.push_back(green);
            }
        } else if front {
            let mut ready = self.ready.borrow_mut();
            if let Some(i) = ready.iter().position(|g| Rc::ptr_eq(g, &green)) {
                let g = ready.remove(i).expect("position is in range");
                ready.push_front(g);
            }
        }
    }

    fn lookup(&self, key: usize, generation: u64) -> Option<Rc<Green>> {
        self.greens
            .borrow()
            .get(key)
            .filter(|g| g.generation == generation)
            .cloned()
    }

    fn drain_remote(&self) {
        let mut woken = self.drained.borrow_mut();
        // Both queues keep their capacity: `woken` is empty here and swaps places with the
        // local queue; the remote one is emptied into it.
        self.remote
            .local
            .with(|local| std::mem::swap(local, &mut *woken))
            .expect("a hub runs on the thread that created it");
        if self.remote.pending.load(Ordering::SeqCst)
            && self.remote.pending.swap(false, Ordering::SeqCst)
        {
            woken.append(&mut crate::lock(&self.remote.queue));
        }
        for (key, generation) in woken.drain(..) {
            if let Some(g) = self.lookup(key, generation) {
                self.enqueue(g, false);
            }
        }
    }

    /// Step 2 of the protocol: runs ready green threads, at most [`BUDGET`] of them.
    fn run(&self, cx: &mut Context<'_>) {
        {
            let mut w = crate::lock(&self.remote.hub_waker);
            if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *w = Some(cx.waker().clone());
            }
        }
        self.drain_remote();
        let mut budget = BUDGET;
        let mut resumed = 0usize;
        // A green thread that yielded while nothing else was ready: resumed again at once,
        // without a trip through the queue.
        let mut again: Option<Rc<Green>> = None;
        loop {
            let next = again.take().or_else(|| self.ready.borrow_mut().pop_front());
            let Some(green) = next else {
                // Going idle: from here on a push must wake the hub's future again (step 4).
                // Cleared before the last look at the queue, so no push falls in between.
                self.remote.hub_woken.store(false, Ordering::SeqCst);
                self.drain_remote();
                if self.ready.borrow().is_empty() {
                    return;
                }
                continue;
            };
            green.queued.set(false);
            if resumed % PREFETCH_AHEAD == 0 {
                prefetch_ahead(&self.ready.borrow());
            }
            resumed += 1;
            self.resume(&green);
            if green.requeue.replace(false) {
                if self.ready.borrow().is_empty() {
                    again = Some(green);
                } else {
                    self.enqueue(green, false);
                }
            }
            budget -= 1;
            if budget == 0 {
                if let Some(green) = again.take() {
                    self.enqueue(green, false);
                }
                cx.waker().wake_by_ref();
                return;
            }
        }
    }

    /// Resumes (or, if a kill was requested, unwinds) one green thread.
    ///
    /// Inlined into [`run`](Self::run): this is the hub's half of every switch, so it keeps
    /// to a few loads and stores around corosensei's resume; killing and finishing are out
    /// of line.
    #[inline(always)]
    fn resume(&self, green: &Rc<Green>) {
        assert_eq!(
            thread_mark(),
            self.thread_mark,
            "a green thread must never run on another OS thread than its hub's"
        );
        let mut co = green.co.borrow_mut();
        let Some(coroutine) = co.as_mut() else {
            return; // finished while queued
        };
        green.wake.notified.store(false, Ordering::Release);
        if green.wake.kill.load(Ordering::Acquire) {
            drop(co);
            return self.unwind(green);
        }
        let returned = {
            let _green = Scoped::set(&GREEN, Rc::as_ptr(green));
            let _running = Running::enter(&green.range);
            matches!(coroutine.resume(()), CoroutineResult::Return(()))
        };
        if returned {
            let coroutine = co.take().expect("checked above");
            drop(co);
            self.retire(green, coroutine);
        }
    }

    /// Unwinds a green thread whose kill was requested (or that the hub's shutdown ends).
    #[cold]
    fn unwind(&self, green: &Rc<Green>) {
        let mut co = green.co.borrow_mut();
        let Some(coroutine) = co.as_mut() else {
            return;
        };
        {
            let _green = Scoped::set(&GREEN, Rc::as_ptr(green));
            let _running = Running::enter(&green.range);
            green.unwinding.set(true);
            coroutine.force_unwind();
            (green.kill)();
        }
        let coroutine = co.take().expect("checked above");
        drop(co);
        self.retire(green, coroutine);
    }

    #[cold]
    fn retire(&self, green: &Green, coroutine: GreenCo) {
        self.greens.borrow_mut().remove(green.key);
        let stack = coroutine.into_stack().inner;
        let mut pool = self.pool.borrow_mut();
        if green.pooled && pool.len() < STACK_POOL {
            pool.push(stack);
        }
    }

    /// Step 6: unwinds every green thread still alive.
    fn shutdown(&self) {
        loop {
            let next = self
                .greens
                .borrow()
                .iter()
                .next()
                .map(|(_, g)| Rc::clone(g));
            let Some(green) = next else { break };
            green.wake.kill.store(true, Ordering::Release);
            self.resume(&green);
            // A green thread whose coroutine was already gone is only removed here.
            if self.lookup(green.key, green.generation).is_some() {
                self.greens.borrow_mut().remove(green.key);
            }
        }
        self.ready.borrow_mut().clear();
    }
}

/// The sync parking hook (`c10k_sync::park`): a blocking wait on a green thread parks the
/// green thread.
struct GreenParker;

impl c10k_sync::park::Park for GreenParker {
    fn waker(&self) -> Option<Waker> {
        with_green(|g| g.map(|g| g.waker.clone()))
    }

    fn park(&self) -> bool {
        with_green(|g| g.map(suspend)).is_some()
    }

    fn park_timeout(&self, timeout: Duration) -> bool {
        if !in_green_thread() {
            return false;
        }
        // Wait for our waker or the timer, whichever first; one wake-up is enough (the
        // blocking waits re-check their condition).
        let mut sleep = pin!(c10k_runtime::time::sleep(timeout));
        with_green(|g| {
            let g = g.expect("checked above");
            let mut cx = Context::from_waker(&g.waker);
            if sleep.as_mut().poll(&mut cx).is_pending() {
                suspend(g);
            }
        });
        true
    }
}

static PARKER: GreenParker = GreenParker;

/// A hub with its settings; [`enter`](Hub::enter) makes the future that runs it.
///
/// # Examples
///
/// ```
/// use c10k_green as green;
///
/// let hub = green::Hub::builder().stack_size(64 * 1024);
/// let total = green::run_with(hub, || {
///     let a = green::spawn(|| 20);
///     let b = green::spawn(|| 22);
///     a.join().unwrap() + b.join().unwrap()
/// })?;
/// assert_eq!(total, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Hub {
    stack_size: usize,
    backend: Option<c10k_runtime::driver::Backend>,
}

impl Hub {
    /// A hub with the defaults: [`DEFAULT_STACK_SIZE`] stacks, the runtime's best backend.
    pub fn builder() -> Hub {
        Hub {
            stack_size: DEFAULT_STACK_SIZE,
            backend: None,
        }
    }

    /// The stack size of green threads spawned without one (default 256 KiB of address
    /// space, committed as touched).
    pub fn stack_size(mut self, bytes: usize) -> Hub {
        self.stack_size = bytes;
        self
    }

    /// The IO backend of the runtime [`run_with`] builds (select, poll, epoll or uring).
    pub fn backend(mut self, backend: c10k_runtime::driver::Backend) -> Hub {
        self.backend = Some(backend);
        self
    }

    /// A future that runs this hub on the thread that polls it, with `main` as its first
    /// green thread, and completes with `main`'s return value. Poll it inside a c10k runtime
    /// (its `block_on`, or a `LocalSet`): green threads use that runtime's driver. Async
    /// tasks of the same runtime run beside the green threads.
    ///
    /// # Panics
    ///
    /// When polled inside another hub. A panic of `main` is resumed by the poll.
    pub fn enter<T, F>(self, main: F) -> HubFuture<T>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let core = Rc::new(HubCore::new(self.stack_size));
        HubFuture {
            core,
            main: Some(Box::new(move |core: &HubCore| {
                core.spawn(Some("main".into()), None, main)
            })),
            handle: None,
            _not_send: PhantomData,
        }
    }
}

type Start<T> = Box<dyn FnOnce(&HubCore) -> io::Result<GreenHandle<T>>>;

/// The future of a running hub: see [`Hub::enter`]. `!Send`, so it never leaves its thread.
#[must_use = "a hub does nothing unless polled"]
pub struct HubFuture<T> {
    core: Rc<HubCore>,
    main: Option<Start<T>>,
    handle: Option<GreenHandle<T>>,
    _not_send: PhantomData<*const ()>,
}

impl<T> fmt::Debug for HubFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubFuture")
            .field("green_threads", &self.core.greens.borrow().len())
            .finish_non_exhaustive()
    }
}

impl<T> Unpin for HubFuture<T> {}

impl<T: 'static> Future for HubFuture<T> {
    type Output = io::Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        assert!(
            HUB.with(Cell::get).is_null() || HUB.with(Cell::get) == Rc::as_ptr(&self.core),
            "a hub cannot run inside another hub"
        );
        let core = Rc::clone(&self.core);
        let _hub = Scoped::set(&HUB, Rc::as_ptr(&core));
        let previous = c10k_sync::park::set_parker(Some(&PARKER));
        struct Restore(Option<&'static dyn c10k_sync::park::Park>);
        impl Drop for Restore {
            fn drop(&mut self) {
                c10k_sync::park::set_parker(self.0);
            }
        }
        let _restore = Restore(previous);
        if let Some(start) = self.main.take() {
            self.handle = Some(start(&core)?);
        }
        core.run(cx);
        let handle = self.handle.as_ref().expect("set above");
        match handle.try_take() {
            None => Poll::Pending,
            Some(Ok(v)) => Poll::Ready(Ok(v)),
            Some(Err(GreenError::Panicked(p))) => panic::resume_unwind(p),
            Some(Err(GreenError::Killed)) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "the hub's main green thread was killed",
            ))),
        }
    }
}

impl<T> Drop for HubFuture<T> {
    fn drop(&mut self) {
        let core = Rc::clone(&self.core);
        let _hub = Scoped::set(&HUB, Rc::as_ptr(&core));
        core.shutdown();
        *crate::lock(&core.remote.hub_waker) = None;
    }
}

/// Runs `main` as the first green thread of a new hub on a new current-thread c10k runtime
/// (the runtime's default backend), and returns its result once it returns. Green threads
/// still alive then are unwound (their destructors run), as gevent's do when the main
/// greenlet exits.
///
/// # Errors
///
/// If the runtime cannot be built (its driver), the first stack cannot be mapped, or `main`
/// was killed.
///
/// # Panics
///
/// A panic of `main` propagates.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use c10k_green as green;
///
/// let order = green::run(|| {
///     let a = green::spawn(|| { green::sleep(Duration::from_millis(20)); "slow" });
///     let b = green::spawn(|| "fast");
///     let mut order = vec![b.join().unwrap()];
///     order.push(a.join().unwrap());
///     order
/// })?;
/// assert_eq!(order, ["fast", "slow"]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn run<T, F>(main: F) -> io::Result<T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    run_with(Hub::builder(), main)
}

/// [`run`] with a configured [`Hub`].
///
/// # Errors
///
/// As [`run`].
pub fn run_with<T, F>(hub: Hub, main: F) -> io::Result<T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    let mut builder = c10k_runtime::Runtime::builder().current_thread();
    if let Some(b) = hub.backend {
        builder = builder.backend(b);
    }
    let rt = builder.build()?;
    rt.block_on(hub.enter(main))
}

/// Settings for one green thread: name and stack size.
#[derive(Debug, Clone, Default)]
pub struct Builder {
    name: Option<Arc<str>>,
    stack_size: Option<usize>,
}

impl Builder {
    /// A builder with no name and the hub's stack size.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the green thread (shown by [`GreenHandle::name`] and `Debug`).
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Its stack size (default: the hub's).
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Spawns `f` on the current hub (step 1 of the protocol): it is queued and runs when the
    /// caller next gives the CPU back.
    ///
    /// # Errors
    ///
    /// If its stack cannot be mapped (address space, or `vm.max_map_count`: two mappings per
    /// stack).
    ///
    /// # Panics
    ///
    /// Outside a hub (neither on a green thread nor inside a hub's poll).
    pub fn spawn<T, F>(self, f: F) -> io::Result<GreenHandle<T>>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        with_hub(|hub| {
            let hub =
                hub.expect("green::spawn outside a hub: call it from a green thread (green::run)");
            hub.spawn(self.name, self.stack_size, f)
        })
    }
}

/// Spawns `f` as a green thread on the current hub (gevent's `spawn`) and returns its handle.
///
/// # Panics
///
/// Outside a hub, or if its stack cannot be mapped (use [`Builder::spawn`] for the error).
pub fn spawn<T, F>(f: F) -> GreenHandle<T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    Builder::new()
        .spawn(f)
        .expect("cannot map a green thread's stack")
}

/// Runs `future` to completion on the current green thread, parking only the green thread
/// while it is pending (its hub runs the others, and the runtime's driver wakes it). On a
/// plain thread, outside any hub, it blocks the thread on the future instead.
///
/// # Examples
///
/// ```
/// use c10k_green as green;
///
/// let n = green::run(|| green::block_on(async { 6 * 7 }))?;
/// assert_eq!(n, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    with_green(|g| match g {
        Some(g) => {
            let mut cx = Context::from_waker(&g.waker);
            loop {
                if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
                    return v;
                }
                suspend(g);
            }
        }
        None => block_on_thread(future),
    })
}

/// Polls `future` once with the running green thread's waker (or, off a green thread, a
/// waker that unparks this thread): `Some` if it completed. A pending future has registered
/// that waker, exactly as the first poll of [`block_on`] would have.
pub(crate) fn poll_once<F: Future>(future: Pin<&mut F>) -> Option<F::Output> {
    let poll = with_green(|g| match g {
        Some(g) => future.poll(&mut Context::from_waker(&g.waker)),
        None => future.poll(&mut Context::from_waker(&thread_waker())),
    });
    match poll {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

/// A waker that unparks the calling thread.
pub(crate) fn thread_waker() -> Waker {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    Waker::from(Arc::new(Unpark(std::thread::current())))
}

/// Blocks a plain thread on `future` (used off green threads).
fn block_on_thread<F: Future>(mut future: Pin<&mut F>) -> F::Output {
    let waker = thread_waker();
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// Gives the CPU to the other ready green threads and comes back after them (gevent's
/// `sleep(0)`). Off a green thread it yields the OS thread.
///
/// This is the switch the benchmarks time, so it is inlined into the caller and touches only
/// the green thread's own record: it asks the hub to requeue it (the hub holds its `Rc` while
/// it runs) and suspends. Keeping the green thread's side of the switch free of calls and
/// returns also keeps the CPU's return-address predictor in step with corosensei's
/// `call`/`ret` pairing between the two stacks.
#[inline]
pub fn yield_now() {
    let green = GREEN.with(Cell::get);
    if green.is_null() {
        return std::thread::yield_now();
    }
    // SAFETY: `GREEN` is non-null only while the hub resumes that green thread and holds an
    // `Rc<Green>` for it (see `with_green`); we run on it, so it is alive.
    let green = unsafe { &*green };
    green.requeue.set(true);
    suspend(green);
}

/// Sleeps the current green thread for `duration` on the runtime's timer; zero yields (as
/// gevent's `sleep(0)`). Off a green thread it sleeps the OS thread.
pub fn sleep(duration: Duration) {
    if duration.is_zero() {
        yield_now();
    } else if in_green_thread() {
        block_on(c10k_runtime::time::sleep(duration));
    } else {
        std::thread::sleep(duration);
    }
}

/// Switches to `target` at once (greenlet's `switch`): `target` runs next, and the caller
/// stays parked until some green thread switches back to it (or it is killed). A target that
/// was parked on IO or a timer is woken spuriously and goes back to waiting.
///
/// Returns `false`, without switching, if `target` is dead or belongs to another hub.
///
/// # Panics
///
/// Off a green thread.
pub fn switch<T>(target: &GreenHandle<T>) -> bool {
    let control = target.control();
    with_green(|g| {
        let g = g.expect("green::switch outside a green thread");
        let found = with_hub(|hub| {
            let hub = hub.expect("a green thread runs inside its hub");
            if !Arc::ptr_eq(&hub.remote, &control.hub) {
                return false;
            }
            match hub.lookup(control.key, control.generation) {
                Some(t) => {
                    t.awaiting_switch.set(false);
                    hub.enqueue(t, true);
                    true
                }
                None => false,
            }
        });
        if found {
            g.awaiting_switch.set(true);
            while g.awaiting_switch.get() {
                suspend(g);
            }
        }
        found
    })
}
