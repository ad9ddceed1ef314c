//! The surface [`TcpStream`](super::TcpStream) and [`UnixStream`](super::UnixStream) share
//! (and, below, the little their listeners share),
//! generated for both by one macro (as `split.rs` does for their halves), so that the two
//! stay identical: shutdown and `SO_ERROR`, the readiness triad (`readable`,
//! `poll_read_ready`, `try_read` and the writing twins), the `async fn`s on `&self`
//! (`read`, `read_exact`, `peek`, `write`, `write_all`), `split`/`into_split`, the
//! `futures-io` traits for the stream and for `&stream`, and `AsFd`/`AsRawFd`.
//!
//! What differs stays in each type's file: connecting, addresses, socket options, `Debug`.
//! The invoking file must have in scope what the generated code names: `io`, `Shutdown`,
//! `Context`, `Poll`, `Pin`, `AsyncRead`, `AsyncWrite`, `AsFd`, `AsRawFd`, `BorrowedFd`,
//! `RawFd`, and its own split halves (`ReadHalf`, `WriteHalf`, `OwnedReadHalf`,
//! `OwnedWriteHalf`). The type must hold its socket in a field `io: PollIo<_>`.
//!
//! `$setup` is the hidden start of every doc example: it imports the type and binds a
//! connected pair `client` and `server` inside `c10k_runtime::run(async { ... })`.

macro_rules! stream_surface {
    (@io $T:ty) => {
        impl AsyncRead for $T {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.poll_read_priv(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [io::IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                self.poll_read_vectored_priv(cx, bufs)
            }
        }

        impl AsyncWrite for $T {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.poll_write_vectored_priv(cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                // On the readiness backends writes go straight to the kernel and this is
                // ready at once; on the ring it waits until the buffered bytes are sent.
                self.poll_flush_priv(cx)
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.poll_close_priv(cx)
            }
        }
    };
    ($Stream:ident, $setup:literal) => {
        impl $Stream {
            /// Shuts down the reading side, the writing side (the peer reads end of file once the
            /// sent data is consumed) or both. The descriptor stays open until drop.
            ///
            /// # Errors
            ///
            /// `shutdown(2)` errors (`NotConnected`).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            ///     client.write_all(b"last words").await?;
            ///     client.shutdown(std::net::Shutdown::Write)?;
            ///     let mut got = Vec::new();
            ///     let mut buf = [0u8; 64];
            ///     loop {
            ///         match server.read(&mut buf).await? {
            ///             0 => break, // end of file after the data
            ///             n => got.extend_from_slice(&buf[..n]),
            ///         }
            ///     }
            ///     assert_eq!(got, b"last words");
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
                self.io.shutdown(how)
            }

            /// Takes the pending socket error (`SO_ERROR`), if any.
            ///
            /// # Errors
            ///
            /// `getsockopt` errors.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            ///     assert!(client.take_error()?.is_none());
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub fn take_error(&self) -> io::Result<Option<io::Error>> {
                self.io.get_ref().take_error()
            }

            /// Waits until the stream is (probably) readable: data, end of file or an error.
            ///
            /// # Errors
            ///
            /// The runtime shut down.
            ///
            /// Readiness may be spurious: after `readable` returns, [`try_read`](Self::try_read) may
            /// still fail with `WouldBlock`; loop until it succeeds.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            ///     client.write_all(b"ready").await?;
            ///     let mut buf = [0u8; 16];
            ///     let n = loop {
            ///         server.readable().await?;
            ///         match server.try_read(&mut buf) {
            ///             Ok(n) => break n,
            ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            ///             Err(e) => return Err(e),
            ///         }
            ///     };
            ///     assert!(n > 0 && b"ready".starts_with(&buf[..n]));
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn readable(&self) -> io::Result<()> {
                self.io.readable().await
            }

            /// Waits until the stream is (probably) writable.
            ///
            /// # Errors
            ///
            /// The runtime shut down.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            ///     let n = loop {
            ///         client.writable().await?;
            ///         match client.try_write(b"hello") {
            ///             Ok(n) => break n,
            ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            ///             Err(e) => return Err(e),
            ///         }
            ///     };
            ///     assert!(n > 0);
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn writable(&self) -> io::Result<()> {
                self.io.writable().await
            }

            /// `Ready` if the stream may be readable, else stores the waker (only the last reader's
            /// waker is kept) and returns `Pending`.
            ///
            /// # Errors
            ///
            /// The runtime shut down.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            ///     client.write_all(b"x").await?;
            ///     std::future::poll_fn(|cx| server.poll_read_ready(cx)).await?;
            ///     let mut buf = [0u8; 1];
            ///     server.read_exact(&mut buf).await?;
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.io.poll_read_ready(cx)
            }

            /// The writing twin of [`poll_read_ready`](Self::poll_read_ready).
            ///
            /// # Errors
            ///
            /// The runtime shut down.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            ///     std::future::poll_fn(|cx| client.poll_write_ready(cx)).await?;
            ///     client.write_all(b"x").await?;
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.io.poll_write_ready(cx)
            }

            /// Reads once if the stream is known readable; never waits. A read shorter than `buf`
            /// clears the readiness (the short-read rule), so the next attempt waits for new data
            /// instead of costing a system call.
            ///
            /// # Errors
            ///
            /// `WouldBlock` if no readiness is known or the socket had no data (readiness is then
            /// cleared, so the next [`readable`](Self::readable) waits for new data); other
            /// `read(2)` errors.
            ///
            /// Draining a socket until `WouldBlock`, as an edge-triggered loop does:
            ///
            /// ```
            #[doc = $setup]
            ///     client.write_all(&[7u8; 1000]).await?;
            ///     let mut total = 0;
            ///     let mut buf = [0u8; 256];
            ///     while total < 1000 {
            ///         server.readable().await?;
            ///         loop {
            ///             match server.try_read(&mut buf) {
            ///                 Ok(0) => unreachable!("the client has not closed"),
            ///                 Ok(n) => total += n,
            ///                 Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break, // drained
            ///                 Err(e) => return Err(e),
            ///             }
            ///         }
            ///     }
            ///     assert_eq!(total, 1000);
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
                self.io.try_read(buf)
            }

            /// Writes once if the stream is known writable; never waits.
            ///
            /// # Errors
            ///
            /// `WouldBlock` when the send buffer is full (or no readiness is known); other `write(2)`
            /// errors (`BrokenPipe` after the peer closed).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            ///     client.writable().await?;
            ///     match client.try_write(b"ping") {
            ///         Ok(n) => assert!(n > 0),
            ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {} // full: wait and retry
            ///         Err(e) => return Err(e),
            ///     }
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
                self.io.try_write(buf)
            }

            /// Reads what is available (at least one byte, or 0 at end of file), waiting for data.
            ///
            /// Cancel-safe: dropping the future loses no data.
            ///
            /// # Errors
            ///
            /// `read(2)` errors (e.g. `ConnectionReset`), or the runtime's shutdown.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            ///     client.write_all(b"abc").await?;
            ///     drop(client);
            ///     let mut buf = [0u8; 8];
            ///     let mut got = Vec::new();
            ///     loop {
            ///         let n = server.read(&mut buf).await?;
            ///         if n == 0 {
            ///             break; // end of file
            ///         }
            ///         got.extend_from_slice(&buf[..n]);
            ///     }
            ///     assert_eq!(got, b"abc");
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
                std::future::poll_fn(|cx| self.io.poll_read(cx, buf)).await
            }

            /// Reads exactly `buf.len()` bytes.
            ///
            /// Not cancel-safe: bytes read before cancellation are lost.
            ///
            /// # Errors
            ///
            /// `UnexpectedEof` if the peer closes first; otherwise as [`read`](Self::read).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            ///     client.write_all(b"12").await?;
            ///     drop(client);
            ///     let mut buf = [0u8; 4];
            ///     let err = server.read_exact(&mut buf).await.unwrap_err();
            ///     assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn read_exact(&self, mut buf: &mut [u8]) -> io::Result<()> {
                while !buf.is_empty() {
                    match self.read(buf).await? {
                        0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                        n => buf = &mut buf[n..],
                    }
                }
                Ok(())
            }

            /// Receives data without removing it from the socket's queue (`MSG_PEEK`).
            ///
            /// # Errors
            ///
            /// As [`read`](Self::read).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            ///     client.write_all(b"GET").await?;
            ///     let mut buf = [0u8; 3];
            ///     let mut n = 0;
            ///     while n < 3 {
            ///         n = server.peek(&mut buf).await?; // data stays queued
            ///     }
            ///     server.read_exact(&mut buf).await?; // the same bytes again
            ///     assert_eq!(&buf, b"GET");
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
                // `recv(MSG_PEEK)` (std's `UnixStream::peek` is unstable), or on the ring a copy
                // of the received buffers that leaves them queued.
                std::future::poll_fn(|cx| self.io.poll_peek(cx, buf)).await
            }

            /// Writes some of `buf` (at least one byte unless `buf` is empty), waiting for room.
            ///
            /// # Errors
            ///
            /// `write(2)` errors (`BrokenPipe`, `ConnectionReset`), or the runtime's shutdown.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            ///     let n = client.write(b"partial is fine").await?;
            ///     assert!(n > 0);
            ///     let mut buf = vec![0u8; n];
            ///     server.read_exact(&mut buf).await?;
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
                self.io.write(buf).await
            }

            /// Writes all of `buf` (asyncio's `sock_sendall`).
            ///
            /// Not cancel-safe: how much was written before cancellation is not reported.
            ///
            /// # Errors
            ///
            /// `WriteZero` if the socket accepts no byte; otherwise as [`write`](Self::write).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            ///     let big = vec![1u8; 256 * 1024]; // more than one send buffer
            ///     let writer = async {
            ///         client.write_all(&big).await?;
            ///         client.shutdown(std::net::Shutdown::Write)
            ///     };
            ///     let reader = async {
            ///         let mut buf = vec![0u8; big.len()];
            ///         server.read_exact(&mut buf).await.map(|()| buf)
            ///     };
            ///     let (w, r) = futures_util::join!(writer, reader);
            ///     w?;
            ///     assert_eq!(r?, big);
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
                while !buf.is_empty() {
                    match self.write(buf).await? {
                        0 => return Err(io::ErrorKind::WriteZero.into()),
                        n => buf = &buf[n..],
                    }
                }
                Ok(())
            }

            /// Reads into the spare capacity of `buf` (the bytes after `buf.len()`, up to
            /// `buf.capacity()`), appends what it read, and hands `buf` back with the count:
            /// the owned-buffer form of `read`, for code that must not lend a slice across
            /// an await. Returns `Ok(0)` at end of stream (or if `buf` has no spare capacity).
            ///
            /// Cancel-safe by construction: dropping the future loses no data (on the
            /// io_uring backend, received bytes stay in the runtime's buffers until a read
            /// copies them; on the readiness backends, nothing is read before the copy).
            ///
            /// # Errors
            ///
            /// As `read`; `buf` comes back in every case.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            ///     client.write_all(b"hello").await?;
            ///     let (res, buf) = server.read_owned(Vec::with_capacity(64)).await;
            ///     let n = res?;
            ///     assert_eq!(n, buf.len()); // appended after the (empty) initial contents
            ///     assert!(n > 0 && b"hello".starts_with(&buf));
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn read_owned(&self, buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
                self.io.read_owned(buf).await
            }

            /// Writes all of `buf` and hands it back: the owned-buffer form of `write_all`.
            /// On the io_uring backend the buffer itself is handed to the kernel (no copy),
            /// after everything written before it; if the future is dropped, the runtime
            /// keeps the buffer until the kernel is done with it, then frees it (cancel-safe
            /// by construction: the kernel never reads freed memory).
            ///
            /// # Errors
            ///
            /// As `write_all`; `buf` comes back in every case.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            ///     let (res, buf) = client.write_all_owned(b"ping".to_vec()).await;
            ///     res?;
            ///     assert_eq!(buf, b"ping");
            ///     let mut got = [0u8; 4];
            ///     server.read_exact(&mut got).await?;
            ///     assert_eq!(&got, b"ping");
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn write_all_owned(&self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
                self.io.write_all_owned(buf).await
            }

            /// Splits into a reading and a writing half borrowing the stream, to read and write
            /// concurrently in one task (e.g. with `join`). No allocation, no lock.
            ///
            /// With `futures_util::io::AsyncReadExt` in scope, `stream.split()` resolves to that
            /// trait's by-value `split` (halves behind a lock) before this method; write
            /// `Self::split(&mut stream)` to be explicit.
            ///
            /// # Examples
            ///
            /// An echo loop reading and writing concurrently in one task:
            ///
            /// ```
            #[doc = $setup]
            ///     let mut server = server;
            #[doc = concat!("    let (rd, wr) = ", stringify!($Stream), "::split(&mut server);")]
            ///     let echo = async {
            ///         let mut buf = [0u8; 5];
            ///         rd.read_exact(&mut buf).await?;
            ///         wr.write_all(&buf).await
            ///     };
            ///     let talk = async {
            ///         client.write_all(b"hello").await?;
            ///         let mut buf = [0u8; 5];
            ///         client.read_exact(&mut buf).await.map(|()| buf)
            ///     };
            ///     let (e, t) = futures_util::join!(echo, talk);
            ///     e?;
            ///     assert_eq!(&t?, b"hello");
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
                (ReadHalf::new(self), WriteHalf::new(self))
            }

            /// Splits into owned halves, to move them into two tasks. The halves share the stream
            /// through an `Arc`; [`OwnedReadHalf::reunite`] puts it back together. Dropping the
            /// write half shuts the writing side down.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            ///     let (rd, wr) = client.into_split();
            ///     let writer = c10k_runtime::spawn(async move { wr.write_all(b"owned").await });
            ///     writer.await.unwrap()?;
            ///     let mut buf = [0u8; 5];
            ///     server.read_exact(&mut buf).await?;
            ///     server.write_all(b"back!").await?;
            ///     rd.read_exact(&mut buf).await?;
            ///     assert_eq!(&buf, b"back!");
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
                super::split::split_owned(self)
            }

            pub(crate) fn poll_read_priv(
                &self,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.io.poll_read(cx, buf)
            }

            pub(crate) fn poll_read_vectored_priv(
                &self,
                cx: &mut Context<'_>,
                bufs: &mut [io::IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                self.io.poll_read_vectored(cx, bufs)
            }

            pub(crate) fn poll_write_priv(
                &self,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.io.poll_write(cx, buf)
            }

            pub(crate) fn poll_write_vectored_priv(
                &self,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.io.poll_write_vectored(cx, bufs)
            }

            pub(crate) fn poll_flush_priv(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.io.poll_flush(cx)
            }

            pub(crate) fn poll_close_priv(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.io.poll_close(cx)
            }
        }

        // Both the stream and a shared reference to it read and write (one reader task and
        // one writer task may share `&stream`).
        $crate::net::stream::stream_surface!(@io $Stream);
        $crate::net::stream::stream_surface!(@io &$Stream);

        impl AsFd for $Stream {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.io.get_ref().as_fd()
            }
        }

        impl AsRawFd for $Stream {
            fn as_raw_fd(&self) -> RawFd {
                self.io.get_ref().as_raw_fd()
            }
        }
    };
}

pub(crate) use stream_surface;

/// The part of [`TcpListener`](super::TcpListener) and [`UnixListener`](super::UnixListener)
/// that is the same code: `AsFd`, `AsRawFd`, `Debug`, and the [`Stream`] of connections
/// `Incoming` with its `poll_next`. `$example` is the whole doc example of `Incoming`. The
/// invoking file must have in scope `fmt`, `io`, `Pin`, `Context`, `Poll`, `ready`,
/// `Stream`, `AsFd`, `AsRawFd`, `BorrowedFd` and `RawFd`; the listener holds its socket in
/// `io: PollIo<_>` and has `local_addr` and `poll_accept`.
///
/// [`Stream`]: futures_core::Stream
macro_rules! listener_surface {
    ($Listener:ident, $Stream:ident, $example:literal) => {
        impl AsFd for $Listener {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.io.get_ref().as_fd()
            }
        }

        impl AsRawFd for $Listener {
            fn as_raw_fd(&self) -> RawFd {
                self.io.get_ref().as_raw_fd()
            }
        }

        impl fmt::Debug for $Listener {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($Listener))
                    .field("addr", &self.local_addr().ok())
                    .field("fd", &self.as_raw_fd())
                    .finish()
            }
        }

        #[doc = concat!(
            "The stream of connections of a [`", stringify!($Listener), "`], from [`",
            stringify!($Listener), "::incoming`]. It never ends by itself; accept errors are \
             yielded as items."
        )]
        ///
        /// # Examples
        ///
        #[doc = $example]
        #[must_use = "streams do nothing unless polled"]
        #[derive(Debug)]
        pub struct Incoming<'a> {
            listener: &'a $Listener,
        }

        impl Stream for Incoming<'_> {
            type Item = io::Result<$Stream>;

            fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
                let (stream, _) = ready!(self.listener.poll_accept(cx))?;
                Poll::Ready(Some(Ok(stream)))
            }
        }
    };
}

pub(crate) use listener_surface;
