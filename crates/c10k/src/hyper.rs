//! hyper 1.x on c10k (feature `hyper`): the three pieces hyper asks of a runtime.
//!
//! hyper is runtime-agnostic: it speaks HTTP/1 and HTTP/2 over any transport that
//! implements its own [`hyper::rt::Read`] and [`hyper::rt::Write`], spawns HTTP/2's
//! background work on an [`hyper::rt::Executor`], and arms its timeouts (header read
//! timeout, keep-alive pings) on a [`hyper::rt::Timer`]. This module provides them for c10k:
//!
//! | hyper asks for | c10k gives | built on |
//! |---|---|---|
//! | `rt::Read + rt::Write` | [`Io<T>`] | any `futures_io::AsyncRead + AsyncWrite`: c10k's [`TcpStream`](crate::net::TcpStream) and [`UnixStream`](crate::net::UnixStream), a TLS stream of `futures-rustls` over one, … |
//! | `rt::Executor` | [`Executor`] | [`spawn`](crate::spawn): detached tasks on the current runtime |
//! | `rt::Timer` | [`Timer`] | [`time::sleep_until`]: c10k's timing wheel (paused clock included) |
//!
//! They work on every IO backend (select, poll, epoll, io_uring) and both schedulers, since
//! they only use the runtime's public surface.
//!
//! # Reading into hyper's buffer
//!
//! hyper hands [`Read::poll_read`](hyper::rt::Read::poll_read) a cursor over memory that
//! may be uninitialised (8 KiB or more: hyper's read buffer), while `futures-io` readers
//! take `&mut [u8]`. [`Io`] zero-fills part of the cursor's free space before each read
//! (hyper's `ReadBufCursor::initialize_unfilled_to`), hands that part to the reader, then
//! records how many bytes the reader filled.
//!
//! How much it offers adapts, as hyper's own read strategy does: it starts at
//! [`MIN_READ`], doubles each time a read fills what was offered (a large body arriving),
//! and halves, down to [`MIN_READ`] again, when a read used less than an eighth. Small
//! requests (a `GET` of a few hundred bytes) thus cost a 2 KiB `memset`, not hyper's whole
//! buffer, on every poll, including the polls that find nothing to read. The cost of the
//! whole adapter is measured in `BENCHMARKS.md` (§ hyper on c10k).
//!
//! # Writing
//!
//! [`Io`] reports `is_write_vectored() == false`, so hyper *flattens* a response (head and
//! body) into one buffer and sends it with one `write`. That is what small responses want
//! (`/plaintext`: one system call per response), and it is the only efficient choice for a
//! TLS stream, whose `poll_write_vectored` writes one slice at a time.
//!
//! # Example: an HTTP/1 server and a client on one runtime
//!
//! ```
//! use std::convert::Infallible;
//! use c10k::hyper::{Executor, Io, Timer};
//! use c10k::net::{TcpListener, TcpStream};
//! use http_body_util::{BodyExt, Full};
//! use hyper::body::Bytes;
//!
//! # fn main() -> std::io::Result<()> {
//! c10k::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let server = c10k::spawn(async move {
//!         let (stream, _) = listener.accept().await?;
//!         let hello = hyper::service::service_fn(|_req| async {
//!             Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from("Hello, World!"))))
//!         });
//!         hyper::server::conn::http1::Builder::new()
//!             .timer(Timer)
//!             .serve_connection(Io::new(stream), hello)
//!             .await
//!             .map_err(std::io::Error::other)
//!     });
//!
//!     let stream = TcpStream::connect(addr).await?;
//!     let (mut sender, conn) = hyper::client::conn::http1::handshake(Io::new(stream))
//!         .await
//!         .map_err(std::io::Error::other)?;
//!     Executor.execute_detached(conn); // drives the connection
//!     let req = hyper::Request::get("/plaintext")
//!         .header("host", "localhost")
//!         .body(http_body_util::Empty::<Bytes>::new())
//!         .map_err(std::io::Error::other)?;
//!     let resp = sender.send_request(req).await.map_err(std::io::Error::other)?;
//!     let body = resp.into_body().collect().await.map_err(std::io::Error::other)?;
//!     assert_eq!(body.to_bytes(), "Hello, World!");
//!     drop(sender); // the client closes; the server's connection ends
//!     server.await.expect("the server task panicked")
//! })
//! # }
//! ```
#![allow(unsafe_code)] // one block, in `Io::poll_read`, argued there.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::ReadBufCursor;

use crate::runtime::time;

pin_project_lite::pin_project! {
    /// A `futures-io` stream seen as hyper's transport: [`hyper::rt::Read`] and
    /// [`hyper::rt::Write`] for any [`AsyncRead`] + [`AsyncWrite`].
    ///
    /// Wrap c10k's [`TcpStream`](crate::net::TcpStream) or
    /// [`UnixStream`](crate::net::UnixStream) (or a `&` of one), or a TLS stream built on one
    /// (`futures_rustls::server::TlsStream<TcpStream>`), and hand it to hyper's
    /// `serve_connection` or `handshake`. Shutting hyper's side down
    /// ([`poll_shutdown`](hyper::rt::Write::poll_shutdown)) is the stream's
    /// [`poll_close`](AsyncWrite::poll_close): for a c10k socket, a shutdown of its writing
    /// side; for TLS, a `close_notify` first.
    ///
    /// The module docs say how reads fill hyper's buffer and why writes are not vectored.
    pub struct Io<T> {
        #[pin]
        inner: T,
        // Bytes offered to the next read (see "Reading into hyper's buffer").
        read_size: usize,
    }
}

/// The least (and first) number of bytes [`Io`] offers a read.
pub const MIN_READ: usize = 2 * 1024;

impl<T> Io<T> {
    /// Wraps a stream.
    pub fn new(inner: T) -> Io<T> {
        Io {
            inner,
            read_size: MIN_READ,
        }
    }

    /// The stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The stream, mutably (reading or writing through it bypasses hyper's buffers).
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream (after an HTTP upgrade, say).
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T> fmt::Debug for Io<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Io")
            .field("inner", &std::any::type_name::<T>())
            .finish()
    }
}

impl<T: AsyncRead> hyper::rt::Read for Io<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        // Zero-filled (only the part not yet initialised), so a `&mut [u8]` reader may use it.
        let offer = (*this.read_size).min(buf.remaining());
        let free = buf.initialize_unfilled_to(offer);
        let len = free.len();
        let n = match this.inner.poll_read(cx, free) {
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        if n > len {
            // `advance` trusts its count: never pass on a reader's impossible answer.
            return Poll::Ready(Err(io::Error::other(format!(
                "a reader claimed {n} bytes read into a {len}-byte buffer"
            ))));
        }
        if n == len && len > 0 {
            *this.read_size = this.read_size.saturating_mul(2);
        } else if n < *this.read_size / 8 {
            *this.read_size = (*this.read_size / 2).max(MIN_READ);
        }
        // SAFETY: `advance(n)` requires the next `n` bytes of the cursor to be initialised.
        // `initialize_unfilled_to(offer)` initialised the first `len` free bytes just above,
        // and `n <= len` was checked: the `n` bytes the reader reports are among them.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite> hyper::rt::Write for Io<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_close(cx)
    }

    fn is_write_vectored(&self) -> bool {
        // See "Writing" in the module docs.
        false
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }
}

/// hyper's executor on c10k: each future hyper hands over (an HTTP/2 connection's
/// background work, a stream of it) becomes a detached task of the current runtime.
///
/// Give it to hyper's HTTP/2 builders (`hyper::server::conn::http2::Builder::new(Executor)`,
/// `hyper::client::conn::http2::Builder::new(Executor)`). HTTP/1 needs none.
///
/// # Panics
///
/// [`execute`](hyper::rt::Executor::execute) panics outside a c10k runtime, as
/// [`spawn`](crate::spawn) does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Executor;

impl Executor {
    /// Spawns `future` as a detached task of the current runtime (what hyper's
    /// [`execute`](hyper::rt::Executor::execute) does, callable without naming the trait),
    /// e.g. the connection future of `hyper::client::conn::http1::handshake`.
    ///
    /// # Panics
    ///
    /// Outside a c10k runtime.
    pub fn execute_detached<F>(&self, future: F)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // Dropping a JoinHandle detaches the task: it runs to completion on its own.
        drop(crate::spawn(future));
    }
}

impl<F> hyper::rt::Executor<F> for Executor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        self.execute_detached(future);
    }
}

/// hyper's timer on c10k: its sleeps are c10k [`Sleep`](crate::time::Sleep)s on the
/// runtime's timing wheel, and its clock is c10k's (so a paused clock,
/// [`time::pause`], pauses hyper's timeouts too).
///
/// Give it to hyper's builders (`.timer(Timer)`): hyper needs a timer for
/// `header_read_timeout` (on by default for HTTP/1 servers: 30 s), HTTP/2 keep-alive pings
/// and the client's pool timeouts. [`reset`](hyper::rt::Timer::reset) moves the existing
/// timer rather than allocating a new one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timer;

/// A c10k [`Sleep`](crate::time::Sleep) as hyper's [`Sleep`](hyper::rt::Sleep).
struct HyperSleep(time::Sleep);

impl Future for HyperSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl hyper::rt::Sleep for HyperSleep {}

impl hyper::rt::Timer for Timer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(time::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(time::sleep_until(time::Instant::from_std(
            deadline,
        ))))
    }

    fn now(&self) -> Instant {
        time::Instant::now().into_std()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(ours) => ours
                .get_mut()
                .0
                .reset(time::Instant::from_std(new_deadline)),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

#[cfg(test)]
mod tests {
    fn _assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn the_pieces_cross_threads() {
        _assert_send_sync::<super::Executor>();
        _assert_send_sync::<super::Timer>();
        _assert_send_sync::<super::HyperSleep>();
        _assert_send_sync::<super::Io<crate::net::TcpStream>>();
    }
}
