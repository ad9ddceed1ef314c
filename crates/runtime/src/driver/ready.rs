//! [`Ready`] and [`ReadyEvent`]: the readiness flags a [`Registration`](super::Registration)
//! observes, and the bit layout of the readiness word they are read from.
//!
//! The word (`ScheduledIo::readiness`) holds the flags below in its low byte and the event
//! tick above it (see "Readiness protocol" in the [module docs](super)).

use std::fmt;

/// Readiness bits (low byte of the readiness word).
pub(super) const READABLE: usize = 1 << 0;
pub(super) const WRITABLE: usize = 1 << 1;
pub(super) const READ_CLOSED: usize = 1 << 2;
pub(super) const WRITE_CLOSED: usize = 1 << 3;
pub(super) const ERROR: usize = 1 << 4;
/// The driver is gone: every wait returns an error.
pub(super) const SHUTDOWN: usize = 1 << 5;
/// The registration was dropped (the ring driver then pushes no more polls for it).
pub(super) const REMOVED: usize = 1 << 6;
pub(super) const READ_MASK: usize = READABLE | READ_CLOSED | ERROR;
pub(super) const WRITE_MASK: usize = WRITABLE | WRITE_CLOSED | ERROR;
/// The event tick occupies the bits above the readiness byte.
pub(super) const TICK_SHIFT: u32 = 8;

/// A set of readiness flags, as observed by a [`Registration`](super::Registration).
///
/// # Examples
///
/// ```
/// # use std::io::{Read, Write};
/// # use std::os::fd::AsRawFd;
/// # use std::os::unix::net::UnixStream;
/// # use c10k_runtime::driver::{Interest, Registration};
/// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// # rt.block_on(async {
/// #     let (mut a, mut b) = UnixStream::pair()?;
/// #     a.set_nonblocking(true)?;
/// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
/// b.write_all(b"x")?;
/// drop(b); // the peer closes: readable and read-closed
/// let ev = reg.ready(Interest::READABLE).await?;
/// let ready = ev.ready();
/// assert!(ready.is_readable());
/// assert!(!ready.is_error());
/// let _ = (ready.is_read_closed(), ready.is_write_closed(), ready.is_writable());
///     drop(reg); // before `a` closes
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ready(pub(super) u8);

impl Ready {
    /// The descriptor may be read without blocking.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     b.write_all(b"x")?;
    ///     let ev = reg.ready(Interest::READABLE).await?;
    ///     assert!(ev.ready().is_readable());
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_readable(self) -> bool {
        self.0 as usize & READABLE != 0
    }
    /// The descriptor may be written without blocking.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     let ev = reg.ready(Interest::WRITABLE).await?;
    ///     assert!(ev.ready().is_writable()); // an empty send buffer
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_writable(self) -> bool {
        self.0 as usize & WRITABLE != 0
    }
    /// The peer closed its writing side (reads will return end of file).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     drop(b);
    ///     let ev = reg.ready(Interest::READABLE).await?;
    ///     if ev.ready().is_read_closed() {
    ///         // Backends that report hang-ups: the next read is end of file.
    ///         assert_eq!((&a).read(&mut [0u8; 8])?, 0);
    ///     }
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_read_closed(self) -> bool {
        self.0 as usize & READ_CLOSED != 0
    }
    /// The writing side is closed (writes will fail).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     drop(b);
    ///     let ev = reg.ready(Interest::WRITABLE).await?;
    ///     if ev.ready().is_write_closed() {
    ///         assert!((&a).write(b"x").is_err()); // EPIPE: nobody to read it
    ///     }
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_write_closed(self) -> bool {
        self.0 as usize & WRITE_CLOSED != 0
    }
    /// An error is pending on the descriptor (read it with `SO_ERROR` or the next call).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     let ev = reg.ready(Interest::WRITABLE).await?;
    ///     assert!(!ev.ready().is_error()); // a healthy socket
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_error(self) -> bool {
        self.0 as usize & ERROR != 0
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_set();
        for (bit, name) in [
            (READABLE, "READABLE"),
            (WRITABLE, "WRITABLE"),
            (READ_CLOSED, "READ_CLOSED"),
            (WRITE_CLOSED, "WRITE_CLOSED"),
            (ERROR, "ERROR"),
        ] {
            if self.0 as usize & bit != 0 {
                l.entry(&format_args!("{name}"));
            }
        }
        l.finish()
    }
}

/// Readiness observed by `poll_*_ready`, to be passed back to
/// [`Registration::clear_readiness`](super::Registration::clear_readiness) after `WouldBlock` (or a short read).
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
/// use std::os::unix::net::UnixStream;
/// use c10k_runtime::driver::{Interest, Registration, ReadyEvent};
/// c10k_runtime::run(async {
///     let (a, _b) = UnixStream::pair()?;
///     a.set_nonblocking(true)?;
///     let reg = Registration::new(a.as_raw_fd(), Interest::WRITABLE)?;
///     let ev: ReadyEvent = reg.ready(Interest::WRITABLE).await?;
///     assert!(ev.ready().is_writable());
///     // Had a write returned `WouldBlock`, the event would go back with `clear_readiness`.
///     drop(reg); // before `a` closes
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyEvent {
    pub(super) ready: Ready,
    pub(super) tick: u32,
}

impl ReadyEvent {
    pub(super) fn from_word(word: usize, mask: usize) -> ReadyEvent {
        ReadyEvent {
            ready: Ready((word & mask) as u8),
            tick: (word >> TICK_SHIFT) as u32,
        }
    }

    /// The flags observed.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # use std::os::fd::AsRawFd;
    /// # use std::os::unix::net::UnixStream;
    /// # use c10k_runtime::driver::{Interest, Registration};
    /// # let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// # rt.block_on(async {
    /// #     let (mut a, mut b) = UnixStream::pair()?;
    /// #     a.set_nonblocking(true)?;
    /// #     let reg = Registration::new(a.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
    ///     let ev = reg.ready(Interest::WRITABLE).await?;
    ///     let flags = ev.ready();
    ///     assert!(flags.is_writable() && !flags.is_error());
    ///     drop(reg); // before `a` closes
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ready(&self) -> Ready {
        self.ready
    }
}
