//! `List<T>`: the unbounded lock-free FIFO store behind unbounded channels and `Queue::new`.
//!
//! # Algorithm
//!
//! A chain of blocks of `BLOCK_CAP` slots (the segmented queue of crossbeam's list channel):
//! pushers claim positions by moving `tail` on with a compare-and-swap, poppers claim them by
//! moving `head` on; a position `p` lives in slot `p % LAP` of block `p / LAP`. Offset
//! `BLOCK_CAP` (`== LAP - 1`) names no slot: it marks the moment the next block is being
//! installed, during which others wait.
//!
//! ```text
//!   tail index: [ position ... | MARK ]   MARK: closed, no push succeeds any more
//!   head index: [ position ... | MARK ]   MARK: the head block is known not to be the last
//!   slot state: WRITE (value written) | READ (value taken) | DESTROY (reader must free)
//! ```
//!
//! # The index protocol
//!
//! Push:
//!
//! 1. Closed? Fail with the value back. At offset `BLOCK_CAP`, another pusher is installing
//!    the next block: wait and reload.
//! 2. About to claim the last slot of a block: allocate the next block first (outside any
//!    critical window). No block yet (the list allocates none until its first push):
//!    install the first one with a compare-and-swap on `tail.block`, then set `head.block`,
//!    both before claiming position 0, so that a popper that sees `tail` move finds the
//!    block (a popper that finds no block waits for it).
//! 3. Claim the position with a compare-and-swap on `tail`. Whoever claims the last slot
//!    installs the next block: `tail.block = next`, then moves `tail` past the sentinel
//!    offset (a `fetch_add`, which keeps a concurrent close's mark), then links
//!    `block.next = next`.
//! 4. Write the value, then set `WRITE` (`Release`).
//!
//! Pop:
//!
//! 1. At offset `BLOCK_CAP`, wait for the pusher installing the next block.
//! 2. Unless `head` says the block is not the last, compare with `tail`: equal positions
//!    mean empty (and the mark of `tail` says whether closed). No fence is needed: this is
//!    a snapshot, and the engine's parking hand-off re-checks with its own fence.
//! 3. Claim the position with a compare-and-swap on `head`. Whoever claims the last slot of
//!    a block moves `head` to the next block (waiting for its link if need be).
//! 4. Wait for `WRITE` (a push that claimed the position may still be writing), read.
//! 5. Free the block once every slot was read: the reader of the last slot starts
//!    destruction; it stops at a slot still being read and marks it `DESTROY`, and that
//!    slot's reader, seeing the mark when it sets `READ`, continues. Exactly one thread
//!    frees each block, after everyone is done with it.
//!
//! # Single consumer
//!
//! A list made with [`List::new_single_consumer`] (an mpsc channel's) is popped by one
//! thread at a time, each pop *happening before* the next. Its pops skip what only
//! competing poppers need: the claim is a `Release` store of `head` instead of a
//! compare-and-swap (nobody else moves `head`), steps 1 and 5 collapse (`head` is never
//! left at the sentinel offset: the reader of a block's last slot moves it to the next
//! block in one store, then frees the block at once, since the same sequence of pops read
//! every earlier slot), and no slot is marked `READ` (so nothing but its pusher writes a
//! slot's state, which it sets `WRITE` with a store). That is two atomic read-modify-writes
//! fewer per receive. Pushers never read `head`. The loom models `mpsc_*` in
//! `tests/loom_ring.rs` check it, including the hand-over between the receiver's own pops
//! and the engine's pops on its behalf.
//!
//! A pop never reports "empty" while a push that already claimed an earlier position is
//! unfinished; and after `close` no push succeeds, so draining on close is complete. The loom
//! models (with one-slot blocks, so that every push crosses a block) are in
//! `tests/loom_ring.rs`.
#![allow(unsafe_code)]

use std::fmt;
use std::mem::MaybeUninit;
use std::ptr;

use crate::backoff::{Backoff, CachePadded};
use crate::engine::{NoValue, Rejected};
use crate::loom::{AtomicPtr, AtomicU8, AtomicUsize, Ordering, UnsafeCell};

/// Slots per block, plus one sentinel offset. A power of two.
#[cfg(not(loom))]
const LAP: usize = 32;
/// One slot per block under loom, so that every operation exercises the block switch.
#[cfg(loom)]
const LAP: usize = 2;
const BLOCK_CAP: usize = LAP - 1;
/// Positions are stored shifted by one bit, to make room for `MARK_BIT`.
const SHIFT: usize = 1;
const MARK_BIT: usize = 1;

const WRITE: u8 = 1;
const READ: u8 = 2;
const DESTROY: u8 = 4;

/// One slot of a block: its value and its state byte, which live in separate arrays.
struct Slot<'a, T> {
    /// Initialised between its writer's write and its reader's read.
    value: &'a UnsafeCell<MaybeUninit<T>>,
    /// `WRITE | READ | DESTROY`.
    state: &'a AtomicU8,
}

impl<T> Slot<'_, T> {
    /// Waits until the pusher that claimed this slot has written it.
    fn wait_write(&self) {
        let mut backoff = Backoff::new();
        while self.state.load(Ordering::Acquire) & WRITE == 0 {
            backoff.snooze();
        }
    }
}

/// A block of `BLOCK_CAP` slots. The states are bytes kept apart from the values: beside
/// each value a state would take a whole word (the value's alignment), and a block of
/// `u64`s would be half state. Fewer bytes per value is fewer fresh pages for a list that
/// grows (a burst of pushes ahead of the pops touches every block once).
struct Block<T> {
    next: AtomicPtr<Block<T>>,
    states: [AtomicU8; BLOCK_CAP],
    values: [UnsafeCell<MaybeUninit<T>>; BLOCK_CAP],
}

impl<T> Block<T> {
    fn new() -> Box<Block<T>> {
        Box::new(Block {
            next: AtomicPtr::new(ptr::null_mut()),
            states: std::array::from_fn(|_| AtomicU8::new(0)),
            values: std::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
        })
    }

    fn slot(&self, i: usize) -> Slot<'_, T> {
        Slot {
            value: &self.values[i],
            state: &self.states[i],
        }
    }

    /// Waits until the pusher of the last slot has linked the next block.
    fn wait_next(&self) -> *mut Block<T> {
        let mut backoff = Backoff::new();
        loop {
            let next = self.next.load(Ordering::Acquire);
            if !next.is_null() {
                return next;
            }
            backoff.snooze();
        }
    }

    /// Frees `this` once the slots from `start` on are read (step 5 of the protocol).
    ///
    /// # Safety
    ///
    /// `this` is a block that no pusher or popper will claim a slot of any more, and every
    /// slot before `start` (and the last slot) has been read.
    unsafe fn destroy(this: *mut Block<T>, start: usize) {
        // The last slot is not checked: its reader is the one who started destruction.
        for i in start..BLOCK_CAP - 1 {
            // SAFETY: the block is alive until it is freed below, by whoever finishes last.
            let slot = unsafe { (*this).slot(i) };
            if slot.state.load(Ordering::Acquire) & READ == 0
                && slot.state.fetch_or(DESTROY, Ordering::AcqRel) & READ == 0
            {
                // Its reader is still at work and will continue from `i + 1`.
                return;
            }
        }
        // SAFETY: every slot was read and no one will touch the block again (argued above).
        drop(unsafe { Box::from_raw(this) });
    }
}

/// A tail: a position and the block it falls in.
struct Position<T> {
    index: AtomicUsize,
    block: AtomicPtr<Block<T>>,
    /// A copy of `Head::single_consumer` on the pushers' line.
    single_consumer: bool,
}

/// The head: a [`Position`] and how it is claimed. The flag shares the head's padded line
/// (the consumers' line, where it is read), so it makes the list no larger.
struct Head<T> {
    index: AtomicUsize,
    block: AtomicPtr<Block<T>>,
    /// One consumer at a time (see [`List::new_single_consumer`]): pops take the
    /// single-consumer protocol.
    single_consumer: bool,
}

/// An unbounded multi-producer multi-consumer lock-free FIFO (see the module docs).
pub(crate) struct List<T> {
    head: CachePadded<Head<T>>,
    tail: CachePadded<Position<T>>,
}

// SAFETY: the list moves values of `T` between threads (`T: Send` is required and enough);
// each slot's value is accessed only by the thread that claimed its position.
unsafe impl<T: Send> Send for List<T> {}
// SAFETY: as for `Send`: all shared access goes through the atomic index protocol.
unsafe impl<T: Send> Sync for List<T> {}

impl<T> fmt::Debug for List<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("List")
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> List<T> {
    /// An empty list. No block is allocated until the first push (an idle channel costs
    /// no block).
    pub(crate) fn new() -> List<T> {
        Self::with_consumers(false)
    }

    /// An empty list that is popped by one thread at a time: each pop *happens before* the
    /// next (an mpsc receiver, which needs `&mut`, and the engine's pops on its behalf,
    /// which run under the engine's mutex while it waits and are ordered with its own pops
    /// by that mutex). Its pops claim a position with a plain store and mark no slot `READ`
    /// (see "Single consumer" in the module docs).
    pub(crate) fn new_single_consumer() -> List<T> {
        Self::with_consumers(true)
    }

    fn with_consumers(single_consumer: bool) -> List<T> {
        List {
            head: CachePadded(Head {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(ptr::null_mut()),
                single_consumer,
            }),
            tail: CachePadded(Position {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(ptr::null_mut()),
                single_consumer,
            }),
        }
    }

    /// Appends `value`, or hands it back if the list is closed.
    #[inline(always)]
    pub(crate) fn push(&self, value: T) -> Result<(), Rejected<T>> {
        let mut backoff = Backoff::new();
        let mut tail = self.tail.index.load(Ordering::Acquire);
        let mut block = self.tail.block.load(Ordering::Acquire);
        let mut next_block: Option<Box<Block<T>>> = None;
        loop {
            if tail & MARK_BIT != 0 {
                return Err(Rejected::Closed(value));
            }
            let offset = (tail >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                backoff.snooze();
                tail = self.tail.index.load(Ordering::Acquire);
                block = self.tail.block.load(Ordering::Acquire);
                continue;
            }
            if offset + 1 == BLOCK_CAP && next_block.is_none() {
                next_block = Some(Block::new());
            }
            if block.is_null() {
                // The first push installs the first block, before it claims position 0,
                // so that a popper that sees `tail` move also finds the block.
                let first = Box::into_raw(Block::new());
                match self.tail.block.compare_exchange(
                    ptr::null_mut(),
                    first,
                    Ordering::Release,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        self.head.block.store(first, Ordering::Release);
                        block = first;
                    }
                    Err(_) => {
                        // SAFETY: `first` came from `Box::into_raw` above and lost the race,
                        // so nobody else has seen it: take it back (and keep it for the next
                        // block if one is needed).
                        let first = unsafe { Box::from_raw(first) };
                        next_block.get_or_insert(first);
                        tail = self.tail.index.load(Ordering::Acquire);
                        block = self.tail.block.load(Ordering::Acquire);
                        continue;
                    }
                }
            }
            let new_tail = tail + (1 << SHIFT);
            match self.tail.index.compare_exchange_weak(
                tail,
                new_tail,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        let next = Box::into_raw(next_block.take().expect("allocated above"));
                        self.tail.block.store(next, Ordering::Release);
                        self.tail.index.fetch_add(1 << SHIFT, Ordering::Release);
                        // SAFETY: `block` is the block of the claimed position (the index
                        // and block were read in that order, and the index did not move
                        // before the compare-and-swap). It cannot be freed before its last
                        // slot, which this thread claimed, is written and read.
                        unsafe { (*block).next.store(next, Ordering::Release) };
                    }
                    // SAFETY: as above, `block` is alive; the claimed slot is this thread's
                    // alone until `WRITE` is set, and no reader touches it before that.
                    let slot = unsafe { (*block).slot(offset) };
                    // SAFETY: (same argument) exclusive access to the slot's value.
                    slot.value
                        .with_mut(|p| unsafe { p.write(MaybeUninit::new(value)) });
                    if self.tail.single_consumer {
                        // Nobody else writes the state of a single consumer's slot (it
                        // marks none `READ` or `DESTROY`): a store, which does not wait for
                        // the line as a read-modify-write would.
                        slot.state.store(WRITE, Ordering::Release);
                    } else {
                        slot.state.fetch_or(WRITE, Ordering::Release);
                    }
                    return Ok(());
                }
                Err(t) => {
                    tail = t;
                    block = self.tail.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// Takes the oldest value; `Empty` or `Closed` (empty and closed) if there is none.
    /// The value goes into `out`, written exactly when `Ok` is returned (why: see
    /// `Ring::pop_to`).
    #[inline(always)]
    pub(crate) fn pop_to(&self, out: &mut MaybeUninit<T>) -> Result<(), NoValue> {
        if self.head.single_consumer {
            return self.pop_single_to(out);
        }
        let mut backoff = Backoff::new();
        let mut head = self.head.index.load(Ordering::Acquire);
        let mut block = self.head.block.load(Ordering::Acquire);
        loop {
            let offset = (head >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                backoff.snooze();
                head = self.head.index.load(Ordering::Acquire);
                block = self.head.block.load(Ordering::Acquire);
                continue;
            }
            let mut new_head = head + (1 << SHIFT);
            if new_head & MARK_BIT == 0 {
                // No fence: the engine's hand-off re-checks with its own (see `engine.rs`);
                // an "empty" here is a snapshot, linearizable at this load.
                let tail = self.tail.index.load(Ordering::Acquire);
                if head >> SHIFT == tail >> SHIFT {
                    return Err(if tail & MARK_BIT != 0 {
                        NoValue::Closed
                    } else {
                        NoValue::Empty
                    });
                }
                // Head and tail in different blocks: this one is not the last.
                if (head >> SHIFT) / LAP != (tail >> SHIFT) / LAP {
                    new_head |= MARK_BIT;
                }
            }
            if block.is_null() {
                // The first push is installing the first block.
                backoff.snooze();
                head = self.head.index.load(Ordering::Acquire);
                block = self.head.block.load(Ordering::Acquire);
                continue;
            }
            match self.head.index.compare_exchange_weak(
                head,
                new_head,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    // (1) `block` is the block of the claimed position (read after the
                    // index, which did not move before the compare-and-swap); it is freed
                    // only after every slot is read, including the one claimed here.
                    if offset + 1 == BLOCK_CAP {
                        // SAFETY: `block` is alive, see (1).
                        let next = unsafe { (*block).wait_next() };
                        let mut next_index = (new_head & !MARK_BIT).wrapping_add(1 << SHIFT);
                        // SAFETY: `next` was linked by its installer and is freed only after
                        // its own slots are read, which needs `head` to reach it first.
                        if !unsafe { (*next).next.load(Ordering::Relaxed) }.is_null() {
                            next_index |= MARK_BIT;
                        }
                        self.head.block.store(next, Ordering::Release);
                        self.head.index.store(next_index, Ordering::Release);
                    }
                    // SAFETY: see (1).
                    let slot = unsafe { (*block).slot(offset) };
                    slot.wait_write();
                    // SAFETY: `WRITE` was set (`Acquire` pairs with the writer's `Release`)
                    // so the value is initialised; claiming the position made this thread
                    // its only reader.
                    slot.value
                        .with(|p| unsafe { out.write(p.read().assume_init()) });
                    if offset + 1 == BLOCK_CAP {
                        // SAFETY: the last slot was claimed and read by this thread; `head`
                        // has moved to the next block, so no one claims a slot here again.
                        unsafe { Block::destroy(block, 0) };
                    } else if slot.state.fetch_or(READ, Ordering::AcqRel) & DESTROY != 0 {
                        // SAFETY: the destroyer stopped at this slot and left the rest to us;
                        // every slot before it was read.
                        unsafe { Block::destroy(block, offset + 1) };
                    }
                    return Ok(());
                }
                Err(h) => {
                    head = h;
                    block = self.head.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// [`List::pop_to`] with one consumer at a time (the single-consumer protocol of the
    /// module docs): only this thread moves `head`, so the claim is a `Release` store, and
    /// the block is freed by the reader of its last slot without `READ` marks.
    #[inline(always)]
    fn pop_single_to(&self, out: &mut MaybeUninit<T>) -> Result<(), NoValue> {
        let mut backoff = Backoff::new();
        loop {
            // Only this consumer (or one before it, which happens before this call) moves
            // `head`, so its value is current and never at the sentinel offset: the claim of
            // a block's last slot moves it past that offset in one store.
            let head = self.head.index.load(Ordering::Relaxed);
            // The first push installs the first block (`Release`); later blocks are
            // installed here, by this consumer.
            let block = self.head.block.load(Ordering::Acquire);
            let offset = (head >> SHIFT) % LAP;
            let mut new_head = head + (1 << SHIFT);
            if new_head & MARK_BIT == 0 {
                // A snapshot, as in `pop_to`.
                let tail = self.tail.index.load(Ordering::Acquire);
                if head >> SHIFT == tail >> SHIFT {
                    return Err(if tail & MARK_BIT != 0 {
                        NoValue::Closed
                    } else {
                        NoValue::Empty
                    });
                }
                if (head >> SHIFT) / LAP != (tail >> SHIFT) / LAP {
                    new_head |= MARK_BIT;
                }
            }
            if block.is_null() {
                // The first push is installing the first block.
                backoff.snooze();
                continue;
            }
            if offset + 1 == BLOCK_CAP {
                // SAFETY: `block` is the head block, alive until this consumer frees it
                // below; a push claimed its last slot (`tail` is past it), and that pusher
                // links the next block.
                let next = unsafe { (*block).wait_next() };
                let mut next_index = (new_head & !MARK_BIT).wrapping_add(1 << SHIFT);
                // SAFETY: `next` is alive: it is freed only by this consumer, later.
                if !unsafe { (*next).next.load(Ordering::Relaxed) }.is_null() {
                    next_index |= MARK_BIT;
                }
                self.head.block.store(next, Ordering::Release);
                self.head.index.store(next_index, Ordering::Release);
            } else {
                self.head.index.store(new_head, Ordering::Release);
            }
            // SAFETY: as above, `block` is alive; position `head` is claimed (no other
            // consumer exists), and its pusher claimed it (`tail` is past it).
            let slot = unsafe { (*block).slot(offset) };
            slot.wait_write();
            // SAFETY: `WRITE` was set (`Acquire` pairs with the writer's `Release`), so the
            // value is initialised; this consumer is its only reader.
            slot.value
                .with(|p| unsafe { out.write(p.read().assume_init()) });
            if offset + 1 == BLOCK_CAP {
                // SAFETY: every slot of the block was read, in order, by this consumer or
                // one that happens before it; its pushers are done with it (each set
                // `WRITE` last, and the last one linked `next` before that); `head` has
                // moved to the next block, so nobody reaches this one again.
                drop(unsafe { Box::from_raw(block) });
            }
            return Ok(());
        }
    }

    /// Closes the list to pushes; returns whether this call closed it.
    pub(crate) fn close(&self) -> bool {
        self.tail.index.fetch_or(MARK_BIT, Ordering::SeqCst) & MARK_BIT == 0
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.tail.index.load(Ordering::SeqCst) & MARK_BIT != 0
    }

    /// Whether no position is claimed and unread (a snapshot).
    pub(crate) fn is_empty(&self) -> bool {
        let head = self.head.index.load(Ordering::SeqCst);
        let tail = self.tail.index.load(Ordering::SeqCst);
        head >> SHIFT == tail >> SHIFT
    }

    /// Values stored now (a snapshot).
    pub(crate) fn len(&self) -> usize {
        loop {
            let tail = self.tail.index.load(Ordering::SeqCst);
            let head = self.head.index.load(Ordering::SeqCst);
            if self.tail.index.load(Ordering::SeqCst) == tail {
                let mut tail = tail >> SHIFT;
                let mut head = head >> SHIFT;
                // A position on the sentinel offset counts as the next block's first.
                if tail % LAP == BLOCK_CAP {
                    tail = tail.wrapping_add(1);
                }
                if head % LAP == BLOCK_CAP {
                    head = head.wrapping_add(1);
                }
                // Rebase both on head's block, then skip one sentinel per block crossed.
                let base = head / LAP * LAP;
                let (tail, head) = (tail.wrapping_sub(base), head - base);
                return tail - head - tail / LAP;
            }
        }
    }
}

impl<T> Drop for List<T> {
    fn drop(&mut self) {
        let mut head = self.head.index.load(Ordering::Relaxed) >> SHIFT;
        let tail = self.tail.index.load(Ordering::Relaxed) >> SHIFT;
        let mut block = self.head.block.load(Ordering::Relaxed);
        // SAFETY: `&mut self`: no other thread touches the list, every claimed push
        // finished and every claimed pop finished (their threads synchronised with the owner
        // of the last handle). Positions in `head..tail` hold written, unread values, each
        // dropped once here; blocks from the head block on are freed once each (earlier ones
        // were freed by their readers).
        unsafe {
            while head != tail {
                let offset = head % LAP;
                if offset < BLOCK_CAP {
                    (*block).values[offset].with_mut(|p| (*p).assume_init_drop());
                } else {
                    let next = (*block).next.load(Ordering::Relaxed);
                    drop(Box::from_raw(block));
                    block = next;
                }
                head = head.wrapping_add(1);
            }
            if !block.is_null() {
                drop(Box::from_raw(block));
            }
        }
    }
}

/// A [`List`] with a bound: what a bounded FIFO uses when a [`Ring`](crate::ring::Ring) of
/// its capacity would allocate too much up front (see `engine.rs`, `RING_MAX_BYTES`). The
/// list allocates blocks as it fills; an atomic count enforces the bound.
///
/// Protocol: a push first reserves a place by raising `len` with a compare-and-swap that
/// never passes `cap` (so the count never overshoots and a failed push never makes another
/// one fail), then pushes; if the list is closed meanwhile it gives the place back. A pop
/// takes a value, then lowers `len` (`SeqCst`: that decrement is the "room" the engine's
/// hand-off pairs with, see `engine.rs`). So at every moment, values stored ≤ `len` ≤
/// `cap`.
pub(crate) struct BoundedList<T> {
    list: List<T>,
    len: CachePadded<AtomicUsize>,
    cap: usize,
}

impl<T> fmt::Debug for BoundedList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedList")
            .field("cap", &self.cap)
            .field("list", &self.list)
            .finish()
    }
}

impl<T> BoundedList<T> {
    pub(crate) fn new(cap: usize) -> BoundedList<T> {
        BoundedList {
            list: List::new(),
            len: CachePadded(AtomicUsize::new(0)),
            cap,
        }
    }

    #[inline]
    pub(crate) fn push(&self, value: T) -> Result<(), Rejected<T>> {
        if self.list.is_closed() {
            return Err(Rejected::Closed(value));
        }
        let reserved = self
            .len
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.cap).then_some(n + 1)
            });
        if reserved.is_err() {
            return Err(Rejected::Full(value));
        }
        self.list.push(value).inspect_err(|_| {
            self.len.fetch_sub(1, Ordering::SeqCst);
        })
    }

    /// See [`List::pop_to`].
    #[inline(always)]
    pub(crate) fn pop_to(&self, out: &mut MaybeUninit<T>) -> Result<(), NoValue> {
        self.list.pop_to(out)?;
        self.len.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }

    pub(crate) fn close(&self) -> bool {
        self.list.close()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.list.is_closed()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether a push would find room now (a snapshot).
    pub(crate) fn has_room(&self) -> bool {
        self.len.load(Ordering::SeqCst) < self.cap
    }
}
