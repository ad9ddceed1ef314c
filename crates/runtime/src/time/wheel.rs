//! A hierarchical timing wheel on abstract `u64` ticks.
//!
//! This is the data structure of Varghese & Lauck, "Hashed and Hierarchical Timing Wheels:
//! Data Structures for the Efficient Implementation of a Timer Facility" (SOSP 1987),
//! scheme 7: several wheels of 64 slots, each slot of level `L` spanning `64^L` ticks. It is
//! pure: no clock, no IO, no wakers. The caller ([`TimeDriver`](super::driver::TimeDriver))
//! converts instants to ticks and stores whatever it wants per entry (a `Waker`).
//!
//! # Layout
//!
//! * Entries live in one [`Slab`]; a [`Key`] is the slab index. Each entry carries its
//!   deadline, the list it is linked into, and intrusive `prev`/`next` slab indices, so that
//!   a cancel unlinks it in O(1) without searching.
//! * Each level has 64 list heads and one `u64` bitmap of occupied slots. The earliest
//!   occupied slot of a level is `occupied.trailing_zeros()`, so [`Wheel::next_expiration`]
//!   costs at most [`LEVELS`] bit scans, whatever the number of timers.
//! * Deadlines beyond the current `64^LEVELS`-tick window (36.5 years with the runtime's
//!   1 ns tick) wait in an overflow list, re-examined when the wheel enters the next window.
//! * A "ready" list holds entries found due while cascading; [`Wheel::poll`] drains it first.
//!
//! # Placement
//!
//! An entry with deadline `d`, inserted when the wheel has processed up to tick `e` (`d > e`),
//! goes to the level of the highest 6-bit digit in which `d` and `e` differ, in the slot given
//! by `d`'s digit at that level. Hence `d` and `e` agree on every digit above that level, and
//! `d`'s digit is greater than `e`'s there: every entry of level `L` is due after every entry
//! of any lower level, and the slots of a level that are occupied all lie at or after the
//! current digit. That invariant is what makes the bitmap scan give the earliest expiration.
//!
//! # Advancing
//!
//! [`Wheel::poll`]`(now)` repeatedly takes the earliest occupied slot whose start is `<= now`,
//! moves `elapsed` to that start, and re-places each of its entries relative to the new
//! `elapsed` (*cascading*): entries due by `now` go to the ready list, the others drop to a
//! lower level. An entry is re-placed at most once per level on its way down, so
//! a timer of `n` ticks costs at most `log64(n)` cascades if it fires, and nothing more than
//! the insert and the unlink if it is cancelled first, which is what happens to most timeouts.
//!
//! # Never early
//!
//! An entry is returned by `poll(now)` only if its deadline is `<= now`. A caller with ticks
//! coarser than its clock must round deadlines *up* and `now` *down*; the runtime's ticks are
//! nanoseconds, its clock's own unit, so it converts both exactly.
//!
//! # The next deadline
//!
//! A parked driver wants the exact earliest deadline, not the start of the earliest slot
//! (up to `64^L` ticks early at level `L`, which would cost one wake-up per level on the way
//! down). [`Wheel::next_deadline`] keeps it as a running minimum across inserts, forgets it
//! when the entry holding it leaves, and finds it again by reading the earliest slot, whose
//! entries are due before all others (see "Placement"), when that slot is short.

use slab::Slab;

/// Bits of a tick number consumed by one level.
const LEVEL_BITS: u32 = 6;

/// Slots per level (64: one bit each in a `u64` bitmap).
const SLOTS: usize = 1 << LEVEL_BITS;

/// Number of levels: `64^10 = 2^60` ticks of range (36.5 years of nanoseconds) before the
/// overflow list.
pub(crate) const LEVELS: usize = 10;

/// Index of the overflow list head in [`Wheel::heads`].
const OVERFLOW: u16 = (LEVELS * SLOTS) as u16;

/// Index of the ready list head in [`Wheel::heads`].
const READY: u16 = OVERFLOW + 1;

/// Marker for an entry linked into no list: it has fired (or was due when inserted).
const FIRED: u16 = u16::MAX;

/// "No entry" in the intrusive links.
const NIL: u32 = u32::MAX;

/// Entries [`Wheel::next_deadline`] reads at most to find the exact earliest deadline in a
/// slot of a level above 0; a longer slot gives the slot's start instead.
const SCAN_LIMIT: usize = 32;

/// Handle to one entry of a [`Wheel`]: valid until [`Wheel::remove`] is called with it.
///
/// Keys are slab indices and are reused after removal, so the owner of a key must remove it
/// exactly once and never use it afterwards; the driver guarantees that by giving each key to
/// exactly one `Sleep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key(u32);

/// One timer: its deadline, where it is linked, and the caller's value.
#[derive(Debug)]
struct Entry<T> {
    /// Deadline in ticks.
    deadline: u64,
    /// The list this entry is linked into (`level * 64 + slot`, [`OVERFLOW`], [`READY`]), or
    /// [`FIRED`] when it is linked nowhere.
    list: u16,
    /// Previous entry in the same list, or [`NIL`] if this is the head.
    prev: u32,
    /// Next entry in the same list, or [`NIL`].
    next: u32,
    /// The caller's payload.
    value: T,
}

/// The earliest slot that holds entries, as found by [`Wheel::next_expiration`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expiration {
    /// The list to process (`level * 64 + slot`, [`OVERFLOW`] or [`READY`]).
    list: u16,
    /// The first tick at which that list must be processed. Entries of a level-0 slot are due
    /// exactly then; entries of higher levels are due at or after it.
    pub(crate) deadline: u64,
}

/// A hierarchical timing wheel holding values of type `T` keyed by [`Key`].
#[derive(Debug)]
pub(crate) struct Wheel<T> {
    /// All entries, pending or fired.
    entries: Slab<Entry<T>>,
    /// Heads of the `LEVELS * 64` slot lists, then the overflow and ready lists.
    heads: Box<[u32]>,
    /// Occupied-slot bitmap of each level: bit `s` set iff slot `s` is non-empty.
    occupied: [u64; LEVELS],
    /// The tick up to which the wheel has been advanced; every entry still linked is due after
    /// it, except those on the ready list.
    elapsed: u64,
    /// Entries linked in a list (not fired).
    pending: usize,
    /// When `Some`, exactly the earliest deadline of the pending entries; `None` when unknown
    /// (the entry that had it fired or was cancelled) or when nothing is pending. Kept by
    /// insert (a min) and unlink (forgotten if that deadline leaves), filled by
    /// `next_deadline`, so that a parked driver wakes at the real deadline rather than at a
    /// slot start, which would cost a spurious wake-up per level on the way down.
    earliest: Option<u64>,
}

impl<T> Default for Wheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Wheel<T> {
    /// Creates an empty wheel at tick 0.
    pub(crate) fn new() -> Self {
        Wheel {
            entries: Slab::new(),
            heads: vec![NIL; LEVELS * SLOTS + 2].into_boxed_slice(),
            occupied: [0; LEVELS],
            elapsed: 0,
            pending: 0,
            earliest: None,
        }
    }

    /// The tick up to which the wheel has been advanced.
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Number of entries that have not fired yet.
    pub(crate) fn pending(&self) -> usize {
        self.pending
    }

    /// Number of entries held, fired ones included (those not yet [`remove`](Self::remove)d).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes of memory held: the fixed part (list heads, bitmaps) plus the slab's capacity.
    pub(crate) fn memory_bytes(&self) -> usize {
        /// The shape of a slab slot (slab's own enum is private): an entry or a free-list link.
        #[allow(dead_code)]
        enum SlabSlot<E> {
            Vacant(usize),
            Occupied(E),
        }
        std::mem::size_of::<Self>()
            + std::mem::size_of_val(&*self.heads)
            + self.entries.capacity() * std::mem::size_of::<SlabSlot<Entry<T>>>()
    }

    /// Adds a timer due at tick `deadline`.
    ///
    /// # Errors
    ///
    /// Returns the value back if `deadline <= elapsed()`: it is already due and nothing is
    /// stored.
    pub(crate) fn insert(&mut self, deadline: u64, value: T) -> Result<Key, T> {
        if deadline <= self.elapsed {
            return Err(value);
        }
        let index = self.entries.insert(Entry {
            deadline,
            list: FIRED,
            prev: NIL,
            next: NIL,
            value,
        });
        let index = u32::try_from(index).expect("more than 2^32 timers");
        assert!(index != NIL, "more than 2^32 timers");
        self.link(index, self.list_for(deadline));
        self.note_pending(deadline);
        Ok(Key(index))
    }

    /// Moves a timer to a new deadline, keeping its value. Works on fired entries too.
    ///
    /// Returns `true` if the timer is now pending, `false` if `deadline <= elapsed()` (the
    /// entry is then marked fired and [`is_fired`](Self::is_fired) returns `true`).
    ///
    /// # Panics
    ///
    /// Panics if `key` has been removed.
    pub(crate) fn reset(&mut self, key: Key, deadline: u64) -> bool {
        self.unlink_pending(key.0);
        self.entries[key.0 as usize].deadline = deadline;
        if deadline <= self.elapsed {
            return false;
        }
        self.link(key.0, self.list_for(deadline));
        self.note_pending(deadline);
        true
    }

    /// Removes an entry, cancelling it if it has not fired, and returns its value. O(1).
    ///
    /// # Panics
    ///
    /// Panics if `key` has already been removed.
    pub(crate) fn remove(&mut self, key: Key) -> T {
        self.unlink_pending(key.0);
        self.entries.remove(key.0 as usize).value
    }

    /// Whether the entry has fired (been returned by [`poll`](Self::poll), or was reset to a
    /// deadline already passed).
    ///
    /// # Panics
    ///
    /// Panics if `key` has been removed.
    pub(crate) fn is_fired(&self, key: Key) -> bool {
        self.entries[key.0 as usize].list == FIRED
    }

    /// The deadline, in ticks, of an entry.
    ///
    /// # Panics
    ///
    /// Panics if `key` has been removed.
    #[cfg(test)]
    pub(crate) fn deadline(&self, key: Key) -> u64 {
        self.entries[key.0 as usize].deadline
    }

    /// The value of an entry.
    ///
    /// # Panics
    ///
    /// Panics if `key` has been removed.
    pub(crate) fn get_mut(&mut self, key: Key) -> &mut T {
        &mut self.entries[key.0 as usize].value
    }

    /// The earliest list to process, and the tick at which to process it; `None` if no timer
    /// is pending. For a level-0 slot that tick is the deadline of its entries; for a higher
    /// level it is the slot's start, a lower bound of the deadlines in it.
    pub(crate) fn next_expiration(&self) -> Option<Expiration> {
        if self.heads[READY as usize] != NIL {
            return Some(Expiration {
                list: READY,
                deadline: self.elapsed,
            });
        }
        for (level, &occupied) in self.occupied.iter().enumerate() {
            if occupied == 0 {
                continue;
            }
            let shift = LEVEL_BITS * level as u32;
            let slot = u64::from(occupied.trailing_zeros());
            debug_assert!(slot >= (self.elapsed >> shift) & (SLOTS as u64 - 1));
            // Start of the window of this level that contains `elapsed`, plus the slot.
            let window = self.elapsed & !window_mask(level + 1);
            return Some(Expiration {
                list: (level * SLOTS) as u16 + slot as u16,
                deadline: window + (slot << shift),
            });
        }
        if self.heads[OVERFLOW as usize] != NIL {
            // Overflowed entries are all beyond the current top-level window; look at them
            // again when the wheel enters the next one.
            let top = LEVEL_BITS * LEVELS as u32;
            let next_window = ((self.elapsed >> top) + 1)
                .checked_shl(top)
                .unwrap_or(u64::MAX);
            return Some(Expiration {
                list: OVERFLOW,
                deadline: next_window,
            });
        }
        None
    }

    /// The earliest tick at which a pending entry is due: exact when the earliest slot holds
    /// at most [`SCAN_LIMIT`] entries (the usual case, and then remembered until that entry
    /// leaves), else that slot's start, a lower bound. `None` if nothing is pending.
    ///
    /// Exactness matters to a parked driver: a slot start of level `L` may be up to `64^L`
    /// ticks early, and each early wake-up only cascades the entries one level down.
    pub(crate) fn next_deadline(&mut self) -> Option<u64> {
        if let Some(earliest) = self.earliest {
            return Some(earliest);
        }
        let expiration = self.next_expiration()?;
        let list = expiration.list;
        if list >= OVERFLOW {
            // Ready entries are due now; overflowed ones are too many windows away to matter.
            return Some(expiration.deadline);
        }
        // The earliest list's entries are due before any other list's (see "Placement"), so
        // its minimum is the global minimum. A level-0 slot is one tick: no scan needed.
        let mut min = u64::MAX;
        let mut index = self.heads[list as usize];
        for _ in 0..SCAN_LIMIT {
            if index == NIL {
                break;
            }
            let entry = &self.entries[index as usize];
            min = min.min(entry.deadline);
            index = entry.next;
            if (list as usize) < SLOTS {
                index = NIL;
            }
        }
        if index != NIL {
            return Some(expiration.deadline);
        }
        self.earliest = Some(min);
        Some(min)
    }

    /// Advances the wheel to tick `now` and returns one entry whose deadline is `<= now`,
    /// marking it fired; `None` once no more entries are due by `now`. Call it until it
    /// returns `None`; a smaller `now` than a previous call is treated as the previous one.
    pub(crate) fn poll(&mut self, now: u64) -> Option<Key> {
        loop {
            let ready = self.heads[READY as usize];
            if ready != NIL {
                self.unlink_pending(ready);
                return Some(Key(ready));
            }
            match self.next_expiration() {
                Some(expiration) if expiration.deadline <= now => {
                    self.elapsed = self.elapsed.max(expiration.deadline);
                    self.cascade(expiration.list, now);
                }
                _ => {
                    self.elapsed = self.elapsed.max(now);
                    return None;
                }
            }
        }
    }

    /// Re-places every entry of `list` relative to the current `elapsed`; entries due by
    /// `now` (the target of the running `poll`) go straight to the ready list instead of
    /// stepping down level by level, which is the common case when the driver wakes after
    /// the deadline (an `epoll` wait rounded up to the millisecond).
    fn cascade(&mut self, list: u16, now: u64) {
        let mut index = self.take_list(list);
        while index != NIL {
            let entry = &mut self.entries[index as usize];
            let next = entry.next;
            let deadline = entry.deadline;
            let to = if deadline <= now {
                READY
            } else {
                self.list_for(deadline)
            };
            self.link(index, to);
            index = next;
        }
    }

    /// The list a pending entry due at `deadline` belongs to, given the current `elapsed`.
    fn list_for(&self, deadline: u64) -> u16 {
        if deadline <= self.elapsed {
            return READY;
        }
        // Highest differing bit, with the bottom digit forced so that level 0 is reached.
        let masked = (self.elapsed ^ deadline) | (SLOTS as u64 - 1);
        let level = ((63 - masked.leading_zeros()) / LEVEL_BITS) as usize;
        if level >= LEVELS {
            return OVERFLOW;
        }
        let slot = (deadline >> (LEVEL_BITS * level as u32)) & (SLOTS as u64 - 1);
        (level * SLOTS) as u16 + slot as u16
    }

    /// Pushes entry `index` on the front of `list`. The entry must be linked nowhere.
    fn link(&mut self, index: u32, list: u16) {
        let head = self.heads[list as usize];
        {
            let entry = &mut self.entries[index as usize];
            entry.list = list;
            entry.prev = NIL;
            entry.next = head;
        }
        if head != NIL {
            self.entries[head as usize].prev = index;
        }
        self.heads[list as usize] = index;
        if list < OVERFLOW {
            self.occupied[list as usize / SLOTS] |= 1 << (list as usize % SLOTS);
        }
    }

    /// Counts a newly linked pending entry due at `deadline`.
    fn note_pending(&mut self, deadline: u64) {
        self.earliest = match self.earliest {
            Some(earliest) => Some(earliest.min(deadline)),
            None if self.pending == 0 => Some(deadline),
            None => None,
        };
        self.pending += 1;
    }

    /// Unlinks entry `index` from its list if it has one, marking it fired.
    fn unlink_pending(&mut self, index: u32) {
        let entry = &mut self.entries[index as usize];
        let list = entry.list;
        if list == FIRED {
            return;
        }
        if self.earliest == Some(entry.deadline) {
            self.earliest = None;
        }
        let (prev, next) = (entry.prev, entry.next);
        entry.list = FIRED;
        entry.prev = NIL;
        entry.next = NIL;
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else {
            self.heads[list as usize] = next;
            if next == NIL && list < OVERFLOW {
                self.occupied[list as usize / SLOTS] &= !(1 << (list as usize % SLOTS));
            }
        }
        self.pending -= 1;
    }

    /// Empties `list` and returns its former head; its entries keep their `next` links (and
    /// stale `list`/`prev` fields, overwritten when each is linked again).
    fn take_list(&mut self, list: u16) -> u32 {
        let head = std::mem::replace(&mut self.heads[list as usize], NIL);
        if list < OVERFLOW {
            self.occupied[list as usize / SLOTS] &= !(1 << (list as usize % SLOTS));
        }
        head
    }
}

/// Mask of the tick bits below level `level` (`level` digits of 6 bits).
fn window_mask(level: usize) -> u64 {
    let bits = LEVEL_BITS * level as u32;
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};

    /// Drains everything due by `now`, returning (key, deadline) pairs.
    fn drain(wheel: &mut Wheel<u32>, now: u64) -> Vec<(Key, u64)> {
        let mut out = Vec::new();
        while let Some(key) = wheel.poll(now) {
            assert!(wheel.is_fired(key));
            out.push((key, wheel.deadline(key)));
        }
        out
    }

    #[test]
    fn insert_due_is_rejected() {
        let mut wheel = Wheel::new();
        assert_eq!(wheel.insert(0, 7u32), Err(7));
        assert_eq!(wheel.poll(100), None);
        assert_eq!(wheel.insert(100, 8), Err(8));
        assert!(wheel.insert(101, 9).is_ok());
    }

    #[test]
    fn fires_at_deadline_not_before() {
        let mut wheel = Wheel::new();
        for deadline in [1u64, 63, 64, 65, 4095, 4096, 4097, 1 << 30, (1 << 48) + 5] {
            let key = wheel.insert(wheel.elapsed() + deadline, 0u32).unwrap();
            let due = wheel.deadline(key);
            assert!(
                drain(&mut wheel, due - 1).is_empty(),
                "fired early: {deadline}"
            );
            assert_eq!(drain(&mut wheel, due), vec![(key, due)]);
            wheel.remove(key);
        }
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn next_expiration_is_a_lower_bound_and_exact_at_level_zero() {
        let mut wheel = Wheel::new();
        assert_eq!(wheel.next_expiration(), None);
        wheel.insert(10_000, 0u32).unwrap();
        wheel.insert(20, 1).unwrap();
        assert_eq!(wheel.next_expiration().unwrap().deadline, 20);
        drain(&mut wheel, 20);
        let next = wheel.next_expiration().unwrap().deadline;
        assert!(next > 20 && next <= 10_000);
        // Walking from expiration to expiration ends exactly at the deadline.
        let mut steps = 0;
        while let Some(exp) = wheel.next_expiration() {
            let fired = drain(&mut wheel, exp.deadline);
            steps += 1;
            if !fired.is_empty() {
                assert_eq!(fired[0].1, 10_000);
                assert_eq!(exp.deadline, 10_000);
                break;
            }
        }
        assert!(steps <= LEVELS + 1);
    }

    #[test]
    fn next_deadline_is_exact_for_sparse_timers() {
        let mut wheel = Wheel::new();
        assert_eq!(wheel.next_deadline(), None);
        let far = wheel.insert(1_000_000_007, 0u32).unwrap();
        let near = wheel.insert(123_456_789, 1).unwrap();
        assert_eq!(wheel.next_deadline(), Some(123_456_789));
        // Cancelling the earliest forgets it; the next call finds the other one exactly.
        wheel.remove(near);
        assert_eq!(wheel.next_deadline(), Some(1_000_000_007));
        // Walking by next_deadline reaches the timer in one step, not one per level.
        assert_eq!(wheel.poll(1_000_000_006), None);
        assert_eq!(wheel.next_deadline(), Some(1_000_000_007));
        assert_eq!(wheel.poll(1_000_000_007), Some(far));
        assert_eq!(wheel.next_deadline(), None);
    }

    #[test]
    fn next_deadline_falls_back_to_the_slot_start_for_crowded_slots() {
        let mut wheel = Wheel::new();
        for i in 0..(SCAN_LIMIT as u64 + 1) {
            wheel.insert(1_000_000 + i, i).unwrap();
        }
        wheel.earliest = None; // as after the earliest entry was cancelled
        let next = wheel.next_deadline().unwrap();
        assert!(next <= 1_000_000);
        assert_eq!(next, wheel.next_expiration().unwrap().deadline);
    }

    #[test]
    fn cancel_unlinks_and_clears_bitmap() {
        let mut wheel = Wheel::new();
        let a = wheel.insert(5, 1u32).unwrap();
        let b = wheel.insert(5, 2).unwrap();
        let c = wheel.insert(5, 3).unwrap();
        assert_eq!(wheel.remove(b), 2);
        assert_eq!(wheel.remove(a), 1);
        assert_eq!(wheel.remove(c), 3);
        assert_eq!(wheel.pending(), 0);
        assert_eq!(wheel.next_expiration(), None);
        assert_eq!(wheel.poll(1000), None);
    }

    #[test]
    fn reset_moves_both_ways() {
        let mut wheel = Wheel::new();
        let key = wheel.insert(1000, 1u32).unwrap();
        assert!(wheel.reset(key, 10));
        assert_eq!(drain(&mut wheel, 10), vec![(key, 10)]);
        assert!(wheel.reset(key, 1 << 20));
        assert!(!wheel.is_fired(key));
        assert!(drain(&mut wheel, (1 << 20) - 1).is_empty());
        assert!(!wheel.reset(key, 5));
        assert!(wheel.is_fired(key));
        assert_eq!(wheel.pending(), 0);
        assert_eq!(wheel.remove(key), 1);
    }

    #[test]
    fn overflow_entries_come_back() {
        let mut wheel = Wheel::new();
        let far = u64::MAX - 3;
        let key = wheel.insert(far, 0u32).unwrap();
        let near = wheel.insert(1 << 50, 1).unwrap();
        assert_eq!(drain(&mut wheel, 1 << 50), vec![(near, 1 << 50)]);
        assert!(drain(&mut wheel, far - 1).is_empty());
        assert_eq!(drain(&mut wheel, far), vec![(key, far)]);
        assert_eq!(wheel.poll(u64::MAX), None);
    }

    /// xorshift64*: a small deterministic PRNG so the model test needs no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// Random inserts, cancels, resets and advances checked against a `BTreeMap` model: each
    /// timer fires exactly once, never before its deadline, never after being cancelled, and
    /// exactly when the model says it is due.
    #[test]
    fn model_check_against_btreemap() {
        for seed in 1..=40u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let mut wheel = Wheel::new();
            // Model: id -> deadline for pending timers; keys of the wheel by id.
            let mut model: BTreeMap<u32, u64> = BTreeMap::new();
            let mut keys: HashMap<u32, Key> = HashMap::new();
            let mut fired_ids = std::collections::HashSet::new();
            let mut now = 0u64;
            let mut next_id = 0u32;
            for _ in 0..3000 {
                match rng.below(10) {
                    0..=4 => {
                        // Durations spread over every level, and sometimes the overflow.
                        let span = match rng.below(6) {
                            0 => 64,
                            1 => 4096,
                            2 => 1 << 20,
                            3 => 1 << 36,
                            4 => 1 << 50,
                            _ => 3,
                        };
                        let deadline = now + rng.below(span);
                        let id = next_id;
                        next_id += 1;
                        match wheel.insert(deadline, id) {
                            Ok(key) => {
                                model.insert(id, deadline);
                                keys.insert(id, key);
                            }
                            Err(back) => {
                                assert_eq!(back, id);
                                assert!(deadline <= wheel.elapsed());
                            }
                        }
                    }
                    5 => {
                        if let Some((&id, _)) =
                            model.iter().nth(rng.below(model.len() as u64 + 1) as usize)
                        {
                            model.remove(&id);
                            let key = keys.remove(&id).unwrap();
                            assert_eq!(wheel.remove(key), id);
                        }
                    }
                    6 => {
                        if let Some((&id, _)) =
                            model.iter().nth(rng.below(model.len() as u64 + 1) as usize)
                        {
                            let deadline = now + rng.below(1 << 16);
                            let key = keys[&id];
                            if wheel.reset(key, deadline) {
                                model.insert(id, deadline);
                            } else {
                                assert!(deadline <= wheel.elapsed());
                                model.remove(&id);
                                keys.remove(&id);
                                assert_eq!(wheel.remove(key), id);
                            }
                        }
                    }
                    _ => {
                        // Advance: sometimes a little, sometimes to the next expiration.
                        now = match rng.below(3) {
                            0 => wheel.next_expiration().map_or(now, |e| e.deadline.max(now)),
                            1 => now + rng.below(100),
                            _ => now + rng.below(1 << 24),
                        };
                        let mut expected: Vec<u32> = model
                            .iter()
                            .filter(|&(_, &d)| d <= now)
                            .map(|(&id, _)| id)
                            .collect();
                        let mut got = Vec::new();
                        while let Some(key) = wheel.poll(now) {
                            let id = *wheel.get_mut(key);
                            assert!(wheel.deadline(key) <= now, "fired early");
                            assert_eq!(model.get(&id), Some(&wheel.deadline(key)));
                            assert!(fired_ids.insert(id), "fired twice");
                            got.push(id);
                            model.remove(&id);
                            keys.remove(&id);
                            wheel.remove(key);
                        }
                        got.sort_unstable();
                        expected.sort_unstable();
                        assert_eq!(got, expected, "seed {seed}");
                        if let Some(exp) = wheel.next_expiration() {
                            let earliest = model.values().min().copied().unwrap();
                            assert!(exp.deadline > now && exp.deadline <= earliest);
                        } else {
                            assert!(model.is_empty());
                        }
                    }
                }
                assert_eq!(wheel.pending(), model.len());
                let min = model.values().min().copied();
                let next = wheel.next_deadline();
                assert_eq!(next.is_some(), min.is_some());
                if let (Some(next), Some(min)) = (next, min) {
                    assert!(next <= min, "next_deadline {next} after the earliest {min}");
                    if wheel.earliest.is_some() {
                        assert_eq!(next, min, "a remembered earliest deadline is exact");
                    }
                }
            }
            // Everything left fires exactly once at the end of time.
            while let Some(key) = wheel.poll(u64::MAX) {
                let id = wheel.remove(key);
                assert!(model.remove(&id).is_some());
            }
            assert!(model.is_empty());
            assert_eq!(wheel.len(), 0);
        }
    }
}
