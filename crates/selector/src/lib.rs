//! Readiness IO multiplexing: one [`Selector`] API over `select(2)`,
//! `poll(2)` and `epoll(7)`.
//!
//! This is the bottom layer of c10k, the Rust counterpart of Python's
//! `selectors` module in the tutorials: register descriptors with a
//! [`Token`] and an [`Interest`], call [`Selector::select`], and handle the
//! [`Event`]s it returns. It is synchronous (no futures); the runtime's IO
//! driver is built on it. The [guide] explains the three backends and when
//! each is right.
//!
//! | type | role |
//! |---|---|
//! | [`Selector`] | the registrations and the wait; `Send + Sync`, all methods `&self` |
//! | [`Backend`] | which system call: [`Select`](Backend::Select), [`Poll`](Backend::Poll), [`Epoll`](Backend::Epoll) |
//! | [`Token`], [`Interest`] | what to call a descriptor, and what to watch it for |
//! | [`Events`], [`Event`] | the readiness one call reports |
//! | [`Waker`] | wakes a blocked `select` from another thread |
//!
//! # Readiness, spurious events, `WouldBlock`
//!
//! An event means "try now", not "this will succeed": it may be stale or
//! spurious. Registered descriptors must be non-blocking, and handlers read
//! or write until [`io::ErrorKind::WouldBlock`](std::io::ErrorKind::WouldBlock).
//! Notification is level-triggered by default on every backend; epoll also
//! offers edge-triggered ([`Interest::edge`]), where draining until
//! `WouldBlock` is mandatory.
//!
//! # Examples
//!
//! An echo round trip over a connected pair of sockets, on every backend:
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use std::os::fd::AsRawFd;
//! use std::time::Duration;
//! use c10k_selector::{Backend, Events, Interest, Selector, Token};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let mut client = TcpStream::connect(listener.local_addr()?)?;
//! let (mut server, _) = listener.accept()?;
//! server.set_nonblocking(true)?;
//!
//! for backend in Backend::ALL {
//!     let selector = Selector::with_backend(backend)?;
//!     selector.register(server.as_raw_fd(), Token(7), Interest::READABLE)?;
//!     client.write_all(b"ping")?;
//!
//!     let mut events = Events::with_capacity(16);
//!     let mut got = Vec::new();
//!     while got.len() < 4 {
//!         selector.select(&mut events, Some(Duration::from_secs(10)))?;
//!         for event in &events {
//!             assert_eq!(event.token(), Token(7));
//!             let mut buf = [0; 64];
//!             match server.read(&mut buf) {
//!                 Ok(n) => got.extend_from_slice(&buf[..n]),
//!                 Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {} // spurious
//!                 Err(e) => return Err(e),
//!             }
//!         }
//!     }
//!     assert_eq!(got, b"ping");
//!     selector.deregister(server.as_raw_fd())?;
//! }
//! # Ok::<(), std::io::Error>(())
//! ```

mod backend;
mod event;
pub mod guide;
mod interest;
mod loom;
mod selector;
mod sys;
mod token;
mod waker;

pub use backend::{Backend, ParseBackendError};
pub use event::{Event, Events, Iter};
pub use interest::Interest;
pub use selector::Selector;
pub use token::Token;
pub use waker::Waker;

/// The number of descriptor *values* `select(2)` can watch: descriptors
/// `0..FD_SETSIZE` (1024 on Linux). The limit is on the value, not the
/// count: a process with 2000 open files cannot `select` on its 2000th,
/// even alone. The select backend refuses larger descriptors at
/// [`Selector::register`].
#[allow(clippy::unnecessary_cast)] // `usize` on Linux, `c_int` on some other Unixes
pub const FD_SETSIZE: usize = libc::FD_SETSIZE as usize;

#[allow(dead_code)]
fn _assert_auto_traits() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Selector>();
    send_sync::<Waker>();
    send_sync::<Events>();
}

/// Locks a mutex, ignoring poisoning: every critical section of the crate leaves its data
/// consistent (a few plain assignments, a push or a retain), so a poisoned lock carries
/// valid data. The crate's one such helper.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
