//! `--idle-timeout`: a connection that neither sends nor takes a byte for that long is
//! closed.
//!
//! Looking at the clock on every request would cost more than the rest of an echo's user
//! time, so silence is counted in quarters of the timeout, the way a coarse timer wheel
//! does:
//!
//! 1. Serving a connection (a read that returned bytes, a write that took some) marks it
//!    *active*: one store, no clock.
//! 2. Every quarter of the timeout a sweep visits each connection: an active one is
//!    unmarked and its count of quiet quarters reset; a quiet one counts one more quarter.
//! 3. After [`QUARTERS`] quiet quarters in a row the connection is closed. So a silent client
//!    goes after between 1 and 1.25 times the timeout, and a client that sends anything at
//!    least once per timeout is never closed.
//!
//! The hand-written loops ([`Quiet`] in their connections) sweep from their own loop, waking
//! at the next sweep instead of sleeping without a timeout. On the runtime, each connection
//! registers in an [`IdleTable`] and one task per runtime sweeps it, closing an idle socket
//! with `shutdown(2)`: its task then reads the end of stream and ends by itself. The
//! `threads` model needs neither: its blocking reads get `SO_RCVTIMEO`.

use std::collections::HashMap;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Quiet quarters after which a connection is closed.
pub(crate) const QUARTERS: u8 = 4;

/// How often a loop with timeout `idle` sweeps.
pub(crate) fn period(idle: Duration) -> Duration {
    (idle / u32::from(QUARTERS)).max(Duration::from_millis(1))
}

/// A connection's silence, counted in quarters (module docs).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Quiet {
    active: bool,
    quarters: u8,
}

impl Quiet {
    /// Step 1: the connection was served.
    pub(crate) fn touch(&mut self) {
        self.active = true;
    }

    /// Step 2: one sweep; true when the connection has been quiet long enough (step 3).
    pub(crate) fn sweep(&mut self) -> bool {
        if std::mem::take(&mut self.active) {
            self.quarters = 0;
            false
        } else {
            self.quarters = self.quarters.saturating_add(1);
            self.quarters >= QUARTERS
        }
    }
}

/// When a hand-written loop sweeps next.
#[derive(Debug)]
pub(crate) struct Sweeps {
    period: Option<Duration>,
    next: Option<Instant>,
}

impl Sweeps {
    /// Sweeps every quarter of `idle` (none when `None`).
    pub(crate) fn new(idle: Option<Duration>) -> Sweeps {
        let period = idle.map(period);
        Sweeps {
            period,
            next: period.map(|p| Instant::now() + p),
        }
    }

    /// True when a sweep is due; the next one is then scheduled.
    pub(crate) fn due(&mut self, now: Instant) -> bool {
        match (self.next, self.period) {
            (Some(next), Some(period)) if now >= next => {
                self.next = Some(now + period);
                true
            }
            _ => false,
        }
    }

    /// How long a wait may last before the next sweep (`None`: no limit).
    pub(crate) fn wait(&self, now: Instant) -> Option<Duration> {
        self.next.map(|next| next.saturating_duration_since(now))
    }
}

/// A registered connection: its mark (step 1: one relaxed store), where it sits in the
/// table, and the table.
#[derive(Debug)]
struct Slot {
    active: AtomicBool,
    key: u64,
    table: Arc<IdleTable>,
}

/// A connection in the table: its slot, its socket and its count of quiet quarters.
#[derive(Debug)]
struct Entry {
    slot: Arc<Slot>,
    fd: RawFd,
    quiet: u8,
}

/// The connections of one runtime, swept by one task (module docs).
///
/// Invariant: a connection removes its entry (dropping its [`Registered`]) before its socket
/// closes, so every descriptor in the table is open while the lock is held.
#[derive(Debug, Default)]
pub(crate) struct IdleTable {
    entries: Mutex<Entries>,
}

/// The entries by key, and the next key.
#[derive(Debug, Default)]
struct Entries {
    map: HashMap<u64, Entry>,
    next: u64,
}

/// A connection's place in an [`IdleTable`] (one pointer); leaves it when dropped.
#[derive(Debug)]
pub(crate) struct Registered(Arc<Slot>);

impl Registered {
    /// Step 1: the connection was served.
    pub(crate) fn touch(&self) {
        self.0.active.store(true, Ordering::Relaxed);
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        // Breaks the table's reference to the slot (and the slot's to the table).
        crate::sync::lock(&self.0.table.entries)
            .map
            .remove(&self.0.key);
    }
}

impl IdleTable {
    /// Registers socket `fd`; the returned guard must be dropped before the socket closes.
    pub(crate) fn register(self: &Arc<IdleTable>, fd: RawFd) -> Registered {
        let mut entries = crate::sync::lock(&self.entries);
        let key = entries.next;
        entries.next += 1;
        let slot = Arc::new(Slot {
            active: AtomicBool::new(false),
            key,
            table: Arc::clone(self),
        });
        entries.map.insert(
            key,
            Entry {
                slot: Arc::clone(&slot),
                fd,
                quiet: 0,
            },
        );
        Registered(slot)
    }

    /// One sweep (step 2): shuts down the sockets that stayed quiet long enough (step 3);
    /// returns how many.
    pub(crate) fn sweep(&self) -> usize {
        let mut entries = crate::sync::lock(&self.entries);
        let mut closed = 0;
        for entry in entries.map.values_mut() {
            if entry.slot.active.swap(false, Ordering::Relaxed) {
                entry.quiet = 0;
                continue;
            }
            entry.quiet = entry.quiet.saturating_add(1);
            if entry.quiet == QUARTERS {
                // SAFETY: the table's invariant: the socket stays open while its entry is
                // in the table, and the lock is held for the whole sweep.
                unsafe { crate::sys::shutdown_both(entry.fd) };
                closed += 1;
            }
        }
        closed
    }
}
