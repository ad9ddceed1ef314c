//! What a task is waiting on, recorded by the future that makes it wait.
//!
//! A task dump ("what is every task waiting on, right now?") needs, for each parked task,
//! the *leaf* future that returned `Poll::Pending`: a socket read, a timer, a lock. Only
//! that future knows; the executor only sees `Pending`. This crate is the meeting point
//! between the two, small enough that both sides can depend on it without depending on
//! each other: `c10k-runtime` (the executor and its own leaf futures: sockets, timers, join
//! handles) and `c10k-sync` (locks and channels, which must stay runtime-agnostic).
//!
//! # Protocol
//!
//! 1. The executor owns one [`Slot`] per task, inside the task (c10k's runtime: in the
//!    task's header), and clears it before each poll ([`Slot::clear`]).
//! 2. Once, the executor [`register`]s an [`Executor`]: the vtable of its task wakers and
//!    where, from a waker's data pointer, the task's slot and number are. Nothing happens
//!    per poll: the `Context` a leaf future is polled with already leads to its task.
//! 3. A leaf future about to return `Pending` calls [`record`] with its `Context` and its
//!    [`Reason`]: the waker's vtable is compared with the registered ones (one load and a
//!    compare per registered executor) and, for a task of one of them, the reason is stored
//!    in the task's slot unless the slot already holds one: with several leaves pending in
//!    one poll (`select`, `join`, a timeout around a read) the first one wins, which is
//!    usually the work (`select(read, shutdown)`, `timeout(d, read)`), the later ones what
//!    would interrupt it. Under another executor (tokio, a `block_on` of a plain thread) or
//!    inside a combinator that wraps wakers (`FuturesUnordered`), nothing is stored.
//! 4. A dump, on any thread, reads the slot ([`Slot::load`]) while the task is alive: what
//!    the task's last poll waited on. A reason is one `u64`, so a read never sees half a
//!    record.
//!
//! # Cost
//!
//! Nothing per poll but the clear, nothing per `Ready`; per `Pending` of a leaf future, the
//! vtable comparison and a relaxed load and store. Nothing is allocated, formatted or
//! locked, ever: formatting (peer addresses, deadlines as durations) happens in the dump, on
//! the dumping thread.
//!
//! # Examples
//!
//! An executor whose tasks are `Arc<Task>`, its wakers' data pointers to the `Task`:
//!
//! ```
//! use std::sync::Arc;
//! use std::task::{Context, RawWaker, RawWakerVTable, Waker};
//! use c10k_wait::{Executor, Reason, Slot};
//!
//! #[repr(C)]
//! struct Task {
//!     id: u64,
//!     wait: Slot,
//! }
//!
//! static VTABLE: RawWakerVTable = RawWakerVTable::new(
//!     |p| RawWaker::new(p, &VTABLE),
//!     |_| {},
//!     |_| {},
//!     |_| {},
//! );
//! // SAFETY: every waker with `VTABLE` points to a live `Task` (the one below outlives its
//! // waker), whose `Slot` and number are at these offsets.
//! static EXECUTOR: Executor = unsafe {
//!     Executor::new(&VTABLE, std::mem::offset_of!(Task, wait), std::mem::offset_of!(Task, id))
//! };
//! c10k_wait::register(&EXECUTOR);
//!
//! let task = Arc::new(Task { id: 7, wait: Slot::new() });
//! // SAFETY: `VTABLE`'s functions do nothing with the pointer, which outlives the waker.
//! let waker = unsafe { Waker::from_raw(RawWaker::new(Arc::as_ptr(&task).cast(), &VTABLE)) };
//! let cx = Context::from_waker(&waker);
//! task.wait.clear(); // the executor, before the poll
//! // ... a leaf future deep inside the poll does:
//! c10k_wait::record(&cx, Reason::Read { fd: 5 });
//! // and a later one in the same poll (a timeout around the read) changes nothing:
//! c10k_wait::record(&cx, Reason::Timer { deadline: 10 });
//! assert_eq!(c10k_wait::task_of(cx.waker()), Some(7));
//! assert_eq!(task.wait.load(), Some(Reason::Read { fd: 5 }));
//! // A waker of another executor leads nowhere.
//! assert_eq!(c10k_wait::task_of(Waker::noop()), None);
//! ```
#![deny(unsafe_code)]

use std::fmt;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::task::{Context, RawWakerVTable, Waker};

/// Why a task returned `Pending`, as its leaf future recorded it.
///
/// Every variant packs into one `u64` (8 bits of tag, 56 of payload), so a [`Slot`] is one
/// atomic word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// Waiting for a socket (or other file descriptor) to become readable, or for data
    /// received on it (a completion-based read).
    Read {
        /// The file descriptor.
        fd: i32,
    },
    /// Waiting for a socket to become writable, or for a send to complete.
    Write {
        /// The file descriptor.
        fd: i32,
    },
    /// Waiting for a connection on a listening socket.
    Accept {
        /// The listening socket.
        fd: i32,
    },
    /// Waiting for a timer.
    Timer {
        /// The deadline, in the executor's clock unit (c10k's runtime: milliseconds since
        /// its time driver started).
        deadline: u64,
    },
    /// Waiting for another task to finish (its join handle).
    Join {
        /// The other task's id.
        task: u64,
    },
    /// Waiting for a synchronization primitive (a lock, a semaphore, an event...).
    Sync {
        /// Which primitive.
        kind: SyncKind,
        /// The task that held the lock when the waiter last looked, if it was a task
        /// (locks only; see [`task_of`]).
        holder: Option<u64>,
    },
    /// Waiting on a channel or queue.
    Channel {
        /// Which channel.
        kind: ChannelKind,
        /// Whether the waiter sends (the channel is full) or receives (it is empty).
        op: ChannelOp,
    },
}

/// The synchronization primitive of a [`Reason::Sync`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncKind {
    /// A mutex.
    Mutex,
    /// A readers-writer lock, for reading.
    RwLockRead,
    /// A readers-writer lock, for writing.
    RwLockWrite,
    /// A semaphore's permits.
    Semaphore,
    /// A condition variable.
    Condvar,
    /// A barrier.
    Barrier,
    /// An event (a flag waited for).
    Event,
    /// A notification.
    Notify,
    /// A queue's `join` (unfinished items).
    QueueJoin,
}

/// The channel of a [`Reason::Channel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelKind {
    /// A multi-producer single-consumer channel.
    Mpsc,
    /// A multi-producer multi-consumer channel.
    Mpmc,
    /// A one-shot channel.
    Oneshot,
    /// A broadcast channel.
    Broadcast,
    /// A watch channel.
    Watch,
    /// A work queue (FIFO, LIFO or priority).
    Queue,
}

/// The direction of a [`Reason::Channel`] wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelOp {
    /// Waiting for a value.
    Recv,
    /// Waiting for room.
    Send,
}

const TAG_SHIFT: u32 = 56;
const PAYLOAD: u64 = (1 << TAG_SHIFT) - 1;
/// Holders are kept to 48 bits; ids beyond that are reported as unknown.
const HOLDER_BITS: u64 = (1 << 48) - 1;

const SYNC_KINDS: [SyncKind; 9] = [
    SyncKind::Mutex,
    SyncKind::RwLockRead,
    SyncKind::RwLockWrite,
    SyncKind::Semaphore,
    SyncKind::Condvar,
    SyncKind::Barrier,
    SyncKind::Event,
    SyncKind::Notify,
    SyncKind::QueueJoin,
];
const CHANNEL_KINDS: [ChannelKind; 6] = [
    ChannelKind::Mpsc,
    ChannelKind::Mpmc,
    ChannelKind::Oneshot,
    ChannelKind::Broadcast,
    ChannelKind::Watch,
    ChannelKind::Queue,
];

impl Reason {
    /// The packed form: tag in the top 8 bits (0 means "nothing"), payload below.
    fn pack(self) -> u64 {
        let (tag, payload) = match self {
            Reason::Read { fd } => (1, fd as u32 as u64),
            Reason::Write { fd } => (2, fd as u32 as u64),
            Reason::Accept { fd } => (3, fd as u32 as u64),
            Reason::Timer { deadline } => (4, deadline.min(PAYLOAD)),
            Reason::Join { task } => (5, task & PAYLOAD),
            Reason::Sync { kind, holder } => {
                let k = SYNC_KINDS.iter().position(|&x| x == kind).unwrap_or(0) as u64;
                let h = holder.filter(|&h| h <= HOLDER_BITS).map_or(0, |h| h + 1);
                (6, k << 49 | h.min(HOLDER_BITS + 1))
            }
            Reason::Channel { kind, op } => {
                let k = CHANNEL_KINDS.iter().position(|&x| x == kind).unwrap_or(0) as u64;
                (7, k << 1 | matches!(op, ChannelOp::Send) as u64)
            }
        };
        (tag << TAG_SHIFT) | (payload & PAYLOAD)
    }

    fn unpack(word: u64) -> Option<Reason> {
        let payload = word & PAYLOAD;
        Some(match word >> TAG_SHIFT {
            1 => Reason::Read {
                fd: payload as u32 as i32,
            },
            2 => Reason::Write {
                fd: payload as u32 as i32,
            },
            3 => Reason::Accept {
                fd: payload as u32 as i32,
            },
            4 => Reason::Timer { deadline: payload },
            5 => Reason::Join { task: payload },
            6 => Reason::Sync {
                kind: *SYNC_KINDS.get((payload >> 49) as usize)?,
                holder: match payload & ((1 << 49) - 1) {
                    0 => None,
                    h => Some(h - 1),
                },
            },
            7 => Reason::Channel {
                kind: *CHANNEL_KINDS.get((payload >> 1) as usize)?,
                op: if payload & 1 == 1 {
                    ChannelOp::Send
                } else {
                    ChannelOp::Recv
                },
            },
            _ => return None,
        })
    }
}

impl fmt::Display for SyncKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SyncKind::Mutex => "mutex",
            SyncKind::RwLockRead => "rwlock (read)",
            SyncKind::RwLockWrite => "rwlock (write)",
            SyncKind::Semaphore => "semaphore",
            SyncKind::Condvar => "condvar",
            SyncKind::Barrier => "barrier",
            SyncKind::Event => "event",
            SyncKind::Notify => "notify",
            SyncKind::QueueJoin => "queue join",
        })
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChannelKind::Mpsc => "mpsc",
            ChannelKind::Mpmc => "mpmc",
            ChannelKind::Oneshot => "oneshot",
            ChannelKind::Broadcast => "broadcast",
            ChannelKind::Watch => "watch",
            ChannelKind::Queue => "queue",
        })
    }
}

/// Where a task's wait [`Reason`] is kept: one atomic word, owned by the executor, one per
/// task (see the protocol in the crate docs).
///
/// # Examples
///
/// ```
/// let slot = c10k_wait::Slot::new();
/// assert_eq!(slot.load(), None);
/// ```
#[derive(Default)]
pub struct Slot(AtomicU64);

impl Slot {
    /// An empty slot.
    ///
    /// # Examples
    ///
    /// See [`Slot`].
    pub const fn new() -> Slot {
        Slot(AtomicU64::new(0))
    }

    /// What the task's last poll recorded, if anything. Any thread may call it.
    ///
    /// # Examples
    ///
    /// See the crate docs.
    #[inline]
    pub fn load(&self) -> Option<Reason> {
        Reason::unpack(self.0.load(Ordering::Relaxed))
    }

    /// Forgets the recorded reason (the executor, before each poll).
    ///
    /// # Examples
    ///
    /// See the crate docs.
    #[inline]
    pub fn clear(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Slot").field(&self.load()).finish()
    }
}

/// How one executor's task wakers lead to their tasks' slots (see the crate docs).
#[derive(Debug)]
pub struct Executor {
    vtable: &'static RawWakerVTable,
    slot: usize,
    task: usize,
}

impl Executor {
    /// The executor whose task wakers have `vtable`.
    ///
    /// # Safety
    ///
    /// For every `Waker` with this `vtable`, for as long as it exists, its data pointer
    /// points to a live object holding a [`Slot`] at byte offset `slot` and the task's
    /// number (a `u64`, non-zero, never changed) at byte offset `task`.
    ///
    /// # Examples
    ///
    /// See the crate docs.
    #[allow(unsafe_code)]
    pub const unsafe fn new(vtable: &'static RawWakerVTable, slot: usize, task: usize) -> Executor {
        Executor { vtable, slot, task }
    }
}

/// How many executors can be registered in one process.
const MAX_EXECUTORS: usize = 4;

static EXECUTORS: [AtomicPtr<Executor>; MAX_EXECUTORS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; MAX_EXECUTORS];

/// Makes the tasks of `executor` recordable (once per process; registering the same
/// executor again does nothing). Returns `false` if 4 others were
/// registered already: that executor's tasks then record nothing.
///
/// # Examples
///
/// See the crate docs.
pub fn register(executor: &'static Executor) -> bool {
    let me = executor as *const Executor as *mut Executor;
    for e in &EXECUTORS {
        match e.compare_exchange(
            std::ptr::null_mut(),
            me,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => return true,
            Err(cur) if cur == me => return true,
            Err(_) => {}
        }
    }
    false
}

/// The registered executor of `waker`, if any.
#[inline]
fn executor_of(waker: &Waker) -> Option<&'static Executor> {
    let vtable = waker.vtable();
    for e in &EXECUTORS {
        let p = e.load(Ordering::Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: only `&'static Executor`s are stored (`register`).
        #[allow(unsafe_code)]
        let e = unsafe { &*p };
        if std::ptr::eq(e.vtable, vtable) {
            return Some(e);
        }
    }
    None
}

/// Records why the task polled with `cx` is about to return `Pending` (a leaf future calls
/// it), unless a leaf of the same poll recorded first. Does nothing for a waker of no
/// registered executor.
///
/// # Examples
///
/// See the crate docs.
#[inline]
pub fn record(cx: &Context<'_>, reason: Reason) {
    let waker = cx.waker();
    if let Some(e) = executor_of(waker) {
        // SAFETY: `Executor::new`'s contract: the waker, alive for this call, points to an
        // object with a `Slot` at this offset.
        #[allow(unsafe_code)]
        let slot = unsafe { &*waker.data().cast::<u8>().add(e.slot).cast::<Slot>() };
        // Only the polling thread writes the slot during the poll: load-then-store is not
        // a race, just "first leaf wins".
        if slot.0.load(Ordering::Relaxed) == 0 {
            slot.0.store(reason.pack(), Ordering::Relaxed);
        }
    }
}

/// The number of the task `waker` wakes, if it is a task of a registered executor (c10k's
/// runtime: the task's `Id`). Locks use it to name their holder.
///
/// # Examples
///
/// See the crate docs.
#[inline]
pub fn task_of(waker: &Waker) -> Option<u64> {
    let e = executor_of(waker)?;
    // SAFETY: `Executor::new`'s contract: the task's number is an immutable `u64` at this
    // offset of the live object the waker points to.
    #[allow(unsafe_code)]
    let n = unsafe { waker.data().cast::<u8>().add(e.task).cast::<u64>().read() };
    Some(n).filter(|&n| n != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::RawWaker;

    #[test]
    fn every_reason_round_trips() {
        let mut all = vec![
            Reason::Read { fd: 0 },
            Reason::Read { fd: i32::MAX },
            Reason::Write { fd: 3 },
            Reason::Accept { fd: 9 },
            Reason::Timer { deadline: 123_456 },
            Reason::Join { task: 42 },
        ];
        for kind in SYNC_KINDS {
            all.push(Reason::Sync { kind, holder: None });
            all.push(Reason::Sync {
                kind,
                holder: Some(0),
            });
            all.push(Reason::Sync {
                kind,
                holder: Some(HOLDER_BITS),
            });
        }
        for kind in CHANNEL_KINDS {
            for op in [ChannelOp::Recv, ChannelOp::Send] {
                all.push(Reason::Channel { kind, op });
            }
        }
        for r in all {
            assert_eq!(Reason::unpack(r.pack()), Some(r), "{r:?}");
        }
        assert_eq!(Reason::unpack(0), None);
        // A holder too large to pack is reported as unknown, not as another task.
        let big = Reason::Sync {
            kind: SyncKind::Mutex,
            holder: Some(HOLDER_BITS + 1),
        };
        assert_eq!(
            Reason::unpack(big.pack()),
            Some(Reason::Sync {
                kind: SyncKind::Mutex,
                holder: None
            })
        );
    }

    #[test]
    fn registering_twice_keeps_one_entry_and_foreign_wakers_record_nothing() {
        static VT: RawWakerVTable =
            RawWakerVTable::new(|p| RawWaker::new(p, &VT), |_| {}, |_| {}, |_| {});
        #[repr(C)]
        struct T {
            id: u64,
            slot: Slot,
        }
        // SAFETY: the only waker made with `VT` points to `t`, which outlives it.
        #[allow(unsafe_code)]
        static E: Executor = unsafe {
            Executor::new(
                &VT,
                std::mem::offset_of!(T, slot),
                std::mem::offset_of!(T, id),
            )
        };
        assert!(register(&E));
        assert!(register(&E));
        let registered = EXECUTORS
            .iter()
            .filter(|e| std::ptr::eq(e.load(Ordering::Relaxed), &E))
            .count();
        assert_eq!(registered, 1);
        let t = T {
            id: 3,
            slot: Slot::new(),
        };
        // SAFETY: `VT`'s functions ignore the pointer; `t` outlives the waker.
        #[allow(unsafe_code)]
        let w = unsafe { Waker::from_raw(RawWaker::new((&t as *const T).cast(), &VT)) };
        record(&Context::from_waker(&w), Reason::Accept { fd: 4 });
        assert_eq!(t.slot.load(), Some(Reason::Accept { fd: 4 }));
        assert_eq!(task_of(&w), Some(3));
        record(
            &Context::from_waker(Waker::noop()),
            Reason::Accept { fd: 5 },
        );
        assert_eq!(task_of(Waker::noop()), None);
    }
}
