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
//! Timeouts: `epoll_wait` counts whole milliseconds, which would make every
//! sub-millisecond timer fire up to 1 ms late. A timeout with a sub-millisecond
//! part therefore goes through `epoll_pwait2` (Linux 5.11), which takes a
//! nanosecond `timespec`. Older kernels answer `ENOSYS` once; from then on the
//! timeout is rounded *up* to whole milliseconds for `epoll_wait`, so a 0.5 ms
//! wait becomes 1 ms, never a 0 ms busy poll. rustix only uses `epoll_pwait2`
//! when built for Linux 5.11 and later unconditionally, hence the one raw
//! system call below.
//!
//! A descriptor closed without `deregister` leaves the interest list by
//! itself once its last duplicate is closed; `deregister` then finds nothing
//! (`EBADF` or `ENOENT`) and returns `NotFound`.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::os::fd::{OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
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
        let spare = &mut raw.spare_capacity_mut()[..want];
        let n = match timeout {
            Some(t) if t.subsec_nanos() % 1_000_000 != 0 && PWAIT2.load(Ordering::Relaxed) => {
                match pwait2(&self.ep, spare, t) {
                    Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                        PWAIT2.store(false, Ordering::Relaxed);
                        wait_millis(&self.ep, spare, Some(t))?
                    }
                    r => r?,
                }
            }
            t => wait_millis(&self.ep, spare, t)?,
        };
        // SAFETY: the kernel initialized the first `n` entries of the spare
        // capacity (`n <= want <= spare capacity`).
        unsafe { raw.set_len(n) };
        let mut notified = false;
        for ev in raw.iter() {
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

/// Whether `epoll_pwait2` may exist; cleared the first time it answers `ENOSYS`.
static PWAIT2: AtomicBool = AtomicBool::new(true);

/// `epoll_wait` with the timeout rounded up to whole milliseconds.
fn wait_millis(
    ep: &OwnedFd,
    buf: &mut [MaybeUninit<epoll::Event>],
    timeout: Option<Duration>,
) -> io::Result<usize> {
    let timeout = timespec(timeout.map(round_up_to_millis));
    let (ready, _) = epoll::wait(ep, buf, timeout.as_ref())?;
    Ok(ready.len())
}

/// `epoll_pwait2(ep, buf, len, &timeout, NULL, 0)`: a wait with nanosecond
/// resolution. Returns how many entries of `buf` the kernel filled.
fn pwait2(
    ep: &OwnedFd,
    buf: &mut [MaybeUninit<epoll::Event>],
    timeout: Duration,
) -> io::Result<usize> {
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    let max = libc::c_int::try_from(buf.len()).unwrap_or(libc::c_int::MAX);
    // SAFETY: `buf` is valid for writes of `max` entries, and rustix's
    // `epoll::Event` has the kernel's `struct epoll_event` layout (it is what
    // rustix itself passes to `epoll_wait`); `ts` outlives the call; a null
    // signal mask with size 0 means "do not change the mask", as in
    // `epoll_wait`.
    let n = unsafe {
        libc::syscall(
            libc::SYS_epoll_pwait2,
            ep.as_raw_fd(),
            buf.as_mut_ptr(),
            max,
            &ts as *const libc::timespec,
            std::ptr::null::<libc::sigset_t>(),
            0usize,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
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
