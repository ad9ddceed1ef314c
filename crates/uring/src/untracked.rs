//! Untracked operations: in flight without a slot in the op table.
//!
//! A slot costs 48 bytes for as long as its operation is in flight, and a
//! multishot receive is in flight for the whole life of a connection: at
//! 10 000 idle connections the table alone would hold half a megabyte. An
//! operation that owns no memory of its own (rule 1 of the
//! [protocol](crate#the-buffer-ownership-protocol) has nothing to keep) does
//! not need a slot: everything its completions need fits in the SQE's user
//! data. Those operations are the ones whose resources are nothing but a
//! registered buffer group, which the ring keeps anyway: `accept` without
//! the peer address, `accept_multi`, `recv_multi`, `poll`, `poll_multi`, `nop`.
//!
//! # The user data of an untracked operation
//!
//! | bits | what |
//! |---|---|
//! | 63 | 1 (tracked ids keep their generation below 2^31, internal ones are below 2^32) |
//! | 56–62 | the operation's kind |
//! | 48–55 | the buffer group's id + 1 (0: none), so group ids above 254 cannot be used |
//! | 0–47 | the caller's tag, e.g. a pointer (user-space pointers fit in 47 bits) |
//!
//! # What the caller takes on
//!
//! With no generation, an [`UntrackedId`] is only as unique as its tag. The
//! caller must give every operation in flight its own tag, and may cancel
//! one only until it has seen its final completion. A cancel pushed after
//! a newer operation with the same id would find that one; SQEs are issued
//! in order, so a cancel pushed *before* the newer operation cannot, and a
//! caller that re-arms only after the final completion is safe.
//!
//! Rules 2 to 5 and 7 of the protocol hold unchanged. There is no detach:
//! the caller is handed every completion. The ring counts these operations in
//! [`Ring::in_flight`](crate::Ring::in_flight), waits for them when dropped, and
//! returns the provided buffers their swallowed completions carry; a caller
//! whose tags stand for references it must release drains them first, with
//! [`Ring::cancel_all`](crate::Ring::cancel_all) and
//! [`Ring::reap`](crate::Ring::reap).

use std::fmt;

use crate::op::OpKind;

const TOP: u64 = 1 << 63;
const KIND_SHIFT: u32 = 56;
const GROUP_SHIFT: u32 = 48;
/// The bits of the caller's tag.
pub(crate) const TAG_MASK: u64 = (1 << GROUP_SHIFT) - 1;
/// The highest group id an untracked operation can use.
pub(crate) const MAX_GROUP: u16 = 254;

/// The identity of an untracked operation: its SQE's user data, made of its
/// kind, its buffer group and the caller's tag (see
/// [`Ring::push_untracked`](crate::Ring::push_untracked)). The same three
/// always give the same id, so a caller can recompute it instead of storing it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct UntrackedId(pub(crate) u64);

impl UntrackedId {
    /// The id an operation of `kind` on `group` (for `recv_multi`) with
    /// `tag` has; `None` if the three cannot be packed: a kind that owns
    /// memory, a group id above 254, a tag of more than 48 bits.
    pub fn new(kind: OpKind, group: Option<u16>, tag: u64) -> Option<UntrackedId> {
        let code = code_of(kind)?;
        let group = match group {
            None => 0,
            Some(g) if g <= MAX_GROUP => u64::from(g) + 1,
            Some(_) => return None,
        };
        if tag & !TAG_MASK != 0 {
            return None;
        }
        Some(UntrackedId(
            TOP | (u64::from(code) << KIND_SHIFT) | (group << GROUP_SHIFT) | tag,
        ))
    }

    /// Whether `user_data` names an untracked operation.
    pub(crate) fn is(user_data: u64) -> bool {
        user_data & TOP != 0
    }

    pub(crate) fn kind(self) -> OpKind {
        kind_of(((self.0 >> KIND_SHIFT) & 0x7f) as u8)
    }

    pub(crate) fn group(self) -> Option<u16> {
        match (self.0 >> GROUP_SHIFT) & 0xff {
            0 => None,
            g => Some(g as u16 - 1),
        }
    }

    /// The caller's tag.
    pub fn tag(self) -> u64 {
        self.0 & TAG_MASK
    }

    /// The raw value (the SQE's user data), for logs and maps.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for UntrackedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UntrackedId({:?}, tag {:#x})", self.kind(), self.tag())
    }
}

/// The kinds that own no memory, and their codes.
fn code_of(kind: OpKind) -> Option<u8> {
    Some(match kind {
        OpKind::Accept => 1,
        OpKind::AcceptMulti => 2,
        OpKind::RecvMulti => 3,
        OpKind::Poll => 4,
        OpKind::PollMulti => 5,
        OpKind::Nop => 6,
        _ => return None,
    })
}

fn kind_of(code: u8) -> OpKind {
    match code {
        1 => OpKind::Accept,
        2 => OpKind::AcceptMulti,
        3 => OpKind::RecvMulti,
        4 => OpKind::Poll,
        5 => OpKind::PollMulti,
        _ => OpKind::Nop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_refuse_what_does_not_fit() {
        let id = UntrackedId::new(OpKind::RecvMulti, Some(7), 0x7fff_dead_beef).unwrap();
        assert!(UntrackedId::is(id.as_u64()));
        assert_eq!(id.kind(), OpKind::RecvMulti);
        assert_eq!(id.group(), Some(7));
        assert_eq!(id.tag(), 0x7fff_dead_beef);
        let none = UntrackedId::new(OpKind::Poll, None, 0).unwrap();
        assert_eq!(
            (none.kind(), none.group(), none.tag()),
            (OpKind::Poll, None, 0)
        );
        assert!(
            UntrackedId::new(OpKind::Send, None, 1).is_none(),
            "owns a buffer"
        );
        assert!(UntrackedId::new(OpKind::RecvMulti, Some(255), 1).is_none());
        assert!(UntrackedId::new(OpKind::Nop, None, 1 << 48).is_none());
        // Never confused with a tracked id (generation < 2^31) or an internal one.
        let tracked = crate::op::OpId {
            index: u32::MAX,
            generation: 0x7fff_ffff,
        };
        assert!(!UntrackedId::is(tracked.user_data()));
    }
}
