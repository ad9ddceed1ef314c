//! Receives that run the io_uring backend's provided buffers dry (`ENOBUFS`): a tiny
//! group, more streams than buffers, payloads far larger than the group. Every byte must
//! come back, in order, and a starved stream must keep the pace of the provided path.
//!
//! Regression: with the group started at 64 buffers, `c10k echo --model uring` dropped a
//! client streaming 4 MiB. The receive had filled every buffer of the group before its
//! cancel arrived, so it ended with `ENOBUFS` while the stream's queue was full; the stream
//! was marked starved, and its reads then called `recv(2)` until `WouldBlock`, taking
//! megabytes from the socket within one scheduler turn. The echo's answers to them could
//! not leave before the turn ended (sends are submitted at the end of the turn), so its
//! output grew past its limit and the server gave the client up. A starved read now takes
//! at most what the provided path would have queued, once per turn.

mod util;

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::task::Poll;
use std::time::{Duration, Instant};

use c10k_runtime::driver::Backend;
use c10k_runtime::net::{TcpListener, TcpStream};
use c10k_runtime::Runtime;

/// Streams, each echoing [`BYTES`] through a group of at most [`BUFFERS`] buffers.
const CONNS: usize = 8;
const BYTES: usize = 2 << 20;
/// What the hoarder sends and its task leaves unread until the echoes are done.
const HOARD: usize = 256 * 1024;
const BUFFERS: u16 = 16;
const BUF_SIZE: u32 = 4096;
/// The echo's own output limit, as `c10k echo` has one: past it the peer is given up.
const OUTPUT_LIMIT: usize = 1 << 20;
/// The echo's read buffer (as `c10k echo`'s).
const READ_BUFFER: usize = 64 * 1024;

/// The byte at offset `i` of connection `conn`: a pattern whose period (251, prime) is
/// not a divisor of any buffer size, so a lost, repeated or reordered chunk shows.
fn pattern(conn: usize, i: usize) -> u8 {
    ((i + conn * 37) % 251) as u8
}

/// The echo of `c10k echo`'s runtime models, reduced: read with `try_read` until
/// `WouldBlock`, answer with `try_write`, keep what the stream does not take (at most
/// [`OUTPUT_LIMIT`]), wait for either direction while output waits.
async fn echo(stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; READ_BUFFER];
    let mut out: Vec<u8> = Vec::new();
    let mut read_closed = false;
    loop {
        while !out.is_empty() {
            match stream.try_write(&out) {
                Ok(n) => drop(out.drain(..n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if !read_closed {
            match stream.try_read(&mut buf) {
                Ok(0) => read_closed = true,
                Ok(n) => {
                    let mut data = &buf[..n];
                    if out.is_empty() {
                        while !data.is_empty() {
                            match stream.try_write(data) {
                                Ok(k) => data = &data[k..],
                                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                                Err(e) => return Err(e),
                            }
                        }
                    }
                    out.extend_from_slice(data);
                    if out.len() > OUTPUT_LIMIT {
                        return Err(io::Error::other(format!(
                            "the echo holds {} bytes unsent: its reads outran its writes",
                            out.len()
                        )));
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        if read_closed && out.is_empty() {
            stream.shutdown(Shutdown::Write)?;
            return Ok(());
        }
        std::future::poll_fn(|cx| {
            let read = !read_closed && stream.poll_read_ready(cx).is_ready();
            let write = !out.is_empty() && stream.poll_write_ready(cx).is_ready();
            if read || write {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
}

/// A blocking client: sends its pattern from one thread, reads the echo on another, and
/// returns the offset of the first wrong byte, if any.
fn client(addr: std::net::SocketAddr, conn: usize) -> io::Result<Option<usize>> {
    let stream = std::net::TcpStream::connect(addr)?;
    // Generous bounds: a stalled server fails the test instead of hanging it.
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(60)))?;
    let mut writer = stream.try_clone()?;
    let sender = std::thread::spawn(move || {
        let data: Vec<u8> = (0..BYTES).map(|i| pattern(conn, i)).collect();
        writer.write_all(&data)?;
        writer.shutdown(Shutdown::Write)
    });
    let mut back = Vec::with_capacity(BYTES);
    (&stream).read_to_end(&mut back)?;
    sender.join().expect("sender thread")?;
    if back.len() != BYTES {
        return Err(io::Error::other(format!(
            "connection {conn}: {} bytes came back of {BYTES}",
            back.len()
        )));
    }
    Ok((0..BYTES).find(|&i| back[i] != pattern(conn, i)))
}

#[test]
fn starved_streams_echo_every_byte_in_order() -> io::Result<()> {
    if !Backend::Uring.is_available() {
        eprintln!("note: io_uring unavailable here; skipped");
        return Ok(());
    }
    // 16 buffers, and a stream may queue 16 unread: a *hoarder* whose task does not read
    // takes the whole group, so every other stream runs dry (`ENOBUFS`) and, the group
    // being at its cap, is starved for the whole test. (`net_uring_mem` covers growth.)
    let rt = Runtime::builder()
        .current_thread()
        .backend(Backend::Uring)
        .uring_buffers(BUFFERS, BUF_SIZE)
        .uring_initial_buffers(BUFFERS)
        .uring_stream_buffers(usize::from(BUFFERS))
        .build()?;
    rt.block_on(async {
        let h = c10k_runtime::Handle::current();
        let l = TcpListener::bind("127.0.0.1:0").await?;
        let addr = l.local_addr()?;
        let hoard = std::thread::spawn(move || -> io::Result<()> {
            let mut s = std::net::TcpStream::connect(addr)?;
            s.set_write_timeout(Some(Duration::from_secs(60)))?;
            let data: Vec<u8> = (0..HOARD).map(|i| pattern(CONNS, i)).collect();
            s.write_all(&data)?;
            s.shutdown(Shutdown::Write)
        });
        let (hoarder, _) = l.accept().await?;
        // Arms its receive; from then on it fills buffers until the group is empty.
        hoarder.readable().await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while h.uring_buffers().expect("a uring runtime") != (0, usize::from(BUFFERS)) {
            assert!(
                Instant::now() < deadline,
                "the hoarder did not take the whole group: {:?}",
                h.uring_buffers()
            );
            c10k_runtime::time::sleep(Duration::from_millis(1)).await;
        }
        let clients: Vec<_> = (0..CONNS)
            .map(|conn| std::thread::spawn(move || client(addr, conn)))
            .collect();
        let mut echoes = Vec::new();
        for _ in 0..CONNS {
            let (s, _) = l.accept().await?;
            echoes.push(c10k_runtime::spawn(echo(s)));
        }
        for (i, e) in echoes.into_iter().enumerate() {
            e.await
                .map_err(io::Error::other)?
                .map_err(|e| io::Error::new(e.kind(), format!("echo {i}: {e}")))?;
        }
        for (conn, c) in clients.into_iter().enumerate() {
            let wrong = c.join().expect("client thread")?;
            assert_eq!(wrong, None, "connection {conn}: first wrong byte");
        }
        // The hoarder held every buffer throughout: the echoes went through `recv(2)`.
        assert_eq!(h.uring_buffers(), Some((0, usize::from(BUFFERS))));
        let mut got = Vec::with_capacity(HOARD);
        let mut buf = vec![0u8; READ_BUFFER];
        loop {
            match hoarder.read(&mut buf).await? {
                0 => break,
                n => got.extend_from_slice(&buf[..n]),
            }
        }
        hoard.join().expect("hoarding client")?;
        assert_eq!(got.len(), HOARD, "the hoarder's bytes");
        assert_eq!((0..HOARD).find(|&i| got[i] != pattern(CONNS, i)), None);
        let (available, total) = h.uring_buffers().expect("a uring runtime");
        assert_eq!(available, total, "every buffer is back in the group");
        Ok(())
    })
}
