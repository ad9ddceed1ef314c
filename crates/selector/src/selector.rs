//! [`Selector`]: one readiness API over `select(2)`, `poll(2)` and `epoll(7)`.

use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sys::{self, Notifier};
use crate::waker::Wakers;
use crate::{Backend, Events, Interest, Token};

/// Waits for readiness on many descriptors at once.
///
/// A `Selector` watches registered descriptors and reports, in each call to
/// [`select`](Selector::select), those that became readable or writable, as
/// Python's `selectors` module does. It is the bottom of the c10k stack: the
/// runtime's IO driver is built on it.
///
/// # Threads
///
/// A `Selector` is `Send + Sync` and every method takes `&self`:
///
/// - [`register`](Selector::register), [`reregister`](Selector::reregister)
///   and [`deregister`](Selector::deregister) may be called from any thread,
///   including while another thread is blocked in `select`. The change takes
///   effect for that wait: epoll's interest list is in the kernel; the select
///   and poll backends wake the blocked call through an internal notifier,
///   rebuild their set and keep waiting for the rest of the timeout.
/// - Concurrent `select` calls are allowed. On epoll they run in parallel and
///   each event goes to one of them; on select and poll they are serialized
///   by an internal lock (the set handed to the kernel belongs to one call).
/// - A [`Waker`](crate::Waker) makes a blocked `select` return promptly.
///
/// # Level-triggered by default
///
/// A descriptor that stays ready is reported by every call until the caller
/// consumes the readiness (reads the data, fills the buffer). Edge-triggered
/// notification ([`Interest::edge`]) is available on epoll only; the other
/// backends refuse it with [`io::ErrorKind::Unsupported`]. See [`Interest`].
///
/// # Spurious events and `WouldBlock`
///
/// Readiness is a hint (see [`Event`](crate::Event)): registered descriptors
/// must be non-blocking, and the caller reads or writes until the call
/// returns [`io::ErrorKind::WouldBlock`], which means "wait for the next
/// event", not failure.
///
/// # I/O safety
///
/// The selector takes raw descriptors and does not own them. Deregister a
/// descriptor *before* closing it: a descriptor closed while registered is
/// reported as an error event by select and poll (on every call, until
/// deregistered), and silently forgotten by epoll (whose `deregister` then
/// returns `NotFound`); if the number is reused for a new file meanwhile,
/// the selector may report readiness of the wrong file.
///
/// Dropping a `Selector` closes its own descriptors (the epoll instance, the
/// notifier) and none of the registered ones, which it never owns. A
/// [`Waker`](crate::Waker) that outlives it keeps working and wakes nobody.
///
/// # Examples
///
/// The tutorials' accept loop: register a listener, wait, accept.
///
/// ```
/// use std::io;
/// use std::net::{TcpListener, TcpStream};
/// use std::os::fd::AsRawFd;
/// use std::time::Duration;
/// use c10k_selector::{Events, Interest, Selector, Token};
///
/// const LISTENER: Token = Token(0);
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// listener.set_nonblocking(true)?;
/// let selector = Selector::new()?;
/// selector.register(listener.as_raw_fd(), LISTENER, Interest::READABLE)?;
///
/// let _client = TcpStream::connect(listener.local_addr()?)?;
///
/// let mut events = Events::with_capacity(64);
/// let mut accepted = 0;
/// while accepted == 0 {
///     selector.select(&mut events, Some(Duration::from_secs(10)))?;
///     for event in &events {
///         assert_eq!(event.token(), LISTENER);
///         // Accept until WouldBlock: the event may be spurious, or cover several.
///         loop {
///             match listener.accept() {
///                 Ok(_) => accepted += 1,
///                 Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
///                 Err(e) => return Err(e),
///             }
///         }
///     }
/// }
/// selector.deregister(listener.as_raw_fd())?;
/// # Ok::<(), io::Error>(())
/// ```
pub struct Selector {
    sys: Sys,
    pub(crate) wakers: Arc<Wakers>,
}

/// The backend behind a selector; `dispatch!` forwards each call.
enum Sys {
    Select(sys::select::Selector),
    Poll(sys::poll::Selector),
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Epoll(sys::epoll::Selector),
}

macro_rules! dispatch {
    ($sys:expr, $s:ident => $call:expr) => {
        match $sys {
            Sys::Select($s) => $call,
            Sys::Poll($s) => $call,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Sys::Epoll($s) => $call,
        }
    };
}

impl Selector {
    /// A selector on the best backend of the platform ([`Backend::best`]:
    /// epoll on Linux).
    ///
    /// # Errors
    ///
    /// The kernel's error creating the epoll instance or the notifier
    /// (typically `EMFILE`, too many open descriptors).
    pub fn new() -> io::Result<Selector> {
        Selector::with_backend(Backend::best())
    }

    /// A selector on the given backend.
    ///
    /// # Errors
    ///
    /// - [`Unsupported`](io::ErrorKind::Unsupported) for a backend this
    ///   platform lacks (epoll outside Linux);
    /// - [`InvalidInput`](io::ErrorKind::InvalidInput) for select if the
    ///   selector's internal notifier gets a descriptor at or above
    ///   [`FD_SETSIZE`](crate::FD_SETSIZE) (too many descriptors open already);
    /// - the kernel's error creating the notifier or the epoll instance.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_selector::{Backend, Selector};
    ///
    /// for backend in Backend::ALL {
    ///     let selector = Selector::with_backend(backend)?;
    ///     assert_eq!(selector.backend(), backend);
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_backend(backend: Backend) -> io::Result<Selector> {
        let notifier = Arc::new(Notifier::new()?);
        let sys = match backend {
            Backend::Select => Sys::Select(sys::select::Selector::new(Arc::clone(&notifier))?),
            Backend::Poll => Sys::Poll(sys::poll::Selector::new(Arc::clone(&notifier))?),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Backend::Epoll => Sys::Epoll(sys::epoll::Selector::new(Arc::clone(&notifier))?),
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            Backend::Epoll => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "the epoll backend exists on Linux only; use poll",
                ))
            }
        };
        Ok(Selector {
            sys,
            wakers: Arc::new(Wakers::new(notifier)),
        })
    }

    /// The backend this selector uses.
    pub fn backend(&self) -> Backend {
        match self.sys {
            Sys::Select(_) => Backend::Select,
            Sys::Poll(_) => Backend::Poll,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Sys::Epoll(_) => Backend::Epoll,
        }
    }

    /// Starts watching `fd` for `interest`; its events will carry `token`.
    ///
    /// `fd` should be non-blocking (see the type's docs on spurious events),
    /// and must be deregistered before it is closed (I/O safety, above).
    ///
    /// # Errors
    ///
    /// - [`AlreadyExists`](io::ErrorKind::AlreadyExists) if `fd` is registered;
    /// - [`InvalidInput`](io::ErrorKind::InvalidInput) for a negative `fd`,
    ///   for the reserved `Token(usize::MAX)`, and on the select backend for a
    ///   descriptor value at or above [`FD_SETSIZE`](crate::FD_SETSIZE) (the
    ///   message names the descriptor and suggests poll or epoll; checked
    ///   here rather than at `select` time, so the call that can be fixed is
    ///   the one that fails);
    /// - [`Unsupported`](io::ErrorKind::Unsupported) for edge-triggered
    ///   interest on select or poll;
    /// - the kernel's error, e.g. `EBADF` for a closed descriptor (epoll) or
    ///   `EPERM` for a regular file (epoll).
    pub fn register(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        self.check(fd, token, interest)?;
        dispatch!(&self.sys, s => s.register(fd, token, interest))
    }

    /// Replaces the token and interest of a registered `fd`: the way to
    /// start or stop asking for writability, as a server does while it has
    /// output buffered.
    ///
    /// # Errors
    ///
    /// [`NotFound`](io::ErrorKind::NotFound) if `fd` is not registered, and
    /// the argument errors of [`register`](Selector::register).
    pub fn reregister(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        self.check(fd, token, interest)?;
        dispatch!(&self.sys, s => s.reregister(fd, token, interest))
    }

    /// Stops watching `fd`. No `select` that starts after this returns
    /// reports it. A `select` already running on another thread may still
    /// return an event for it if it collected its results before this call
    /// took effect (select and poll check their results against the
    /// registrations as they collect them, which narrows but cannot close
    /// that window), so a multi-threaded caller must ignore events for tokens
    /// it no longer knows.
    ///
    /// # Errors
    ///
    /// [`NotFound`](io::ErrorKind::NotFound) if `fd` is not registered. On
    /// epoll that includes a descriptor closed without being deregistered:
    /// the kernel dropped it already. (select and poll still hold such a
    /// descriptor, and this removes it: `Ok`.)
    pub fn deregister(&self, fd: RawFd) -> io::Result<()> {
        if fd < 0 {
            return Err(sys::not_found(fd));
        }
        dispatch!(&self.sys, s => s.deregister(fd))
    }

    /// Waits until a registered descriptor is ready, a [`Waker`](crate::Waker)
    /// wakes, or `timeout` elapses; fills `events` (cleared first) and returns
    /// how many it holds (0 on timeout).
    ///
    /// - `None` waits forever; `Some(Duration::ZERO)` checks without blocking.
    /// - Timeouts are rounded *up* to the backend's resolution (1 ms for
    ///   epoll; select and poll take nanoseconds), so the call never returns
    ///   before `timeout` has elapsed unless there is an event: a 0.5 ms wait
    ///   is not turned into a busy 0 ms poll.
    /// - A signal (`EINTR`) does not end the wait: it is retried with the
    ///   time remaining. So is a wake-up caused only by a registration change
    ///   from another thread.
    /// - At most [`events.capacity()`](Events::capacity) events are returned;
    ///   the others are reported by the next call.
    ///
    /// # Errors
    ///
    /// The kernel's error other than `EINTR`, e.g. `ENOMEM`. A registered
    /// descriptor that was closed is not an error of the call: select and
    /// poll report it as an error event for its token, epoll forgets it.
    pub fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        events.clear();
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut remaining = timeout;
        loop {
            let notified = match dispatch!(&self.sys, s => s.wait(events, remaining)) {
                Ok(notified) => notified,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => false,
                Err(e) => return Err(e),
            };
            if notified {
                self.wakers.collect(events)?;
            }
            if !events.is_empty() {
                return Ok(events.len());
            }
            // Nothing to report: a timeout, a signal, or a registration
            // change. Wait again for whatever time is left.
            if let Some(deadline) = deadline {
                let now = Instant::now();
                if now >= deadline {
                    return Ok(0);
                }
                remaining = Some(deadline - now);
            }
        }
    }

    /// The checks every backend shares.
    fn check(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        if fd < 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("descriptor {fd} is negative"),
            ));
        }
        if token == Token::RESERVED {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Token(usize::MAX) is reserved for the selector's notifier",
            ));
        }
        interest.check(self.backend())
    }
}

impl fmt::Debug for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selector")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}
