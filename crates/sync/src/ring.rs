//! `Ring<T>`: the bounded lock-free FIFO store behind bounded channels and `Queue::bounded`.
//!
//! # Algorithm
//!
//! Dmitry Vyukov's bounded MPMC array queue, with per-slot stamps, in the lap encoding that
//! crossbeam's `ArrayQueue` popularised (so that any capacity, not only powers of two, is
//! exact and no division is needed):
//!
//! ```text
//!   index word (head or tail):  [ lap ........ | mark | index ]
//!                                 multiples of    |      0..cap
//!                                 one_lap         mark_bit = (cap + 1).next_power_of_two()
//!                                                 one_lap  = 2 * mark_bit
//! ```
//!
//! `head` is the next position to read, `tail` the next to write. Each slot carries a
//! `stamp`, which says what the slot is waiting for:
//!
//! - `stamp == pos` (for the position `pos` of the current lap): empty, ready to be written
//!   at `pos`;
//! - `stamp == pos + 1`: written at `pos`, ready to be read;
//! - after the read at `pos`, the stamp becomes `pos + one_lap`: empty for the next lap.
//!
//! # The index protocol
//!
//! Push at `tail` (index `i`, lap `L`):
//!
//! 1. Closed (`mark` set in `tail`)? Fail with the value back.
//! 2. `stamp == tail`: the slot is free for this lap. Claim it by moving `tail` on with a
//!    compare-and-swap (to `i + 1`, or to index 0 of the next lap after the last slot). The
//!    winner owns the slot exclusively: write the value, then publish it with
//!    `stamp = tail + 1` (`Release`).
//! 3. `stamp + one_lap == tail + 1`: the slot still holds the value of the previous lap. If
//!    `head` is one lap behind `tail`, the ring is full; otherwise a reader has claimed that
//!    value and is still copying it out: retry.
//! 4. Anything else: another pusher moved `tail` on; reload and retry.
//!
//! Pop at `head` mirrors it: `stamp == head + 1` means readable, claim by moving `head` on,
//! read, then hand the slot to the next lap with `stamp = head + one_lap` (`Release`).
//! `stamp == head` means not written yet: the ring is empty if `tail == head` (then the mark
//! says whether it is also closed), otherwise a pusher has claimed the slot and is writing,
//! and the pop waits for it (so a pop never reports "empty" while an earlier push that
//! already moved `tail` is unfinished; this is what makes draining on close complete).
//!
//! The `Acquire` load of a stamp pairs with the `Release` store that set it, so a reader sees
//! the value written, and a writer of the next lap sees the slot emptied. Closing sets `mark`
//! in `tail` with one `fetch_or`: every later push's compare-and-swap fails on it, so after
//! `close` returns, no value can enter the ring.
//!
//! The loom models of this protocol are in `tests/loom_ring.rs`.
#![allow(unsafe_code)]

use std::fmt;
use std::mem::MaybeUninit;

use crate::backoff::{Backoff, CachePadded};
use crate::engine::{NoValue, Rejected};
use crate::loom::{fence, AtomicUsize, Ordering, UnsafeCell};

/// One slot: a stamp saying what it waits for, and maybe a value.
struct Slot<T> {
    stamp: AtomicUsize,
    /// Initialised exactly when `stamp == pos + 1` for the lap's position `pos` (written, not
    /// yet read), or while the thread that claimed the slot is writing or reading it.
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A bounded multi-producer multi-consumer lock-free FIFO (see the module docs).
pub(crate) struct Ring<T> {
    /// Next position to read.
    head: CachePadded<AtomicUsize>,
    /// Next position to write, with `mark_bit` set once closed.
    tail: CachePadded<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    cap: usize,
    mark_bit: usize,
    one_lap: usize,
}

// SAFETY: the ring moves values of `T` between threads (so `T: Send` is required and
// enough); a slot's value is accessed only by the one thread that claimed the slot through
// the index protocol, so sharing `&Ring<T>` never gives two threads access to one value.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as for `Send`: all shared access goes through the atomic index protocol.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> fmt::Debug for Ring<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("cap", &self.cap)
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> Ring<T> {
    /// Bytes one slot takes (the ring allocates `cap` of them up front).
    pub(crate) const SLOT_BYTES: usize = std::mem::size_of::<Slot<T>>();

    /// A ring holding at most `cap` values.
    ///
    /// # Panics
    ///
    /// If `cap` is 0 or so large that the index encoding would overflow.
    pub(crate) fn new(cap: usize) -> Ring<T> {
        assert!(cap > 0, "ring capacity must be at least 1");
        let mark_bit = (cap + 1)
            .checked_next_power_of_two()
            .expect("ring capacity too large");
        let one_lap = mark_bit.checked_mul(2).expect("ring capacity too large");
        let slots = (0..cap)
            .map(|i| Slot {
                stamp: AtomicUsize::new(i),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Ring {
            head: CachePadded(AtomicUsize::new(0)),
            tail: CachePadded(AtomicUsize::new(0)),
            slots,
            cap,
            mark_bit,
            one_lap,
        }
    }

    /// The position after `pos` (same lap, or index 0 of the next lap).
    #[inline]
    fn next(&self, pos: usize) -> usize {
        let index = pos & (self.mark_bit - 1);
        if index + 1 < self.cap {
            pos + 1
        } else {
            (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    /// Appends `value`, or hands it back if the ring is full or closed.
    #[inline(always)]
    pub(crate) fn push(&self, value: T) -> Result<(), Rejected<T>> {
        let mut backoff = Backoff::new();
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            if tail & self.mark_bit != 0 {
                return Err(Rejected::Closed(value));
            }
            let slot = &self.slots[tail & (self.mark_bit - 1)];
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == tail {
                match self.tail.compare_exchange_weak(
                    tail,
                    self.next(tail),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: winning the compare-and-swap from `tail` claimed this slot
                        // for the write at `tail`: no other pusher can claim it before the
                        // next lap, and no popper reads it before the stamp below says
                        // `tail + 1`. The `Acquire` load of `stamp == tail` saw the previous
                        // lap's reader finish with it, so the write races with nothing.
                        slot.value
                            .with_mut(|p| unsafe { p.write(MaybeUninit::new(value)) });
                        slot.stamp.store(tail + 1, Ordering::Release);
                        return Ok(());
                    }
                    Err(t) => {
                        tail = t;
                        backoff.spin();
                    }
                }
            } else if stamp.wrapping_add(self.one_lap) == tail + 1 {
                // The slot still holds the previous lap's value: full, unless its reader
                // has claimed it already (then `head` has moved on).
                fence(Ordering::SeqCst);
                let head = self.head.load(Ordering::Relaxed);
                if head.wrapping_add(self.one_lap) == tail {
                    return Err(Rejected::Full(value));
                }
                backoff.spin();
                tail = self.tail.load(Ordering::Relaxed);
            } else {
                backoff.snooze();
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Takes the oldest value; `Empty` or `Closed` (empty and closed) if there is none. Waits
    /// for a push that has claimed the head slot and is still writing it.
    ///
    /// The value goes into `out`, written exactly when `Ok` is returned. The hot paths
    /// use this form: a `Result<T, _>` returned through the store's `match` is assembled in
    /// memory with narrow stores and copied out with a wide load, which stalls store
    /// forwarding (it doubled the cost of a receive, see `BENCHMARKS.md`).
    #[inline(always)]
    pub(crate) fn pop_to(&self, out: &mut MaybeUninit<T>) -> Result<(), NoValue> {
        let mut backoff = Backoff::new();
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let slot = &self.slots[head & (self.mark_bit - 1)];
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head + 1 {
                match self.head.compare_exchange_weak(
                    head,
                    self.next(head),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the `Acquire` load saw `stamp == head + 1`, published by
                        // the pusher after it wrote the value, so the value is initialised
                        // and visible; winning the compare-and-swap from `head` makes this
                        // thread its only reader, and no pusher reuses the slot before the
                        // stamp below says `head + one_lap`.
                        slot.value
                            .with(|p| unsafe { out.write(p.read().assume_init()) });
                        slot.stamp
                            .store(head.wrapping_add(self.one_lap), Ordering::Release);
                        return Ok(());
                    }
                    Err(h) => {
                        head = h;
                        backoff.spin();
                    }
                }
            } else if stamp == head {
                // No fence: "empty" is a snapshot, linearizable at this load; the engine's
                // hand-off re-checks with its own fence (see `engine.rs`).
                let tail = self.tail.load(Ordering::Acquire);
                if tail & !self.mark_bit == head {
                    return Err(if tail & self.mark_bit != 0 {
                        NoValue::Closed
                    } else {
                        NoValue::Empty
                    });
                }
                // A pusher claimed the slot and is writing it.
                backoff.spin();
                head = self.head.load(Ordering::Relaxed);
            } else {
                backoff.snooze();
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Closes the ring to pushes; returns whether this call closed it.
    pub(crate) fn close(&self) -> bool {
        self.tail.fetch_or(self.mark_bit, Ordering::SeqCst) & self.mark_bit == 0
    }

    /// Whether [`close`](Self::close) was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.tail.load(Ordering::SeqCst) & self.mark_bit != 0
    }

    /// The capacity.
    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    /// Values stored now (a snapshot; claimed slots being written or read count as stored).
    pub(crate) fn len(&self) -> usize {
        loop {
            let tail = self.tail.load(Ordering::SeqCst);
            let head = self.head.load(Ordering::SeqCst);
            // A consistent pair: `tail` did not move while `head` was read.
            if self.tail.load(Ordering::SeqCst) == tail {
                let tail = tail & !self.mark_bit;
                let hix = head & (self.mark_bit - 1);
                let tix = tail & (self.mark_bit - 1);
                return if hix < tix {
                    tix - hix
                } else if hix > tix {
                    self.cap - hix + tix
                } else if tail == head {
                    0
                } else {
                    self.cap
                };
            }
        }
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        if !std::mem::needs_drop::<T>() {
            return;
        }
        let len = self.len();
        let head = self.head.load(Ordering::Relaxed);
        let start = head & (self.mark_bit - 1);
        for i in 0..len {
            let index = (start + i) % self.cap;
            // SAFETY: `&mut self`: no other thread can touch the ring. The `len` slots from
            // `head` on were written (each push that moved `tail` finished: its thread is
            // gone or synchronised with this drop by whoever owned the last handle) and not
            // read, so each holds an initialised value, dropped here exactly once.
            self.slots[index]
                .value
                .with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}
