//! The per-worker run queue: a bounded ring of 256 tasks with one producer (the worker) and
//! many consumers (the worker popping, other workers stealing half).
//!
//! # Layout
//!
//! `tail` is written only by the owner. `head` packs two 32-bit indices:
//! `real`, the next task to hand out, and `steal`, the first slot a stealer may still be
//! copying out. Outside a steal they are equal. Indices grow forever (wrapping at 2^32) and
//! are reduced modulo the capacity to find a slot.
//!
//! # Protocols
//!
//! 1. *Push* (owner): there is room if `tail - steal < CAPACITY` (slots between `steal` and
//!    `real` are still being read by a stealer, so they count as occupied). Write the slot,
//!    then publish with a `Release` store of `tail`. If full and no steal is in progress,
//!    move half of the queue to the injection queue (claimed with one CAS on `head`); if a
//!    steal is in progress, send the task to the injection queue.
//! 2. *Pop* (owner): CAS `real` forward by one (and `steal` with it if no steal is running).
//! 3. *Steal* (another worker): if no steal is running, CAS `real` forward by half of the
//!    available tasks while leaving `steal` behind: the tasks are now claimed but their slots
//!    are not free. Copy them into the thief's own queue, then CAS `steal` up to `real` to
//!    free the slots. Only one steal runs at a time per queue.
//!
//! The idea is the Go scheduler's `runqsteal` as refined by tokio's queue; the code is ours.

use std::mem::MaybeUninit;

use super::super::inject::Inject;
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};
use crate::loom::sync::Arc;
use crate::task::{Notified, RawTask};

#[cfg(not(loom))]
pub(crate) const CAPACITY: usize = 256;
#[cfg(loom)]
pub(crate) const CAPACITY: usize = 4;
const MASK: usize = CAPACITY - 1;

struct Inner {
    head: AtomicU64,
    tail: AtomicU32,
    buffer: Box<[UnsafeCell<MaybeUninit<RawTask>>]>,
}

// SAFETY: slots are handed between threads by the protocol above; each slot is accessed by
// one thread at a time (writer before the `tail` publish, reader after claiming it on `head`).
unsafe impl Send for Inner {}
// SAFETY: as above.
unsafe impl Sync for Inner {}

/// The owner's end.
pub(crate) struct Local {
    inner: Arc<Inner>,
}

/// The thieves' end.
#[derive(Clone)]
pub(crate) struct Steal(Arc<Inner>);

pub(crate) fn new() -> (Steal, Local) {
    let buffer = (0..CAPACITY)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect();
    let inner = Arc::new(Inner {
        head: AtomicU64::new(0),
        tail: AtomicU32::new(0),
        buffer,
    });
    (Steal(inner.clone()), Local { inner })
}

fn unpack(v: u64) -> (u32, u32) {
    ((v >> 32) as u32, v as u32)
}

fn pack(steal: u32, real: u32) -> u64 {
    ((steal as u64) << 32) | real as u64
}

impl Inner {
    /// # Safety
    ///
    /// The caller owns slot `pos` for writing (protocol 1 or the thief's own queue).
    unsafe fn write(&self, pos: u32, task: Notified) {
        let raw = task.into_raw();
        // SAFETY: the caller's contract.
        self.buffer[pos as usize & MASK].with_mut(|p| unsafe { p.write(MaybeUninit::new(raw)) });
    }

    /// # Safety
    ///
    /// The caller claimed slot `pos` (pop, steal or overflow), which holds a task.
    unsafe fn read(&self, pos: u32) -> Notified {
        // SAFETY: the caller's contract: the slot was written and is now ours.
        let raw = self.buffer[pos as usize & MASK].with(|p| unsafe { (*p).assume_init_read() });
        // SAFETY: queue slots hold `Notified` references.
        unsafe { Notified::from_raw(raw) }
    }

    fn len(&self) -> u32 {
        let (_, real) = unpack(self.head.load(Acquire));
        self.tail.load(Acquire).wrapping_sub(real)
    }
}

impl Local {
    pub(crate) fn len(&self) -> usize {
        self.inner.len() as usize
    }

    /// Whether the queue has at most `CAPACITY / 2` tasks in flight (a thief's condition).
    fn has_room_for_half(&self) -> bool {
        let (steal, _) = unpack(self.inner.head.load(Acquire));
        let tail = self.inner.tail.load(Relaxed);
        (tail.wrapping_sub(steal) as usize) <= CAPACITY / 2
    }

    /// Protocol 1.
    pub(crate) fn push_back(&mut self, mut task: Notified, inject: &Inject) {
        loop {
            let (steal, real) = unpack(self.inner.head.load(Acquire));
            // Only we write `tail`.
            let tail = self.inner.tail.load(Relaxed);
            if (tail.wrapping_sub(steal) as usize) < CAPACITY {
                // SAFETY: the slot at `tail` is outside `[steal, tail)`, so free and ours.
                unsafe { self.inner.write(tail, task) };
                self.inner.tail.store(tail.wrapping_add(1), Release);
                return;
            }
            if steal != real {
                // A thief is copying; it will free room soon. Do not wait for it.
                if let Err(t) = inject.push(task) {
                    drop(t);
                }
                return;
            }
            match self.push_overflow(task, real, tail, inject) {
                Ok(()) => return,
                Err(t) => task = t, // a thief took some: there is room now
            }
        }
    }

    fn push_overflow(
        &mut self,
        task: Notified,
        head: u32,
        tail: u32,
        inject: &Inject,
    ) -> Result<(), Notified> {
        let n = (CAPACITY / 2) as u32;
        debug_assert_eq!(tail.wrapping_sub(head) as usize, CAPACITY);
        let prev = pack(head, head);
        let next = pack(head.wrapping_add(n), head.wrapping_add(n));
        if self
            .inner
            .head
            .compare_exchange(prev, next, Release, Relaxed)
            .is_err()
        {
            return Err(task);
        }
        let inner = &self.inner;
        // SAFETY: the CAS claimed slots `[head, head + n)`.
        let batch = (0..n).map(|i| unsafe { inner.read(head.wrapping_add(i)) });
        inject.push_batch(batch.chain(std::iter::once(task)));
        Ok(())
    }

    /// Protocol 2.
    pub(crate) fn pop(&mut self) -> Option<Notified> {
        let mut head = self.inner.head.load(Acquire);
        let idx = loop {
            let (steal, real) = unpack(head);
            if real == self.inner.tail.load(Relaxed) {
                return None;
            }
            let next_real = real.wrapping_add(1);
            let next = if steal == real {
                pack(next_real, next_real)
            } else {
                pack(steal, next_real)
            };
            match self
                .inner
                .head
                .compare_exchange(head, next, AcqRel, Acquire)
            {
                Ok(_) => break real,
                Err(actual) => head = actual,
            }
        };
        // SAFETY: the CAS claimed slot `idx`.
        Some(unsafe { self.inner.read(idx) })
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        while let Some(task) = self.pop() {
            drop(task);
        }
    }
}

impl Steal {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    /// Protocol 3: steals half of this queue into `dst` (the thief's own queue) and returns
    /// one of the stolen tasks to run now.
    pub(crate) fn steal_into(&self, dst: &mut Local) -> Option<Notified> {
        if !dst.has_room_for_half() {
            return None;
        }
        let dst_tail = dst.inner.tail.load(Relaxed);
        let mut n = self.steal_into2(dst, dst_tail);
        if n == 0 {
            return None;
        }
        n -= 1;
        // SAFETY: `steal_into2` wrote `n + 1` tasks at `dst_tail..`; the last is ours to take
        // and was never published.
        let ret = unsafe { dst.inner.read(dst_tail.wrapping_add(n)) };
        if n > 0 {
            dst.inner.tail.store(dst_tail.wrapping_add(n), Release);
        }
        Some(ret)
    }

    fn steal_into2(&self, dst: &mut Local, dst_tail: u32) -> u32 {
        let src = &*self.0;
        let mut prev = src.head.load(Acquire);
        let (first, n) = loop {
            let (steal, real) = unpack(prev);
            if steal != real {
                return 0; // another thief is at work
            }
            let avail = src.tail.load(Acquire).wrapping_sub(real);
            let n = avail - avail / 2;
            if n == 0 || n as usize > CAPACITY {
                return 0;
            }
            let next = pack(steal, real.wrapping_add(n));
            match src.head.compare_exchange(prev, next, AcqRel, Acquire) {
                Ok(_) => break (real, n),
                Err(actual) => prev = actual,
            }
        };
        for i in 0..n {
            // SAFETY: `[first, first + n)` was claimed by the CAS above; the destination slots
            // are beyond `dst`'s tail and free (`has_room_for_half`), and `dst` is ours.
            unsafe {
                let task = src.read(first.wrapping_add(i));
                dst.inner.write(dst_tail.wrapping_add(i), task);
            }
        }
        // Free the slots: move `steal` up to `real` (the owner may have popped meanwhile).
        let mut prev = pack(first, first.wrapping_add(n));
        loop {
            let (_, real) = unpack(prev);
            match src
                .head
                .compare_exchange(prev, pack(real, real), AcqRel, Acquire)
            {
                Ok(_) => return n,
                Err(actual) => {
                    debug_assert_eq!(unpack(actual).0, first);
                    prev = actual;
                }
            }
        }
    }
}
