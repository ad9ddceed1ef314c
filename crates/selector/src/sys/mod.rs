//! The operating-system backends, one file each, and the contract they share.
//!
//! # The contract
//!
//! `select.rs`, `poll.rs` and `epoll.rs` are structurally identical: each
//! exports a `Selector` (`Send + Sync`) with the same methods. The public
//! [`Selector`](crate::Selector) checks the arguments every backend shares
//! (negative descriptors, the reserved token, edge mode on a backend without
//! it), then dispatches here.
//!
//! - `fn new(notifier: Arc<Notifier>) -> io::Result<Selector>`: creates the
//!   backend, which watches `notifier.fd()` for readability outside of any
//!   token.
//! - `fn register(&self, fd, token, interest) -> io::Result<()>`: starts
//!   watching `fd`; [`AlreadyExists`](io::ErrorKind::AlreadyExists) if it is
//!   watched already.
//! - `fn reregister(&self, fd, token, interest) -> io::Result<()>`: replaces
//!   the token and interest; [`NotFound`](io::ErrorKind::NotFound) if `fd` is
//!   not watched.
//! - `fn deregister(&self, fd) -> io::Result<()>`: stops watching `fd`;
//!   [`NotFound`](io::ErrorKind::NotFound) if it is not watched.
//! - `fn wait(&self, events: &mut Events, timeout: Option<Duration>) ->
//!   io::Result<bool>`: makes exactly **one** blocking system call, appends
//!   at most `events.remaining()` events for registered descriptors, and
//!   returns whether the notifier was readable. It neither drains the
//!   notifier nor retries: `EINTR` comes back as
//!   [`Interrupted`](io::ErrorKind::Interrupted). A timeout is never shortened
//!   (rounded *up* to the call's resolution). Results are checked against
//!   the registrations when collected: no event for a descriptor whose
//!   `deregister` completed before that.
//!
//! Changes made by `register`/`reregister`/`deregister` while another thread
//! is inside `wait` take effect for that wait: epoll's interest list lives in
//! the kernel, so that is free; select and poll copy their set in user space,
//! so they write the notifier to make the blocked call return, and the public
//! layer calls `wait` again with the remaining time, which rebuilds the set
//! (that handshake is written once, in `copied.rs`, for both).
//!
//! The public layer owns everything else: retrying `EINTR` with the remaining
//! timeout, draining the notifier, and turning pending [`Waker`](crate::Waker)s
//! into events.

use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::time::Duration;

use rustix::event::Timespec;

mod copied;
pub(crate) mod notify;
pub(crate) mod poll;
pub(crate) mod select;

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) mod epoll;

pub(crate) use notify::Notifier;

/// Borrows a registered descriptor for the duration of one system call.
///
/// Every backend passes caller-supplied descriptor *numbers* to the kernel,
/// which validates them: a closed number yields `EBADF` (epoll, select) or
/// `POLLNVAL` (poll), never memory unsafety. What cannot be checked is a
/// number closed and then reused for another file; that is the I/O-safety
/// rule stated on [`Selector::register`](crate::Selector::register)
/// (deregister before closing), and the reason this is the crate's one place
/// that turns a `RawFd` into a `BorrowedFd`.
pub(crate) fn borrow(fd: RawFd) -> BorrowedFd<'static> {
    debug_assert!(fd >= 0, "negative descriptors are refused by Selector");
    // SAFETY: `fd` is non-negative (checked by `Selector`), so it is not the
    // `-1` niche `BorrowedFd` forbids; the borrow is only handed to system
    // calls that validate the number (see the function docs for the
    // I/O-safety contract placed on the caller of `register`).
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Converts a timeout to the `Timespec` system calls take; `None` (wait
/// forever) for `None` and for durations too long to represent, which are
/// longer than any process lives.
pub(crate) fn timespec(timeout: Option<Duration>) -> Option<Timespec> {
    timeout.and_then(|d| Timespec::try_from(d).ok())
}

/// `timeout` rounded *up* to whole milliseconds, for `epoll_wait`, whose
/// resolution is one millisecond: rounding down would turn a 0.5 ms wait into
/// a 0 ms busy poll and make timer loops spin. (rustix also rounds up when it
/// converts; doing it here makes the rule visible and independent of that.)
pub(crate) fn round_up_to_millis(timeout: Duration) -> Duration {
    let nanos = timeout.subsec_nanos();
    let millis = nanos.div_ceil(1_000_000);
    if millis == 1000 {
        Duration::from_secs(timeout.as_secs().saturating_add(1))
    } else {
        Duration::new(timeout.as_secs(), millis * 1_000_000)
    }
}

/// The error for registering a descriptor twice.
pub(crate) fn already_exists(fd: RawFd) -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("descriptor {fd} is already registered with this selector"),
    )
}

/// The error for changing or removing a descriptor that is not registered.
pub(crate) fn not_found(fd: RawFd) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("descriptor {fd} is not registered with this selector"),
    )
}

#[cfg(test)]
mod tests {
    use super::round_up_to_millis;
    use std::time::Duration;

    #[test]
    fn rounds_up_never_down() {
        let ms = Duration::from_millis;
        assert_eq!(round_up_to_millis(Duration::from_micros(500)), ms(1));
        assert_eq!(round_up_to_millis(Duration::from_nanos(1)), ms(1));
        assert_eq!(round_up_to_millis(ms(3)), ms(3));
        assert_eq!(round_up_to_millis(Duration::ZERO), Duration::ZERO);
        assert_eq!(
            round_up_to_millis(Duration::new(1, 999_999_001)),
            Duration::from_secs(2)
        );
    }
}
