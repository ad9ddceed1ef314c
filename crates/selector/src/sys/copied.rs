//! The registry ↔ wait handshake of the backends that copy their set in user
//! space (`poll.rs`, `select.rs`; epoll's interest list lives in the kernel).
//!
//! Such a backend keeps what the caller registered in a [`Tracked`] registry
//! (any thread, under its lock) and hands the kernel a [`Copied`] set (only
//! the thread in `wait`, under the set's lock, which serializes waits). The
//! protocol, written once here for both:
//!
//! 1. Every registration change bumps the registry's generation
//!    ([`Tracked::changed`]); if a wait is blocked on a copy, it also writes
//!    the notifier so that the wait returns and the next one sees the change.
//! 2. [`wait`] refreshes the set from the registry when their generations
//!    differ, marks the registry as waited on, and releases its lock.
//! 3. It makes the one blocking call on the set, without the registry lock.
//! 4. It re-locks the registry, clears the mark, and returns it locked with
//!    `stale` (the registry changed during the call): the backend then checks
//!    each result against the registry, so a descriptor deregistered
//!    meanwhile never yields an event.

use std::io;
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard};

use super::Notifier;
use crate::lock;

/// A backend's registry with its generation and whether a wait is blocked on
/// a copy of it; derefs to the registry.
#[derive(Debug)]
pub(crate) struct Tracked<R> {
    registry: R,
    /// Bumped on every change; [`Copied`] remembers which one it reflects.
    generation: u64,
    /// A wait is blocked on a copy of this registry: changes must notify.
    waiting: bool,
}

impl<R> Tracked<R> {
    pub(crate) fn new(registry: R) -> Tracked<R> {
        Tracked {
            registry,
            generation: 0,
            waiting: false,
        }
    }

    /// Step 1: records a change, waking a wait blocked on a stale copy.
    pub(crate) fn changed(&mut self, notifier: &Notifier) -> io::Result<()> {
        self.generation = self.generation.wrapping_add(1);
        if self.waiting {
            notifier.notify()?;
        }
        Ok(())
    }
}

impl<R> Deref for Tracked<R> {
    type Target = R;

    fn deref(&self) -> &R {
        &self.registry
    }
}

impl<R> DerefMut for Tracked<R> {
    fn deref_mut(&mut self) -> &mut R {
        &mut self.registry
    }
}

/// The set handed to the kernel and the registry generation it reflects;
/// derefs to the set.
#[derive(Debug)]
pub(crate) struct Copied<S> {
    set: S,
    generation: u64,
}

impl<S> Copied<S> {
    /// A set that reflects no generation yet: the first wait refreshes it.
    pub(crate) fn new(set: S) -> Copied<S> {
        Copied {
            set,
            generation: u64::MAX,
        }
    }
}

impl<S> Deref for Copied<S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.set
    }
}

impl<S> DerefMut for Copied<S> {
    fn deref_mut(&mut self) -> &mut S {
        &mut self.set
    }
}

/// Steps 2 to 4: refreshes `set` from `registry` with `refresh` if it is out
/// of date, makes the blocking call `call` on it, and returns the call's
/// result, the registry (locked again) and whether it changed meanwhile.
pub(crate) fn wait<'r, R, S, T>(
    registry: &'r Mutex<Tracked<R>>,
    set: &mut Copied<S>,
    refresh: impl FnOnce(&mut S, &R),
    call: impl FnOnce(&mut S) -> T,
) -> (T, MutexGuard<'r, Tracked<R>>, bool) {
    {
        let mut reg = lock(registry);
        if set.generation != reg.generation {
            refresh(&mut set.set, &reg.registry);
            set.generation = reg.generation;
        }
        reg.waiting = true;
    }
    let result = call(&mut set.set);
    let mut reg = lock(registry);
    reg.waiting = false;
    let stale = set.generation != reg.generation;
    (result, reg, stale)
}
