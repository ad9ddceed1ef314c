//! The registration table of one driver: a slab of [`ScheduledIo`]s addressed by
//! generation-checked tokens.
//!
//! # Tokens
//!
//! A token packs the slab slot in its low [`SLOT_BITS`] bits and a generation above them.
//! Every registration takes the next generation, so when a slot is reused by a newer
//! registration, an event still carrying the old token (one that was already in flight in a
//! batch, or a completion already posted by the ring, when the descriptor was deregistered)
//! fails the generation check and is dropped instead of waking the wrong socket's task.
//!
//! The packing is sized by the target's `usize`: on 64-bit targets, 32 bits of slot and 31
//! bits of generation; on 32-bit targets, 20 bits of slot (a million registrations per
//! driver) and 11 bits of generation. The top bit is always clear, so a token never collides
//! with the selector's reserved tokens (`usize::MAX`, and the driver's waker token
//! `usize::MAX - 1`) nor with the ring driver's internal tags (see `uring.rs`). A driver
//! that would need a slot beyond the packing refuses the registration with an error rather
//! than aliasing tokens.

use std::io;
use std::sync::Arc;

use slab::Slab;

use super::scheduled_io::ScheduledIo;

/// Bits of the token that address the slab slot.
pub(super) const SLOT_BITS: u32 = if usize::BITS >= 64 { 32 } else { 20 };
const SLOT_MASK: usize = (1 << SLOT_BITS) - 1;
/// Generations wrap within the bits above the slot, top bit excluded.
const GEN_MASK: usize = (1 << (usize::BITS - SLOT_BITS - 1)) - 1;

// The packing needs room for a generation of at least 8 bits above the slot, with the top
// bit kept clear; refuse a target where that does not hold rather than alias tokens.
const _: () = assert!(usize::BITS - SLOT_BITS > 8);

/// The slot a token addresses.
pub(super) const fn slot_of(token: usize) -> usize {
    token & SLOT_MASK
}

/// The registrations of one driver.
pub(super) struct Registry {
    slab: Slab<Arc<ScheduledIo>>,
    generation: usize,
    /// The driver shut down: new registrations fail.
    pub(super) shutdown: bool,
}

impl Registry {
    pub(super) fn new() -> Registry {
        Registry {
            slab: Slab::new(),
            generation: 0,
            shutdown: false,
        }
    }

    /// Allocates a slot and a fresh token, and inserts the `ScheduledIo` that `make`
    /// builds for that token.
    pub(super) fn insert(
        &mut self,
        make: impl FnOnce(usize) -> io::Result<Arc<ScheduledIo>>,
    ) -> io::Result<Arc<ScheduledIo>> {
        let entry = self.slab.vacant_entry();
        let slot = entry.key();
        if slot > SLOT_MASK {
            return Err(io::Error::other(format!(
                "too many registrations on one IO driver (at most {} on this target)",
                SLOT_MASK + 1
            )));
        }
        self.generation = (self.generation + 1) & GEN_MASK;
        let token = (self.generation << SLOT_BITS) | slot;
        let io = make(token)?;
        entry.insert(Arc::clone(&io));
        Ok(io)
    }

    /// Whether nothing is registered.
    pub(super) fn is_empty(&self) -> bool {
        self.slab.is_empty()
    }

    /// The live registration `token` names, if it is still the one in its slot.
    pub(super) fn get(&self, token: usize) -> Option<&Arc<ScheduledIo>> {
        self.slab.get(slot_of(token)).filter(|io| io.token == token)
    }

    /// Removes `io` if its slot still holds it.
    pub(super) fn remove(&mut self, io: &ScheduledIo) {
        let slot = slot_of(io.token);
        if self.slab.get(slot).is_some_and(|r| r.token == io.token) {
            self.slab.remove(slot);
        }
    }

    /// Marks the table shut down and hands every registration back.
    pub(super) fn drain_for_shutdown(&mut self) -> Vec<Arc<ScheduledIo>> {
        self.shutdown = true;
        self.slab.drain().collect()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Guards the token packing: the top bit stays clear (no collision with the reserved
    /// tokens) and a reused slot gets a different token.
    #[test]
    fn tokens_stay_below_the_reserved_range_and_differ_on_reuse() -> io::Result<()> {
        let mut r = Registry::new();
        r.generation = GEN_MASK - 1; // about to wrap
        let a = r.insert(|t| Ok(Arc::new(ScheduledIo::new(t, -1))))?;
        let ta = a.token;
        r.remove(&a);
        let b = r.insert(|t| Ok(Arc::new(ScheduledIo::new(t, -1))))?;
        assert_eq!(slot_of(ta), slot_of(b.token));
        assert_ne!(ta, b.token);
        for t in [ta, b.token] {
            assert_eq!(t >> (usize::BITS - 1), 0, "top bit set in token {t:#x}");
        }
        assert!(r.get(ta).is_none(), "a stale token must not resolve");
        assert!(r.get(b.token).is_some());
        Ok(())
    }
}
