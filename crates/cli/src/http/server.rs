//! The accept loop and the connection task.
//!
//! One task per connection runs this loop:
//!
//! 1. Parse every complete request at the front of the buffer (pipelining: a client may send
//!    many before reading any answer). Each one's body, if declared, is skipped; its response
//!    is appended to the output buffer, in request order.
//! 2. Write the output buffer in one `write_all` (so pipelined `/plaintext` answers leave in
//!    one system call). A file body is streamed after its head in [`FILE_BLOCK`] pieces.
//! 3. Read more, with the idle timeout; end of file, a reset, or the timeout ends the task.
//!    A connection waiting for its next request holds no buffer: it waits for readiness
//!    first and allocates only when there is something to read.
//!
//! A request the server refuses (bad syntax, limits) gets its error status and the
//! connection closes, since what follows it in the buffer cannot be trusted; the close
//! lingers ([`linger_close`]) so the client gets to read that status. The buffer
//! never grows past [`MAX_HEAD`] plus one read: the head parser refuses longer heads.
//!
//! Shutdown (Ctrl-C, [`Shutdown`]): the loop stops accepting, then waits until no request
//! is in flight (a connection holds an [`InFlight`](c10k::shutdown::InFlight) guard from
//! its first byte until it waits idle for the next request), at most `--grace`; idle
//! keep-alive connections are then dropped with the runtime.

use std::cell::RefCell;
use std::io::Read;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use c10k::runtime::net::{TcpListener, TcpStream};
use c10k::runtime::race::{select, Either, FutureExt};
use c10k::runtime::time;
use c10k::shutdown::Shutdown;

use super::date::http_date;
use super::handler::{self, Body};
use super::request::{self, Parsed, MAX_HEAD};
use super::response::write_error;

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
    pub(crate) root: PathBuf,
    /// Keep-alive idle timeout.
    pub(crate) idle: Duration,
    /// The process's shutdown.
    pub(crate) shutdown: Shutdown,
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
async fn connection(stream: TcpStream, config: &Config) {
    // A new connection is about to send a request: in flight until it waits idle.
    let mut in_flight = Some(config.shutdown.in_flight());
    let mut buf: Vec<u8> = Vec::new();
    let mut start = 0;
    let mut skip: u64 = 0;
    let mut out: Vec<u8> = Vec::new();
    let mut partial_since: Option<Instant> = None;
    loop {
        // Step 1: answer every complete request in the buffer.
        let date = date();
        let mut close = false;
        loop {
            let skipped = usize::try_from(skip)
                .unwrap_or(usize::MAX)
                .min(buf.len() - start);
            start += skipped;
            skip -= skipped as u64;
            if skip > 0 {
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
                    let reply = handler::respond(&req, &config.root, &date, &mut out);
                    if let Body::File(file, len) = reply.body {
                        if !flush(&stream, &mut out).await || !send_file(&stream, file, len).await {
                            return;
                        }
                    }
                    if reply.close {
                        close = true;
                        break;
                    }
                }
            }
        }
        // Step 2: send the answers.
        if !flush(&stream, &mut out).await {
            return;
        }
        if close {
            linger_close(&stream).await;
            return;
        }
        // Step 3: read more.
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
        if buf.is_empty() && stream.readable().now_or_never().is_none() {
            // Idle between requests: hold no buffer while waiting (memory per idle
            // connection is a figure of the project). When data is already there, the
            // buffers are kept and reused.
            buf = Vec::new();
            out = Vec::new();
            drop(in_flight.take());
            match time::timeout(wait, stream.readable()).await {
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

/// Closes the way a client can read the last response: shut down our side, then discard
/// what the client still sends until it closes, for at most [`LINGER`] and [`LINGER_BYTES`].
/// Closing with unread input would send a reset, which may destroy the response (an error
/// status for an oversized head, say) before the client reads it.
async fn linger_close(stream: &TcpStream) {
    if stream.shutdown(std::net::Shutdown::Write).is_err() {
        return;
    }
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

/// Writes and clears the output buffer; false when the client is gone.
async fn flush(stream: &TcpStream, out: &mut Vec<u8>) -> bool {
    if out.is_empty() {
        return true;
    }
    let ok = stream.write_all(out).await.is_ok();
    out.clear();
    ok
}

/// Streams `len` bytes of a file; false when the client is gone or the file shrank.
async fn send_file(stream: &TcpStream, mut file: std::fs::File, len: u64) -> bool {
    let mut block = vec![0u8; FILE_BLOCK.min(usize::try_from(len).unwrap_or(FILE_BLOCK))];
    let mut left = len;
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(block.len());
        // Page-cache reads are short; a file on a slow disk would want spawn_blocking.
        let n = match file.read(&mut block[..want]) {
            Ok(0) | Err(_) => return false, // shrank: the promised length cannot be kept
            Ok(n) => n,
        };
        if stream.write_all(&block[..n]).await.is_err() {
            return false;
        }
        left -= n as u64;
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
            *c = (secs, http_date(now));
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
                root: "/".into(),
                idle: std::time::Duration::from_secs(1),
                shutdown: c10k::shutdown::Shutdown::builder().signals(&[]).install()?,
            };
            let future = super::connection(stream, &config);
            let size = std::mem::size_of_val(&future);
            assert!(size <= 1024, "connection future is {size} bytes");
            Ok(())
        })
    }
}
