//! The waiter list every primitive of the crate is built on.
//!
//! # Design
//!
//! A primitive keeps its state and a [`WaitList`] behind one internal mutex (the `loom`
//! shim's `Mutex`). A waiter is either an async task, woken through its
//! [`std::task::Waker`], or a blocked thread, woken by [`std::thread::Thread::unpark`]; both
//! are a [`Wakeup`]. The list is a small slab of nodes threaded into a doubly linked FIFO by
//! index, so that push-back, pop-front and removal of any node are O(1) and need no `unsafe`.
//!
//! # The protocol (every primitive follows it)
//!
//! 1. A waiter that cannot proceed pushes a node (its request in `data`, its wake-up) and
//!    keeps the returned key. **The key belongs to the waiter** until it calls
//!    [`WaitList::remove`]; nobody else frees the slot, so a key is never reused under it.
//! 2. Whoever makes progress possible (an unlock, a `put`, a `set`) *hands over* to waiters
//!    in FIFO order while holding the mutex: it writes the result into the node's `data`
//!    (a permit, a value, a flag), unlinks the node from the queue ([`WaitList::notify`]) and
//!    collects its wake-up in a [`WakeList`], which is woken after the mutex is released.
//!    Handing over under the mutex is what makes the order first-come first-served: a late
//!    arrival cannot barge past a waiter that was already chosen.
//! 3. A woken waiter locks, removes its node and takes the result. A waiter that sees its node
//!    still queued was woken spuriously (a stale waker, a stray `unpark`) and waits again.
//! 4. Cancellation: a future dropped (or a blocking wait timing out) removes its node. If the
//!    node had already been handed something, the waiter passes it on exactly as if it had
//!    received and immediately released it, so **nothing handed over is ever lost**.

use std::task::{Context, Poll, Waker};
use std::time::Instant;

use crate::loom::{self, Mutex, Thread};

/// How to wake one waiter.
#[derive(Debug)]
pub(crate) enum Wakeup {
    /// An async task.
    Task(Waker),
    /// A thread blocked in a `_blocking` method.
    Thread(Thread),
    /// Already woken (the wake-up was taken out).
    Nobody,
}

impl Wakeup {
    /// The wake-up of the calling thread.
    pub(crate) fn thread() -> Wakeup {
        // A coroutine scheduler's parking hook, if it runs the caller (`park.rs`).
        #[cfg(not(loom))]
        if let Some(waker) = crate::park::hooked_waker() {
            return Wakeup::Task(waker);
        }
        Wakeup::Thread(loom::current())
    }

    /// Wakes the waiter.
    pub(crate) fn wake(self) {
        match self {
            Wakeup::Task(w) => w.wake(),
            Wakeup::Thread(t) => t.unpark(),
            Wakeup::Nobody => {}
        }
    }
}

/// Wake-ups collected under a primitive's mutex, to be run after it is released.
#[derive(Debug, Default)]
#[must_use = "the collected waiters must be woken"]
pub(crate) struct WakeList(Vec<Wakeup>);

impl WakeList {
    pub(crate) fn new() -> WakeList {
        WakeList(Vec::new())
    }

    pub(crate) fn push(&mut self, w: Wakeup) {
        if !matches!(w, Wakeup::Nobody) {
            self.0.push(w);
        }
    }

    /// Wakes everyone collected. Call with no internal lock held.
    pub(crate) fn wake_all(self) {
        for w in self.0 {
            w.wake();
        }
    }
}

const NIL: usize = usize::MAX;

#[derive(Debug)]
struct Node<W> {
    prev: usize,
    next: usize,
    queued: bool,
    wakeup: Wakeup,
    data: W,
}

#[derive(Debug)]
enum Slot<W> {
    Used(Node<W>),
    Free(usize),
}

/// A FIFO of waiters with O(1) removal by key. See the module docs for the protocol.
#[derive(Debug)]
pub(crate) struct WaitList<W> {
    slots: Vec<Slot<W>>,
    free: usize,
    head: usize,
    tail: usize,
    queued: usize,
}

impl<W> Default for WaitList<W> {
    fn default() -> Self {
        WaitList::new()
    }
}

impl<W> WaitList<W> {
    pub(crate) const fn new() -> WaitList<W> {
        WaitList {
            slots: Vec::new(),
            free: NIL,
            head: NIL,
            tail: NIL,
            queued: 0,
        }
    }

    fn node(&self, key: usize) -> &Node<W> {
        match &self.slots[key] {
            Slot::Used(n) => n,
            Slot::Free(_) => unreachable!("wait list key used after removal"),
        }
    }

    fn node_mut(&mut self, key: usize) -> &mut Node<W> {
        match &mut self.slots[key] {
            Slot::Used(n) => n,
            Slot::Free(_) => unreachable!("wait list key used after removal"),
        }
    }

    /// Number of waiters still queued (not yet handed anything).
    pub(crate) fn len(&self) -> usize {
        self.queued
    }

    /// Whether no waiter is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.queued == 0
    }

    /// Appends a waiter and returns its key (owned by the waiter until [`Self::remove`]).
    pub(crate) fn push_back(&mut self, data: W, wakeup: Wakeup) -> usize {
        let node = Node {
            prev: self.tail,
            next: NIL,
            queued: true,
            wakeup,
            data,
        };
        let key = if self.free != NIL {
            let key = self.free;
            self.free = match self.slots[key] {
                Slot::Free(next) => next,
                Slot::Used(_) => unreachable!("free list points at a used slot"),
            };
            self.slots[key] = Slot::Used(node);
            key
        } else {
            self.slots.push(Slot::Used(node));
            self.slots.len() - 1
        };
        if self.tail == NIL {
            self.head = key;
        } else {
            let tail = self.tail;
            self.node_mut(tail).next = key;
        }
        self.tail = key;
        self.queued += 1;
        key
    }

    /// Key of the oldest queued waiter.
    pub(crate) fn front(&self) -> Option<usize> {
        (self.head != NIL).then_some(self.head)
    }

    /// The waiter's request or result.
    pub(crate) fn data(&self, key: usize) -> &W {
        &self.node(key).data
    }

    /// The waiter's request or result, mutably (to hand something over).
    pub(crate) fn data_mut(&mut self, key: usize) -> &mut W {
        &mut self.node_mut(key).data
    }

    /// Whether the waiter is still waiting (has not been handed anything).
    pub(crate) fn is_queued(&self, key: usize) -> bool {
        self.node(key).queued
    }

    /// Replaces the wake-up of a still-queued waiter (a task polled with a new waker).
    pub(crate) fn set_waker(&mut self, key: usize, waker: &Waker) {
        let node = self.node_mut(key);
        match &node.wakeup {
            Wakeup::Task(w) if w.will_wake(waker) => {}
            _ => node.wakeup = Wakeup::Task(waker.clone()),
        }
    }

    /// Installs the wake-up of a still-queued waiter (one registered with
    /// [`Wakeup::Nobody`] so that a hand-over in its own critical section would not wake it).
    pub(crate) fn set_wakeup(&mut self, key: usize, wakeup: Wakeup) {
        self.node_mut(key).wakeup = wakeup;
    }

    fn unlink(&mut self, key: usize) {
        let (prev, next) = {
            let n = self.node_mut(key);
            debug_assert!(n.queued);
            n.queued = false;
            (n.prev, n.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.node_mut(prev).next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.node_mut(next).prev = prev;
        }
        self.queued -= 1;
    }

    /// Unlinks a queued waiter (after its result was written into `data`) and returns its
    /// wake-up, to be woken once the primitive's mutex is released.
    pub(crate) fn notify(&mut self, key: usize) -> Wakeup {
        self.unlink(key);
        std::mem::replace(&mut self.node_mut(key).wakeup, Wakeup::Nobody)
    }

    /// Notifies every queued waiter into `wakes`.
    pub(crate) fn notify_all(&mut self, wakes: &mut WakeList) {
        while let Some(k) = self.front() {
            wakes.push(self.notify(k));
        }
    }

    /// Frees the waiter's slot and returns its data and whether it was still queued
    /// (`false`: it had been handed its result, which the caller must consume or pass on).
    pub(crate) fn remove(&mut self, key: usize) -> (W, bool) {
        let queued = self.node(key).queued;
        if queued {
            self.unlink(key);
        }
        let slot = std::mem::replace(&mut self.slots[key], Slot::Free(self.free));
        self.free = key;
        match slot {
            Slot::Used(n) => (n.data, queued),
            Slot::Free(_) => unreachable!("wait list key used after removal"),
        }
    }
}

/// Blocks the calling thread until the waiter `key` of the list inside `state` is no longer
/// queued, or until `deadline`. Returns with no lock held; the caller then locks and
/// [`WaitList::remove`]s its node, which tells the final outcome (a hand-over that raced
/// with the deadline counts as success: nothing is lost).
pub(crate) fn park_while_queued<S>(
    state: &Mutex<S>,
    deadline: Option<Instant>,
    is_queued: impl Fn(&S) -> bool,
) {
    loop {
        if !is_queued(&loom::lock(state)) {
            return;
        }
        match deadline {
            None => loom::park(),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return;
                }
                loom::park_timeout(d - now);
            }
        }
    }
}

/// The state of a primitive whose waiters are all woken on every change ([`watch`] and
/// [`broadcast`]): nothing is handed over, a woken waiter re-runs its check under the mutex
/// and waits again if it still has nothing (steps 1 and 3 of the protocol, without 2's
/// hand-over; the notifier calls [`WaitList::notify_all`]).
///
/// [`watch`]: crate::channel::watch
/// [`broadcast`]: crate::channel::broadcast
pub(crate) trait NotifyAll {
    /// The waiter list.
    fn waiters(&mut self) -> &mut WaitList<()>;
}

/// As a task: `Ready` with what `check` (run under the mutex) returns once it returns
/// something; otherwise the waiter `key` is registered (or its waker refreshed).
pub(crate) fn poll_until<S: NotifyAll, R>(
    state: &Mutex<S>,
    key: &mut Option<usize>,
    cx: &mut Context<'_>,
    check: impl FnOnce(&S) -> Option<R>,
) -> Poll<R> {
    let mut s = loom::lock(state);
    if let Some(k) = *key {
        if s.waiters().is_queued(k) {
            s.waiters().set_waker(k, cx.waker());
            return Poll::Pending;
        }
        s.waiters().remove(k);
        *key = None;
    }
    match check(&s) {
        Some(r) => Poll::Ready(r),
        None => {
            *key = Some(s.waiters().push_back((), Wakeup::Task(cx.waker().clone())));
            Poll::Pending
        }
    }
}

/// As a thread: what `check` returns once it returns something, or `None` at `deadline`.
pub(crate) fn block_until<S: NotifyAll, R>(
    state: &Mutex<S>,
    deadline: Option<Instant>,
    mut check: impl FnMut(&S) -> Option<R>,
) -> Option<R> {
    loop {
        let key = {
            let mut s = loom::lock(state);
            if let Some(r) = check(&s) {
                return Some(r);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            s.waiters().push_back((), Wakeup::thread())
        };
        // Parked until notified or the deadline; then check again.
        loop {
            let mut s = loom::lock(state);
            if !s.waiters().is_queued(key) {
                s.waiters().remove(key);
                break;
            }
            match deadline {
                None => {
                    drop(s);
                    loom::park();
                }
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        s.waiters().remove(key);
                        break;
                    }
                    drop(s);
                    loom::park_timeout(d - now);
                }
            }
        }
    }
}

/// A waiting future is dropped (or its owner is): leave the list.
pub(crate) fn cancel_wait<S: NotifyAll>(state: &Mutex<S>, key: &mut Option<usize>) {
    if let Some(k) = key.take() {
        loom::lock(state).waiters().remove(k);
    }
}
