//! # Guide: select, poll and epoll, and when each is right
//!
//! This chapter has no code of its own: it explains the three readiness
//! system calls behind [`Backend`](crate::Backend), as the tutorials do (the
//! IO-models article and the `selectors` section), and what this crate
//! decided where they differ. Every example runs (`cargo test --doc`).
//!
//! ## 1. The problem
//!
//! A server with 10 000 connections cannot afford a blocked thread per
//! connection (stack memory, context switches), and cannot busy-poll 10 000
//! non-blocking sockets either. *IO multiplexing* asks the kernel one
//! question for all of them: "which of these descriptors can I read or write
//! now without blocking?" The thread sleeps in that one call and wakes with
//! a list of ready descriptors. The three Unix answers differ in how the
//! question is passed and what it costs.
//!
//! ## 2. `select(2)`: three bitmaps
//!
//! The caller fills up to three `fd_set` bitmaps (read, write, exceptional)
//! with one bit per descriptor *value*, and passes `nfds`, the highest
//! descriptor plus one. The kernel copies the bitmaps in, checks every
//! descriptor below `nfds`, and overwrites the bitmaps with the ready
//! subset, which the caller scans bit by bit.
//!
//! - **The limit is on the descriptor value, not the count.** An `fd_set`
//!   has [`FD_SETSIZE`](crate::FD_SETSIZE) bits (1024 on Linux), so
//!   descriptor 1024 cannot be watched even if it is the only one. A
//!   process with many files open therefore cannot use select for its new
//!   sockets at all. This crate checks at
//!   [`register`](crate::Selector::register) time and fails with
//!   `InvalidInput` naming the descriptor and suggesting poll or epoll.
//! - **Cost: O(highest descriptor) per call**, twice (kernel and caller),
//!   plus rebuilding the bitmaps every time because the kernel overwrote
//!   them.
//! - **Level-triggered only**, and it cannot tell a hang-up or an error from
//!   readiness: both just make the socket readable (and writable). The next
//!   `read` tells the truth (`Ok(0)` or an error).
//! - Its one virtue is portability: every Unix and Windows have it.
//!
//! ## 3. `poll(2)`: an array of `pollfd`
//!
//! The caller passes an array of `{fd, events, revents}`. The kernel copies
//! the whole array in, polls every entry, and writes `revents`.
//!
//! - **No limit on descriptor values** and the input (`events`) is not
//!   overwritten, so the array can be reused across calls.
//! - **Cost: O(registered) per call**: the array is copied into the kernel,
//!   every descriptor's `poll` method runs, and the caller scans every
//!   `revents`, even if one descriptor in ten thousand is ready.
//! - Hang-ups and errors are explicit (`POLLHUP`, `POLLERR`, `POLLRDHUP` on
//!   Linux), and a descriptor that is not open is reported as `POLLNVAL`
//!   instead of failing the whole call.
//!
//! ## 4. `epoll(7)`: an interest list in the kernel
//!
//! `epoll_create` makes a kernel object holding the *interest list*.
//! `epoll_ctl(ADD / MOD / DEL)` changes it, one system call per change.
//! Each watched file gets a callback on its wait queue; when the file
//! becomes ready, the callback puts it on the epoll instance's *ready
//! list*. `epoll_wait` only takes entries off the ready list.
//!
//! - **Cost: O(ready) per call**, independent of how many idle connections
//!   are registered: this is what makes 10 000 mostly idle connections
//!   cheap. The price moves to registration: every interest change is a
//!   system call, where select and poll change a bit or a field in memory.
//! - **Level- or edge-triggered** (`EPOLLET`, below).
//! - The interest list is keyed by the open *file*, not the descriptor
//!   number: closing a descriptor removes it only once every duplicate is
//!   closed, and the kernel does it silently.
//! - `epoll_wait` takes whole milliseconds. This crate sends a timeout with a
//!   sub-millisecond part through `epoll_pwait2` (Linux 5.11, nanoseconds)
//!   instead; on older kernels it rounds *up* (a 0.5 ms timeout waits 1 ms,
//!   never 0 ms, which would spin).
//!
//! ## 5. Summary, and when each is right
//!
//! | | select | poll | epoll |
//! |---|---|---|---|
//! | per call | O(highest fd) | O(registered) | O(ready) |
//! | registering | set a bit | add an array entry | one system call |
//! | limit | fd value < 1024 | none | none |
//! | modes | level | level | level, edge |
//! | hang-up / error | looks like readiness | `POLLHUP` / `POLLERR` | `EPOLLHUP` / `EPOLLERR` |
//! | closed descriptor | `EBADF` for the whole call | `POLLNVAL` for that entry | silently dropped |
//!
//! - **epoll** ([`Selector::new`](crate::Selector::new) picks it on Linux):
//!   many connections, most of them idle at any moment: the C10k case.
//! - **poll**: a few descriptors, or sets where most descriptors are ready on
//!   each call (the O(n) scan is then not wasted, and no `epoll_ctl` is paid
//!   per change), short-lived sets, or platforms without epoll.
//! - **select**: portability and teaching; only with small descriptor values.
//!
//! The benchmark `selector_scaling` (see `BENCHMARKS.md`) measures one call
//! with N idle sockets and one ready: select and poll grow linearly with N,
//! epoll stays flat.
//!
//! ## 6. Level- and edge-triggered
//!
//! *Level-triggered* (the default everywhere): a descriptor is reported by
//! every call while it is ready. Reading only part of the data is fine; the
//! rest is reported next time.
//!
//! *Edge-triggered* ([`Interest::edge`](crate::Interest::edge), epoll only):
//! a descriptor is reported when it *becomes* ready, once. If the handler
//! reads 4 KiB out of 64 KiB and returns, no new event comes until the peer
//! sends more, and the 60 KiB left wait forever. So in edge mode a handler
//! **must read (or write) until `WouldBlock`**. In exchange, a descriptor
//! that stays ready but that nobody wants to read right now (its task is
//! busy) does not wake the selector on every call, which is why runtimes
//! like tokio use edge mode.
//!
//! This crate does **not** emulate edge mode on select and poll: registering
//! edge interest there fails with `Unsupported` (check
//! [`Backend::supports_edge`](crate::Backend::supports_edge)). An emulation
//! can only report "once until the readiness drops", but the selector only
//! sees readiness when it polls, so data arriving after the handler drained
//! the socket and before the next poll would never be reported: a lost
//! wake-up, worse than either real mode. Use level-triggered interest and
//! [`reregister`](crate::Selector::reregister) to stop asking for an event
//! you cannot handle yet.
//!
//! ```
//! use std::io::{self, Read, Write};
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
//! let selector = Selector::with_backend(Backend::Epoll)?;
//! selector.register(server.as_raw_fd(), Token(0), Interest::READABLE.edge())?;
//! client.write_all(&[7; 10_000])?;
//!
//! let mut events = Events::with_capacity(8);
//! let mut total = 0;
//! while total < 10_000 {
//!     selector.select(&mut events, Some(Duration::from_secs(10)))?;
//!     // Edge mode: drain until WouldBlock, or the rest is never reported.
//!     let mut buf = [0; 1024];
//!     loop {
//!         match server.read(&mut buf) {
//!             Ok(0) => break,
//!             Ok(n) => total += n,
//!             Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
//!             Err(e) => return Err(e),
//!         }
//!     }
//! }
//! assert_eq!(total, 10_000);
//!
//! // select and poll refuse edge mode instead of emulating it.
//! let poll = Selector::with_backend(Backend::Poll)?;
//! let err = poll.register(server.as_raw_fd(), Token(0), Interest::READABLE.edge()).unwrap_err();
//! assert_eq!(err.kind(), io::ErrorKind::Unsupported);
//! # Ok::<(), io::Error>(())
//! ```
//!
//! ## 7. Spurious events and `WouldBlock`
//!
//! An event is a hint. Between the kernel's answer and the handler's `read`,
//! another thread may have read the data, or (for UDP) the kernel may have
//! dropped a datagram with a bad checksum; Linux documents that `select` can
//! report a socket readable that then blocks. Therefore every registered
//! descriptor is non-blocking, and `WouldBlock` from a read or write is not
//! an error: it means "wait for the next event". Loops that accept, read or
//! write run until `WouldBlock` (mandatory in edge mode, and cheaper in
//! level mode than going back to the selector for each chunk).
//!
//! ## 8. The same program on each backend
//!
//! The tutorials' `selectors` server, reduced to its core: a table keyed by
//! token, an accept handler and a read handler that upper-cases. It runs
//! unchanged on all three backends; only [`with_backend`](crate::Selector::with_backend)
//! differs. (A complete version, with partial writes and error handling, is
//! the `select_echo` example of the `c10k` crate.)
//!
//! ```
//! use std::collections::HashMap;
//! use std::io::{self, Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use std::os::fd::AsRawFd;
//! use std::time::Duration;
//! use c10k_selector::{Backend, Events, Interest, Selector, Token};
//!
//! fn round_trip(backend: Backend) -> io::Result<Vec<u8>> {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     listener.set_nonblocking(true)?;
//!     let selector = Selector::with_backend(backend)?;
//!     selector.register(listener.as_raw_fd(), Token(0), Interest::READABLE)?;
//!
//!     let mut client = TcpStream::connect(listener.local_addr()?)?;
//!     client.write_all(b"hello")?;
//!
//!     let mut conns: HashMap<Token, TcpStream> = HashMap::new();
//!     let mut events = Events::with_capacity(64);
//!     let mut echoed = 0;
//!     while echoed < 5 {
//!         selector.select(&mut events, Some(Duration::from_secs(10)))?;
//!         for event in &events {
//!             if event.token() == Token(0) {
//!                 // accept handler
//!                 while let Ok((conn, _)) = listener.accept() {
//!                     conn.set_nonblocking(true)?;
//!                     let token = Token(conns.len() + 1);
//!                     selector.register(conn.as_raw_fd(), token, Interest::READABLE)?;
//!                     conns.insert(token, conn);
//!                 }
//!             } else if let Some(conn) = conns.get_mut(&event.token()) {
//!                 // read handler (a 5-byte reply always fits the send buffer)
//!                 let mut buf = [0; 1024];
//!                 match conn.read(&mut buf) {
//!                     Ok(n) => {
//!                         conn.write_all(&buf[..n].to_ascii_uppercase())?;
//!                         echoed += n;
//!                     }
//!                     Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
//!                     Err(e) => return Err(e),
//!                 }
//!             }
//!         }
//!     }
//!     for conn in conns.values() {
//!         selector.deregister(conn.as_raw_fd())?;
//!     }
//!     let mut reply = [0; 5];
//!     client.read_exact(&mut reply)?;
//!     Ok(reply.to_vec())
//! }
//!
//! for backend in Backend::ALL {
//!     assert_eq!(round_trip(backend)?, b"HELLO");
//! }
//! # Ok::<(), io::Error>(())
//! ```
//!
//! ## 9. This crate's decisions where the kernels differ
//!
//! - **Descriptors ≥ `FD_SETSIZE` on select**: refused at `register` with
//!   `InvalidInput` (the message names the descriptor and suggests poll or
//!   epoll), so the call that can be fixed is the one that fails, rather
//!   than every later wait.
//!
//!   ```
//!   use std::net::UdpSocket;
//!   use std::os::fd::AsRawFd;
//!   use c10k_selector::{Backend, Interest, Selector, Token, FD_SETSIZE};
//!
//!   let socket = UdpSocket::bind("127.0.0.1:0")?;
//!   // The same socket under a descriptor value above the limit.
//!   let high = rustix::io::fcntl_dupfd_cloexec(&socket, FD_SETSIZE as i32 + 10)?;
//!   let select = Selector::with_backend(Backend::Select)?;
//!   let err = select.register(high.as_raw_fd(), Token(0), Interest::READABLE).unwrap_err();
//!   assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
//!   assert!(err.to_string().contains(&high.as_raw_fd().to_string()));
//!   // poll and epoll have no such limit.
//!   Selector::with_backend(Backend::Poll)?.register(high.as_raw_fd(), Token(0), Interest::READABLE)?;
//!   # Ok::<(), std::io::Error>(())
//!   ```
//!
//! - **A descriptor closed while registered**: select (after `EBADF`, by
//!   probing each registered descriptor with `fcntl(F_GETFD)`) and poll
//!   (`POLLNVAL`) report an error event for its token on every call until it
//!   is deregistered; the wait itself neither fails nor spins silently.
//!   epoll forgets it (its `deregister` then returns `NotFound`).
//! - **Changes from other threads**: `register`, `reregister` and
//!   `deregister` may run while another thread waits; select and poll wake
//!   the wait through the selector's internal `eventfd` (a pipe off Linux),
//!   rebuild their set and wait for the remaining time.
//! - **Signals**: `EINTR` is retried inside [`select`](crate::Selector::select)
//!   with the remaining timeout.
//! - **Wakers**: a [`Waker`](crate::Waker) writes the same internal
//!   descriptor, which the selector drains itself; many wakes coalesce into
//!   one event.
