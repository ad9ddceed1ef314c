//! Async sockets: TCP, UDP and Unix domain streams, on the runtime's IO driver.
//!
//! What asyncio spells `loop.sock_accept`, `sock_recv`, `sock_sendall` and `sock_connect`
//! on a non-blocking socket, c10k spells as methods of socket types:
//!
//! | asyncio | c10k |
//! |---|---|
//! | `sock.bind(); sock.listen()` | [`TcpListener::bind`] |
//! | `await loop.sock_accept(sock)` | [`TcpListener::accept`] |
//! | `await loop.sock_connect(sock, addr)` | [`TcpStream::connect`] |
//! | `await loop.sock_recv(sock, n)` | [`TcpStream::read`] |
//! | `await loop.sock_sendall(sock, data)` | [`TcpStream::write_all`] |
//! | `await loop.getaddrinfo(host, port)` | [`lookup_host`] |
//!
//! # How a socket works
//!
//! Every socket is created non-blocking and close-on-exec in one system call
//! (`SOCK_NONBLOCK | SOCK_CLOEXEC`, `accept4`), then registered with the IO driver of the
//! runtime (of the worker, on a multi-thread runtime) that creates it, through a
//! [`Registration`](crate::driver::Registration). An operation is:
//!
//! 1. wait until the driver reports readiness for the direction (the task sleeps);
//! 2. try the system call;
//! 3. on `WouldBlock`, forget the readiness and go back to 1.
//!
//! A stream read that returns fewer bytes than asked has drained the socket, so readiness is
//! forgotten at once (the *short-read rule*, as tokio): an echo server makes 2 system calls
//! per request rather than 3. All operations take `&self`, and one task may read while
//! another writes (the driver keeps a waker per direction).
//!
//! # Reading and writing APIs
//!
//! Each stream has, from the lowest level up: the readiness triad
//! (`readable().await` / `poll_read_ready(cx)` / `try_read(buf)`, and the writing twins);
//! `async fn read`, `read_exact`, `write`, `write_all`, `peek` on `&self`; and
//! implementations of `futures_io::AsyncRead` / `AsyncWrite`, for
//! `futures_util::io::{AsyncReadExt, AsyncWriteExt}`, `copy`, `BufReader` and friends
//! (`poll_close` shuts the writing side down).
//!
//! # Drop
//!
//! Dropping a socket deregisters it from the driver, then closes it. A task aborted while
//! waiting in `read` drops its future, and with it nothing but its waker: the socket's
//! owner decides when the registration goes.
//!
//! # Descriptor exhaustion
//!
//! [`TcpListener::accept`] and [`UnixListener::accept`] back off on `EMFILE`/`ENFILE`
//! instead of spinning (see [`TcpListener`]).

mod accept;
mod addr;
mod io;
pub(crate) mod split;
mod stream;
mod sys;
pub mod tcp;
mod udp;
pub mod unix;

pub use addr::{lookup_host, ToSocketAddrs};
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixListener, UnixStream};
