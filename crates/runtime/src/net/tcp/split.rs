//! Split halves of a [`TcpStream`]: borrowed ([`ReadHalf`], [`WriteHalf`])
//! and owned ([`OwnedReadHalf`], [`OwnedWriteHalf`]). See the [`net`](crate::net) module for the
//! design; the code is shared with `UnixStream` through one macro.
//!
//! # Examples
//!
//! ```
//! use c10k_runtime::net::{TcpListener, TcpStream};
//!
//! c10k_runtime::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let client = TcpStream::connect(listener.local_addr()?).await?;
//!     let (server, _) = listener.accept().await?;
//!     let (rd, wr) = server.into_split();
//!     // Echo in a task of its own with the owned halves.
//!     let echo = c10k_runtime::spawn(async move {
//!         let mut buf = [0u8; 64];
//!         let n = rd.read(&mut buf).await?;
//!         wr.write_all(&buf[..n]).await?;
//!         Ok::<_, std::io::Error>(rd.reunite(wr).is_ok())
//!     });
//!     client.write_all(b"split").await?;
//!     let mut buf = [0u8; 5];
//!     client.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"split");
//!     assert!(echo.await.unwrap()?);
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

crate::net::split::stream_split!(TcpStream, ReuniteError);
