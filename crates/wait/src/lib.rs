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
//! 1. The executor owns one [`Slot`] per task. Around each poll of the task it makes the
//!    slot current on the polling thread ([`enter`], a thread-local pointer), clears it
//!    first ([`Slot::clear`]), and restores the previous one when the poll returns (a poll
//!    may nest: a `LocalSet` polls its tasks inside another task's poll).
//! 2. A leaf future about to return `Pending` calls [`record`] with its [`Reason`]: one
//!    thread-local read, a branch and, inside a task, a relaxed load and store. Outside an
//!    executor that enters slots (plain threads, tokio) the pointer is null and nothing is
//!    stored. With several leaves pending in one poll (`select`, `join`, a timeout around a
//!    read), the first one wins: the slot is written only while empty. The first leaf polled
//!    is usually the work (`select(read, shutdown)`, `timeout(d, read)`), the later ones
//!    what would interrupt it.
//! 3. A dump, on any thread, reads the slot ([`Slot::load`]) while the task is alive: what
//!    the task's last poll waited on. A reason is one `u64`, so a read never sees half a
//!    record.
//!
//! # Cost
//!
//! Nothing is recorded unless a leaf future returns `Pending` inside an entered slot, and
//! nothing is allocated, formatted or locked ever: formatting (peer addresses, deadlines as
//! durations) happens in the dump, on the dumping thread. Unused (no executor entering
//! slots), a [`record`] is a thread-local load and an untaken branch.
//!
//! # Examples
//!
//! An executor polling a task:
//!
//! ```
//! use c10k_wait::{Reason, Slot};
//!
//! let slot = Slot::new(); // lives in the task
//! {
//!     slot.clear();
//!     // SAFETY: `slot` outlives the guard, which is dropped on this thread.
//!     let _guard = unsafe { c10k_wait::enter(&slot, 7) };
//!     // ... poll the task; a leaf future deep inside does:
//!     c10k_wait::record(Reason::Read { fd: 5 });
//!     // and a later one in the same poll (a timeout around the read) changes nothing:
//!     c10k_wait::record(Reason::Timer { deadline: 10 });
//!     assert_eq!(c10k_wait::current_task(), Some(7));
//! }
//! assert_eq!(slot.load(), Some(Reason::Read { fd: 5 }));
//! // Outside any slot, recording is a no-op.
//! c10k_wait::record(Reason::Write { fd: 5 });
//! assert_eq!(slot.load(), Some(Reason::Read { fd: 5 }));
//! ```
#![deny(unsafe_code)]

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

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
        /// (locks only; see [`current_task`]).
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

#[derive(Clone, Copy)]
struct Current {
    slot: *const Slot,
    task: u64,
}

const NONE: Current = Current {
    slot: std::ptr::null(),
    task: 0,
};

thread_local! {
    static CURRENT: Cell<Current> = const { Cell::new(NONE) };
}

/// Makes `slot` the current one on this thread, for the task numbered `task` (non-zero),
/// until the guard is dropped.
///
/// # Safety
///
/// `slot` must stay valid until the returned guard is dropped, and the guard must be
/// dropped (not leaked with `mem::forget`), on this thread, before `slot` is freed: a
/// leaked guard would leave [`record`] writing through a dangling pointer.
///
/// # Examples
///
/// See the crate docs.
#[allow(unsafe_code)]
pub unsafe fn enter(slot: *const Slot, task: u64) -> EnterGuard {
    let prev = CURRENT.with(|c| c.replace(Current { slot, task }));
    EnterGuard {
        prev,
        _not_send: std::marker::PhantomData,
    }
}

/// Restores the previous slot when dropped (see [`enter`]).
#[must_use = "the slot stays current only while the guard lives"]
pub struct EnterGuard {
    prev: Current,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for EnterGuard {
    #[inline]
    fn drop(&mut self) {
        let prev = self.prev;
        let _ = CURRENT.try_with(|c| c.set(prev));
    }
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

/// Records why the current task is about to return `Pending` (a leaf future calls it).
/// Does nothing outside a task of an executor that enters slots.
///
/// # Examples
///
/// See the crate docs.
#[inline]
pub fn record(reason: Reason) {
    let _ = CURRENT.try_with(|c| {
        let cur = c.get();
        if !cur.slot.is_null() {
            // SAFETY: `enter`'s contract: the slot is valid while it is current.
            #[allow(unsafe_code)]
            let slot = unsafe { &*cur.slot };
            // Only the polling thread writes the slot during the poll: load-then-store is
            // not a race, just "first leaf wins".
            if slot.0.load(Ordering::Relaxed) == 0 {
                slot.0.store(reason.pack(), Ordering::Relaxed);
            }
        }
    });
}

/// The number of the task being polled on this thread, if the executor entered a slot for
/// it (c10k's runtime: the task's `Id`). Locks use it to name their holder.
///
/// # Examples
///
/// ```
/// assert_eq!(c10k_wait::current_task(), None);
/// ```
#[inline]
pub fn current_task() -> Option<u64> {
    CURRENT.try_with(|c| c.get().task).ok().filter(|&t| t != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn nested_slots_restore_the_outer_one() {
        let (outer, inner) = (Slot::new(), Slot::new());
        // SAFETY: both slots outlive their guards, dropped here in order.
        #[allow(unsafe_code)]
        unsafe {
            let _o = enter(&outer, 1);
            {
                let _i = enter(&inner, 2);
                record(Reason::Join { task: 1 });
                record(Reason::Accept { fd: 9 });
                assert_eq!(current_task(), Some(2));
            }
            assert_eq!(current_task(), Some(1));
            record(Reason::Accept { fd: 4 });
        }
        assert_eq!(inner.load(), Some(Reason::Join { task: 1 }));
        assert_eq!(outer.load(), Some(Reason::Accept { fd: 4 }));
        assert_eq!(current_task(), None);
    }
}
