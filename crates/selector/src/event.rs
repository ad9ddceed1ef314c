//! [`Event`] and [`Events`]: what one call to [`Selector::select`] reports.
//!
//! [`Selector::select`]: crate::Selector::select

use std::fmt;

use crate::Token;

/// Readiness of one registered descriptor (or one [`Waker`](crate::Waker)),
/// as reported by [`Selector::select`](crate::Selector::select).
///
/// # Readiness is a hint
///
/// An event says the descriptor *was* ready when the kernel looked. By the
/// time the caller acts it may not be any more (another thread read the data,
/// the kernel dropped a bad-checksum packet), and on some backends an event
/// can arrive with no readiness at all. These *spurious events* are part of
/// the contract: the descriptor must be non-blocking, and the caller reads or
/// writes until the call returns [`WouldBlock`](std::io::ErrorKind::WouldBlock),
/// which simply means "wait for the next event". With edge-triggered interest
/// this draining is mandatory (see [`Interest`](crate::Interest)).
///
/// # Errors and hang-ups
///
/// `is_error`, `is_read_closed` and `is_write_closed` are reported even when
/// not asked for (the kernel always reports `POLLERR`/`POLLHUP`). They are
/// also hints: the authoritative answer is what the next `read`/`write`
/// returns (`Ok(0)` for end of stream, `Err` for the socket error). The
/// select backend cannot tell them apart from plain readiness: there a
/// hang-up or error shows up as readable and/or writable, except that a
/// descriptor closed behind the selector's back is reported with `is_error`.
///
/// | method | epoll | poll | select |
/// |---|---|---|---|
/// | `is_readable` | `EPOLLIN`/`EPOLLPRI` | `POLLIN`/`POLLPRI` | in the read set |
/// | `is_writable` | `EPOLLOUT` | `POLLOUT` | in the write set |
/// | `is_error` | `EPOLLERR` | `POLLERR`/`POLLNVAL` | `EBADF` (closed fd) |
/// | `is_read_closed` | `EPOLLHUP`, or `EPOLLIN` with `EPOLLRDHUP` | `POLLHUP`/`POLLRDHUP` | never |
/// | `is_write_closed` | `EPOLLHUP`, or `EPOLLERR` | `POLLHUP`/`POLLERR` | never |
///
/// # Examples
///
/// A peer that hangs up: poll and epoll say so, select only says readable;
/// on every backend, the read that follows returns end of stream.
///
/// ```
/// use std::io::Read;
/// use std::net::{TcpListener, TcpStream};
/// use std::os::fd::AsRawFd;
/// use std::time::Duration;
/// use c10k_selector::{Backend, Events, Interest, Selector, Token};
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let client = TcpStream::connect(listener.local_addr()?)?;
/// let (mut server, _) = listener.accept()?;
/// drop(client);
///
/// for backend in Backend::ALL {
///     let selector = Selector::with_backend(backend)?;
///     selector.register(server.as_raw_fd(), Token(1), Interest::READABLE)?;
///     let mut events = Events::with_capacity(4);
///     selector.select(&mut events, Some(Duration::from_secs(10)))?;
///     let event = events.iter().next().expect("an event");
///     assert!(event.is_readable());
///     assert_eq!(event.is_read_closed(), backend != Backend::Select);
///     assert_eq!(server.read(&mut [0; 16])?, 0); // the authoritative answer
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Copy, Clone, PartialEq, Eq)]
pub struct Event {
    token: Token,
    flags: u8,
}

impl Event {
    pub(crate) const READABLE: u8 = 1 << 0;
    pub(crate) const WRITABLE: u8 = 1 << 1;
    pub(crate) const ERROR: u8 = 1 << 2;
    pub(crate) const READ_CLOSED: u8 = 1 << 3;
    pub(crate) const WRITE_CLOSED: u8 = 1 << 4;

    pub(crate) const fn new(token: Token, flags: u8) -> Event {
        Event { token, flags }
    }

    /// The token given at registration (or to [`Waker::new`](crate::Waker::new)).
    pub const fn token(&self) -> Token {
        self.token
    }

    /// The descriptor is (probably) readable: read until `WouldBlock`.
    /// A [`Waker`](crate::Waker)'s event is readable.
    pub const fn is_readable(&self) -> bool {
        self.flags & Event::READABLE != 0
    }

    /// The descriptor is (probably) writable: write until `WouldBlock`.
    pub const fn is_writable(&self) -> bool {
        self.flags & Event::WRITABLE != 0
    }

    /// The descriptor has a pending error (`EPOLLERR`, `POLLERR`), or is not
    /// an open descriptor any more (`POLLNVAL`, `EBADF` from select).
    pub const fn is_error(&self) -> bool {
        self.flags & Event::ERROR != 0
    }

    /// The peer closed its writing side (or both): reads will return end of
    /// stream once the buffered data is consumed.
    pub const fn is_read_closed(&self) -> bool {
        self.flags & Event::READ_CLOSED != 0
    }

    /// Writing can no longer succeed (hang-up or error).
    pub const fn is_write_closed(&self) -> bool {
        self.flags & Event::WRITE_CLOSED != 0
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("token", &self.token)
            .field("readable", &self.is_readable())
            .field("writable", &self.is_writable())
            .field("error", &self.is_error())
            .field("read_closed", &self.is_read_closed())
            .field("write_closed", &self.is_write_closed())
            .finish()
    }
}

/// A reusable buffer of [`Event`]s filled by [`Selector::select`](crate::Selector::select).
///
/// Its capacity bounds how many events one call returns; the others stay
/// pending (level-triggered) or queued in the kernel (edge-triggered) for the
/// next call. The select and poll backends resume their scan where the
/// previous full buffer stopped, so no descriptor starves.
///
/// # Examples
///
/// ```
/// use c10k_selector::Events;
///
/// let mut events = Events::with_capacity(128);
/// assert_eq!(events.capacity(), 128);
/// assert!(events.is_empty());
/// for event in &events {
///     println!("{:?}", event.token());
/// }
/// events.clear();
/// ```
pub struct Events {
    pub(crate) list: Vec<Event>,
    capacity: usize,
    /// Landing buffer for `epoll_wait`, allocated on first use by the epoll
    /// backend only.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) raw: RawEvents,
}

/// `epoll_wait`'s output buffer.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[derive(Default)]
pub(crate) struct RawEvents(pub(crate) Vec<rustix::event::epoll::Event>);

#[cfg(any(target_os = "linux", target_os = "android"))]
impl fmt::Debug for RawEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawEvents({} ready)", self.0.len())
    }
}

// SAFETY: rustix's epoll `Event` is `!Send + !Sync` only because its user
// data is a union that *may* hold a pointer. This crate registers integers
// (tokens) only, never pointers, so the buffer holds plain data, which is
// safe to move to and share between threads.
#[cfg(any(target_os = "linux", target_os = "android"))]
unsafe impl Send for RawEvents {}

// SAFETY: as for `Send`: plain integers, no pointer to anything.
#[cfg(any(target_os = "linux", target_os = "android"))]
unsafe impl Sync for RawEvents {}

impl Events {
    /// A buffer for at most `capacity` events per call (at least 1).
    pub fn with_capacity(capacity: usize) -> Events {
        let capacity = capacity.max(1);
        Events {
            list: Vec::with_capacity(capacity),
            capacity,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            raw: RawEvents::default(),
        }
    }

    /// The most events one call can return.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many events the last call returned.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the last call returned no event (it timed out).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The events, in the order the backend reported them.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            inner: self.list.iter(),
        }
    }

    /// Forgets every event (`select` does this itself first).
    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// Room left before the buffer is full.
    pub(crate) fn remaining(&self) -> usize {
        self.capacity - self.list.len()
    }

    /// Appends an event; the caller checked [`remaining`](Events::remaining).
    pub(crate) fn push(&mut self, event: Event) {
        debug_assert!(self.list.len() < self.capacity);
        self.list.push(event);
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("capacity", &self.capacity)
            .field("events", &self.list)
            .finish()
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = &'a Event;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Iterator over the [`Events`] of one call, yielding `&Event`.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    inner: std::slice::Iter<'a, Event>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a Event;

    fn next(&mut self) -> Option<&'a Event> {
        self.inner.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}
