//! The op table: a slab of in-flight operations with generation-checked
//! slots.
//!
//! A slot is `(generation, Option<InFlight>)`. Inserting takes a free slot
//! (or appends one) and returns `OpId { index, generation }`; removing bumps
//! the generation, so the id of a finished operation no longer matches
//! (rule 6 of the [protocol](crate#the-buffer-ownership-protocol)).
//! Generations start at 1, wrap within 31 bits and skip 0: user data with a
//! zero high half is reserved for the ring's internal operations, and user
//! data with the top bit set for untracked ones (`untracked.rs`).
//!
//! Only the ring's owner touches the table (`&mut Ring`).

use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::ptr::NonNull;

use io_uring::types::Timespec;

use crate::buf_group::BufGroup;
use crate::op::{OpId, OpKind};
use crate::sys::SockAddrBuf;

/// What an operation in flight owns until its final completion (rule 1 and
/// 2 of the protocol). The SQE points into these heap allocations, which
/// stay put while the `InFlight` moves.
pub(crate) enum Resources {
    None,
    /// recv, read (filled in spare capacity), send, send_zc, write.
    Buf(Vec<u8>),
    /// accept with peer address, connect.
    Addr(Pinned<SockAddrBuf>),
    /// timeout.
    Timespec(Pinned<Timespec>),
    /// recv_multi: the group the kernel picks buffers from.
    Group(BufGroup),
    /// close: the descriptor the kernel closes once the SQE is submitted;
    /// the ring closes it itself if it never is (a ring dropped before it
    /// was enabled).
    CloseFd(RawFd),
}

/// A heap allocation the kernel reads or writes through a raw pointer: a
/// `Box` turned into a pointer, so that moving its owner (the slab grows,
/// a slot moves) asserts nothing about memory the kernel is using. Freed on
/// drop, which the protocol allows only after the final completion; the leak
/// path of rule 7 forgets it instead.
pub(crate) struct Pinned<T>(NonNull<T>);

impl<T> Pinned<T> {
    pub(crate) fn new(value: T) -> Self {
        Pinned(NonNull::from(Box::leak(Box::new(value))))
    }

    pub(crate) fn as_ptr(&self) -> *mut T {
        self.0.as_ptr()
    }

    pub(crate) fn get(&self) -> &T {
        // SAFETY: the pointer came from `Box::leak` and is freed only in
        // `drop`; callers read it only after the final completion, when the
        // kernel no longer writes it.
        unsafe { self.0.as_ref() }
    }
}

impl<T> Drop for Pinned<T> {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::leak` in `new` and is freed
        // only here, once.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

// SAFETY: `Pinned<T>` owns its `T` like a `Box<T>`.
unsafe impl<T: Send> Send for Pinned<T> {}

/// One operation in flight.
pub(crate) struct InFlight {
    pub(crate) tag: u64,
    pub(crate) kind: OpKind,
    pub(crate) resources: Resources,
    /// The caller will not look at the completions (rule 4).
    pub(crate) detached: bool,
    /// send_zc: the send's result, kept for the notification completion (0 until it
    /// arrives). Not an `Option`: with it a slot is 56 bytes instead of 48, and an idle
    /// connection's multishot receive holds one slot.
    pub(crate) zc_result: i32,
}

impl InFlight {
    /// The peer address an accept reported, if it asked for one.
    pub(crate) fn peer_addr(&self) -> Option<SocketAddr> {
        match (&self.resources, self.kind) {
            (Resources::Addr(a), OpKind::Accept) => a.get().to_socket_addr(),
            _ => None,
        }
    }
}

/// Generations wrap within 31 bits (see `remove`).
const GENERATION_MASK: u32 = 0x7fff_ffff;

struct Slot {
    generation: u32,
    op: Option<InFlight>,
}

/// The slab. `len` counts occupied slots.
pub(crate) struct Table {
    slots: Vec<Slot>,
    free: Vec<u32>,
    len: usize,
}

impl Table {
    pub(crate) fn new() -> Self {
        Table {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn insert(&mut self, op: InFlight) -> OpId {
        self.len += 1;
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            debug_assert!(slot.op.is_none());
            slot.op = Some(op);
            return OpId {
                index,
                generation: slot.generation,
            };
        }
        let index = u32::try_from(self.slots.len()).expect("more than 2^32 operations in flight");
        self.slots.push(Slot {
            generation: 1,
            op: Some(op),
        });
        OpId {
            index,
            generation: 1,
        }
    }

    pub(crate) fn get_mut(&mut self, id: OpId) -> Option<&mut InFlight> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.op.as_mut()
    }

    pub(crate) fn remove(&mut self, id: OpId) -> Option<InFlight> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        let op = slot.op.take()?;
        // Generations stay below 2^31: user data with the top bit set names
        // an untracked operation (`untracked.rs`).
        slot.generation = match slot.generation.wrapping_add(1) & GENERATION_MASK {
            0 => 1,
            g => g,
        };
        self.free.push(id.index);
        self.len -= 1;
        Some(op)
    }

    /// Every operation still in flight, for the leak path of `Drop`.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = InFlight> + '_ {
        self.len = 0;
        self.free.clear();
        self.slots.drain(..).filter_map(|s| s.op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(tag: u64) -> InFlight {
        InFlight {
            tag,
            kind: OpKind::Nop,
            resources: Resources::None,
            detached: false,
            zc_result: 0,
        }
    }

    /// Every operation in flight holds a slot, an idle connection one (its receive): keep
    /// it from growing unnoticed.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_slot_stays_small() {
        let size = std::mem::size_of::<Slot>();
        assert!(size <= 48, "a table slot is {size} bytes");
    }

    #[test]
    fn stale_ids_do_not_match_reused_slots() {
        let mut t = Table::new();
        let a = t.insert(op(1));
        assert_eq!(t.remove(a).map(|o| o.tag), Some(1));
        let b = t.insert(op(2));
        assert_eq!(a.index, b.index);
        assert_ne!(a, b);
        assert!(t.get_mut(a).is_none());
        assert!(t.remove(a).is_none());
        assert_eq!(t.get_mut(b).map(|o| o.tag), Some(2));
        assert_eq!(t.len(), 1);
        assert_eq!(OpId::from_user_data(b.user_data()), b);
        assert!(
            b.user_data() >> 32 != 0,
            "user data of ops is never internal"
        );
    }
}
