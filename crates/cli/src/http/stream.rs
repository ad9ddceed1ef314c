//! A connection's byte stream: plain TCP, or TLS (`futures-rustls`) over TCP with
//! `--tls-cert`/`--tls-key`. The connection loop (`server.rs`) reads, sends and closes
//! through it, and the same limits hold for both kinds:
//!
//! - reading is bounded by the caller's `--idle-timeout`, as before;
//! - [`Stream::send`] is bounded by `--send-timeout` as the longest the client may accept
//!   *nothing*: for TLS, each write of plaintext into the TLS session (which forwards
//!   records to the socket as it takes them) must make progress within the limit, and so
//!   must the final flush of what the session still holds;
//! - the TLS handshake itself is bounded by `--handshake-timeout` in `server.rs`, before a
//!   `Stream` exists.
//!
//! One difference: a TCP connection idle between requests waits for readability holding no
//! buffer; a TLS one reads directly (with the idle timeout), because the session may hold
//! decrypted bytes that no readiness event would announce.

use std::io;
use std::time::Duration;

use c10k::runtime::net::TcpStream;
use c10k::runtime::time;
use futures_util::io::{AsyncReadExt, AsyncWriteExt};

/// A TLS session over a c10k TCP stream, server side.
pub(crate) type TlsStream = futures_rustls::server::TlsStream<TcpStream>;

/// A connection's stream (see the module docs).
#[derive(Debug)]
pub(crate) enum Stream {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP (boxed: a session holds kilobytes of state).
    Tls(Box<TlsStream>),
}

impl Stream {
    /// The TCP stream underneath.
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Tcp(s) => s,
            Stream::Tls(s) => s.get_ref().0,
        }
    }

    /// True when waiting for readability is a safe way to wait for the next request (plain
    /// TCP; see the module docs).
    pub(crate) fn waits_for_readiness(&self) -> bool {
        matches!(self, Stream::Tcp(_))
    }

    /// Reads what arrived (0 at end of file).
    pub(crate) async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf).await,
            Stream::Tls(s) => s.read(buf).await,
        }
    }

    /// Writes all of `bytes`; false when the client is gone or accepted nothing for `limit`
    /// (the send timeout: between two writes that make progress).
    pub(crate) async fn send(&mut self, bytes: &[u8], limit: Duration) -> bool {
        match self {
            Stream::Tcp(s) => send_tcp(s, bytes, limit).await,
            Stream::Tls(s) => send_tls(s, bytes, limit).await,
        }
    }
}

/// Plain TCP: try first (the socket usually has room, and then no timer is armed), wait for
/// writability with the limit otherwise.
async fn send_tcp(stream: &TcpStream, mut bytes: &[u8], limit: Duration) -> bool {
    while !bytes.is_empty() {
        match stream.try_write(bytes) {
            Ok(0) => return false,
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                match time::timeout(limit, stream.writable()).await {
                    Ok(Ok(())) => {}
                    // Timed out, or the runtime is shutting down.
                    _ => return false,
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

/// TLS: every write into the session, and the flush of the records it still holds, must
/// make progress within the limit.
async fn send_tls(stream: &mut TlsStream, mut bytes: &[u8], limit: Duration) -> bool {
    while !bytes.is_empty() {
        match time::timeout(limit, stream.write(bytes)).await {
            Ok(Ok(n)) if n > 0 => bytes = &bytes[n..],
            _ => return false,
        }
    }
    matches!(time::timeout(limit, stream.flush()).await, Ok(Ok(())))
}

/// Closes the writing side the TLS way: a `close_notify` alert, then the TCP shutdown
/// (`futures-rustls`' `close`), within `limit`. False when that failed or stalled.
pub(crate) async fn close_tls(stream: &mut TlsStream, limit: Duration) -> bool {
    matches!(time::timeout(limit, stream.close()).await, Ok(Ok(())))
}
