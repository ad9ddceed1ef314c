//! `Queue<T>`: FIFO, LIFO and priority queues with back-pressure, `task_done`/`join`, and
//! shutdown, for tasks and threads (Python's `queue.Queue`, `LifoQueue`, `PriorityQueue`,
//! `asyncio.Queue`, `multiprocessing.JoinableQueue`, in one type).
//!
//! # Algorithm
//!
//! One internal mutex guards the store (a `VecDeque` or a binary heap), the two waiter lists
//! (getters, putters) and the joiners. Values are **handed over** rather than re-raced for:
//!
//! 1. `put` with a getter waiting gives the value straight to the oldest getter (the store is
//!    then empty, so order is respected for every kind of queue).
//! 2. `get` that frees a slot of a full queue moves the oldest waiting putter's value into the
//!    store and releases that putter.
//! 3. A getter future dropped after it was handed a value passes the value to the next waiting
//!    getter, or puts it back at the head of the queue (where it would have been served next).
//!    A putter future dropped before its value entered the queue drops the value with the
//!    future; once the value entered (moved in by a `get`, step 2), the put has happened, even
//!    if the future is dropped before it is polled again.
//!
//! Invariants under the lock: getters wait only while the store is empty; putters wait only
//! while it is full (for a bounded mpsc channel, "full" counts the messages its receiver has
//! taken into its private batch and not yet received; see `Core::steal_all`). This makes
//! `len`, `is_empty` and `is_full` exact *at the moment they look*, and nothing more: they are
//! snapshots, stale as soon as they return.
//!
//! # Shutdown (asyncio 3.13 semantics)
//!
//! [`Queue::shutdown`] makes every later and every waiting `put` fail with the value handed
//! back; gets keep draining what is left, then fail with [`GetError::Closed`]. With
//! `immediate = true` the remaining items are discarded at once (their unfinished-task counts
//! are dropped too, so `join` can return) and gets fail immediately.

use std::cmp::Ordering as CmpOrdering;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::loom::{self, fence, AtomicBool, AtomicUsize, Mutex, Ordering};
use crate::wait::{park_while_queued, WaitList, WakeList, Wakeup};

type Compare<T> = Arc<dyn Fn(&T, &T) -> CmpOrdering + Send + Sync>;

/// Rounds of exponential spinning before a blocking `put`/`get` parks its thread. Each round
/// retries under the lock; `try_put` fails while putters are queued and a getter only finds
/// the store non-empty when no getter is queued, so spinning never overtakes a waiter.
#[cfg(not(loom))]
const SPINS: u32 = 10;
/// One round under loom: the path is covered without multiplying the interleavings.
#[cfg(loom)]
const SPINS: u32 = 1;

/// Backoff for round `round` of `SPINS`: busy-wait for the first rounds, then give the CPU
/// away (`yield_now`) so that, on a loaded machine, the peer that will make progress can run.
fn spin(round: u32) {
    if round < SPINS / 2 + 2 {
        for _ in 0..(1u32 << round) {
            std::hint::spin_loop();
        }
    } else {
        std::thread::yield_now();
    }
}

/// The storage discipline.
enum Store<T> {
    Fifo(VecDeque<T>),
    Lifo(VecDeque<T>),
    /// A binary min-heap of `(sequence, value)`; ties are broken by arrival (FIFO).
    Priority {
        heap: Vec<(u64, T)>,
        cmp: Compare<T>,
        seq: u64,
    },
}

impl<T> Store<T> {
    fn len(&self) -> usize {
        match self {
            Store::Fifo(d) | Store::Lifo(d) => d.len(),
            Store::Priority { heap, .. } => heap.len(),
        }
    }

    fn push(&mut self, v: T) {
        match self {
            Store::Fifo(d) | Store::Lifo(d) => d.push_back(v),
            Store::Priority { heap, cmp, seq } => {
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

    /// Puts back a value that had been handed to a getter which gave up: it becomes the next
    /// value served (FIFO: the oldest; LIFO: it is older than anything stored since, so it goes
    /// to the bottom; priority: by priority).
    fn unget(&mut self, v: T) {
        match self {
            Store::Fifo(d) | Store::Lifo(d) => d.push_front(v),
            Store::Priority { .. } => self.push(v),
        }
    }

    fn pop(&mut self) -> Option<T> {
        match self {
            Store::Fifo(d) => d.pop_front(),
            Store::Lifo(d) => d.pop_back(),
            Store::Priority { heap, cmp, .. } => {
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

    fn drain(&mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(v) = self.pop() {
            out.push(v);
        }
        out
    }

    fn kind(&self) -> &'static str {
        match self {
            Store::Fifo(_) => "fifo",
            Store::Lifo(_) => "lifo",
            Store::Priority { .. } => "priority",
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

pub(crate) struct State<T> {
    store: Store<T>,
    maxsize: Option<usize>,
    /// Getters; `data` is the value handed over (`None` while waiting, or when closed out).
    getters: WaitList<Option<T>>,
    /// Putters; `data` holds the value until it enters the queue.
    putters: WaitList<Option<T>>,
    joiners: WaitList<()>,
    unfinished: usize,
    /// Messages moved into the private batch of a bounded channel's single receiver and not
    /// yet known to be consumed: they still count against `maxsize` (see [`Core::steal_all`]).
    lent: usize,
    /// No more puts are accepted (shutdown, or every receiver of a channel is gone).
    put_closed: bool,
    /// No more puts will come: gets fail once the store is empty.
    get_closed: bool,
    /// Channel bookkeeping (unused by `Queue`).
    pub(crate) senders: usize,
    pub(crate) receivers: usize,
}

/// Why a non-waiting put failed (internal).
pub(crate) enum Rejected<T> {
    Full(T),
    Closed(T),
}

/// Why a non-waiting get failed (internal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoValue {
    Empty,
    Closed,
}

/// The engine shared by [`Queue`] and the `mpsc`/`mpmc` channels.
pub(crate) struct Core<T> {
    state: Mutex<State<T>>,
    /// The store's length as of the last unlock: a hint that lets spinning callers wait
    /// without taking the lock (and slowing its holder). Never used for a decision that
    /// matters: every real check happens under the lock. A plain `std` atomic even under
    /// loom, since no outcome depends on it.
    len_hint: std::sync::atomic::AtomicUsize,
    /// Like `len_hint`, plus the receiver's unconsumed batch: what spinning putters watch.
    full_hint: std::sync::atomic::AtomicUsize,
    /// The bound, fixed at creation (copied out of `State` for lock-free spinning).
    maxsize: Option<usize>,
    /// Lent messages (`State::lent`) the receiver has consumed since the last lock, counted
    /// without locking; every lock subtracts it from `lent` (`Core::lock`).
    consumed: AtomicUsize,
    /// Whether putters are queued, as of the last unlock. The receiver reads it after
    /// counting a consumed message to learn whether it must lock to let a putter in; see
    /// [`StateGuard`]'s drop for the handshake.
    putters_waiting: AtomicBool,
}

/// The state lock. Taking it settles the receiver's consumed count (`Core::lock`);
/// releasing it lets putters into freed room and publishes the hints (see `Drop`).
pub(crate) struct StateGuard<'a, T> {
    /// `Some` until dropped.
    guard: Option<crate::loom::MutexGuard<'a, State<T>>>,
    core: &'a Core<T>,
}

impl<T> std::ops::Deref for StateGuard<'_, T> {
    type Target = State<T>;

    fn deref(&self) -> &State<T> {
        self.guard.as_ref().expect("state guard used after drop")
    }
}

impl<T> std::ops::DerefMut for StateGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut State<T> {
        self.guard.as_mut().expect("state guard used after drop")
    }
}

impl<T> Drop for StateGuard<'_, T> {
    /// The release protocol, with the lock still held:
    ///
    /// 1. Move waiting putters' values into whatever room there is (room that the receiver
    ///    made by consuming lent messages, which nobody else notices).
    /// 2. Publish `putters_waiting`, then, past a `SeqCst` fence, read `consumed` again. The
    ///    receiver does the mirror image: it adds to `consumed`, fences, then reads
    ///    `putters_waiting`. The two fences are ordered one way or the other, so one of the
    ///    two reads sees the other side's write: either we settle the new consumption here
    ///    (loop to 1) or the
    ///    receiver sees the flag and locks itself: a putter never sleeps beside free room.
    /// 3. Publish the hints, unlock, then wake the putters let in.
    fn drop(&mut self) {
        let Some(mut s) = self.guard.take() else {
            return;
        };
        let core = self.core;
        let mut wakes = WakeList::new();
        let len = s.store.len();
        core.len_hint
            .store(len, std::sync::atomic::Ordering::Relaxed);
        if core.maxsize.is_some() {
            loop {
                while !s.is_full() {
                    let Some(k) = s.putters.front() else { break };
                    if let Some(pv) = s.putters.data_mut(k).take() {
                        s.store.push(pv);
                        s.unfinished += 1;
                    }
                    wakes.push(s.putters.notify(k));
                }
                if s.putters.is_empty() {
                    // No handshake needed to say "nobody waits"; skip the store (a shared
                    // cache line) when the flag already says so.
                    if core.putters_waiting.load(Ordering::Relaxed) {
                        core.putters_waiting.store(false, Ordering::Relaxed);
                    }
                    break;
                }
                core.putters_waiting.store(true, Ordering::SeqCst);
                // Pairs with the fence in `Core::consumed_one` (loom models fences, not
                // `SeqCst` accesses, as a total order).
                fence(Ordering::SeqCst);
                if s.lent == 0 || core.consumed.load(Ordering::SeqCst) == 0 {
                    break;
                }
                core.settle(&mut s);
            }
            core.len_hint
                .store(s.store.len(), std::sync::atomic::Ordering::Relaxed);
            core.full_hint
                .store(s.store.len() + s.lent, std::sync::atomic::Ordering::Relaxed);
        }
        drop(s);
        wakes.wake_all();
    }
}

impl<T> State<T> {
    fn is_full(&self) -> bool {
        self.maxsize
            .is_some_and(|m| self.store.len() + self.lent >= m)
    }

    /// Puts now or says why not.
    fn try_put(&mut self, v: T, wakes: &mut WakeList) -> Result<(), Rejected<T>> {
        if self.put_closed {
            return Err(Rejected::Closed(v));
        }
        if let Some(k) = self.getters.front() {
            *self.getters.data_mut(k) = Some(v);
            wakes.push(self.getters.notify(k));
        } else if self.is_full() || !self.putters.is_empty() {
            return Err(Rejected::Full(v));
        } else {
            self.store.push(v);
        }
        self.unfinished += 1;
        Ok(())
    }

    /// Gets now or says why not; refills from the oldest waiting putter.
    fn try_get(&mut self, wakes: &mut WakeList) -> Result<T, NoValue> {
        match self.store.pop() {
            Some(v) => {
                if let Some(k) = self.putters.front() {
                    if let Some(pv) = self.putters.data_mut(k).take() {
                        self.store.push(pv);
                        self.unfinished += 1;
                    }
                    wakes.push(self.putters.notify(k));
                }
                Ok(v)
            }
            None if self.get_closed => Err(NoValue::Closed),
            None => Err(NoValue::Empty),
        }
    }

    /// See [`Core::steal_all`].
    pub(crate) fn steal_all(
        &mut self,
        into: &mut VecDeque<T>,
        wakes: &mut WakeList,
    ) -> Result<T, NoValue> {
        debug_assert!(into.is_empty());
        let v = self.try_get(wakes)?;
        if let Store::Fifo(d) = &mut self.store {
            std::mem::swap(d, into);
            if self.maxsize.is_some() {
                self.lent += into.len();
            }
        }
        Ok(v)
    }

    /// A getter that had been handed `v` gave up: pass it on or put it back.
    fn reroute(&mut self, v: T, wakes: &mut WakeList) {
        if let Some(k) = self.getters.front() {
            *self.getters.data_mut(k) = Some(v);
            wakes.push(self.getters.notify(k));
        } else {
            self.store.unget(v);
        }
    }

    /// Closes; returns the items discarded (to be dropped outside the lock).
    pub(crate) fn close(&mut self, immediate: bool, wakes: &mut WakeList) -> Vec<T> {
        self.put_closed = true;
        self.get_closed = true;
        let dropped = if immediate {
            self.store.drain()
        } else {
            Vec::new()
        };
        self.unfinished = self.unfinished.saturating_sub(dropped.len());
        // Waiting putters keep their values in `data`: they wake and take them back.
        self.putters.notify_all(wakes);
        self.getters.notify_all(wakes);
        if self.unfinished == 0 {
            self.joiners.notify_all(wakes);
        }
        dropped
    }
}

impl<T> Core<T> {
    pub(crate) fn lock(&self) -> StateGuard<'_, T> {
        let mut s = loom::lock(&self.state);
        self.settle(&mut s);
        StateGuard {
            guard: Some(s),
            core: self,
        }
    }

    /// Subtracts what the receiver consumed from its batch from `lent` (under the lock).
    fn settle(&self, s: &mut State<T>) {
        if s.lent > 0 {
            s.lent -= self.consumed.swap(0, Ordering::SeqCst);
        }
    }

    /// The single receiver of a bounded channel has consumed one message of its batch:
    /// count it, and if putters are waiting for room, lock so that the release lets one in
    /// (see [`StateGuard`]'s drop).
    pub(crate) fn consumed_one(&self) {
        if self.maxsize.is_some() {
            self.consumed.fetch_add(1, Ordering::SeqCst);
            // Pairs with the fence in `StateGuard`'s drop.
            fence(Ordering::SeqCst);
            if self.putters_waiting.load(Ordering::SeqCst) {
                drop(self.lock());
            }
        }
    }

    /// Whether a spinning caller should try now (`get`: something stored; `put`: room).
    fn worth_trying(&self, get: bool) -> bool {
        if get {
            self.len_hint.load(std::sync::atomic::Ordering::Relaxed) > 0
        } else {
            let len = self.full_hint.load(std::sync::atomic::Ordering::Relaxed);
            let freed = self.consumed.load(Ordering::Relaxed);
            self.maxsize.is_none_or(|m| len.saturating_sub(freed) < m)
        }
    }

    fn with_store(store: Store<T>, maxsize: Option<usize>) -> Core<T> {
        let maxsize = maxsize.filter(|&m| m > 0);
        Core {
            len_hint: std::sync::atomic::AtomicUsize::new(0),
            full_hint: std::sync::atomic::AtomicUsize::new(0),
            maxsize,
            consumed: AtomicUsize::new(0),
            putters_waiting: AtomicBool::new(false),
            state: Mutex::new(State {
                store,
                maxsize,
                getters: WaitList::new(),
                putters: WaitList::new(),
                joiners: WaitList::new(),
                unfinished: 0,
                lent: 0,
                put_closed: false,
                get_closed: false,
                senders: 0,
                receivers: 0,
            }),
        }
    }

    pub(crate) fn fifo(maxsize: Option<usize>) -> Core<T> {
        Core::with_store(Store::Fifo(VecDeque::new()), maxsize)
    }

    pub(crate) fn try_put(&self, v: T) -> Result<(), Rejected<T>> {
        let mut wakes = WakeList::new();
        let r = self.lock().try_put(v, &mut wakes);
        wakes.wake_all();
        r
    }

    pub(crate) fn try_get(&self) -> Result<T, NoValue> {
        let mut wakes = WakeList::new();
        let r = self.lock().try_get(&mut wakes);
        wakes.wake_all();
        r
    }

    /// Blocking put; `Full(v)` back means the deadline passed.
    pub(crate) fn put_blocking(&self, v: T, deadline: Option<Instant>) -> Result<(), Rejected<T>> {
        let mut wakes = WakeList::new();
        // Spin briefly before parking (see `spin`): a consumer often makes room within a
        // few hundred nanoseconds, far less than a park/unpark round trip.
        let mut v = v;
        for i in 0..SPINS {
            if i > 0 && !self.worth_trying(false) {
                spin(i);
                continue;
            }
            // A statement of its own, so that the lock is released before anyone is woken.
            let r = self.lock().try_put(v, &mut wakes);
            match r {
                Err(Rejected::Full(back)) => v = back,
                r => {
                    wakes.wake_all();
                    return r;
                }
            }
            spin(i);
        }
        let key = {
            let mut s = self.lock();
            match s.try_put(v, &mut wakes) {
                Err(Rejected::Full(v)) => s.putters.push_back(Some(v), Wakeup::thread()),
                r => {
                    drop(s);
                    wakes.wake_all();
                    return r;
                }
            }
        };
        park_while_queued(&self.state, deadline, |s| s.putters.is_queued(key));
        let (v, queued) = self.lock().putters.remove(key);
        match (v, queued) {
            (None, _) => Ok(()),
            (Some(v), true) => Err(Rejected::Full(v)),
            (Some(v), false) => Err(Rejected::Closed(v)),
        }
    }

    /// Blocking get; `Empty` means the deadline passed.
    pub(crate) fn get_blocking(&self, deadline: Option<Instant>) -> Result<T, NoValue> {
        self.get_blocking_with(deadline, State::try_get)
    }

    /// Blocking get whose non-waiting attempts (while spinning) are `try_get`, so that the
    /// single receiver of a channel can take a whole batch per lock while it spins.
    pub(crate) fn get_blocking_with(
        &self,
        deadline: Option<Instant>,
        mut try_get: impl FnMut(&mut State<T>, &mut WakeList) -> Result<T, NoValue>,
    ) -> Result<T, NoValue> {
        let mut wakes = WakeList::new();
        for i in 0..SPINS {
            if i > 0 && !self.worth_trying(true) {
                spin(i);
                continue;
            }
            // A statement of its own, so that the lock is released before anyone is woken.
            let r = try_get(&mut self.lock(), &mut wakes);
            match r {
                Err(NoValue::Empty) => {}
                r => {
                    wakes.wake_all();
                    return r;
                }
            }
            spin(i);
        }
        let key = {
            let mut s = self.lock();
            match s.try_get(&mut wakes) {
                Err(NoValue::Empty) => s.getters.push_back(None, Wakeup::thread()),
                r => {
                    drop(s);
                    wakes.wake_all();
                    return r;
                }
            }
        };
        park_while_queued(&self.state, deadline, |s| s.getters.is_queued(key));
        let r = {
            let mut s = self.lock();
            match s.getters.remove(key) {
                (Some(v), _) => Ok(v),
                (None, true) => Err(NoValue::Empty),
                // Closed out; values may remain only if another getter put one back.
                (None, false) => s.try_get(&mut wakes),
            }
        };
        wakes.wake_all();
        r
    }

    pub(crate) fn poll_put(
        &self,
        slot: &mut PutSlot<T>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), T>> {
        let mut wakes = WakeList::new();
        let r = {
            let mut s = self.lock();
            match slot.key {
                None => {
                    let v = slot
                        .value
                        .take()
                        .expect("put future polled after completion");
                    match s.try_put(v, &mut wakes) {
                        Ok(()) => Poll::Ready(Ok(())),
                        Err(Rejected::Closed(v)) => Poll::Ready(Err(v)),
                        Err(Rejected::Full(v)) => {
                            slot.key = Some(
                                s.putters
                                    .push_back(Some(v), Wakeup::Task(cx.waker().clone())),
                            );
                            Poll::Pending
                        }
                    }
                }
                Some(key) => {
                    if s.putters.is_queued(key) {
                        s.putters.set_waker(key, cx.waker());
                        Poll::Pending
                    } else {
                        slot.key = None;
                        match s.putters.remove(key).0 {
                            None => Poll::Ready(Ok(())),
                            Some(v) => Poll::Ready(Err(v)),
                        }
                    }
                }
            }
        };
        wakes.wake_all();
        r
    }

    /// A put future is dropped: leave the queue (its value, not yet in, is dropped with it).
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
        let mut wakes = WakeList::new();
        let r = {
            let mut s = self.lock();
            match *key {
                None => match s.try_get(&mut wakes) {
                    Err(NoValue::Empty) => {
                        *key = Some(s.getters.push_back(None, Wakeup::Task(cx.waker().clone())));
                        Poll::Pending
                    }
                    r => Poll::Ready(r),
                },
                Some(k) => {
                    if s.getters.is_queued(k) {
                        s.getters.set_waker(k, cx.waker());
                        Poll::Pending
                    } else {
                        *key = None;
                        match s.getters.remove(k).0 {
                            Some(v) => Poll::Ready(Ok(v)),
                            // Closed out; values may remain only if another getter put one back.
                            None => Poll::Ready(s.try_get(&mut wakes)),
                        }
                    }
                }
            }
        };
        wakes.wake_all();
        r
    }

    /// A get future is dropped: leave the queue, passing on a value handed to it.
    pub(crate) fn cancel_get(&self, key: &mut Option<usize>) {
        if let Some(k) = key.take() {
            let mut wakes = WakeList::new();
            {
                let mut s = self.lock();
                if let (Some(v), _) = s.getters.remove(k) {
                    s.reroute(v, &mut wakes);
                }
            }
            wakes.wake_all();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().store.len()
    }

    /// For the single receiver of a FIFO channel: returns the oldest message and moves
    /// *every other* stored one into `into` (which must be empty) under the same lock, so the
    /// receiver can then take the batch without locking.
    ///
    /// With a bound, the batch stays counted against it (`State::lent`) until the receiver
    /// reports each message consumed ([`Core::consumed_one`]): senders never see more room
    /// than a channel of that capacity would have.
    pub(crate) fn steal_all(&self, into: &mut VecDeque<T>) -> Result<T, NoValue> {
        let mut wakes = WakeList::new();
        let r = self.lock().steal_all(into, &mut wakes);
        wakes.wake_all();
        r
    }

    /// A channel core with one sender and one receiver.
    pub(crate) fn channel(maxsize: Option<usize>) -> Core<T> {
        let core = Core::fifo(maxsize);
        {
            let mut s = loom::lock(&core.state);
            s.senders = 1;
            s.receivers = 1;
        }
        core
    }

    pub(crate) fn add_sender(&self) {
        self.lock().senders += 1;
    }

    pub(crate) fn add_receiver(&self) {
        self.lock().receivers += 1;
    }

    /// The last sender gone: receivers drain, then see the channel closed.
    pub(crate) fn drop_sender(&self) {
        let mut wakes = WakeList::new();
        {
            let mut s = self.lock();
            s.senders -= 1;
            if s.senders == 0 {
                s.get_closed = true;
                s.put_closed = true;
                s.getters.notify_all(&mut wakes);
            }
        }
        wakes.wake_all();
    }

    /// The last receiver gone: sends fail and buffered values are dropped.
    pub(crate) fn drop_receiver(&self) {
        let mut wakes = WakeList::new();
        let dropped = {
            let mut s = self.lock();
            s.receivers -= 1;
            if s.receivers == 0 {
                s.close(true, &mut wakes)
            } else {
                Vec::new()
            }
        };
        wakes.wake_all();
        drop(dropped);
    }

    /// A receiver closes the channel for sending but keeps what is buffered.
    pub(crate) fn close_sends(&self) {
        let mut wakes = WakeList::new();
        {
            let mut s = self.lock();
            s.put_closed = true;
            s.get_closed = true;
            s.putters.notify_all(&mut wakes);
            s.getters.notify_all(&mut wakes);
        }
        wakes.wake_all();
    }

    pub(crate) fn is_closed_for_send(&self) -> bool {
        self.lock().put_closed
    }
}

/// The pending value and waiter key of a put future.
#[derive(Debug)]
pub(crate) struct PutSlot<T> {
    pub(crate) value: Option<T>,
    pub(crate) key: Option<usize>,
}

// ---------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------

/// Why a waiting put failed; the value comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
#[non_exhaustive]
pub enum PutError<T> {
    /// The queue was shut down.
    Closed(T),
    /// A `_timeout` form gave up while the queue stayed full.
    Timeout(T),
}

/// Why [`Queue::try_put`] failed; the value comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
#[non_exhaustive]
pub enum TryPutError<T> {
    /// The queue is at `maxsize` (or putters are already waiting).
    Full(T),
    /// The queue was shut down.
    Closed(T),
}

/// Why a get failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GetError {
    /// The queue was shut down and is empty.
    Closed,
    /// A `_timeout` form gave up while the queue stayed empty.
    Timeout,
}

/// Why [`Queue::try_get`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryGetError {
    /// Nothing to get right now.
    Empty,
    /// The queue was shut down and is empty.
    Closed,
}

/// [`Queue::task_done`] was called more times than items were put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError;

macro_rules! value_error {
    ($name:ident { $($variant:ident => $msg:literal),* }) => {
        impl<T> $name<T> {
            /// The value that was not put.
            pub fn into_inner(self) -> T {
                match self { $($name::$variant(v) => v),* }
            }
        }
        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self { $($name::$variant(_) => f.write_str(concat!(stringify!($name), "::", stringify!($variant), "(..)"))),* }
            }
        }
        impl<T> fmt::Display for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self { $($name::$variant(_) => f.write_str($msg)),* }
            }
        }
        impl<T> std::error::Error for $name<T> {}
    };
}

value_error!(PutError { Closed => "queue shut down", Timeout => "timed out waiting for room in the queue" });
value_error!(TryPutError { Full => "queue full", Closed => "queue shut down" });

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GetError::Closed => "queue shut down and empty",
            GetError::Timeout => "timed out waiting for an item",
        })
    }
}

impl std::error::Error for GetError {}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryGetError::Empty => "queue empty",
            TryGetError::Closed => "queue shut down and empty",
        })
    }
}

impl std::error::Error for TryGetError {}

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called more times than there were items")
    }
}

impl std::error::Error for TaskDoneError {}

/// A FIFO, LIFO or priority queue shared by tasks and threads, optionally bounded, joinable,
/// and closable.
///
/// Every operation comes as `async` (`put`, `get`, `join`), blocking (`put_blocking`, ...),
/// blocking with a `Duration` timeout (`put_blocking_timeout`, ...) and non-waiting
/// (`try_put`, `try_get`). For `async` timeouts use your runtime's `timeout` around the future:
/// all futures here are cancellation-safe (see each method).
///
/// Waiters are served FIFO: the getter waiting longest gets the next value, the putter waiting
/// longest puts next.
///
/// # Examples
///
/// The tutorials' cooks and customers: producers `put`, consumers `get` and `task_done`, and
/// `join` returns once every item was processed.
///
/// ```
/// use c10k_sync::Queue;
///
/// let q = Queue::bounded(2);
/// std::thread::scope(|s| {
///     for _ in 0..2 {
///         s.spawn(|| while let Ok(bun) = q.get_blocking() {
///             let _: u32 = bun; // eat it
///             q.task_done().unwrap();
///         });
///     }
///     for bun in 0..10 {
///         q.put_blocking(bun).unwrap();
///     }
///     q.join_blocking();
///     q.shutdown(false); // let the customers go home
/// });
/// assert!(q.is_empty());
/// ```
///
/// A priority queue serves the smallest first:
///
/// ```
/// let q = c10k_sync::Queue::priority();
/// for x in [3, 1, 2] {
///     q.try_put(x).unwrap();
/// }
/// assert_eq!([q.try_get(), q.try_get(), q.try_get()], [Ok(1), Ok(2), Ok(3)]);
/// ```
pub struct Queue<T> {
    core: Core<T>,
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.core.lock();
        f.debug_struct("Queue")
            .field("kind", &s.store.kind())
            .field("len", &s.store.len())
            .field("maxsize", &s.maxsize)
            .field("unfinished", &s.unfinished)
            .field("closed", &s.put_closed)
            .finish()
    }
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue::new()
    }
}

impl<T> Queue<T> {
    /// An unbounded FIFO queue.
    pub fn new() -> Queue<T> {
        Queue {
            core: Core::fifo(None),
        }
    }

    /// A FIFO queue holding at most `maxsize` items (`0` means unbounded, as in Python).
    pub fn bounded(maxsize: usize) -> Queue<T> {
        Queue {
            core: Core::fifo(Some(maxsize)),
        }
    }

    /// A LIFO queue (a stack), optionally bounded (`None` or `Some(0)`: unbounded).
    pub fn lifo(maxsize: Option<usize>) -> Queue<T> {
        Queue {
            core: Core::with_store(Store::Lifo(VecDeque::new()), maxsize),
        }
    }

    /// A priority queue serving the smallest item by `Ord` first (equal items in FIFO order),
    /// unbounded. Use [`Queue::priority_with`] for a bound or a key.
    pub fn priority() -> Queue<T>
    where
        T: Ord,
    {
        Queue::priority_with(None, |a: &T, b: &T| a.cmp(b))
    }

    /// A priority queue serving the item with the smallest `key` first (equal keys in FIFO
    /// order), optionally bounded.
    ///
    /// ```
    /// let q = c10k_sync::Queue::priority_by_key(None, |job: &(u8, &str)| job.0);
    /// q.try_put((2, "later")).unwrap();
    /// q.try_put((1, "first")).unwrap();
    /// assert_eq!(q.try_get().unwrap().1, "first");
    /// ```
    pub fn priority_by_key<K: Ord>(
        maxsize: Option<usize>,
        key: impl Fn(&T) -> K + Send + Sync + 'static,
    ) -> Queue<T> {
        Queue::priority_with(maxsize, move |a: &T, b: &T| key(a).cmp(&key(b)))
    }

    /// A priority queue ordered by `cmp` (the `Less` item first), optionally bounded.
    pub fn priority_with(
        maxsize: Option<usize>,
        cmp: impl Fn(&T, &T) -> CmpOrdering + Send + Sync + 'static,
    ) -> Queue<T> {
        Queue {
            core: Core::with_store(
                Store::Priority {
                    heap: Vec::new(),
                    cmp: Arc::new(cmp),
                    seq: 0,
                },
                maxsize,
            ),
        }
    }

    /// Items in the queue now (a snapshot).
    pub fn len(&self) -> usize {
        self.core.len()
    }

    /// Whether the queue is empty now (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the queue is at `maxsize` now (a snapshot; never true for unbounded queues).
    pub fn is_full(&self) -> bool {
        self.core.lock().is_full()
    }

    /// The bound, `None` if unbounded.
    pub fn maxsize(&self) -> Option<usize> {
        self.core.lock().maxsize
    }

    /// Items put and not yet marked [`task_done`](Self::task_done) (a snapshot).
    pub fn unfinished_tasks(&self) -> usize {
        self.core.lock().unfinished
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.core.lock().put_closed
    }

    /// Puts without waiting.
    ///
    /// # Errors
    ///
    /// [`TryPutError::Full`] or [`TryPutError::Closed`], with the value.
    pub fn try_put(&self, value: T) -> Result<(), TryPutError<T>> {
        self.core.try_put(value).map_err(|e| match e {
            Rejected::Full(v) => TryPutError::Full(v),
            Rejected::Closed(v) => TryPutError::Closed(v),
        })
    }

    /// Puts, waiting for room if the queue is bounded and full.
    ///
    /// Cancellation safety: nothing is lost or duplicated, but a dropped put may have
    /// happened. While the future waits for room, a `get` that frees a slot moves the waiting
    /// value in and wakes the future; the put has then happened even if the future is dropped
    /// before it is polled again (runtimes' `timeout` poll the inner future first, so they
    /// report it as completed). Otherwise the value did not enter the queue and is dropped
    /// with the future. To keep the value on a timeout, use
    /// [`put_blocking_timeout`](Self::put_blocking_timeout) or [`try_put`](Self::try_put).
    ///
    /// # Errors
    ///
    /// [`PutError::Closed`] with the value if the queue is (or gets) shut down.
    ///
    /// # Examples
    ///
    /// A task waits for room that a thread makes:
    ///
    /// ```
    /// use std::sync::Arc;
    /// use c10k_sync::Queue;
    ///
    /// let q = Arc::new(Queue::bounded(1));
    /// q.try_put(1).unwrap();
    /// let q2 = q.clone();
    /// let consumer = std::thread::spawn(move || (q2.get_blocking().unwrap(), q2.get_blocking().unwrap()));
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(q.put(2)).unwrap(); // waits until the thread took 1
    /// assert_eq!(consumer.join().unwrap(), (1, 2));
    /// ```
    pub fn put(&self, value: T) -> Put<'_, T> {
        Put {
            core: &self.core,
            slot: PutSlot {
                value: Some(value),
                key: None,
            },
        }
    }

    /// Puts, blocking the thread while the queue is full.
    ///
    /// # Errors
    ///
    /// [`PutError::Closed`] with the value if the queue is (or gets) shut down.
    pub fn put_blocking(&self, value: T) -> Result<(), PutError<T>> {
        self.put_blocking_inner(value, None)
    }

    /// Puts, blocking for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`PutError::Timeout`] or [`PutError::Closed`], with the value.
    pub fn put_blocking_timeout(&self, value: T, timeout: Duration) -> Result<(), PutError<T>> {
        self.put_blocking_inner(value, Some(Instant::now() + timeout))
    }

    fn put_blocking_inner(&self, value: T, deadline: Option<Instant>) -> Result<(), PutError<T>> {
        self.core
            .put_blocking(value, deadline)
            .map_err(|e| match e {
                Rejected::Full(v) => PutError::Timeout(v),
                Rejected::Closed(v) => PutError::Closed(v),
            })
    }

    /// Gets without waiting.
    ///
    /// # Errors
    ///
    /// [`TryGetError::Empty`], or [`TryGetError::Closed`] once shut down and drained.
    pub fn try_get(&self) -> Result<T, TryGetError> {
        self.core.try_get().map_err(|e| match e {
            NoValue::Empty => TryGetError::Empty,
            NoValue::Closed => TryGetError::Closed,
        })
    }

    /// Gets, waiting for an item.
    ///
    /// Cancellation safety: a dropped future never loses an item. If one had already been
    /// handed to it, the item goes to the next waiting getter or back to the head of the queue.
    ///
    /// # Errors
    ///
    /// [`GetError::Closed`] once the queue is shut down and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let q = Arc::new(c10k_sync::Queue::new());
    /// let q2 = q.clone();
    /// std::thread::spawn(move || q2.put_blocking("hello").unwrap());
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// assert_eq!(rt.block_on(q.get()), Ok("hello"));
    /// ```
    pub fn get(&self) -> Get<'_, T> {
        Get {
            core: &self.core,
            key: None,
        }
    }

    /// Gets, blocking the thread while the queue is empty.
    ///
    /// # Errors
    ///
    /// [`GetError::Closed`] once the queue is shut down and drained.
    pub fn get_blocking(&self) -> Result<T, GetError> {
        self.get_blocking_inner(None)
    }

    /// Gets, blocking for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`GetError::Timeout`] or [`GetError::Closed`].
    pub fn get_blocking_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.get_blocking_inner(Some(Instant::now() + timeout))
    }

    fn get_blocking_inner(&self, deadline: Option<Instant>) -> Result<T, GetError> {
        self.core.get_blocking(deadline).map_err(|e| match e {
            NoValue::Empty => GetError::Timeout,
            NoValue::Closed => GetError::Closed,
        })
    }

    /// Marks one item taken by a getter as processed; when every put item has been marked,
    /// every `join` returns.
    ///
    /// # Errors
    ///
    /// [`TaskDoneError`] if called more times than items were put.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = c10k_sync::Queue::new();
    /// q.try_put("job").unwrap();
    /// assert_eq!(q.unfinished_tasks(), 1);
    /// let _job = q.try_get().unwrap(); // taken, but not yet processed
    /// assert_eq!(q.unfinished_tasks(), 1);
    /// q.task_done().unwrap();
    /// assert_eq!(q.unfinished_tasks(), 0);
    /// assert!(q.task_done().is_err()); // one call per item
    /// ```
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        let mut wakes = WakeList::new();
        {
            let mut s = self.core.lock();
            if s.unfinished == 0 {
                return Err(TaskDoneError);
            }
            s.unfinished -= 1;
            if s.unfinished == 0 {
                s.joiners.notify_all(&mut wakes);
            }
        }
        wakes.wake_all();
        Ok(())
    }

    /// Waits until every item put so far has been marked [`task_done`](Self::task_done).
    ///
    /// Cancellation safety: dropping the future only removes the waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let q = Arc::new(c10k_sync::Queue::new());
    /// for i in 0..3 {
    ///     q.try_put(i).unwrap();
    /// }
    /// let worker = {
    ///     let q = q.clone();
    ///     std::thread::spawn(move || {
    ///         for _ in 0..3 {
    ///             q.get_blocking().unwrap();
    ///             q.task_done().unwrap();
    ///         }
    ///     })
    /// };
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(q.join()); // returns only after the third task_done
    /// assert_eq!(q.unfinished_tasks(), 0);
    /// worker.join().unwrap();
    /// ```
    pub fn join(&self) -> Join<'_, T> {
        Join {
            core: &self.core,
            key: None,
        }
    }

    /// Blocks the thread until every item put so far has been marked done.
    pub fn join_blocking(&self) {
        self.join_blocking_inner(None);
    }

    /// Blocks for at most `timeout`; returns whether every item was marked done.
    pub fn join_blocking_timeout(&self, timeout: Duration) -> bool {
        self.join_blocking_inner(Some(Instant::now() + timeout))
    }

    fn join_blocking_inner(&self, deadline: Option<Instant>) -> bool {
        let key = {
            let mut s = self.core.lock();
            if s.unfinished == 0 {
                return true;
            }
            s.joiners.push_back((), Wakeup::thread())
        };
        park_while_queued(&self.core.state, deadline, |s| s.joiners.is_queued(key));
        !self.core.lock().joiners.remove(key).1
    }

    /// Shuts the queue down (asyncio 3.13 `Queue.shutdown`): puts fail from now on, waiting
    /// putters get their values back in [`PutError::Closed`]. Gets drain what is left, then
    /// fail with [`GetError::Closed`]. With `immediate`, the remaining items are dropped now
    /// (and no longer count as unfinished for `join`), so gets fail at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_sync::queue::{GetError, TryPutError};
    ///
    /// let q = c10k_sync::Queue::new();
    /// q.try_put(1).unwrap();
    /// q.shutdown(false);
    /// assert_eq!(q.try_put(2), Err(TryPutError::Closed(2))); // the value comes back
    /// assert_eq!(q.get_blocking(), Ok(1)); // what was left is drained
    /// assert_eq!(q.get_blocking(), Err(GetError::Closed));
    ///
    /// let q = c10k_sync::Queue::new();
    /// q.try_put(1).unwrap();
    /// q.shutdown(true); // immediate: discard
    /// assert_eq!(q.get_blocking(), Err(GetError::Closed));
    /// q.join_blocking(); // discarded items no longer count
    /// ```
    pub fn shutdown(&self, immediate: bool) {
        let mut wakes = WakeList::new();
        let dropped = self.core.lock().close(immediate, &mut wakes);
        wakes.wake_all();
        drop(dropped);
    }
}

/// Future of [`Queue::put`].
#[must_use = "futures do nothing unless polled"]
pub struct Put<'a, T> {
    core: &'a Core<T>,
    slot: PutSlot<T>,
}

impl<T> fmt::Debug for Put<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put")
            .field("waiting", &self.slot.key.is_some())
            .finish()
    }
}

impl<T> Unpin for Put<'_, T> {}

impl<T> Future for Put<'_, T> {
    type Output = Result<(), PutError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.core
            .poll_put(&mut this.slot, cx)
            .map(|r| r.map_err(PutError::Closed))
    }
}

impl<T> Drop for Put<'_, T> {
    fn drop(&mut self) {
        self.core.cancel_put(&mut self.slot);
    }
}

/// Future of [`Queue::get`].
#[must_use = "futures do nothing unless polled"]
pub struct Get<'a, T> {
    core: &'a Core<T>,
    key: Option<usize>,
}

impl<T> fmt::Debug for Get<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

impl<T> Future for Get<'_, T> {
    type Output = Result<T, GetError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.core.poll_get(&mut this.key, cx).map(|r| {
            r.map_err(|e| {
                debug_assert_eq!(e, NoValue::Closed);
                GetError::Closed
            })
        })
    }
}

impl<T> Drop for Get<'_, T> {
    fn drop(&mut self) {
        self.core.cancel_get(&mut self.key);
    }
}

/// Future of [`Queue::join`].
#[must_use = "futures do nothing unless polled"]
pub struct Join<'a, T> {
    core: &'a Core<T>,
    key: Option<usize>,
}

impl<T> fmt::Debug for Join<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

impl<T> Future for Join<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut s = loom::lock(&this.core.state);
        match this.key {
            None => {
                if s.unfinished == 0 {
                    return Poll::Ready(());
                }
                this.key = Some(s.joiners.push_back((), Wakeup::Task(cx.waker().clone())));
                Poll::Pending
            }
            Some(k) => {
                if s.joiners.is_queued(k) {
                    s.joiners.set_waker(k, cx.waker());
                    return Poll::Pending;
                }
                s.joiners.remove(k);
                this.key = None;
                Poll::Ready(())
            }
        }
    }
}

impl<T> Drop for Join<'_, T> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            self.core.lock().joiners.remove(k);
        }
    }
}
