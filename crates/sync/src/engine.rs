//! The engine shared by [`Queue`](crate::Queue) and the [`mpsc`](crate::channel::mpsc) /
//! [`mpmc`](crate::channel::mpmc) channels: a store, and a parking hand-off around it.
//!
//! # The store
//!
//! FIFO stores are lock-free: a bounded [`Ring`] (Vyukov's array queue with per-slot stamps)
//! or an unbounded [`List`] (blocks of slots linked in a chain). A ring allocates all its
//! slots up front, so a bound whose ring would exceed a page (`RING_MAX_BYTES`) gets a
//! [`BoundedList`] instead: the list, allocated block by block as it fills, with an atomic
//! count for the bound. LIFO and priority queues keep
//! a mutex-guarded store ([`Locked`]): their order needs a global decision per operation. All
//! three answer the same calls (`push` hands the value back when full or closed, `pop` says
//! `Empty` or `Closed`), and closing is one atomic step after which no push succeeds.
//!
//! # Fast path
//!
//! While nobody waits, a put is `store.push` and a get is `store.pop`: no mutex. Each checks
//! one atomic word, `waiting`, which mirrors the waiter lists (bits `GETTERS`, `PUTTERS`,
//! `FRONT`): a put that finds putters queued, or a get that finds getters queued (or values
//! put back at the front by a cancelled getter), takes the slow path instead, so that a
//! newcomer never overtakes a waiter (the crate's fairness promise).
//!
//! # The parking hand-off (slow path)
//!
//! The waiter lists live under one mutex (`State`), with the wait-list protocol of
//! `wait.rs`: what a waiter waits for is *handed over* into its node under the mutex, oldest
//! first. Every critical section ends with [`Core::settle`], which does the hand-overs:
//!
//! 1. Move queued putters' values into the store while it has room (a putter's value enters
//!    the store in its turn; the putter is woken with its node emptied).
//! 2. Hand stored values to queued getters (values put back first), oldest getter first.
//!    A closed and empty store closes out every getter; a closed store every putter (who
//!    take their values back).
//! 3. Publish `waiting` from the lists, then re-check the store: loop to 1 if getters wait
//!    and the store is not empty, or putters wait and it has room (or is closed).
//!
//! The fast paths pair with step 3, so that no wakeup is lost:
//!
//! - A put: `push`, whose claim `C` is a `SeqCst` compare-and-swap (or, for the ordered
//!   stores, a mutex section), then a `SeqCst` load `L` of `waiting`; if `GETTERS` is set,
//!   it locks (and the unlock settles).
//! - A get of a bounded store: `pop` (a `SeqCst` compare-and-swap), then a `SeqCst` load of
//!   `waiting`; if `PUTTERS` is set, lock.
//! - A waiter: registers and publishes its bit with a `SeqCst` store `W` under the mutex,
//!   then a `SeqCst` fence `F`, then re-checks the store (reads `head`/`tail`).
//!
//! *The fast paths' half.* `C`, `L`, `W` and `F` all sit in the single total order `S` of
//! `SeqCst` operations, consistent with program order. If `C` precedes `F` in `S`, a read
//! sequenced after the fence `F` sees `C` or later: the re-check sees the push (or the
//! room). Otherwise `W < F < C < L` in `S`, and a `SeqCst` load sees the last `SeqCst`
//! store before it in `S` (or later): `L` sees the waiter's bit. Either way one side sees
//! the other (the store-buffering argument of C++20 [atomics.order]). No fence is needed on
//! the fast path, which matters: on x86 it would be an `mfence` draining the store buffer,
//! i.e. waiting for the slot's cache line that the peer spins on. For the mutex-guarded
//! stores the mutex orders the two sections instead. A waiter therefore never sleeps beside
//! a value (or room) that it could take.
//!
//! loom models `SeqCst` accesses as acquire/release only, so under loom the fast path adds
//! a `SeqCst` fence (`loom::seq_cst_pair_fence`), which gives the models the guarantee the
//! real code gets from `S`. The models (`tests/loom_engine.rs`) fail if that fence or the
//! waiter's fence is removed, or the waiter's re-check is skipped.

//! # Blocking and async waits
//!
//! A blocking call retries its fast path under a [`Backoff`] (a few polls one spin hint
//! apart, then yields; see `backoff.rs` for why not crossbeam's longer spins) and parks only
//! once that is used up; a waiting thread parks in
//! `Core::park_until_served` (one lock per wake-up) and a task keeps its waker in its node.
//! A waiter registers without a wake-up, settles, and installs its wake-up only if it is
//! still queued, so that a hand-over in its own critical section never wakes itself. A
//! future dropped after it was handed a value passes the value to the next getter, or back
//! to the front of the queue (`State::front`, served before the store); a put future
//! dropped after its value entered the store has put.
//!
//! # Before an async end queues
//!
//! An async put that finds a lock-free store full (a get that finds it empty) polls it
//! `ASYNC_SPIN_POLLS` times one `spin_loop` hint apart, then yields the thread once
//! (`sched_yield`) and polls again, before it queues; a poll that finds room (a value) retries
//! the fast path, so the fairness rule above holds. Why: in a bounded channel that runs at
//! its bound, the ends take turns. Queuing costs each turn a cross-thread wake-up, and, when
//! the two threads share a core (more runnable threads than cores), the wake-up can preempt
//! the waker, so that the two ends ping-pong a message or a few per context switch. The yield
//! hands the core to the peer at once, which fills (drains) the store before it waits in
//! turn; when the peer runs on another core, the first polls see its progress within a
//! cache-line transfer. Measured with `benches/interleaved_async.rs` (crate
//! `BENCHMARKS.md`, 7 Dec): the bounded channel on tokio's runtime went from 1.19× the time
//! of tokio's own to 0.46×, on c10k's runtime from 0.76× to 0.68× of tokio's channel's.
//!
//! A spin cannot help, and is skipped, when the peer end runs on this very thread (a
//! current-thread runtime, or two tasks of one worker): an end spins only if the peer end
//! too has found the store full (empty) before, last on another thread
//! (`SpinGate::stalled_on`; the blocking calls do not count, they spin on their own). So a
//! channel spins only while it runs at its bound, both ends taking turns; a receiver whose
//! senders never filled the channel (or an unbounded one's) does not. Nor does an end that
//! keeps finding nothing: after `SPIN_MISSES` fruitless spins in a row it queues at once,
//! but for one probe every `SPIN_PROBE` waits. The mutex-guarded stores never spin (a poll
//! of theirs takes the lock). Under loom nothing spins (as for the blocking calls), so the
//! models check the same hand-off as before: a spin only adds fast-path retries. The gates
//! share the cache line of `unfinished`, so the engine is no larger for them.
//!
//! One case waits longer: a spin that missed while the peer end's task was woken by a
//! hand-over (its value entered the store, or it was handed one) and has not run since
//! (`SpinGate::woken`) keeps polling, one `spin_loop` hint apart, for up to
//! `WOKEN_PEER_WAIT` (100 µs) before it queues. That peer is about to put (get), and only
//! the latency of its wake-up separates the two ends. Without the wait, each end queued
//! before the other had woken, and the two stayed in step, both asleep at every turn.
//! This happened on c10k's runtime: the receiver in `block_on`, the sender on a worker. In
//! such a round each side parked 43–253 times per 20 000 messages, about 60 µs per turn, two
//! wake-ups (`bench/runs/2026-12-07-chan3/`). With one wait the ends run side by side again,
//! without parking. The wait ends early when the peer's value (room) shows up. When it
//! times out, it clears the peer's mark, so a peer that never comes costs one such wait.
//! Only async ends that passed the gate above wait, so the blocking calls are unaffected,
//! and under loom neither the mark nor the wait exists.
//!
//! # `task_done` / `join`
//!
//! A [`Queue`](crate::Queue) counts unfinished items in an atomic, incremented *before* a
//! push (so that a consumer's `task_done` can never see the count short) and decremented
//! again if the push fails. Whoever brings it to zero locks and wakes the joiners; `join`
//! checks and registers under the same lock, so it cannot miss that.

use std::cmp::Ordering as CmpOrdering;
use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::backoff::{Backoff, CachePadded};
use crate::list::{BoundedList, List};
use crate::loom::{self, fence, AtomicBool, AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::ring::Ring;
use crate::wait::{WaitList, WakeList, Wakeup};

/// Whether a blocking call spins (with [`Backoff`]) before it parks. Not under loom: loom
/// runs the other threads to completion whenever one yields, so a spinning waiter would
/// always find the value and the models would never reach the parking hand-off.
const SPIN_BEFORE_PARK: bool = !cfg!(loom);

/// Why a non-waiting put failed; the value comes back.
pub(crate) enum Rejected<T> {
    Full(T),
    Closed(T),
}

/// Why a non-waiting get failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoValue {
    /// Nothing stored now.
    Empty,
    /// Nothing stored, and closed: nothing will be.
    Closed,
}

pub(crate) type Compare<T> = Arc<dyn Fn(&T, &T) -> CmpOrdering + Send + Sync>;

/// The order of a mutex-guarded store.
pub(crate) enum Ordered<T> {
    Lifo(VecDeque<T>),
    /// A binary min-heap of `(sequence, value)`; ties are broken by arrival (FIFO).
    Priority {
        heap: Vec<(u64, T)>,
        cmp: Compare<T>,
        seq: u64,
    },
}

impl<T> Ordered<T> {
    fn len(&self) -> usize {
        match self {
            Ordered::Lifo(d) => d.len(),
            Ordered::Priority { heap, .. } => heap.len(),
        }
    }

    fn push(&mut self, v: T) {
        match self {
            Ordered::Lifo(d) => d.push_back(v),
            Ordered::Priority { heap, cmp, seq } => {
                *seq += 1;
                heap.push((*seq, v));
                let mut i = heap.len() - 1;
                while i > 0 {
                    let parent = (i - 1) / 2;
                    if less(cmp, &heap[i], &heap[parent]) {
                        heap.swap(i, parent);
                        i = parent;
                    } else {
                        break;
                    }
                }
            }
        }
    }

    /// Puts back a value that had been handed to a getter which gave up (LIFO: it is older
    /// than anything stored since, so it goes to the bottom; priority: by priority).
    fn unget(&mut self, v: T) {
        match self {
            Ordered::Lifo(d) => d.push_front(v),
            Ordered::Priority { .. } => self.push(v),
        }
    }

    fn pop(&mut self) -> Option<T> {
        match self {
            Ordered::Lifo(d) => d.pop_back(),
            Ordered::Priority { heap, cmp, .. } => {
                if heap.is_empty() {
                    return None;
                }
                let last = heap.len() - 1;
                heap.swap(0, last);
                let (_, v) = heap.pop()?;
                let n = heap.len();
                let mut i = 0;
                loop {
                    let (l, r) = (2 * i + 1, 2 * i + 2);
                    let mut m = i;
                    if l < n && less(cmp, &heap[l], &heap[m]) {
                        m = l;
                    }
                    if r < n && less(cmp, &heap[r], &heap[m]) {
                        m = r;
                    }
                    if m == i {
                        break;
                    }
                    heap.swap(i, m);
                    i = m;
                }
                Some(v)
            }
        }
    }
}

fn less<T>(cmp: &Compare<T>, a: &(u64, T), b: &(u64, T)) -> bool {
    match cmp(&a.1, &b.1) {
        CmpOrdering::Less => true,
        CmpOrdering::Greater => false,
        CmpOrdering::Equal => a.0 < b.0,
    }
}

/// A LIFO or priority store under its own mutex.
pub(crate) struct Locked<T> {
    items: Ordered<T>,
    maxsize: Option<usize>,
    closed: bool,
}

/// The most a bounded FIFO's ring may allocate up front: a page. A ring's slots all exist
/// from the start (as crossbeam's do), which is right for the small, busy channels it is
/// fast for, but not for a large bound that is mostly empty (a chat server's per-client
/// queue of 256 lines would take 6 KiB per client). Above this, a bounded FIFO uses a
/// [`BoundedList`], which allocates 31-slot blocks as it fills and counts its bound with one
/// more atomic per operation.
#[cfg(not(loom))]
const RING_MAX_BYTES: usize = 4096;
/// Under loom, 64 bytes: the models' small values (capacity 1–2) still get a ring, and a
/// 64-byte value reaches the bounded list without overflowing loom's coroutine stacks.
#[cfg(loom)]
const RING_MAX_BYTES: usize = 64;

/// Where the values are (see the module docs).
pub(crate) enum Store<T> {
    Ring(Ring<T>),
    List(List<T>),
    BoundedList(BoundedList<T>),
    Locked(Mutex<Locked<T>>),
}

impl<T> Store<T> {
    /// A FIFO store: a ring if bounded and its slots fit in `RING_MAX_BYTES`, a bounded
    /// list if bounded beyond that, a list if unbounded.
    pub(crate) fn fifo(maxsize: Option<usize>) -> Store<T> {
        Self::fifo_for(maxsize, false)
    }

    /// [`Store::fifo`] for one consumer at a time (an mpsc channel): an unbounded one
    /// takes the list's single-consumer protocol (see `list.rs`). The caller promises that
    /// pops never overlap: only the one receiver pops, and the engine's pops on its behalf
    /// run while it waits (under the mutex, ordered with its own pops by that mutex).
    pub(crate) fn fifo_single_consumer(maxsize: Option<usize>) -> Store<T> {
        Self::fifo_for(maxsize, true)
    }

    fn fifo_for(maxsize: Option<usize>, single_consumer: bool) -> Store<T> {
        match maxsize {
            Some(m) if m.saturating_mul(Ring::<T>::SLOT_BYTES) <= RING_MAX_BYTES => {
                Store::Ring(Ring::new(m))
            }
            Some(m) => Store::BoundedList(BoundedList::new(m)),
            None if single_consumer => Store::List(List::new_single_consumer()),
            None => Store::List(List::new()),
        }
    }

    /// A mutex-guarded LIFO or priority store.
    pub(crate) fn locked(items: Ordered<T>, maxsize: Option<usize>) -> Store<T> {
        Store::Locked(Mutex::new(Locked {
            items,
            maxsize,
            closed: false,
        }))
    }

    #[inline(always)]
    fn push(&self, v: T) -> Result<(), Rejected<T>> {
        match self {
            Store::Ring(r) => r.push(v),
            Store::List(l) => l.push(v),
            Store::BoundedList(l) => l.push(v),
            Store::Locked(m) => {
                let mut s = loom::lock(m);
                if s.closed {
                    Err(Rejected::Closed(v))
                } else if s.maxsize.is_some_and(|m| s.items.len() >= m) {
                    Err(Rejected::Full(v))
                } else {
                    s.items.push(v);
                    Ok(())
                }
            }
        }
    }

    #[inline]
    #[allow(unsafe_code)]
    fn pop(&self) -> Result<T, NoValue> {
        let mut out = MaybeUninit::uninit();
        self.pop_to(&mut out)?;
        // SAFETY: `pop_to` returned `Ok`, so it wrote `out`.
        Ok(unsafe { out.assume_init() })
    }

    /// [`pop`](Self::pop) into `out`, written exactly when `Ok` is returned: the receive
    /// fast path's form (why: see `Ring::pop_to`).
    #[inline(always)]
    fn pop_to(&self, out: &mut MaybeUninit<T>) -> Result<(), NoValue> {
        match self {
            Store::Ring(r) => r.pop_to(out),
            Store::List(l) => l.pop_to(out),
            Store::BoundedList(l) => l.pop_to(out),
            Store::Locked(m) => {
                let mut s = loom::lock(m);
                match s.items.pop() {
                    Some(v) => {
                        out.write(v);
                        Ok(())
                    }
                    None if s.closed => Err(NoValue::Closed),
                    None => Err(NoValue::Empty),
                }
            }
        }
    }

    /// Puts back a value a cancelled getter had been handed. Ordered stores take it (in their
    /// order); FIFO stores hand it back, for the engine's front buffer.
    fn unget(&self, v: T) -> Option<T> {
        match self {
            Store::Ring(_) | Store::List(_) | Store::BoundedList(_) => Some(v),
            Store::Locked(m) => {
                loom::lock(m).items.unget(v);
                None
            }
        }
    }

    fn close(&self) {
        match self {
            Store::Ring(r) => {
                r.close();
            }
            Store::List(l) => {
                l.close();
            }
            Store::BoundedList(l) => {
                l.close();
            }
            Store::Locked(m) => loom::lock(m).closed = true,
        }
    }

    fn is_closed(&self) -> bool {
        match self {
            Store::Ring(r) => r.is_closed(),
            Store::List(l) => l.is_closed(),
            Store::BoundedList(l) => l.is_closed(),
            Store::Locked(m) => loom::lock(m).closed,
        }
    }

    fn len(&self) -> usize {
        match self {
            Store::Ring(r) => r.len(),
            Store::List(l) => l.len(),
            Store::BoundedList(l) => l.len(),
            Store::Locked(m) => loom::lock(m).items.len(),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Store::List(l) => l.is_empty(),
            Store::BoundedList(l) => l.is_empty(),
            _ => self.len() == 0,
        }
    }

    /// Whether the store is one of the lock-free ones (whose snapshots cost no lock, so an
    /// async end may poll them while it spins).
    fn is_lock_free(&self) -> bool {
        !matches!(self, Store::Locked(_))
    }

    /// Whether a push would find room now (a snapshot).
    fn has_room(&self) -> bool {
        match self {
            Store::Ring(r) => r.len() < r.capacity(),
            Store::List(_) => true,
            Store::BoundedList(l) => l.has_room(),
            Store::Locked(m) => {
                let s = loom::lock(m);
                s.maxsize.is_none_or(|m| s.items.len() < m)
            }
        }
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Store::Ring(_) | Store::List(_) | Store::BoundedList(_) => "fifo",
            Store::Locked(m) => match loom::lock(m).items {
                Ordered::Lifo(_) => "lifo",
                Ordered::Priority { .. } => "priority",
            },
        }
    }
}

/// `waiting` bit: getters are queued.
const GETTERS: usize = 1;
/// `waiting` bit: putters are queued.
const PUTTERS: usize = 2;
/// `waiting` bit: values put back by cancelled getters wait in `State::front`.
const FRONT: usize = 4;

/// Everything under the engine's mutex.
pub(crate) struct State<T> {
    /// Getters; `data` is the value handed over (`None` while waiting, or when closed out).
    getters: WaitList<Option<T>>,
    /// Putters; `data` holds the value until it enters the store.
    putters: WaitList<Option<T>>,
    joiners: WaitList<()>,
    /// Values handed to getters that gave up, served before the store (FIFO stores only:
    /// a lock-free store cannot push at its head). Not counted against the bound, as a value
    /// handed out had already left the store.
    front: VecDeque<T>,
    /// Wake-ups collected in this critical section, run after the unlock.
    wakes: WakeList,
}

/// The engine (see the module docs).
pub(crate) struct Core<T> {
    store: Store<T>,
    /// `GETTERS | PUTTERS | FRONT`, published under the mutex by [`Core::settle`]. Read by
    /// the fast paths; rarely written, so kept on its own line with the read-only fields.
    waiting: CachePadded<AtomicUsize>,
    /// The bound, `None` if unbounded.
    maxsize: Option<usize>,
    /// Whether `unfinished` is maintained (`Queue`; channels have no `task_done`).
    track: bool,
    state: Mutex<State<T>>,
    /// The `unfinished` count and the spin gates, on one line of their own.
    counts: CachePadded<Counts>,
    /// Channel handles (unused by `Queue`).
    senders: AtomicUsize,
    receivers: AtomicUsize,
}

/// [`Core`]'s line of counters, apart from the fast paths' `waiting`.
#[derive(Default)]
struct Counts {
    /// Items put and not yet `task_done` (when `track`).
    unfinished: AtomicUsize,
    /// The async ends' spin gates, indexed by `PUT` and `GET`: see [`SpinGate`]. Written only
    /// on slow paths; they share the line of `unfinished`, which only a `Queue` writes, so
    /// that the engine is no larger than without them.
    spin: [SpinGate; 2],
}

/// Index of the put end's [`SpinGate`].
const PUT: usize = 0;
/// Index of the get end's [`SpinGate`].
const GET: usize = 1;

/// A token of the calling thread (the address of a thread-local), never 0.
fn thread_token() -> usize {
    thread_local! {
        static TOKEN: u8 = const { 0 };
    }
    TOKEN.with(|t| std::ptr::from_ref(t) as usize)
}

/// Polls an async end makes of a full (empty) lock-free store, one `spin_loop` hint apart,
/// before it yields the thread once and polls a last time (see "Before an async end queues"
/// in the module docs).
const ASYNC_SPIN_POLLS: u32 = 3;
/// Spins in a row that found nothing after which an end stops spinning ...
const SPIN_MISSES: usize = 4;
/// ... except for one probe every `SPIN_PROBE` waits.
const SPIN_PROBE: usize = 64;
/// How long an end whose spin missed keeps polling while the peer end, woken by a
/// hand-over, has not run yet (see "Before an async end queues" in the module docs): about
/// three cross-thread wake-ups' latency.
const WOKEN_PEER_WAIT: Duration = Duration::from_micros(100);

/// The gate of one async end's spin: whether spinning before queuing has paid off lately.
#[derive(Default)]
struct SpinGate {
    /// Spins in a row that found nothing.
    misses: AtomicUsize,
    /// The thread on which this end last found the store full (empty), as a
    /// `thread_token`; 0 if it never has.
    stalled_on: AtomicUsize,
    /// A hand-over has woken this end's task (a putter's value entered the store, a getter
    /// was handed a value) and it has not run since: it is about to put (get). Cleared when
    /// it runs, or by a peer whose wait for it timed out. Blocking waiters do not set it.
    woken: AtomicBool,
}

impl SpinGate {
    /// Whether to spin, given the peer end's gate: only if the peer end too has found the
    /// store full (empty) before, and on another thread (a peer on this thread cannot make
    /// progress while this one spins, as on a current-thread runtime), and spinning has not
    /// missed `SPIN_MISSES` times in a row (then once in `SPIN_PROBE` waits).
    #[inline]
    fn should_spin(&self, peer: &SpinGate) -> bool {
        if cfg!(loom) {
            return false;
        }
        let p = peer.stalled_on.load(Ordering::Relaxed);
        if p == 0 || p == thread_token() {
            return false;
        }
        let m = self.misses.load(Ordering::Relaxed);
        if m < SPIN_MISSES {
            return true;
        }
        self.misses.store(m.wrapping_add(1), Ordering::Relaxed);
        m % SPIN_PROBE == 0
    }

    /// Records whether a spin found what it waited for.
    #[inline]
    fn record(&self, hit: bool) {
        let m = self.misses.load(Ordering::Relaxed);
        if hit {
            if m != 0 {
                self.misses.store(0, Ordering::Relaxed);
            }
        } else if m < SPIN_MISSES {
            self.misses.store(m + 1, Ordering::Relaxed);
        }
        // (A failed probe: `should_spin` counts on towards the next one.)
    }

    /// Whether the peer end was woken by a hand-over and has not run since.
    #[inline]
    fn peer_on_its_way(peer: &SpinGate) -> bool {
        peer.woken.load(Ordering::Relaxed)
    }

    /// A hand-over woke this end.
    #[inline]
    fn woke(&self) {
        if !cfg!(loom) && !self.woken.load(Ordering::Relaxed) {
            self.woken.store(true, Ordering::Relaxed);
        }
    }

    /// This end runs again after a wake-up.
    #[inline]
    fn resumed(&self) {
        if !cfg!(loom) && self.woken.load(Ordering::Relaxed) {
            self.woken.store(false, Ordering::Relaxed);
        }
    }

    /// This end found the store full (empty) on the calling thread.
    #[inline]
    fn stalled(&self) {
        if cfg!(loom) {
            return;
        }
        let me = thread_token();
        if self.stalled_on.load(Ordering::Relaxed) != me {
            self.stalled_on.store(me, Ordering::Relaxed);
        }
    }
}

/// The engine's mutex; its release settles (see [`Core::settle`]) and then wakes.
pub(crate) struct Guard<'a, T> {
    /// `Some` until dropped.
    guard: Option<MutexGuard<'a, State<T>>>,
    core: &'a Core<T>,
}

impl<T> std::ops::Deref for Guard<'_, T> {
    type Target = State<T>;

    fn deref(&self) -> &State<T> {
        self.guard.as_ref().expect("engine guard used after drop")
    }
}

impl<T> std::ops::DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut State<T> {
        self.guard.as_mut().expect("engine guard used after drop")
    }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        let Some(mut s) = self.guard.take() else {
            return;
        };
        self.core.settle(&mut s);
        let wakes = std::mem::take(&mut s.wakes);
        drop(s);
        wakes.wake_all();
    }
}

impl<T> Core<T> {
    /// An engine over `store`; `track` maintains the unfinished-task count.
    pub(crate) fn new(store: Store<T>, maxsize: Option<usize>, track: bool) -> Core<T> {
        Core {
            store,
            waiting: CachePadded(AtomicUsize::new(0)),
            maxsize,
            track,
            state: Mutex::new(State {
                getters: WaitList::new(),
                putters: WaitList::new(),
                joiners: WaitList::new(),
                front: VecDeque::new(),
                wakes: WakeList::new(),
            }),
            counts: CachePadded::default(),
            senders: AtomicUsize::new(0),
            receivers: AtomicUsize::new(0),
        }
    }

    /// A FIFO channel engine with one sender and one receiver.
    pub(crate) fn channel(maxsize: Option<usize>) -> Core<T> {
        Self::channel_over(Store::fifo(maxsize), maxsize)
    }

    /// A FIFO channel engine whose one receiver is never cloned (mpsc): see
    /// [`Store::fifo_single_consumer`].
    pub(crate) fn channel_single_consumer(maxsize: Option<usize>) -> Core<T> {
        Self::channel_over(Store::fifo_single_consumer(maxsize), maxsize)
    }

    fn channel_over(store: Store<T>, maxsize: Option<usize>) -> Core<T> {
        let core = Core::new(store, maxsize, false);
        core.senders.store(1, Ordering::Relaxed);
        core.receivers.store(1, Ordering::Relaxed);
        core
    }

    pub(crate) fn lock(&self) -> Guard<'_, T> {
        Guard {
            guard: Some(loom::lock(&self.state)),
            core: self,
        }
    }

    /// The hand-overs and the publication of `waiting` (steps 1–3 of the module docs). Runs
    /// at the end of every critical section.
    fn settle(&self, s: &mut State<T>) {
        loop {
            // 1. Queued putters' values into free room, oldest first.
            while let Some(k) = s.putters.front() {
                let Some(v) = s.putters.data_mut(k).take() else {
                    let w = s.putters.notify(k);
                    s.wakes.push(w);
                    continue;
                };
                match self.push_counted(v, s) {
                    Ok(()) => {
                        let w = s.putters.notify(k);
                        if matches!(w, Wakeup::Task(_)) {
                            self.counts.spin[PUT].woke();
                        }
                        s.wakes.push(w);
                    }
                    Err(Rejected::Full(v)) => {
                        *s.putters.data_mut(k) = Some(v);
                        break;
                    }
                    Err(Rejected::Closed(v)) => {
                        // Every putter is closed out and takes its value back.
                        *s.putters.data_mut(k) = Some(v);
                        s.putters.notify_all(&mut s.wakes);
                    }
                }
            }
            // 2. Values to queued getters, oldest first; put-back values go first.
            while let Some(k) = s.getters.front() {
                let v = match s.front.pop_front() {
                    Some(v) => v,
                    None => match self.store.pop() {
                        Ok(v) => v,
                        Err(NoValue::Empty) => break,
                        Err(NoValue::Closed) => {
                            s.getters.notify_all(&mut s.wakes);
                            break;
                        }
                    },
                };
                *s.getters.data_mut(k) = Some(v);
                let w = s.getters.notify(k);
                if matches!(w, Wakeup::Task(_)) {
                    self.counts.spin[GET].woke();
                }
                s.wakes.push(w);
            }
            // 3. Publish, then re-check what a fast path may have done meanwhile.
            let bits = if s.getters.is_empty() { 0 } else { GETTERS }
                | if s.putters.is_empty() { 0 } else { PUTTERS }
                | if s.front.is_empty() { 0 } else { FRONT };
            if self.waiting.load(Ordering::Relaxed) != bits {
                self.waiting.store(bits, Ordering::SeqCst);
            }
            if bits & (GETTERS | PUTTERS) == 0 {
                return;
            }
            // Pairs with the fence of `after_push` / `after_pop`.
            fence(Ordering::SeqCst);
            let again = (bits & GETTERS != 0 && !self.store.is_empty())
                || (bits & PUTTERS != 0 && (self.store.has_room() || self.store.is_closed()));
            if !again {
                return;
            }
        }
    }

    /// Counts a new item (when tracking), before it becomes visible to getters.
    #[inline]
    fn track(&self) {
        if self.track {
            self.counts.unfinished.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Takes back the count of an item whose push failed; true if that made it zero.
    fn untrack(&self) -> bool {
        self.track && self.counts.unfinished.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// Pushes under the mutex, counting the item.
    fn push_counted(&self, v: T, s: &mut State<T>) -> Result<(), Rejected<T>> {
        self.track();
        self.store.push(v).inspect_err(|_| {
            if self.untrack() {
                s.joiners.notify_all(&mut s.wakes);
            }
        })
    }

    /// After a successful push: if getters are queued, lock so that the release hands the
    /// value over (the fast path's half of the handshake).
    #[inline]
    fn after_push(&self) {
        // Pairs with the fence of `settle` (step 3); see "the fast paths' half" above.
        loom::seq_cst_pair_fence();
        if self.waiting.load(Ordering::SeqCst) & GETTERS != 0 {
            drop(self.lock());
        }
    }

    /// After a successful pop of a bounded store: if putters are queued, lock so that the
    /// release lets the oldest one in.
    #[inline]
    fn after_pop(&self) {
        if self.maxsize.is_some() {
            // Pairs with the fence of `settle` (step 3); see "the fast paths' half" above.
            loom::seq_cst_pair_fence();
            if self.waiting.load(Ordering::SeqCst) & PUTTERS != 0 {
                drop(self.lock());
            }
        }
    }

    /// Puts now or says why not.
    #[inline(always)]
    pub(crate) fn try_put(&self, v: T) -> Result<(), Rejected<T>> {
        if self.waiting.load(Ordering::Relaxed) & PUTTERS != 0 {
            return self.try_put_slow(v);
        }
        self.track();
        match self.store.push(v) {
            Ok(()) => {
                self.after_push();
                Ok(())
            }
            Err(e) => {
                if self.untrack() {
                    self.lock().wake_joiners();
                }
                Err(e)
            }
        }
    }

    /// `try_put` with putters queued: they go first; fail while any is left.
    #[cold]
    fn try_put_slow(&self, v: T) -> Result<(), Rejected<T>> {
        let mut g = self.lock();
        let s = &mut *g;
        self.settle(s);
        if !s.putters.is_empty() {
            return Err(if self.store.is_closed() {
                Rejected::Closed(v)
            } else {
                Rejected::Full(v)
            });
        }
        self.push_counted(v, s)
    }

    /// Gets now or says why not.
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(crate) fn try_get(&self) -> Result<T, NoValue> {
        let mut out = MaybeUninit::uninit();
        self.try_get_to(&mut out)?;
        // SAFETY: `try_get_to` returned `Ok`, so it wrote `out`.
        Ok(unsafe { out.assume_init() })
    }

    /// [`Core::try_get`] into `out`, written exactly when `Ok` is returned (see
    /// `Store::pop_to`).
    #[inline(always)]
    fn try_get_to(&self, out: &mut MaybeUninit<T>) -> Result<(), NoValue> {
        if self.waiting.load(Ordering::Relaxed) & (GETTERS | FRONT) != 0 {
            out.write(self.try_get_slow()?);
            return Ok(());
        }
        self.store.pop_to(out)?;
        self.after_pop();
        Ok(())
    }

    /// `try_get` with getters queued (they go first) or values put back.
    #[cold]
    fn try_get_slow(&self) -> Result<T, NoValue> {
        let mut g = self.lock();
        self.try_get_locked(&mut g)
    }

    fn try_get_locked(&self, s: &mut State<T>) -> Result<T, NoValue> {
        self.settle(s);
        if !s.getters.is_empty() {
            return Err(NoValue::Empty);
        }
        match s.front.pop_front() {
            Some(v) => Ok(v),
            None => self.store.pop(),
        }
    }

    /// Queues a putter with `v` and settles. Returns its key and whether it is still queued;
    /// if it is, `wakeup` is installed. Registering without a wake-up first means that a
    /// hand-over inside this very critical section does not wake the caller itself.
    fn register_putter(
        &self,
        v: T,
        wakeup: impl FnOnce() -> Wakeup,
    ) -> (Guard<'_, T>, usize, bool) {
        let mut g = self.lock();
        let k = g.putters.push_back(Some(v), Wakeup::Nobody);
        self.settle(&mut g);
        let queued = g.putters.is_queued(k);
        if queued {
            g.putters.set_wakeup(k, wakeup());
        }
        (g, k, queued)
    }

    /// [`Core::register_putter`] for getters.
    fn register_getter(&self, wakeup: impl FnOnce() -> Wakeup) -> (Guard<'_, T>, usize, bool) {
        let mut g = self.lock();
        let k = g.getters.push_back(None, Wakeup::Nobody);
        self.settle(&mut g);
        let queued = g.getters.is_queued(k);
        if queued {
            g.getters.set_wakeup(k, wakeup());
        }
        (g, k, queued)
    }

    /// Parks the calling thread until `is_queued` says its waiter was served, or until
    /// `deadline`; returns with the mutex held, so that the caller removes its node in the
    /// same critical section (one lock per wake-up). A wake-up that finds the waiter still
    /// queued was spurious (a stale `unpark`) and parks again.
    fn park_until_served(
        &self,
        deadline: Option<Instant>,
        is_queued: impl Fn(&State<T>) -> bool,
    ) -> Guard<'_, T> {
        loop {
            let g = self.lock();
            if !is_queued(&g) {
                return g;
            }
            match deadline {
                None => {
                    g.unlock_settled();
                    loom::park();
                }
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return g;
                    }
                    g.unlock_settled();
                    loom::park_timeout(d - now);
                }
            }
        }
    }

    /// Blocking put; `Full(v)` back means the deadline passed.
    pub(crate) fn put_blocking(&self, v: T, deadline: Option<Instant>) -> Result<(), Rejected<T>> {
        let mut v = v;
        let mut backoff = Backoff::new();
        loop {
            match self.try_put(v) {
                Err(Rejected::Full(back)) => v = back,
                r => return r,
            }
            if !SPIN_BEFORE_PARK || backoff.is_completed() {
                break;
            }
            backoff.snooze();
        }
        let (g, key, queued) = self.register_putter(v, Wakeup::thread);
        let mut g = if queued {
            g.unlock_settled();
            self.park_until_served(deadline, |s| s.putters.is_queued(key))
        } else {
            g
        };
        match g.putters.remove(key) {
            (None, _) => Ok(()),
            (Some(v), true) => Err(Rejected::Full(v)),
            (Some(v), false) => Err(Rejected::Closed(v)),
        }
    }

    /// Blocking get; `Empty` means the deadline passed.
    #[allow(unsafe_code)]
    pub(crate) fn get_blocking(&self, deadline: Option<Instant>) -> Result<T, NoValue> {
        let mut backoff = Backoff::new();
        let mut out = MaybeUninit::uninit();
        loop {
            match self.try_get_to(&mut out) {
                // SAFETY: `try_get_to` returned `Ok`, so it wrote `out`.
                Ok(()) => return Ok(unsafe { out.assume_init() }),
                Err(NoValue::Empty) => {}
                Err(e) => return Err(e),
            }
            if !SPIN_BEFORE_PARK || backoff.is_completed() {
                break;
            }
            backoff.snooze();
        }
        let (g, key, queued) = self.register_getter(Wakeup::thread);
        let mut g = if queued {
            g.unlock_settled();
            self.park_until_served(deadline, |s| s.getters.is_queued(key))
        } else {
            g
        };
        match g.getters.remove(key) {
            (Some(v), _) => Ok(v),
            (None, true) => Err(NoValue::Empty),
            // Closed out; values may remain only if another getter put one back.
            (None, false) => self.try_get_locked(&mut g),
        }
    }

    pub(crate) fn poll_put(
        &self,
        slot: &mut PutSlot<T>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), T>> {
        let key = match slot.key {
            Some(k) => k,
            None => {
                let v = slot
                    .value
                    .take()
                    .expect("put future polled after completion");
                let v = match self.try_put(v) {
                    Ok(()) => return Poll::Ready(Ok(())),
                    Err(Rejected::Closed(v)) => return Poll::Ready(Err(v)),
                    Err(Rejected::Full(v)) => v,
                };
                let v = match self.spin_put(v) {
                    Ok(()) => return Poll::Ready(Ok(())),
                    Err(Rejected::Closed(v)) => return Poll::Ready(Err(v)),
                    Err(Rejected::Full(v)) => v,
                };
                let (mut g, k, queued) =
                    self.register_putter(v, || Wakeup::Task(cx.waker().clone()));
                if queued {
                    slot.key = Some(k);
                    g.unlock_settled();
                    return Poll::Pending;
                }
                return Poll::Ready(match g.putters.remove(k).0 {
                    None => Ok(()),
                    Some(v) => Err(v),
                });
            }
        };
        let mut g = self.lock();
        if g.putters.is_queued(key) {
            g.putters.set_waker(key, cx.waker());
            return Poll::Pending;
        }
        self.counts.spin[PUT].resumed();
        slot.key = None;
        Poll::Ready(match g.putters.remove(key).0 {
            None => Ok(()),
            Some(v) => Err(v),
        })
    }

    /// An async put that found the store full: if the gate lets it, polls the store for room
    /// a few times, yields the thread once, and polls again, before the caller queues (see
    /// "Before an async end queues" in the module docs).
    #[cold]
    fn spin_put(&self, v: T) -> Result<(), Rejected<T>> {
        let mut v = Some(v);
        let done = self.spin(
            PUT,
            |s| s.store.has_room() || s.store.is_closed(),
            |s| match s.try_put(v.take().expect("the value is back after a full store")) {
                Err(Rejected::Full(back)) => {
                    v = Some(back);
                    None
                }
                r => Some(r),
            },
        );
        done.unwrap_or_else(|| Err(Rejected::Full(v.take().expect("the value is back"))))
    }

    /// [`Core::spin_put`] for an async get that found the store empty.
    #[cold]
    fn spin_get(&self) -> Result<T, NoValue> {
        self.spin(
            GET,
            |s| !s.store.is_empty() || s.store.is_closed(),
            |s| match s.try_get() {
                Err(NoValue::Empty) => None,
                r => Some(r),
            },
        )
        .unwrap_or(Err(NoValue::Empty))
    }

    /// The spin of an async end on `side` ([`PUT`] or [`GET`]): `ready` tells when an
    /// `attempt` may succeed, and `attempt` returns `Some` once it did (or the store closed).
    /// `None`: the gate kept the end from spinning, or the spin missed; the caller queues.
    fn spin<R>(
        &self,
        side: usize,
        ready: impl Fn(&Self) -> bool,
        mut attempt: impl FnMut(&Self) -> Option<R>,
    ) -> Option<R> {
        let (gate, peer) = (&self.counts.spin[side], &self.counts.spin[1 - side]);
        gate.stalled();
        if !self.store.is_lock_free() || !gate.should_spin(peer) {
            return None;
        }
        let mut hit = |s: &Self| {
            let r = if ready(s) { attempt(s) } else { None };
            if r.is_some() {
                gate.record(true);
            }
            r
        };
        for i in 0..=ASYNC_SPIN_POLLS {
            if i < ASYNC_SPIN_POLLS {
                loom::spin_loop();
            } else {
                loom::yield_now();
            }
            if let Some(r) = hit(self) {
                return Some(r);
            }
        }
        if SpinGate::peer_on_its_way(peer) {
            let deadline = Instant::now() + WOKEN_PEER_WAIT;
            loop {
                loom::spin_loop();
                if let Some(r) = hit(self) {
                    return Some(r);
                }
                if Instant::now() > deadline {
                    peer.resumed();
                    break;
                }
            }
        }
        gate.record(false);
        None
    }

    /// A put future is dropped: leave the queue (its value, not yet in, is dropped with it,
    /// outside the lock).
    pub(crate) fn cancel_put(&self, slot: &mut PutSlot<T>) {
        if let Some(key) = slot.key.take() {
            let v = self.lock().putters.remove(key).0;
            drop(v);
        }
    }

    pub(crate) fn poll_get(
        &self,
        key: &mut Option<usize>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, NoValue>> {
        let k = match *key {
            Some(k) => k,
            None => {
                match self.try_get() {
                    Err(NoValue::Empty) => {}
                    r => return Poll::Ready(r),
                }
                match self.spin_get() {
                    Err(NoValue::Empty) => {}
                    r => return Poll::Ready(r),
                }
                let (mut g, k, queued) = self.register_getter(|| Wakeup::Task(cx.waker().clone()));
                if queued {
                    *key = Some(k);
                    g.unlock_settled();
                    return Poll::Pending;
                }
                return Poll::Ready(self.take_handed(&mut g, k));
            }
        };
        let mut g = self.lock();
        if g.getters.is_queued(k) {
            g.getters.set_waker(k, cx.waker());
            return Poll::Pending;
        }
        self.counts.spin[GET].resumed();
        *key = None;
        Poll::Ready(self.take_handed(&mut g, k))
    }

    /// Removes a getter that is no longer queued and returns what it was handed.
    fn take_handed(&self, s: &mut State<T>, k: usize) -> Result<T, NoValue> {
        match s.getters.remove(k).0 {
            Some(v) => Ok(v),
            // Closed out; values may remain only if another getter put one back.
            None => self.try_get_locked(s),
        }
    }

    /// A get future is dropped: leave the queue, passing on a value handed to it.
    pub(crate) fn cancel_get(&self, key: &mut Option<usize>) {
        if let Some(k) = key.take() {
            let mut g = self.lock();
            let s = &mut *g;
            if let (Some(v), _) = s.getters.remove(k) {
                if let Some(k) = s.getters.front() {
                    *s.getters.data_mut(k) = Some(v);
                    let w = s.getters.notify(k);
                    s.wakes.push(w);
                } else if let Some(v) = self.store.unget(v) {
                    s.front.push_front(v);
                }
            }
        }
    }

    /// Values stored now, including values put back (a snapshot).
    pub(crate) fn len(&self) -> usize {
        let front = if self.waiting.load(Ordering::Relaxed) & FRONT != 0 {
            loom::lock(&self.state).front.len()
        } else {
            0
        };
        self.store.len() + front
    }

    pub(crate) fn is_full(&self) -> bool {
        self.maxsize.is_some_and(|_| !self.store.has_room())
    }

    pub(crate) fn maxsize(&self) -> Option<usize> {
        self.maxsize
    }

    pub(crate) fn kind(&self) -> &'static str {
        self.store.kind()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.store.is_closed()
    }

    /// Closes the store: puts fail from now on (waiting putters get their values back);
    /// gets drain what is left, or with `immediate`, what is left is dropped now (and no
    /// longer counts as unfinished).
    pub(crate) fn close(&self, immediate: bool) {
        self.store.close();
        let dropped = {
            let mut g = self.lock();
            let mut dropped = Vec::new();
            if immediate {
                dropped.extend(g.front.drain(..));
                while let Ok(v) = self.store.pop() {
                    dropped.push(v);
                }
            }
            if self.track {
                let n = dropped.len();
                let _ =
                    self.counts
                        .unfinished
                        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                            Some(u.saturating_sub(n))
                        });
                g.wake_joiners();
            }
            dropped
        };
        drop(dropped);
    }

    // -- task_done / join ------------------------------------------------------------------

    pub(crate) fn unfinished(&self) -> usize {
        self.counts.unfinished.load(Ordering::Acquire)
    }

    /// Marks one item done; `false` if none was unfinished.
    pub(crate) fn task_done(&self) -> bool {
        match self
            .counts
            .unfinished
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| u.checked_sub(1))
        {
            Ok(1) => {
                self.lock().wake_joiners();
                true
            }
            Ok(_) => true,
            Err(_) => false,
        }
    }

    pub(crate) fn poll_join(&self, key: &mut Option<usize>, cx: &mut Context<'_>) -> Poll<()> {
        let mut g = self.lock();
        match *key {
            None => {
                if self.unfinished() == 0 {
                    return Poll::Ready(());
                }
                *key = Some(g.joiners.push_back((), Wakeup::Task(cx.waker().clone())));
                Poll::Pending
            }
            Some(k) => {
                if g.joiners.is_queued(k) {
                    g.joiners.set_waker(k, cx.waker());
                    return Poll::Pending;
                }
                g.joiners.remove(k);
                *key = None;
                Poll::Ready(())
            }
        }
    }

    pub(crate) fn cancel_join(&self, key: &mut Option<usize>) {
        if let Some(k) = key.take() {
            self.lock().joiners.remove(k);
        }
    }

    /// Blocks until no item is unfinished or `deadline`; returns whether none is.
    pub(crate) fn join_blocking(&self, deadline: Option<Instant>) -> bool {
        let key = {
            let mut g = self.lock();
            if self.unfinished() == 0 {
                return true;
            }
            g.joiners.push_back((), Wakeup::thread())
        };
        let mut g = self.park_until_served(deadline, |s| s.joiners.is_queued(key));
        !g.joiners.remove(key).1
    }

    // -- channel handles -------------------------------------------------------------------

    pub(crate) fn add_sender(&self) {
        self.senders.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_receiver(&self) {
        self.receivers.fetch_add(1, Ordering::Relaxed);
    }

    /// The last sender gone: receivers drain, then see the channel closed.
    pub(crate) fn drop_sender(&self) {
        if self.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.close(false);
        }
    }

    /// The last receiver gone: sends fail and buffered values are dropped.
    pub(crate) fn drop_receiver(&self) {
        if self.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.close(true);
        }
    }
}

impl<T> Guard<'_, T> {
    /// Unlocks without settling again (the caller has just settled, and changed nothing
    /// since but a queued waiter's wake-up), then wakes.
    fn unlock_settled(mut self) {
        if let Some(mut s) = self.guard.take() {
            let wakes = std::mem::take(&mut s.wakes);
            drop(s);
            wakes.wake_all();
        }
    }

    /// Wakes every joiner if no item is unfinished (checked under the mutex).
    fn wake_joiners(&mut self) {
        if self.core.unfinished() == 0 {
            let s = &mut **self;
            s.joiners.notify_all(&mut s.wakes);
        }
    }
}

/// The pending value and waiter key of a put future.
#[derive(Debug)]
pub(crate) struct PutSlot<T> {
    pub(crate) value: Option<T>,
    pub(crate) key: Option<usize>,
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A gate whose end last stalled on another thread.
    fn stalled_elsewhere() -> SpinGate {
        let g = SpinGate::default();
        let token = std::thread::scope(|s| s.spawn(thread_token).join().unwrap());
        g.stalled_on.store(token, Ordering::Relaxed);
        g
    }

    #[test]
    fn no_spin_before_the_peer_has_stalled_or_when_it_stalled_on_this_thread() {
        let (me, peer) = (SpinGate::default(), SpinGate::default());
        assert!(!me.should_spin(&peer));
        peer.stalled();
        assert!(!me.should_spin(&peer));
        assert!(me.should_spin(&stalled_elsewhere()));
    }

    #[test]
    fn misses_close_the_gate_but_for_probes_and_a_hit_reopens_it() {
        let (me, peer) = (SpinGate::default(), stalled_elsewhere());
        for _ in 0..SPIN_MISSES {
            assert!(me.should_spin(&peer));
            me.record(false);
        }
        let spins = (0..4 * SPIN_PROBE)
            .filter(|_| {
                let spin = me.should_spin(&peer);
                if spin {
                    me.record(false);
                }
                spin
            })
            .count();
        assert_eq!(spins, 4);
        // A probe that finds something opens the gate again.
        while !me.should_spin(&peer) {}
        me.record(true);
        assert!(me.should_spin(&peer));
        assert!(me.should_spin(&peer));
    }

    #[test]
    fn a_hand_over_marks_the_woken_task_until_it_runs() {
        let core = Core::new(Store::fifo(Some(1)), Some(1), false);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(core.try_put(1u8).is_ok());
        // The store is full: the put queues (its peer never stalled, so it does not spin).
        let mut slot = PutSlot {
            value: Some(2u8),
            key: None,
        };
        assert!(core.poll_put(&mut slot, &mut cx).is_pending());
        assert!(!SpinGate::peer_on_its_way(&core.counts.spin[PUT]));
        // A get makes room: the queued value goes in and the putter's task is woken.
        assert_eq!(core.try_get().ok(), Some(1));
        assert!(SpinGate::peer_on_its_way(&core.counts.spin[PUT]));
        assert!(!SpinGate::peer_on_its_way(&core.counts.spin[GET]));
        // Once the putter has run, nobody waits for it.
        assert_eq!(core.poll_put(&mut slot, &mut cx), Poll::Ready(Ok(())));
        assert!(!SpinGate::peer_on_its_way(&core.counts.spin[PUT]));
        // A get queues on the empty store; a put hands it the value and marks it.
        assert_eq!(core.try_get().ok(), Some(2));
        let mut key = None;
        assert!(core.poll_get(&mut key, &mut cx).is_pending());
        assert!(core.try_put(3u8).is_ok());
        assert!(SpinGate::peer_on_its_way(&core.counts.spin[GET]));
        assert_eq!(core.poll_get(&mut key, &mut cx), Poll::Ready(Ok(3)));
        assert!(!SpinGate::peer_on_its_way(&core.counts.spin[GET]));
    }

    #[test]
    fn a_hand_over_to_a_blocked_thread_marks_nothing() {
        let core = Arc::new(Core::new(Store::fifo(Some(1)), Some(1), false));
        let getter = {
            let core = Arc::clone(&core);
            std::thread::spawn(move || core.get_blocking(None))
        };
        // Wait until the getter has queued (it publishes `GETTERS`), then hand it a value.
        while core.waiting.load(Ordering::SeqCst) & GETTERS == 0 {
            std::thread::yield_now();
        }
        assert!(core.try_put(7u8).is_ok());
        assert!(!SpinGate::peer_on_its_way(&core.counts.spin[GET]));
        assert_eq!(getter.join().unwrap().ok(), Some(7));
    }

    #[test]
    fn only_lock_free_stores_spin() {
        assert!(Store::<u8>::fifo(Some(4)).is_lock_free());
        assert!(Store::<u8>::fifo(None).is_lock_free());
        let lifo: Store<u8> = Store::Locked(Mutex::new(Locked {
            items: Ordered::Lifo(VecDeque::new()),
            maxsize: Some(4),
            closed: false,
        }));
        assert!(!lifo.is_lock_free());
    }
}
