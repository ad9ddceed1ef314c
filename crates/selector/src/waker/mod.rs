//! [`Waker`]: makes a blocked [`Selector::select`] return from another thread.
//!
//! # Design
//!
//! A selector has one internal notifier (an `eventfd` on Linux, a pipe
//! elsewhere) that every backend watches, and a list of waker entries, each a
//! token and a `pending` flag. The protocol:
//!
//! 1. `wake` sets `pending`; only the call that changes it from `false` to
//!    `true` writes the notifier, so a burst of wakes costs one write and
//!    yields one event (wakes *coalesce*).
//! 2. `select` sees the notifier readable, **drains it first**, then swaps
//!    each entry's `pending` back to `false` and reports an event (readable,
//!    with the entry's token) for each one that was set.
//! 3. A `wake` racing with step 2 either finds `pending` still `true` (the
//!    swap in step 2 has not happened yet, so this `select` reports it) or
//!    sets it from `false` and writes the already-drained notifier (so the
//!    next `select` returns at once). No wake is lost, and because the
//!    notifier is drained, it does not stay readable: no busy loop.
//!
//! The protocol lives in `pending.rs` and is model-checked with loom
//! (`tests/loom_pending.rs`).
//!
//! If the caller's [`Events`](crate::Events) is too full to take a waker's
//! event, the entry stays pending and the notifier is written again, so the
//! next call reports it.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use pending::Pending;

use crate::lock;
use crate::sys::Notifier;
use crate::{Event, Events, Selector, Token};

mod pending;

/// Wakes a [`Selector`] blocked in [`select`](Selector::select), from any
/// thread.
///
/// The woken `select` returns an [`Event`] carrying the waker's token, which
/// [`is_readable`](Event::is_readable). Many wakes before the selector gets
/// to run are reported as one event. The waker owns no descriptor: all
/// wakers of a selector share its internal notifier (an `eventfd` on Linux,
/// a pipe elsewhere), which the selector drains itself. A wake whose
/// selector has been dropped does nothing and succeeds.
///
/// The token is not a registration: any value may be used, `usize::MAX`
/// included, but it should differ from the registered descriptors' tokens so
/// the caller can tell the events apart. Dropping the waker removes it; a
/// wake made before the drop is still reported.
///
/// # Examples
///
/// ```
/// use std::thread;
/// use c10k_selector::{Events, Selector, Token, Waker};
///
/// const WAKE: Token = Token(10);
///
/// let selector = Selector::new()?;
/// let waker = Waker::new(&selector, WAKE)?;
/// let handle = thread::spawn(move || waker.wake());
///
/// let mut events = Events::with_capacity(8);
/// selector.select(&mut events, None)?; // returns once woken
/// let event = events.iter().next().unwrap();
/// assert_eq!(event.token(), WAKE);
/// assert!(event.is_readable());
/// handle.join().unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Waker {
    entry: Arc<WakerEntry>,
    wakers: Arc<Wakers>,
}

impl Waker {
    /// Creates a waker whose events carry `token`.
    ///
    /// # Errors
    ///
    /// None today on Linux; the signature leaves room for backends that need
    /// a descriptor per waker.
    pub fn new(selector: &Selector, token: Token) -> io::Result<Waker> {
        let wakers = Arc::clone(&selector.wakers);
        let entry = Arc::new(WakerEntry {
            token,
            pending: Pending::new(),
            dropped: AtomicBool::new(false),
        });
        lock(&wakers.entries).push(Arc::clone(&entry));
        Ok(Waker { entry, wakers })
    }

    /// Makes the selector's current or next `select` return an event with
    /// this waker's token.
    ///
    /// # Errors
    ///
    /// The error of writing the notifier, which does not happen in practice
    /// (a full notifier counts as woken).
    pub fn wake(&self) -> io::Result<()> {
        if self.entry.pending.set() {
            self.wakers.notifier.notify()?;
        }
        Ok(())
    }
}

impl fmt::Debug for Waker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waker")
            .field("token", &self.entry.token)
            .field("pending", &self.entry.pending.is_set())
            .finish()
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        let mut entries = lock(&self.wakers.entries);
        if self.entry.pending.is_set() {
            // A wake not yet reported is still delivered: `collect` removes
            // the entry once it has reported it.
            self.entry.dropped.store(true, Ordering::Release);
        } else {
            entries.retain(|e| !Arc::ptr_eq(e, &self.entry));
        }
    }
}

/// The selector's notifier and its wakers, shared with every [`Waker`].
#[derive(Debug)]
pub(crate) struct Wakers {
    pub(crate) notifier: Arc<Notifier>,
    /// Live wakers; `Waker::new`/`drop` and `select` take this lock.
    entries: Mutex<Vec<Arc<WakerEntry>>>,
}

#[derive(Debug)]
struct WakerEntry {
    token: Token,
    /// Set by `wake`, cleared by the `select` that reports it.
    pending: Pending,
    /// The `Waker` was dropped with a wake pending; set and read under the
    /// `entries` lock. The entry goes once that wake is reported.
    dropped: AtomicBool,
}

impl Wakers {
    pub(crate) fn new(notifier: Arc<Notifier>) -> Wakers {
        Wakers {
            notifier,
            entries: Mutex::new(Vec::new()),
        }
    }

    /// Step 2 of the protocol: called by `select` when the notifier fired.
    pub(crate) fn collect(&self, events: &mut Events) -> io::Result<()> {
        self.notifier.drain();
        let mut entries = lock(&self.entries);
        let mut left_pending = false;
        entries.retain(|entry| {
            if events.remaining() == 0 {
                left_pending |= entry.pending.is_set();
                return true;
            }
            if entry.pending.take() {
                events.push(Event::new(entry.token, Event::READABLE));
            }
            !entry.dropped.load(Ordering::Acquire)
        });
        if left_pending {
            self.notifier.notify()?;
        }
        Ok(())
    }
}
