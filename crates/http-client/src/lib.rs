//! An HTTP/1.1 client on the c10k runtime: `GET` with a keep-alive pool, redirects, retries,
//! timeouts and TLS. It is the client of `c10k fetch`, the tutorials' crawler; the facade
//! re-exports it as `c10k::http_client` (feature `http-client`).
//!
//! ```
//! use c10k_runtime::net::TcpListener;
//! use c10k_http_client::Client;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! c10k_runtime::run(async {
//!     // A server that answers one request, for the example.
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let _server = c10k_runtime::spawn(async move {
//!         let (stream, _) = listener.accept().await?;
//!         let mut request = [0u8; 1024];
//!         let _ = stream.read(&mut request).await?;
//!         stream
//!             .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
//!             .await
//!     });
//!
//!     let client = Client::new();
//!     let response = client.get(format!("http://{addr}/greeting")).await?;
//!     assert_eq!(response.status(), 200);
//!     assert_eq!(response.headers().get_str("content-type"), Some("text/plain"));
//!     assert_eq!(response.text().await?, "hello");
//!     Ok(())
//! })
//! # }
//! ```
//!
//! A large body is read piece by piece as it arrives, without holding it in memory:
//!
//! ```no_run
//! # async fn save(client: &c10k_http_client::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use std::io::Write;
//!
//! let mut response = client.get("https://example.com/big.iso").await?;
//! let mut file = std::fs::File::create("big.iso")?;
//! while let Some(piece) = response.chunk().await? {
//!     file.write_all(piece)?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # What it does
//!
//! - **URLs**: `http://` and `https://` only, parsed by the `url` crate; see [`Url`] for what
//!   is refused (user info, blanks, other schemes).
//! - **Keep-alive**: a connection whose response was read to its end (and that the server
//!   did not close) goes back to a pool per scheme, host and port, at most
//!   [`max_idle_per_host`](ClientBuilder::max_idle_per_host) of them per host and
//!   [`max_idle_total`](ClientBuilder::max_idle_total) in all; a request takes the newest
//!   idle one before it opens a new one, unless it has been idle longer than
//!   [`idle_timeout`](ClientBuilder::idle_timeout). Each pooled connection keeps its read buffer:
//!   16 KiB, or up to 80 KiB after a response head that did not fit.
//! - **Redirects**: 301, 302, 303, 307 and 308 with a `Location` are followed (the request
//!   stays a GET), at most [`max_redirects`](ClientBuilder::max_redirects) times, resolved
//!   against the current URL as RFC 3986 §5 says.
//! - **Retries**: GET is idempotent, so a request whose connection failed before any
//!   response byte is sent again: at once on a fresh connection when the failed one came
//!   from the pool (the server may have closed it while idle: the keep-alive race), and up
//!   to [`retries`](ClientBuilder::retries) times, after 100 ms, 200 ms, ..., when a fresh
//!   connection failed. Once a response started, a failure is final; so is a failed TLS
//!   handshake (trying again would not change the certificate).
//! - **Timeouts**: each exchange (connect, TLS handshake, request, the response head and
//!   its whole body) must end within [`timeout`](ClientBuilder::timeout); a redirect or a
//!   retry is a new exchange.
//! - **TLS**: `futures-rustls` over c10k's `TcpStream`, verified against the system's roots
//!   by default or against given certificates ([`Trust`]).
//! - **Responses**: heads are parsed by `httparse`; interim 1xx responses are skipped;
//!   bodies are framed as RFC 9112 §6.3 says (no body for 204 and 304, chunked when it is
//!   the last transfer coding, else `Content-Length`, else until the server closes) and
//!   chunked bodies are decoded on `httparse`'s chunk-size and trailer parsers.
//!
//! # Limits
//!
//! What a server can make the client hold is bounded: a response head of at most 64 KiB
//! and 100 fields, a chunk-size line of at most 1 KiB and trailers of at most 8 KiB, else
//! [`ErrorKind::Protocol`]. A body is never buffered by the client ([`Response::bytes`]
//! collects it when asked, without a limit: prefer [`Response::chunk`] for a body of unknown
//! size).

#![forbid(unsafe_code)]

mod chunked;
mod client;
mod error;
mod head;
mod response;
mod tls;
mod url;

pub use client::{Attempts, Client, ClientBuilder};
pub use error::{Error, ErrorKind};
pub use response::{Headers, Response};
pub use tls::{pem_certificates, Trust};
pub use url::{IntoUrl, Url, UrlError};

/// The rustls crate this client uses, for the certificate types of [`Trust`].
pub use futures_rustls::rustls;
