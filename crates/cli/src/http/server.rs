//! The accept loop and the connection task.
//!
//! One task per connection runs this loop:
//!
//! 1. Parse the complete requests at the front of the buffer (pipelining: a client may send
//!    many before reading any answer), in order. Each one's body, if declared, is skipped;
//!    its response is appended to the output buffer. What needs the file system (opening a
//!    file, building a listing) runs on the runtime's blocking pool ([`super::handler`]),
//!    the connection task waiting for it without holding the runtime thread. A file body is
//!    streamed after its head in [`FILE_BLOCK`] pieces, each read from the page cache
//!    without waiting (`RWF_NOWAIT`) or else on the blocking pool ([`send_file`]).
//! 2. Parsing stops as soon as the output buffer holds [`Config::output_limit`] bytes or
//!    more (`--output-buffer`): the answers are sent before another request is looked at.
//!    A client that pipelines hundreds of requests and never reads therefore pins at most
//!    that much (plus one response and the kernel's socket buffers), instead of every
//!    answer it asked for.
//! 3. Send the output buffer (pipelined `/plaintext` answers leave in one system call).
//! 4. Read more, with the idle timeout, only once no complete request is left in the
//!    buffer; end of file, a reset, or the timeout ends the task. A connection waiting for
//!    its next request holds no buffer: it waits for readiness first and allocates only
//!    when there is something to read.
//!
//! Timeouts, both flags ([`Config`]):
//!
//! - `--idle-timeout` covers reading: the wait for the next request, and a request (head
//!   and skipped body) in progress as a whole, so a client trickling one byte now and then
//!   cannot hold the connection.
//! - `--send-timeout` covers writing every byte of every response (heads, listings, file
//!   bodies), as the longest the client may accept *nothing*: each time the socket is full,
//!   the next write must make progress within the timeout, or the connection (and the file
//!   it was sending) is closed. This is nginx's `send_timeout` (between two successive
//!   writes, 60 s by default), not a deadline for the whole response: a deadline would cut
//!   off a legitimate slow download of a large file, while a reader that stops reading is
//!   caught either way. A trickling reader cannot game it cheaply either: the kernel reports
//!   a full socket writable again only once about half of its send buffer drained, so every
//!   "progress" costs the client hundreds of kilobytes read.
//!
//! A request the server refuses (bad syntax, limits) gets its error status and the
//! connection closes, since what follows it in the buffer cannot be trusted; the close
//! lingers ([`linger_close`]) so the client gets to read that status. The input buffer
//! never grows past [`MAX_HEAD`] plus one read: the head parser refuses longer heads, and
//! nothing is read while complete requests wait.
//!
//! Shutdown (Ctrl-C, [`Shutdown`]): the loop stops accepting, then waits until no request
//! is in flight (a connection holds an [`InFlight`](c10k::shutdown::InFlight) guard from
//! its first byte until it waits idle for the next request), at most `--grace`; idle
//! keep-alive connections are then dropped with the runtime.

use std::cell::RefCell;
use std::path::Path;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use c10k::runtime::net::TcpListener;
use c10k::runtime::race::{select, Either, FutureExt};
use c10k::runtime::time;
use c10k::shutdown::Shutdown;

use super::handler::{self, Body, Found, Reply, Step};
use super::request::{self, Parsed, MAX_HEAD};
use super::response::write_error;
use super::stream::{close_tls, Stream};

/// Bytes read from a file per write.
const FILE_BLOCK: usize = 64 * 1024;

/// Longest a closing connection keeps reading what the client still sends.
const LINGER: Duration = Duration::from_secs(2);

/// Most bytes a closing connection reads and discards.
const LINGER_BYTES: usize = 1024 * 1024;

/// Bytes asked for per socket read.
const READ_SIZE: usize = 16 * 1024;

/// Server settings.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Canonical document root.
    pub(crate) root: Arc<Path>,
    /// Keep-alive idle timeout, and the longest one request may take to arrive.
    pub(crate) idle: Duration,
    /// Longest a response may wait for the client to accept any byte.
    pub(crate) send: Duration,
    /// Parsing pauses while the output buffer holds this many bytes or more.
    pub(crate) output_limit: usize,
    /// The process's shutdown.
    pub(crate) shutdown: Shutdown,
    /// With `--tls-cert`/`--tls-key`: every connection speaks TLS.
    pub(crate) tls: Option<Arc<futures_rustls::rustls::ServerConfig>>,
    /// Longest a TLS handshake may take (`--handshake-timeout`).
    pub(crate) handshake: Duration,
}

/// Accepts connections until Ctrl-C, then lets the requests in flight finish.
pub(crate) async fn serve(listener: std::net::TcpListener, config: Config) -> anyhow::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    let config = Arc::new(config);
    let shutdown = config.shutdown.clone();
    // Detached: it ends the process on the second Ctrl-C, or lives as long as the runtime.
    drop(shutdown.listen()?);
    loop {
        let accepted = {
            let accept = pin!(listener.accept());
            match select(accept, shutdown.requested()).await {
                Either::Left((accepted, _)) => accepted,
                Either::Right(_) => break,
            }
        };
        match accepted {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let config = config.clone();
                drop(c10k::runtime::spawn(async move {
                    let stream = match &config.tls {
                        None => Stream::Tcp(stream),
                        // A handshake that stalls or fails ends the connection; nothing is
                        // in flight yet.
                        Some(tls) => {
                            match time::timeout(
                                config.handshake,
                                futures_rustls::TlsAcceptor::from(Arc::clone(tls)).accept(stream),
                            )
                            .await
                            {
                                Ok(Ok(session)) => Stream::Tls(Box::new(session)),
                                _ => return,
                            }
                        }
                    };
                    connection(stream, &config).await;
                }));
            }
            // Out of descriptors is waited out inside `accept` (it backs off on the timer).
            Err(e) => eprintln!("c10k: http: accept: {}", crate::errors::short(&e)),
        }
    }
    drop(listener);
    shutdown.drained().await;
    Ok(())
}

/// Serves one connection until it closes, fails, idles out, or asks to close.
async fn connection(mut stream: Stream, config: &Config) {
    // A new connection is about to send a request: in flight until it waits idle.
    let mut in_flight = Some(config.shutdown.in_flight());
    let mut buf: Vec<u8> = Vec::new();
    let mut start = 0;
    let mut skip: u64 = 0;
    let mut out: Vec<u8> = Vec::new();
    let mut partial_since: Option<Instant> = None;
    loop {
        // Step 1: answer the complete requests in the buffer, until the output is full.
        let date = date();
        let mut close = false;
        let mut backlog = false;
        loop {
            let skipped = usize::try_from(skip)
                .unwrap_or(usize::MAX)
                .min(buf.len() - start);
            start += skipped;
            skip -= skipped as u64;
            if skip > 0 {
                break;
            }
            // Step 2: back-pressure. Send what is queued before parsing more.
            if out.len() >= config.output_limit {
                backlog = true;
                break;
            }
            match request::parse(&buf[start..]) {
                Parsed::Partial => break,
                Parsed::Error(status) => {
                    write_error(&mut out, status, false, &date, &[], true);
                    close = true;
                    break;
                }
                Parsed::Complete(req, len) => {
                    start += len;
                    partial_since = None;
                    skip = req.body_len;
                    let reply = match handler::start(&req, &date, &mut out) {
                        Step::Done(reply) => reply,
                        // Boxed: the rare, large states stay out of every connection's future.
                        Step::Lookup(lookup) => {
                            Box::pin(answer(lookup, &req, &date, &mut out, config)).await
                        }
                    };
                    if let Body::File(file, len) = reply.body {
                        if !stream.send(&out, config.send).await
                            || !Box::pin(send_file(&mut stream, file, len, config.send)).await
                        {
                            return;
                        }
                        out.clear();
                    }
                    if reply.close {
                        close = true;
                        break;
                    }
                }
            }
        }
        // Step 3: send the answers.
        if !stream.send(&out, config.send).await {
            return;
        }
        out.clear();
        if close {
            linger_close(&mut stream, config.send).await;
            return;
        }
        if backlog {
            continue;
        }
        // Step 4: read more.
        if start == buf.len() {
            buf.clear();
            start = 0;
        } else if start > 0 {
            buf.drain(..start);
            start = 0;
        }
        debug_assert!(buf.len() <= MAX_HEAD + READ_SIZE);
        // A request (head or skipped body) in progress must complete within the idle
        // timeout as a whole: a client trickling a byte now and then cannot hold the
        // connection forever.
        let wait = if buf.is_empty() && skip == 0 {
            partial_since = None;
            config.idle
        } else {
            let since = *partial_since.get_or_insert_with(Instant::now);
            config.idle.saturating_sub(since.elapsed())
        };
        if buf.is_empty()
            && stream.waits_for_readiness()
            && stream.tcp().readable().now_or_never().is_none()
        {
            // Idle between requests: hold no buffer while waiting (memory per idle
            // connection is a figure of the project). When data is already there, the
            // buffers are kept and reused.
            buf = Vec::new();
            out = Vec::new();
            drop(in_flight.take());
            match time::timeout(wait, stream.tcp().readable()).await {
                Ok(Ok(())) => {}
                _ => return,
            }
            in_flight = Some(config.shutdown.in_flight());
        }
        let len = buf.len();
        buf.resize(len + READ_SIZE, 0);
        let n = match time::timeout(wait, stream.read(&mut buf[len..])).await {
            Ok(Ok(n)) if n > 0 => n,
            // End of file, reset, or idle: nothing more to answer.
            _ => return,
        };
        buf.truncate(len + n);
    }
}

/// Runs a request's file-system lookup on the blocking pool and appends its answer.
async fn answer(
    lookup: handler::Lookup,
    req: &request::Request,
    date: &str,
    out: &mut Vec<u8>,
    config: &Config,
) -> Reply {
    let root = Arc::clone(&config.root);
    let found = c10k::runtime::task::spawn_blocking(move || lookup.run(&root))
        .await
        .unwrap_or(Found::Error(super::response::Status::INTERNAL_ERROR));
    handler::finish(req, found, date, out)
}

/// Closes the way a client can read the last response: shut down our side (for TLS, a
/// `close_notify` first, within the send timeout), then discard what the client still sends
/// until it closes, for at most [`LINGER`] and [`LINGER_BYTES`]. Closing with unread input
/// would send a reset, which may destroy the response (an error status for an oversized
/// head, say) before the client reads it.
async fn linger_close(stream: &mut Stream, send: Duration) {
    let closed = match stream {
        Stream::Tcp(tcp) => tcp.shutdown(std::net::Shutdown::Write).is_ok(),
        Stream::Tls(tls) => close_tls(tls, send).await,
    };
    if !closed {
        return;
    }
    // What follows is discarded: read it below TLS.
    let stream = stream.tcp();
    let _ = time::timeout(LINGER, async {
        let mut sink = vec![0u8; 4096];
        let mut total = 0;
        while total < LINGER_BYTES {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    })
    .await;
}

/// Streams `len` bytes of a file; false when the client is gone or stalled past `limit`, or
/// the file shrank or failed.
///
/// Each block is first read on the runtime thread with `preadv2(RWF_NOWAIT)`, which copies
/// what the page cache holds and fails with `EAGAIN` rather than wait for the disk; only
/// then (or on a file system without `RWF_NOWAIT`) does the block go to the blocking pool.
/// A cached file thus costs no thread hand-off per block, and a cold one never stalls the
/// runtime thread.
async fn send_file(stream: &mut Stream, file: std::fs::File, len: u64, limit: Duration) -> bool {
    let size = FILE_BLOCK.min(usize::try_from(len).unwrap_or(FILE_BLOCK));
    let mut state = Some((file, vec![0u8; size]));
    let mut offset = 0u64;
    let mut nowait = true;
    while offset < len {
        let want = usize::try_from(len - offset)
            .unwrap_or(usize::MAX)
            .min(size);
        let Some((file, mut block)) = state.take() else {
            return false;
        };
        let cached = if nowait {
            let mut bufs = [std::io::IoSliceMut::new(&mut block[..want])];
            match rustix::io::preadv2(&file, &mut bufs, offset, rustix::io::ReadWriteFlags::NOWAIT)
            {
                Ok(n) => Some(n),
                Err(rustix::io::Errno::AGAIN) => None,
                Err(
                    rustix::io::Errno::OPNOTSUPP
                    | rustix::io::Errno::INVAL
                    | rustix::io::Errno::NOSYS,
                ) => {
                    nowait = false;
                    None
                }
                Err(_) => return false,
            }
        } else {
            None
        };
        let (file, block, n) = match cached {
            Some(n) => (file, block, n),
            None => {
                let read = c10k::runtime::task::spawn_blocking(move || {
                    let n = std::os::unix::fs::FileExt::read_at(&file, &mut block[..want], offset);
                    (file, block, n)
                })
                .await;
                match read {
                    Ok((file, block, Ok(n))) => (file, block, n),
                    _ => return false,
                }
            }
        };
        // Zero: the file shrank, and the promised length cannot be kept.
        if n == 0 || !stream.send(&block[..n], limit).await {
            return false;
        }
        offset += n as u64;
        state = Some((file, block));
    }
    true
}

/// The current HTTP-date, formatted once a second per thread.
fn date() -> String {
    thread_local! {
        static CACHE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != secs {
            *c = (secs, httpdate::fmt_http_date(now));
        }
        c.1.clone()
    })
}
#[cfg(test)]
mod tests {
    /// Regression guard for memory per idle connection: a buffer kept in the connection
    /// future's state (a stack array across an await) once made it 4.5 KiB.
    #[test]
    fn connection_future_stays_small() -> std::io::Result<()> {
        let rt = c10k::runtime::Runtime::builder().current_thread().build()?;
        rt.block_on(async {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            let stream = c10k::runtime::net::TcpStream::connect(listener.local_addr()?).await?;
            let config = super::Config {
                root: std::path::Path::new("/").into(),
                idle: std::time::Duration::from_secs(1),
                send: std::time::Duration::from_secs(1),
                output_limit: 64 * 1024,
                shutdown: c10k::shutdown::Shutdown::builder().signals(&[]).install()?,
                tls: None,
                handshake: std::time::Duration::from_secs(1),
            };
            let future = super::connection(super::Stream::Tcp(stream), &config);
            let size = std::mem::size_of_val(&future);
            assert!(size <= 1024, "connection future is {size} bytes");
            Ok(())
        })
    }
}
