//! Split halves of a stream socket, generated for [`TcpStream`](super::TcpStream) and
//! [`UnixStream`](super::UnixStream) by one macro so the two stay identical.
//!
//! Why splitting is sound here: the driver keeps a separate reader waker and writer waker
//! per registration, so one task may wait to read while another waits to write on the same
//! socket, and `read(2)`/`write(2)` on one descriptor from two threads are independent.
//!
//! * Borrowed halves (`split(&mut self)`) hold `&Stream`: no allocation, no reference
//!   count; they cannot outlive the stream.
//! * Owned halves (`into_split(self)`) share an `Arc<Stream>`; `reunite` gives the stream
//!   back when both halves come from the same split. Dropping the owned *write* half shuts
//!   the writing side down (`FIN`), so the peer sees end of file while the read half can
//!   still receive its reply. Reuniting the halves skips that shutdown.

macro_rules! stream_split {
    ($stream:ident, $ReuniteError:ident) => {
        use std::fmt;
        use std::io;
        use std::pin::Pin;
        use std::sync::Arc;
        use std::task::{Context, Poll};

        use futures_io::{AsyncRead, AsyncWrite};

        use super::$stream;

        /// The reading half of a stream borrowed by `split`.
        ///
        /// # Examples
        ///
        /// Shown with TCP; the Unix halves are the same code.
        ///
        /// ```
        /// use c10k_runtime::net::{TcpListener, TcpStream};
        /// c10k_runtime::run(async {
        ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
        ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
        ///     let (mut server, _) = listener.accept().await?;
        ///     let (rd, _wr) = TcpStream::split(&mut server);
        ///     client.write_all(b"0123456789").await?;
        ///     let mut head = [0u8; 4];
        ///     rd.read_exact(&mut head).await?;
        ///     let mut rest = [0u8; 6];
        ///     let mut got = 0;
        ///     while got < rest.len() {
        ///         rd.readable().await?;
        ///         match rd.try_read(&mut rest[got..]) {
        ///             Ok(n) => got += n,
        ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
        ///             Err(e) => return Err(e),
        ///         }
        ///     }
        ///     assert_eq!((&head, &rest), (b"0123", b"456789"));
        ///     client.write_all(b"!").await?;
        ///     assert_eq!(rd.read(&mut head).await?, 1);
        ///     Ok::<(), std::io::Error>(())
        /// })?;
        /// # Ok::<(), std::io::Error>(())
        /// ```
        #[derive(Debug)]
        pub struct ReadHalf<'a>(&'a $stream);

        /// The writing half of a stream borrowed by `split`. `poll_close` shuts the writing
        /// side down; dropping it does nothing.
        ///
        /// # Examples
        ///
        /// Shown with TCP; the Unix halves are the same code.
        ///
        /// ```
        /// use c10k_runtime::net::{TcpListener, TcpStream};
        /// c10k_runtime::run(async {
        ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
        ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
        ///     let (mut server, _) = listener.accept().await?;
        ///     let (_rd, wr) = TcpStream::split(&mut client);
        ///     wr.write_all(b"abc").await?;
        ///     let n = wr.write(b"d").await?;
        ///     let m = loop {
        ///         wr.writable().await?;
        ///         match wr.try_write(b"e") {
        ///             Ok(m) => break m,
        ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
        ///             Err(e) => return Err(e),
        ///         }
        ///     };
        ///     let mut buf = vec![0u8; 3 + n + m];
        ///     server.read_exact(&mut buf).await?;
        ///     assert_eq!(buf, b"abcde");
        ///     Ok::<(), std::io::Error>(())
        /// })?;
        /// # Ok::<(), std::io::Error>(())
        /// ```
        #[derive(Debug)]
        pub struct WriteHalf<'a>(&'a $stream);

        impl<'a> ReadHalf<'a> {
            pub(crate) fn new(s: &'a $stream) -> ReadHalf<'a> {
                ReadHalf(s)
            }

            /// Reads what is available, waiting for data (see the stream's `read`).
            ///
            /// # Errors
            ///
            /// As the stream's `read`.
            ///
            /// # Examples
            ///
            /// Shown with TCP; the Unix halves are the same code.
            ///
            /// ```
            /// use c10k_runtime::net::{TcpListener, TcpStream};
            /// c10k_runtime::run(async {
            ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
            ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
            ///     let (mut server, _) = listener.accept().await?;
            ///     let (rd, wr) = TcpStream::split(&mut server);
            ///     client.write_all(b"hi").await?;
            ///     let mut buf = [0u8; 8];
            ///     let n = rd.read(&mut buf).await?;
            ///     assert!(n > 0 && b"hi".starts_with(&buf[..n]));
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
                self.0.read(buf).await
            }

            /// Reads exactly `buf.len()` bytes (see the stream's `read_exact`).
            ///
            /// # Errors
            ///
            /// `UnexpectedEof` if the peer closes first; otherwise as `read`.
            ///
            /// # Examples
            ///
            /// Shown with TCP; the Unix halves are the same code.
            ///
            /// ```
            /// use c10k_runtime::net::{TcpListener, TcpStream};
            /// c10k_runtime::run(async {
            ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
            ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
            ///     let (mut server, _) = listener.accept().await?;
            ///     let (rd, wr) = TcpStream::split(&mut server);
            ///     client.write_all(b"hello").await?;
            ///     let mut buf = [0u8; 5];
            ///     rd.read_exact(&mut buf).await?;
            ///     assert_eq!(&buf, b"hello");
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
                self.0.read_exact(buf).await
            }

            /// Waits until the stream is (probably) readable.
            ///
            /// # Errors
            ///
            /// The runtime shut down.
            ///
            /// # Examples
            ///
            /// Shown with TCP; the Unix halves are the same code.
            ///
            /// ```
            /// use c10k_runtime::net::{TcpListener, TcpStream};
            /// c10k_runtime::run(async {
            ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
            ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
            ///     let (mut server, _) = listener.accept().await?;
            ///     let (rd, wr) = TcpStream::split(&mut server);
            ///     client.write_all(b"x").await?;
            ///     rd.readable().await?; // may be spurious: a `try_read` can still say `WouldBlock`
            ///     let mut buf = [0u8; 1];
            ///     assert_eq!(rd.read(&mut buf).await?, 1);
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn readable(&self) -> io::Result<()> {
                self.0.readable().await
            }

            /// Reads once without waiting.
            ///
            /// # Errors
            ///
            /// `WouldBlock` when nothing is ready; `read(2)` errors.
            ///
            /// # Examples
            ///
            /// Shown with TCP; the Unix halves are the same code.
            ///
            /// ```
            /// use c10k_runtime::net::{TcpListener, TcpStream};
            /// c10k_runtime::run(async {
            ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
            ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
            ///     let (mut server, _) = listener.accept().await?;
            ///     let (rd, wr) = TcpStream::split(&mut server);
            ///     let mut buf = [0u8; 8];
            ///     // Nothing was sent yet: no waiting, just `WouldBlock`.
            ///     let err = rd.try_read(&mut buf).unwrap_err();
            ///     assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
                self.0.try_read(buf)
            }
        }

        impl<'a> WriteHalf<'a> {
            pub(crate) fn new(s: &'a $stream) -> WriteHalf<'a> {
                WriteHalf(s)
            }

            /// Writes some of `buf`, waiting for room.
            ///
            /// # Errors
            ///
            /// As the stream's `write`.
            ///
            /// # Examples
            ///
            /// Shown with TCP; the Unix halves are the same code.
            ///
            /// ```
            /// use c10k_runtime::net::{TcpListener, TcpStream};
            /// c10k_runtime::run(async {
            ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
            ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
            ///     let (mut server, _) = listener.accept().await?;
            ///     let (rd, wr) = TcpStream::split(&mut server);
            ///     let n = wr.write(b"hey").await?;
            ///     assert!(n > 0 && n <= 3);
            ///     let mut buf = vec![0u8; n];
            ///     client.read_exact(&mut buf).await?;
            ///     assert_eq!(buf, &b"hey"[..n]);
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
                self.0.write(buf).await
            }

            /// Writes all of `buf`.
            ///
            /// # Errors
            ///
            /// As the stream's `write_all`.
            ///
            /// # Examples
            ///
            /// Shown with TCP; the Unix halves are the same code.
            ///
            /// ```
            /// use c10k_runtime::net::{TcpListener, TcpStream};
            /// c10k_runtime::run(async {
            ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
            ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
            ///     let (mut server, _) = listener.accept().await?;
            ///     let (rd, wr) = TcpStream::split(&mut server);
            ///     wr.write_all(b"every byte").await?;
            ///     let mut buf = [0u8; 10];
            ///     client.read_exact(&mut buf).await?;
            ///     assert_eq!(&buf, b"every byte");
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
                self.0.write_all(buf).await
            }

            /// Waits until the stream is (probably) writable.
            ///
            /// # Errors
            ///
            /// The runtime shut down.
            ///
            /// # Examples
            ///
            /// Shown with TCP; the Unix halves are the same code.
            ///
            /// ```
            /// use c10k_runtime::net::{TcpListener, TcpStream};
            /// c10k_runtime::run(async {
            ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
            ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
            ///     let (mut server, _) = listener.accept().await?;
            ///     let (rd, wr) = TcpStream::split(&mut server);
            ///     wr.writable().await?; // a fresh socket has room in its send buffer
            ///     wr.write_all(b"x").await?;
            ///     let mut buf = [0u8; 1];
            ///     client.read_exact(&mut buf).await?;
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn writable(&self) -> io::Result<()> {
                self.0.writable().await
            }

            /// Writes once without waiting.
            ///
            /// # Errors
            ///
            /// `WouldBlock` when the send buffer is full; `write(2)` errors.
            ///
            /// # Examples
            ///
            /// Shown with TCP; the Unix halves are the same code.
            ///
            /// ```
            /// use c10k_runtime::net::{TcpListener, TcpStream};
            /// c10k_runtime::run(async {
            ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
            ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
            ///     let (mut server, _) = listener.accept().await?;
            ///     let (rd, wr) = TcpStream::split(&mut server);
            ///     // `try_write` never waits; readiness comes from `writable` (and may be stale).
            ///     let n = loop {
            ///         wr.writable().await?;
            ///         match wr.try_write(b"abc") {
            ///             Ok(n) => break n,
            ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            ///             Err(e) => return Err(e),
            ///         }
            ///     };
            ///     let mut buf = vec![0u8; n];
            ///     client.read_exact(&mut buf).await?;
            ///     assert_eq!(buf, &b"abc"[..n]);
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
                self.0.try_write(buf)
            }
        }

        impl AsyncRead for ReadHalf<'_> {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.0.poll_read_priv(cx, buf)
            }
        }

        impl AsyncWrite for WriteHalf<'_> {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.0.poll_write_priv(cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.0.poll_flush_priv(cx)
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.0.poll_close_priv(cx)
            }
        }

        /// The reading half of a stream split by `into_split`; movable into its own task.
        ///
        /// # Examples
        ///
        /// Shown with TCP; the Unix halves are the same code.
        ///
        /// ```
        /// use c10k_runtime::net::{TcpListener, TcpStream};
        /// c10k_runtime::run(async {
        ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
        ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
        ///     let (mut server, _) = listener.accept().await?;
        ///     let (rd, wr) = server.into_split();
        ///     let reader = c10k_runtime::spawn(async move {
        ///         let mut buf = [0u8; 5];
        ///         rd.read_exact(&mut buf).await?;
        ///         rd.readable().await?; // end of file counts as readable
        ///         let mut more = [0u8; 1];
        ///         let eof = rd.read(&mut more).await? == 0;
        ///         Ok::<_, std::io::Error>((buf, eof))
        ///     });
        ///     client.write_all(b"owned").await?;
        ///     client.shutdown(std::net::Shutdown::Write)?;
        ///     let (buf, eof) = reader.await.unwrap()?;
        ///     assert_eq!((&buf, eof), (b"owned", true));
        ///     drop(wr);
        ///     Ok::<(), std::io::Error>(())
        /// })?;
        /// # Ok::<(), std::io::Error>(())
        /// ```
        #[derive(Debug)]
        pub struct OwnedReadHalf {
            inner: Arc<$stream>,
        }

        /// The writing half of a stream split by `into_split`. Dropping it shuts the writing
        /// side down (the peer reads end of file), unless it is reunited first.
        ///
        /// # Examples
        ///
        /// Shown with TCP; the Unix halves are the same code.
        ///
        /// ```
        /// use c10k_runtime::net::{TcpListener, TcpStream};
        /// c10k_runtime::run(async {
        ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
        ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
        ///     let (mut server, _) = listener.accept().await?;
        ///     let (_rd, wr) = client.into_split();
        ///     c10k_runtime::spawn(async move {
        ///         wr.write_all(b"bye").await?;
        ///         let _ = wr.write(b"").await?;
        ///         wr.writable().await?;
        ///         Ok::<_, std::io::Error>(())
        ///         // dropping `wr` shuts the writing side down
        ///     })
        ///     .await
        ///     .unwrap()?;
        ///     let mut got = Vec::new();
        ///     let mut buf = [0u8; 8];
        ///     loop {
        ///         match server.read(&mut buf).await? {
        ///             0 => break,
        ///             n => got.extend_from_slice(&buf[..n]),
        ///         }
        ///     }
        ///     assert_eq!(got, b"bye");
        ///     Ok::<(), std::io::Error>(())
        /// })?;
        /// # Ok::<(), std::io::Error>(())
        /// ```
        #[derive(Debug)]
        pub struct OwnedWriteHalf {
            inner: Arc<$stream>,
            shutdown_on_drop: bool,
        }

        /// `reunite` was given halves of two different streams; they are handed back.
        #[derive(Debug)]
        pub struct $ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

        impl fmt::Display for $ReuniteError {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("tried to reunite halves that are not from the same socket")
            }
        }

        impl std::error::Error for $ReuniteError {}

        pub(crate) fn split_owned(stream: $stream) -> (OwnedReadHalf, OwnedWriteHalf) {
            let inner = Arc::new(stream);
            (
                OwnedReadHalf {
                    inner: Arc::clone(&inner),
                },
                OwnedWriteHalf {
                    inner,
                    shutdown_on_drop: true,
                },
            )
        }

        impl OwnedReadHalf {
            /// Puts the stream back together.
            ///
            /// # Errors
            ///
            /// The halves come from different streams: they are returned in the error.
            ///
            /// # Examples
            ///
            /// Shown with TCP; the Unix halves are the same code.
            ///
            /// ```
            /// use c10k_runtime::net::{TcpListener, TcpStream};
            /// c10k_runtime::run(async {
            ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
            ///     let client = TcpStream::connect(listener.local_addr()?).await?;
            ///     let (server, _) = listener.accept().await?;
            ///     let (crd, cwr) = client.into_split();
            ///     let (srd, swr) = server.into_split();
            ///     // Mismatched halves come back in the error...
            ///     let err = crd.reunite(swr).unwrap_err();
            ///     let (crd, swr) = (err.0, err.1);
            ///     // ...matching ones give the stream back.
            ///     let client: TcpStream = crd.reunite(cwr).expect("same stream");
            ///     let _server = swr.reunite(srd).expect("same stream");
            ///     client.write_all(b"whole again").await?;
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub fn reunite(self, mut other: OwnedWriteHalf) -> Result<$stream, $ReuniteError> {
                if !Arc::ptr_eq(&self.inner, &other.inner) {
                    return Err($ReuniteError(self, other));
                }
                other.shutdown_on_drop = false;
                let inner = Arc::clone(&other.inner);
                drop(other);
                drop(self);
                Ok(Arc::try_unwrap(inner)
                    .unwrap_or_else(|_| unreachable!("both halves were dropped")))
            }

            /// Reads what is available, waiting for data.
            ///
            /// # Errors
            ///
            /// As the stream's `read`.
            ///
            /// # Examples
            ///
            /// Shown with TCP; the Unix halves are the same code.
            ///
            /// ```
            /// use c10k_runtime::net::{TcpListener, TcpStream};
            /// c10k_runtime::run(async {
            ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
            ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
            ///     let (mut server, _) = listener.accept().await?;
            ///     let (rd, wr) = server.into_split();
            ///     client.write_all(b"hi").await?;
            ///     let mut buf = [0u8; 8];
            ///     let n = rd.read(&mut buf).await?;
            ///     assert!(n > 0 && b"hi".starts_with(&buf[..n]));
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
                self.inner.read(buf).await
            }

            /// Reads exactly `buf.len()` bytes (see the stream's `read_exact`).
            ///
            /// # Errors
            ///
            /// `UnexpectedEof` if the peer closes first; otherwise as `read`.
            ///
            /// # Examples
            ///
            /// Shown with TCP; the Unix halves are the same code.
            ///
            /// ```
            /// use c10k_runtime::net::{TcpListener, TcpStream};
            /// c10k_runtime::run(async {
            ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
            ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
            ///     let (mut server, _) = listener.accept().await?;
            ///     let (rd, wr) = server.into_split();
            ///     client.write_all(b"hello").await?;
            ///     let mut buf = [0u8; 5];
            ///     rd.read_exact(&mut buf).await?;
            ///     assert_eq!(&buf, b"hello");
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
                self.inner.read_exact(buf).await
            }

            /// Waits until the stream is (probably) readable.
            ///
            /// # Errors
            ///
            /// The runtime shut down.
            ///
            /// # Examples
            ///
            /// Shown with TCP; the Unix halves are the same code.
            ///
            /// ```
            /// use c10k_runtime::net::{TcpListener, TcpStream};
            /// c10k_runtime::run(async {
            ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
            ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
            ///     let (mut server, _) = listener.accept().await?;
            ///     let (rd, wr) = server.into_split();
            ///     client.write_all(b"x").await?;
            ///     rd.readable().await?; // may be spurious: a `try_read` can still say `WouldBlock`
            ///     let mut buf = [0u8; 1];
            ///     assert_eq!(rd.read(&mut buf).await?, 1);
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn readable(&self) -> io::Result<()> {
                self.inner.readable().await
            }

            /// Reads once without waiting.
            ///
            /// # Errors
            ///
            /// `WouldBlock` when nothing is ready; `read(2)` errors.
            ///
            /// # Examples
            ///
            /// Shown with TCP; the Unix halves are the same code.
            ///
            /// ```
            /// use c10k_runtime::net::{TcpListener, TcpStream};
            /// c10k_runtime::run(async {
            ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
            ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
            ///     let (mut server, _) = listener.accept().await?;
            ///     let (rd, wr) = server.into_split();
            ///     let mut buf = [0u8; 8];
            ///     // Nothing was sent yet: no waiting, just `WouldBlock`.
            ///     let err = rd.try_read(&mut buf).unwrap_err();
            ///     assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
                self.inner.try_read(buf)
            }
        }

        impl OwnedWriteHalf {
            /// Puts the stream back together (see [`OwnedReadHalf::reunite`]).
            ///
            /// # Errors
            ///
            /// The halves come from different streams.
            ///
            /// # Examples
            ///
            /// Shown with TCP; the Unix halves are the same code.
            ///
            /// ```
            /// use c10k_runtime::net::{TcpListener, TcpStream};
            /// c10k_runtime::run(async {
            ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
            ///     let client = TcpStream::connect(listener.local_addr()?).await?;
            ///     let (rd, wr) = client.into_split();
            ///     let client: TcpStream = wr.reunite(rd).expect("same stream");
            ///     client.write_all(b"no FIN was sent").await?;
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub fn reunite(self, other: OwnedReadHalf) -> Result<$stream, $ReuniteError> {
                other.reunite(self)
            }

            /// Writes some of `buf`, waiting for room.
            ///
            /// # Errors
            ///
            /// As the stream's `write`.
            ///
            /// # Examples
            ///
            /// Shown with TCP; the Unix halves are the same code.
            ///
            /// ```
            /// use c10k_runtime::net::{TcpListener, TcpStream};
            /// c10k_runtime::run(async {
            ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
            ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
            ///     let (mut server, _) = listener.accept().await?;
            ///     let (rd, wr) = server.into_split();
            ///     let n = wr.write(b"hey").await?;
            ///     assert!(n > 0 && n <= 3);
            ///     let mut buf = vec![0u8; n];
            ///     client.read_exact(&mut buf).await?;
            ///     assert_eq!(buf, &b"hey"[..n]);
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
                self.inner.write(buf).await
            }

            /// Writes all of `buf`.
            ///
            /// # Errors
            ///
            /// As the stream's `write_all`.
            ///
            /// # Examples
            ///
            /// Shown with TCP; the Unix halves are the same code.
            ///
            /// ```
            /// use c10k_runtime::net::{TcpListener, TcpStream};
            /// c10k_runtime::run(async {
            ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
            ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
            ///     let (mut server, _) = listener.accept().await?;
            ///     let (rd, wr) = server.into_split();
            ///     wr.write_all(b"every byte").await?;
            ///     let mut buf = [0u8; 10];
            ///     client.read_exact(&mut buf).await?;
            ///     assert_eq!(&buf, b"every byte");
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
                self.inner.write_all(buf).await
            }

            /// Waits until the stream is (probably) writable.
            ///
            /// # Errors
            ///
            /// The runtime shut down.
            ///
            /// # Examples
            ///
            /// Shown with TCP; the Unix halves are the same code.
            ///
            /// ```
            /// use c10k_runtime::net::{TcpListener, TcpStream};
            /// c10k_runtime::run(async {
            ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
            ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
            ///     let (mut server, _) = listener.accept().await?;
            ///     let (rd, wr) = server.into_split();
            ///     wr.writable().await?; // a fresh socket has room in its send buffer
            ///     wr.write_all(b"x").await?;
            ///     let mut buf = [0u8; 1];
            ///     client.read_exact(&mut buf).await?;
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub async fn writable(&self) -> io::Result<()> {
                self.inner.writable().await
            }

            /// Writes once without waiting.
            ///
            /// # Errors
            ///
            /// `WouldBlock` when the send buffer is full; `write(2)` errors.
            ///
            /// # Examples
            ///
            /// Shown with TCP; the Unix halves are the same code.
            ///
            /// ```
            /// use c10k_runtime::net::{TcpListener, TcpStream};
            /// c10k_runtime::run(async {
            ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
            ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
            ///     let (mut server, _) = listener.accept().await?;
            ///     let (rd, wr) = server.into_split();
            ///     // `try_write` never waits; readiness comes from `writable` (and may be stale).
            ///     let n = loop {
            ///         wr.writable().await?;
            ///         match wr.try_write(b"abc") {
            ///             Ok(n) => break n,
            ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            ///             Err(e) => return Err(e),
            ///         }
            ///     };
            ///     let mut buf = vec![0u8; n];
            ///     client.read_exact(&mut buf).await?;
            ///     assert_eq!(buf, &b"abc"[..n]);
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
                self.inner.try_write(buf)
            }
        }

        impl Drop for OwnedWriteHalf {
            fn drop(&mut self) {
                if self.shutdown_on_drop {
                    // An error means the connection is already gone: nothing to signal.
                    let _ = self.inner.shutdown(std::net::Shutdown::Write);
                }
            }
        }

        impl AsRef<$stream> for OwnedReadHalf {
            fn as_ref(&self) -> &$stream {
                &self.inner
            }
        }

        impl AsRef<$stream> for OwnedWriteHalf {
            fn as_ref(&self) -> &$stream {
                &self.inner
            }
        }

        impl AsyncRead for OwnedReadHalf {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.inner.poll_read_priv(cx, buf)
            }
        }

        impl AsyncWrite for OwnedWriteHalf {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.inner.poll_write_priv(cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.inner.poll_flush_priv(cx)
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.inner.poll_close_priv(cx)
            }
        }
    };
}

pub(crate) use stream_split;
