//! The `select(2)` backend: three bitmaps indexed by descriptor value.
//!
//! The registrations live in a user-space [`Registry`]: a slot per
//! descriptor value below [`FD_SETSIZE`] and the two master bitmaps (read,
//! write). A wait copies the masters into the working sets (the kernel
//! overwrites them with the result) and passes `nfds = highest fd + 1`; the
//! kernel scans every descriptor below `nfds`, and so do we afterwards, by
//! walking the set bits of both results in order: O(highest descriptor) per
//! call. Descriptor values at or above `FD_SETSIZE` do not fit the bitmaps
//! and are refused at `register`, with an error naming the descriptor.
//!
//! Waits are serialized by the `set` lock. A registration change during a
//! wait writes the notifier so that the wait returns and the next one sees
//! the new sets; events of entries that changed meanwhile are dropped (the
//! handshake of [`super::copied`], shared with `poll.rs`).
//!
//! `EBADF` (a registered descriptor was closed behind the selector's back)
//! fails the whole call in the kernel without saying which descriptor: the
//! backend then probes each registered descriptor with `fcntl(F_GETFD)` and
//! reports the closed ones as error events, on every call until they are
//! deregistered. The exceptional-condition set is not used (on sockets it
//! means TCP urgent data, which nothing here asks for).

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::event::{fd_set_insert, fd_set_num_elements, fd_set_remove, FdSetElement, FdSetIter};
use rustix::io::Errno;

use super::copied::{self, Copied, Tracked};
use super::{already_exists, borrow, not_found, timespec, Notifier};
use crate::lock;
use crate::{Event, Events, Interest, Token, FD_SETSIZE};

/// A `select(2)` selector.
#[derive(Debug)]
pub(crate) struct Selector {
    notifier: Arc<Notifier>,
    /// What the caller registered; any thread, under this lock.
    registry: Mutex<Tracked<Registry>>,
    /// The sets handed to the kernel; only the thread in `wait`, under this
    /// lock (which therefore serializes waits).
    set: Mutex<Copied<SelectSet>>,
}

#[derive(Debug)]
struct Registry {
    /// `slots[fd]`: the registration of descriptor `fd`, if any.
    slots: Vec<Option<(Token, Interest)>>,
    read: Bitmap,
    write: Bitmap,
    /// The highest registered descriptor, the notifier's included.
    max_fd: RawFd,
}

#[derive(Debug)]
struct SelectSet {
    /// Copies of the registry's slots and masters (as of the generation
    /// `Copied` records).
    slots: Vec<Option<(Token, Interest)>>,
    read: Bitmap,
    write: Bitmap,
    max_fd: RawFd,
    /// The working sets the kernel overwrites.
    ready_read: Bitmap,
    ready_write: Bitmap,
    /// The descriptor the next scan starts at (see `Events`).
    cursor: RawFd,
}

/// An `fd_set` of `FD_SETSIZE` bits.
#[derive(Clone)]
struct Bitmap(Vec<FdSetElement>);

impl std::fmt::Debug for Bitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(FdSetIter::new(&self.0)).finish()
    }
}

impl Bitmap {
    fn new() -> Bitmap {
        let len = fd_set_num_elements(FD_SETSIZE, FD_SETSIZE as RawFd);
        Bitmap(vec![FdSetElement::default(); len])
    }
}

/// Refuses descriptor values `select(2)` cannot represent; `what` names the
/// descriptor in the message.
fn check_fd_setsize(fd: RawFd, what: &str) -> io::Result<()> {
    if fd as usize >= FD_SETSIZE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{what} {fd} is not below FD_SETSIZE ({FD_SETSIZE}): select(2) cannot \
                 watch it; use the poll or epoll backend"
            ),
        ));
    }
    Ok(())
}

impl Selector {
    pub(crate) fn new(notifier: Arc<Notifier>) -> io::Result<Selector> {
        let nfd = notifier.fd().as_raw_fd();
        check_fd_setsize(nfd, "the selector's internal notifier got descriptor")?;
        let mut read = Bitmap::new();
        fd_set_insert(&mut read.0, nfd);
        let registry = Registry {
            slots: vec![None; FD_SETSIZE],
            read,
            write: Bitmap::new(),
            max_fd: nfd,
        };
        let set = SelectSet {
            slots: Vec::new(),
            read: Bitmap::new(),
            write: Bitmap::new(),
            max_fd: nfd,
            ready_read: Bitmap::new(),
            ready_write: Bitmap::new(),
            cursor: 0,
        };
        Ok(Selector {
            notifier,
            registry: Mutex::new(Tracked::new(registry)),
            set: Mutex::new(Copied::new(set)),
        })
    }

    pub(crate) fn register(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        check_fd_setsize(fd, "descriptor")?;
        let mut reg = lock(&self.registry);
        if reg.slots[fd as usize].is_some() {
            return Err(already_exists(fd));
        }
        reg.set(fd, Some((token, interest)));
        reg.changed(&self.notifier)
    }

    pub(crate) fn reregister(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        let mut reg = lock(&self.registry);
        if reg.slots.get(fd as usize).is_none_or(Option::is_none) {
            return Err(not_found(fd));
        }
        reg.set(fd, Some((token, interest)));
        reg.changed(&self.notifier)
    }

    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        let mut reg = lock(&self.registry);
        if reg.slots.get(fd as usize).is_none_or(Option::is_none) {
            return Err(not_found(fd));
        }
        reg.set(fd, None);
        if fd == reg.max_fd {
            let notifier = self.notifier.fd().as_raw_fd();
            let highest = reg.slots.iter().rposition(Option::is_some);
            reg.max_fd = highest.map_or(notifier, |h| (h as RawFd).max(notifier));
        }
        reg.changed(&self.notifier)
    }

    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<bool> {
        let mut set = lock(&self.set);
        let timeout = timespec(timeout);
        let (result, reg, stale) =
            copied::wait(&self.registry, &mut set, SelectSet::rebuild, |set| {
                set.ready_read.clone_from(&set.read);
                set.ready_write.clone_from(&set.write);
                // SAFETY: rustix asks that every descriptor in the sets be open. The
                // notifier is owned by this selector. The registered ones are the
                // caller's, who promised (`Selector::register`) to deregister before
                // closing; if one was closed anyway, the kernel checks each number
                // and fails with `EBADF`, handled below, so nothing worse than a
                // wrong readiness report for a reused number can follow. The slices
                // hold `FD_SETSIZE` bits and `nfds <= FD_SETSIZE` (`check_fd_setsize`).
                unsafe {
                    rustix::event::select(
                        set.max_fd + 1,
                        Some(&mut set.ready_read.0),
                        Some(&mut set.ready_write.0),
                        None,
                        timeout.as_ref(),
                    )
                }
            });
        let set = &mut **set;
        let ready = match result {
            Ok(0) => return Ok(false),
            Ok(n) => n as usize,
            Err(Errno::BADF) => {
                report_closed(set, &reg, events);
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        };
        let nfd = self.notifier.fd().as_raw_fd();
        let notified = FdSetIter::new(&set.ready_read.0).any(|fd| fd == nfd);
        if notified {
            fd_set_remove(&mut set.ready_read.0, nfd);
        }
        let mut reported = 0;
        // Two passes over the ascending merge of both result sets: from the
        // cursor to the end, then from the start to the cursor.
        let cursor = set.cursor;
        for (lo, hi) in [(cursor, RawFd::MAX), (0, cursor)] {
            let mut reads = FdSetIter::new(&set.ready_read.0).filter(|&fd| fd >= lo && fd < hi);
            let mut writes = FdSetIter::new(&set.ready_write.0).filter(|&fd| fd >= lo && fd < hi);
            let (mut r, mut w) = (reads.next(), writes.next());
            loop {
                let fd = match (r, w) {
                    (None, None) => break,
                    (Some(a), Some(b)) => a.min(b),
                    (Some(a), None) => a,
                    (None, Some(b)) => b,
                };
                if events.remaining() == 0 {
                    set.cursor = fd;
                    return Ok(notified);
                }
                let mut flags = 0;
                if r == Some(fd) {
                    flags |= Event::READABLE;
                    r = reads.next();
                }
                if w == Some(fd) {
                    flags |= Event::WRITABLE;
                    w = writes.next();
                }
                reported += 1;
                if let Some((token, _)) = set.slots[fd as usize] {
                    if !stale || reg.slots[fd as usize].is_some_and(|(t, _)| t == token) {
                        events.push(Event::new(token, flags));
                    }
                }
            }
        }
        debug_assert!(reported <= ready);
        set.cursor = 0;
        Ok(notified)
    }
}

impl SelectSet {
    fn rebuild(&mut self, reg: &Registry) {
        self.slots.clone_from(&reg.slots);
        self.read.clone_from(&reg.read);
        self.write.clone_from(&reg.write);
        self.max_fd = reg.max_fd;
    }
}

impl Registry {
    fn set(&mut self, fd: RawFd, slot: Option<(Token, Interest)>) {
        self.slots[fd as usize] = slot;
        fd_set_remove(&mut self.read.0, fd);
        fd_set_remove(&mut self.write.0, fd);
        if let Some((_, interest)) = slot {
            if interest.is_readable() {
                fd_set_insert(&mut self.read.0, fd);
            }
            if interest.is_writable() {
                fd_set_insert(&mut self.write.0, fd);
            }
            self.max_fd = self.max_fd.max(fd);
        }
    }
}

/// After `EBADF`: reports each registered descriptor that is no longer open
/// as an error event (the caller's cue to deregister it). A descriptor
/// deregistered (and closed) during the wait is skipped: the next wait
/// rebuilds the sets without it.
fn report_closed(set: &SelectSet, reg: &Registry, events: &mut Events) {
    for fd in 0..=set.max_fd {
        let Some((token, _)) = set.slots.get(fd as usize).copied().flatten() else {
            continue;
        };
        if reg.slots[fd as usize].is_none_or(|(t, _)| t != token) {
            continue;
        }
        if events.remaining() == 0 {
            return;
        }
        if let Err(Errno::BADF) = rustix::io::fcntl_getfd(borrow(fd)) {
            events.push(Event::new(
                token,
                Event::ERROR | Event::READ_CLOSED | Event::WRITE_CLOSED,
            ));
        }
    }
}
