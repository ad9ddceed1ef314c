//! The `poll(2)` backend: a `pollfd` array copied in and scanned on every call.
//!
//! The registrations live in a user-space [`Registry`] (a vector plus a
//! descriptor → index map, so register and deregister are O(1)). A wait
//! copies them into a `pollfd` array, rebuilt only when the registry's
//! generation changed, with the notifier at index 0. The kernel copies and
//! scans the whole array, and so do we afterwards: O(registered) per call,
//! no limit on descriptor values.
//!
//! Waits are serialized by the `set` lock (it owns the array). A registration
//! change during a wait writes the notifier so that the wait returns and the
//! next one sees the new set; events of entries that changed meanwhile are
//! dropped, so a deregistered descriptor never yields an event (the
//! handshake of [`super::copied`], shared with `select.rs`).
//!
//! `POLLNVAL` (a descriptor closed behind the selector's back) is reported as
//! an error event on every call until the descriptor is deregistered.

use std::collections::HashMap;
use std::io;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags};

use super::copied::{self, Copied, Tracked};
use super::{already_exists, borrow, not_found, timespec, Notifier};
use crate::lock;
use crate::{Event, Events, Interest, Token};

/// A `poll(2)` selector.
#[derive(Debug)]
pub(crate) struct Selector {
    notifier: Arc<Notifier>,
    /// What the caller registered; any thread, under this lock.
    registry: Mutex<Tracked<Registry>>,
    /// The array handed to the kernel; only the thread in `wait`, under this
    /// lock (which therefore serializes waits).
    set: Mutex<Copied<PollSet>>,
}

#[derive(Debug, Default)]
struct Registry {
    entries: Vec<Entry>,
    index: HashMap<RawFd, usize>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    fd: RawFd,
    token: Token,
    interest: Interest,
}

#[derive(Debug)]
struct PollSet {
    /// `fds[0]` is the notifier; `fds[i + 1]` mirrors `entries[i]`.
    fds: Vec<PollFd<'static>>,
    entries: Vec<Entry>,
    /// Where the next scan starts, so that a full `Events` does not starve
    /// the entries behind it.
    cursor: usize,
}

impl Selector {
    pub(crate) fn new(notifier: Arc<Notifier>) -> io::Result<Selector> {
        Ok(Selector {
            notifier,
            registry: Mutex::new(Tracked::new(Registry::default())),
            set: Mutex::new(Copied::new(PollSet {
                fds: Vec::new(),
                entries: Vec::new(),
                cursor: 0,
            })),
        })
    }

    pub(crate) fn register(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        let mut reg = lock(&self.registry);
        if reg.index.contains_key(&fd) {
            return Err(already_exists(fd));
        }
        let at = reg.entries.len();
        reg.entries.push(Entry {
            fd,
            token,
            interest,
        });
        reg.index.insert(fd, at);
        reg.changed(&self.notifier)
    }

    pub(crate) fn reregister(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        let mut reg = lock(&self.registry);
        let at = *reg.index.get(&fd).ok_or_else(|| not_found(fd))?;
        reg.entries[at] = Entry {
            fd,
            token,
            interest,
        };
        reg.changed(&self.notifier)
    }

    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        let mut reg = lock(&self.registry);
        let at = reg.index.remove(&fd).ok_or_else(|| not_found(fd))?;
        reg.entries.swap_remove(at);
        if let Some(moved) = reg.entries.get(at).map(|e| e.fd) {
            reg.index.insert(moved, at);
        }
        reg.changed(&self.notifier)
    }

    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<bool> {
        let mut set = lock(&self.set);
        let timeout = timespec(timeout);
        let (result, reg, stale) = copied::wait(
            &self.registry,
            &mut set,
            |set, reg| set.rebuild(&self.notifier, reg),
            |set| poll(&mut set.fds, timeout.as_ref()),
        );
        let set = &mut **set;
        let mut ready = result?;
        if ready == 0 {
            return Ok(false);
        }
        let notified = !set.fds[0].revents().is_empty();
        if notified {
            ready -= 1;
        }
        // Entries changed during the wait are checked against the registry.
        let n = set.entries.len();
        let mut i = set.cursor.min(n);
        for _ in 0..n {
            if ready == 0 {
                break;
            }
            if events.remaining() == 0 {
                set.cursor = i;
                return Ok(notified);
            }
            let revents = set.fds[i + 1].revents();
            if !revents.is_empty() {
                ready -= 1;
                let entry = set.entries[i];
                let current = !stale
                    || reg
                        .index
                        .get(&entry.fd)
                        .is_some_and(|&at| reg.entries[at].token == entry.token);
                if current {
                    events.push(Event::new(entry.token, convert(revents)));
                }
            }
            i = if i + 1 == n { 0 } else { i + 1 };
        }
        set.cursor = i;
        Ok(notified)
    }
}

impl PollSet {
    fn rebuild(&mut self, notifier: &Notifier, reg: &Registry) {
        self.fds.clear();
        self.fds.push(PollFd::from_borrowed_fd(
            // The notifier outlives the set: both belong to `Selector`.
            borrow(std::os::fd::AsRawFd::as_raw_fd(&notifier.fd())),
            PollFlags::IN,
        ));
        self.entries.clear();
        self.entries.extend_from_slice(&reg.entries);
        for entry in &self.entries {
            self.fds.push(PollFd::from_borrowed_fd(
                borrow(entry.fd),
                flags(entry.interest),
            ));
        }
        self.cursor = 0;
    }
}

fn flags(interest: Interest) -> PollFlags {
    let mut flags = PollFlags::empty();
    if interest.is_readable() {
        flags |= PollFlags::IN;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            flags |= PollFlags::RDHUP;
        }
    }
    if interest.is_writable() {
        flags |= PollFlags::OUT;
    }
    flags
}

fn convert(f: PollFlags) -> u8 {
    let mut out = 0;
    if f.intersects(PollFlags::IN | PollFlags::PRI) {
        out |= Event::READABLE;
    }
    if f.contains(PollFlags::OUT) {
        out |= Event::WRITABLE;
    }
    if f.intersects(PollFlags::ERR | PollFlags::NVAL) {
        out |= Event::ERROR | Event::WRITE_CLOSED;
    }
    if f.contains(PollFlags::HUP) {
        out |= Event::READ_CLOSED | Event::WRITE_CLOSED;
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if f.contains(PollFlags::RDHUP) {
        out |= Event::READ_CLOSED;
    }
    out
}
