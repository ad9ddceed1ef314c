//! Completion IO on Linux `io_uring(7)`: one [`Ring`] driven by one thread,
//! operations that own their buffers, batched submission, and provided
//! buffer rings.
//!
//! This is the completion-model sibling of `c10k-selector` (layer 1,
//! synchronous, no futures). A selector says "this descriptor is ready, try
//! now"; a ring says "this operation is done, here is its result and your
//! buffer back". The runtime's completion driver is built on it.
//!
//! | type | role |
//! |---|---|
//! | [`Ring`], [`Builder`] | one io_uring instance: queue [`Op`]s, submit them in one `io_uring_enter`, [`reap`](Ring::reap) [`Completion`]s |
//! | [`Op`] | what to do (accept, recv, send, `send_zc`, read, write, connect, poll, timeout, close, nop) and the buffer it owns |
//! | [`OpId`] | the generation-checked key of an operation in flight: [`cancel`](Ring::cancel), [`detach`](Ring::detach) |
//! | [`UntrackedId`], [`Ring::push_untracked`] | an operation that owns no memory (a multishot receive, an accept, a poll) in flight without an op-table slot: its identity is its SQE's user data |
//! | [`Completion`] | a result, the caller's tag, and whatever the kernel handed back (buffer, accepted socket, peer address, [`ProvidedBuf`]) |
//! | [`BufGroup`], [`ProvidedBuf`] | a ring-mapped provided buffer group (`IORING_REGISTER_PBUF_RING`) and one received buffer of it |
//! | [`Waker`] | wakes the ring's owner out of [`submit_and_wait`](Ring::submit_and_wait) from any thread |
//! | [`Ring::register_files`], [`Op::fixed`] | registered files: operations on a table index, without a descriptor lookup per operation |
//!
//! # One turn of a driver
//!
//! Pushing an [`Op`] only writes a submission queue entry (SQE) into shared
//! memory. One call to [`Ring::submit_and_wait`] per turn hands the kernel
//! everything queued since the last turn and sleeps until at least
//! `min_complete` completions are there or the timeout passes: **one**
//! system call for any number of operations. [`Ring::reap`] then drains the
//! completion queue (CQ) without a system call. If the submission queue (SQ)
//! fills up between two turns, the push flushes it with a non-blocking
//! submit, so pushing never fails for lack of room while the kernel accepts
//! work.
//!
//! # The buffer-ownership protocol
//!
//! The kernel reads and writes user memory *asynchronously*: between the
//! submission of an operation and its completion it may write into a receive
//! buffer at any time, from any CPU. Rust's ownership cannot see that, so
//! this crate keeps it as a protocol, and every part of the crate obeys it:
//!
//! 1. **Push moves ownership into the ring.** [`Ring::push`] moves every
//!    resource the kernel may touch (the data buffer, the sockaddr of
//!    `connect` or of an `accept` that reports the peer, the timespec of a
//!    timeout, the counter of the waker's eventfd read) into the ring's op
//!    table, in the slot named by the returned [`OpId`]. Heap memory does not
//!    move when its owner moves, so the pointers in the SQE stay valid. The
//!    caller keeps only the `OpId` and its own `u64` tag.
//! 2. **Only the final completion frees a slot.** A slot, and everything it
//!    owns, is released when the operation's *final* completion queue entry
//!    (CQE) is reaped, and at no other time: for single-shot operations their
//!    only CQE; for multishot ones (accept, recv, poll) the first CQE without
//!    `IORING_CQE_F_MORE`; for `send_zc` the notification CQE
//!    (`IORING_CQE_F_NOTIF`), which arrives after the kernel has stopped
//!    reading the buffer (or the first CQE, when it has no `F_MORE`). Only
//!    then is the buffer handed back in the [`Completion`].
//! 3. **Cancelling frees nothing.** [`Ring::cancel`] and
//!    [`Ring::cancel_fd`] queue an `IORING_OP_ASYNC_CANCEL`; the target still
//!    has its final completion, with `ECANCELED` or with its real result if
//!    it finished first, and rule 2 applies to it unchanged.
//! 4. **Forgetting is safe; detaching is explicit.** A caller that forgets
//!    an `OpId` (a dropped or leaked future) still receives its completions
//!    under its tag. A caller that will never look at them says
//!    [`Ring::detach`]: from then on the ring swallows the op's completions
//!    and drops what they carry (closes accepted sockets, returns provided
//!    buffers, frees data buffers) when the final one arrives. A dropped
//!    future does `cancel` then `detach`.
//! 5. **Provided buffers belong to the kernel while in their group's ring.**
//!    A buffer of a [`BufGroup`] is the kernel's from the moment it is
//!    published in the group's ring until a CQE names it (`IORING_CQE_F_BUFFER`);
//!    then the [`ProvidedBuf`] in the completion owns it, shows the received
//!    bytes, and publishes it again when dropped, on any thread. The memory
//!    of a group lives as long as its ring *or* any `ProvidedBuf` of it.
//! 6. **Ids are generation-checked.** An [`OpId`] packs a slot index and a
//!    generation into the SQE's user data; a stale id (its op finished, the
//!    slot reused) makes `cancel` and `detach` no-ops, never touching the
//!    newer operation.
//! 7. **Dropping a ring with operations in flight** cancels all of them
//!    (`IORING_ASYNC_CANCEL_ANY`), then waits, at most
//!    [`Builder::drop_timeout`], for their final completions before it frees
//!    anything. If the kernel has not completed them by then (or the ring
//!    can no longer be entered, e.g. it is dropped on a thread other than its
//!    single issuer), the buffers of those operations and the memory of every
//!    buffer group are **leaked**: a leak is bounded, memory the kernel may
//!    still write into is not.
//! 8. **Untracked operations own nothing.** [`Ring::push_untracked`] takes
//!    only operations whose resources are at most a registered buffer group
//!    (which the ring keeps anyway), so they need no slot (rule 1): their
//!    completions are built from the user data, an [`UntrackedId`] packing
//!    kind, group and tag. Rules 2, 3, 5 and 7 hold for them; instead of
//!    rule 6 the caller keeps its ids unique while in flight, and cancels
//!    ([`Ring::cancel_untracked`]) only before it has seen the final
//!    completion (see [`UntrackedId`]).
//! 9. **Descriptors are numbers.** Operations name descriptors by number,
//!    like `c10k-selector`: the number must name the intended file until the
//!    SQE is submitted (the next `submit`). After that the kernel holds its
//!    own reference, so closing the descriptor does *not* stop an operation
//!    on it: cancel it ([`Ring::cancel_fd`]). Registered files
//!    ([`Ring::register_files`], [`Op::fixed`]) hold a reference of the
//!    ring's file table instead; no user memory is involved.
//!
//! # Threads
//!
//! A [`Ring`] is `Send` but not `Sync`, and every method takes `&mut self`:
//! one thread drives it. With `IORING_SETUP_SINGLE_ISSUER` (on by default)
//! the kernel binds the ring to the thread that created it, or, for a ring
//! built [disabled](Builder::disabled), to the thread that calls
//! [`Ring::enable`]; entering it from another thread fails. Other threads
//! reach the owner through a [`Waker`] and return provided buffers by
//! dropping [`ProvidedBuf`]s.
//!
//! # Examples
//!
//! A send and a receive over a connected pair of sockets, in one system call:
//!
//! ```
//! use std::net::{TcpListener, TcpStream};
//! use std::os::fd::AsRawFd;
//! use std::time::Duration;
//! use c10k_uring::{Op, Ring};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let client = TcpStream::connect(listener.local_addr()?)?;
//! let (server, _) = listener.accept()?;
//!
//! let mut ring = Ring::new()?;
//! ring.push(Op::send(client.as_raw_fd(), b"ping".to_vec(), 0), 1)?;
//! ring.push(Op::recv(server.as_raw_fd(), Vec::with_capacity(64)), 2)?;
//!
//! let mut received = None;
//! let mut done = 0;
//! while done < 2 {
//!     ring.submit_and_wait(1, Some(Duration::from_secs(10)))?;
//!     ring.reap(|mut c| {
//!         done += 1;
//!         if c.tag() == 2 {
//!             assert_eq!(c.result().unwrap(), 4);
//!             received = c.take_buf();
//!         }
//!     });
//! }
//! assert_eq!(received.as_deref(), Some(&b"ping"[..]));
//! # Ok::<(), std::io::Error>(())
//! ```

#![deny(unsafe_op_in_unsafe_fn)]

mod buf_group;
mod builder;
mod completion;
mod loom;
mod op;
mod ring;
mod sys;
mod table;
mod untracked;
mod waker;

pub use buf_group::{BufGroup, BufGroupBuilder, ProvidedBuf};
pub use builder::{Builder, SetupFlags};
pub use completion::Completion;
pub use op::{Op, OpId, OpKind, PushError};
pub use ring::Ring;
pub use untracked::UntrackedId;
pub use waker::Waker;

use std::io;
use std::sync::OnceLock;

/// The environment variable that makes every ring setup fail, for tests of
/// fallback paths: when it is set to `1`, [`Builder::build`], [`Ring::new`]
/// and [`is_supported`] return [`ErrorKind::Unsupported`](io::ErrorKind::Unsupported).
/// It is read on every call, so one test can set it and remove it again.
pub const DISABLE_ENV: &str = "C10K_URING_DISABLE";

/// Whether io_uring can be used here, as [`Ring::new`] would find it.
///
/// The probe (building and dropping a tiny ring) runs once per process and
/// is cached; [`DISABLE_ENV`] is checked on every call.
///
/// # Errors
///
/// [`ErrorKind::Unsupported`](io::ErrorKind::Unsupported) when the kernel
/// lacks io_uring (`ENOSYS`), forbids it (`EPERM` from a seccomp profile or
/// `kernel.io_uring_disabled`), lacks a feature this crate needs, or
/// [`DISABLE_ENV`] is set; other errors (e.g. `ENOMEM`) as the kernel
/// reported them.
///
/// # Examples
///
/// ```
/// match c10k_uring::is_supported() {
///     Ok(()) => println!("io_uring is available"),
///     Err(e) => println!("falling back to epoll: {e}"),
/// }
/// ```
pub fn is_supported() -> io::Result<()> {
    builder::check_env()?;
    static PROBE: OnceLock<Result<(), (io::ErrorKind, String)>> = OnceLock::new();
    let probe = PROBE.get_or_init(|| {
        Builder::new()
            .entries(2)
            .build_unchecked()
            .map(drop)
            .map_err(|e| (e.kind(), e.to_string()))
    });
    match probe {
        Ok(()) => Ok(()),
        Err((kind, message)) => Err(io::Error::new(*kind, message.clone())),
    }
}

#[cfg(test)]
mod tests {
    fn _assert_send<T: Send>() {}
    fn _assert_sync<T: Sync>() {}

    #[test]
    fn auto_traits() {
        _assert_send::<super::Ring>();
        _assert_send::<super::Completion>();
        _assert_send::<super::ProvidedBuf>();
        _assert_sync::<super::ProvidedBuf>();
        _assert_send::<super::BufGroup>();
        _assert_sync::<super::BufGroup>();
        _assert_send::<super::Waker>();
        _assert_sync::<super::Waker>();
        _assert_send::<super::Op>();
    }
}
