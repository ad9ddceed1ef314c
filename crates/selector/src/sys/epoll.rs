//! The `epoll(7)` backend: the interest list lives in the kernel.
//!
//! `epoll_ctl` adds, modifies and deletes entries keyed by descriptor; the
//! entry's 64-bit user data is the caller's token, so an event maps back to
//! its registration without any user-space table or lock, and a wait costs
//! O(ready) rather than O(registered). Concurrent waits from several threads
//! are safe (the kernel serializes the ready list).
//!
//! Mapping: readable interest asks for `EPOLLIN | EPOLLRDHUP` (the latter to
//! see half-closes), writable for `EPOLLOUT`, edge for `EPOLLET`;
//! `EPOLLERR`/`EPOLLHUP` are always reported by the kernel. The notifier is
//! registered level-triggered under the reserved key `u64::MAX`.
//!
//! A descriptor closed without `deregister` leaves the interest list by
//! itself once its last duplicate is closed; `deregister` then finds nothing
//! (`EBADF` or `ENOENT`) and returns `NotFound`.

use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::io::Errno;

use super::{already_exists, borrow, not_found, round_up_to_millis, timespec, Notifier};
use crate::{Event, Events, Interest, Token};

/// The user data under which the notifier is registered; `Selector` refuses
/// `Token(usize::MAX)`, so no registration can collide with it.
const NOTIFY_KEY: u64 = u64::MAX;

/// An epoll instance.
#[derive(Debug)]
pub(crate) struct Selector {
    ep: OwnedFd,
    /// Kept alive while registered in `ep`.
    _notifier: Arc<Notifier>,
}

impl Selector {
    pub(crate) fn new(notifier: Arc<Notifier>) -> io::Result<Selector> {
        let ep = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        epoll::add(
            &ep,
            notifier.fd(),
            EventData::new_u64(NOTIFY_KEY),
            EventFlags::IN,
        )?;
        Ok(Selector {
            ep,
            _notifier: notifier,
        })
    }

    pub(crate) fn register(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        epoll::add(&self.ep, borrow(fd), data(token), flags(interest)).map_err(|e| match e {
            Errno::EXIST => already_exists(fd),
            e => e.into(),
        })
    }

    pub(crate) fn reregister(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        epoll::modify(&self.ep, borrow(fd), data(token), flags(interest)).map_err(|e| match e {
            Errno::NOENT | Errno::BADF => not_found(fd),
            e => e.into(),
        })
    }

    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        epoll::delete(&self.ep, borrow(fd)).map_err(|e| match e {
            Errno::NOENT | Errno::BADF => not_found(fd),
            e => e.into(),
        })
    }

    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<bool> {
        let want = events.remaining();
        let raw = &mut events.raw.0;
        raw.clear();
        raw.reserve_exact(want);
        let timeout = timespec(timeout.map(round_up_to_millis));
        let (ready, _) = epoll::wait(
            &self.ep,
            &mut raw.spare_capacity_mut()[..want],
            timeout.as_ref(),
        )?;
        let mut notified = false;
        for ev in ready.iter() {
            let key = ev.data.u64();
            if key == NOTIFY_KEY {
                notified = true;
                continue;
            }
            let ev_flags = ev.flags;
            let token = Token(key as usize);
            events.list.push(Event::new(token, convert(ev_flags)));
        }
        Ok(notified)
    }
}

fn data(token: Token) -> EventData {
    EventData::new_u64(token.0 as u64)
}

fn flags(interest: Interest) -> EventFlags {
    let mut flags = EventFlags::empty();
    if interest.is_readable() {
        flags |= EventFlags::IN | EventFlags::RDHUP;
    }
    if interest.is_writable() {
        flags |= EventFlags::OUT;
    }
    if interest.is_edge() {
        flags |= EventFlags::ET;
    }
    flags
}

fn convert(f: EventFlags) -> u8 {
    let mut out = 0;
    if f.intersects(EventFlags::IN | EventFlags::PRI) {
        out |= Event::READABLE;
    }
    if f.contains(EventFlags::OUT) {
        out |= Event::WRITABLE;
    }
    if f.contains(EventFlags::ERR) {
        out |= Event::ERROR | Event::WRITE_CLOSED;
    }
    if f.contains(EventFlags::HUP) {
        out |= Event::READ_CLOSED | Event::WRITE_CLOSED;
    }
    if f.contains(EventFlags::IN | EventFlags::RDHUP) {
        out |= Event::READ_CLOSED;
    }
    out
}
