//! The io_uring backend's own cases, at the runtime level: peer reset, half-close,
//! `ENOBUFS` (more receivers than provided buffers), owned-buffer IO, and the ring's
//! binding to its driving thread. The shared suites cover everything else on uring.

mod util;

use std::io;
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Duration;

use c10k_runtime::driver::Backend;
use c10k_runtime::net::{TcpListener, TcpStream};
use c10k_runtime::task::yield_now;
use c10k_runtime::{Builder, Runtime};

/// A current-thread uring builder, or `None` (said on stderr) where io_uring is refused
/// and `C10K_TEST_BACKEND` does not ask for it.
fn uring() -> Option<Builder> {
    if Backend::Uring.is_available() || util::backend() == Backend::Uring {
        Some(Runtime::builder().current_thread().backend(Backend::Uring))
    } else {
        eprintln!("note: io_uring unavailable here; skipped");
        None
    }
}

/// Yields until every provided buffer is back (a turn reaps the cancellations of dropped
/// streams); at most 1000 turns.
async fn all_buffers_back() -> io::Result<()> {
    let h = c10k_runtime::Handle::current();
    for _ in 0..1000 {
        match h.uring_buffers() {
            Some((free, total)) if free == total => return Ok(()),
            _ => yield_now().await,
        }
    }
    Err(io::Error::other(format!(
        "provided buffers not returned: {:?}",
        h.uring_buffers()
    )))
}

async fn pair() -> io::Result<(TcpStream, TcpStream)> {
    let l = TcpListener::bind("127.0.0.1:0").await?;
    let client = TcpStream::connect(l.local_addr()?).await?;
    let (server, _) = l.accept().await?;
    Ok((client, server))
}

#[test]
fn peer_reset_is_reported_then_reads_end_and_writes_fail() -> io::Result<()> {
    let Some(mut b) = uring() else { return Ok(()) };
    b.build()?.block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await?;
        let client = std::net::TcpStream::connect(l.local_addr()?)?;
        let (server, _) = l.accept().await?;
        // The server waits in `read` (its receive armed on the ring) when the reset comes.
        let reader = c10k_runtime::spawn(async move {
            let mut buf = [0u8; 16];
            let first = server.read(&mut buf).await;
            (first, server)
        });
        yield_now().await;
        rustix::net::sockopt::set_socket_linger(&client, Some(Duration::ZERO))?;
        drop(client); // RST
        let (first, server) = reader.await.map_err(io::Error::other)?;
        let err = first.expect_err("a reset must fail the read");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
        let mut buf = [0u8; 16];
        assert_eq!(
            server.read(&mut buf).await?,
            0,
            "after the reset: end of stream"
        );
        assert!(
            server.write_all(b"late").await.is_err(),
            "a write after a reset fails"
        );
        drop(server);
        all_buffers_back().await
    })
}

/// Regression: a read that found data but then ran out of its task's cooperative budget
/// returned `Pending` after taking the data, losing it (found by the cancel storm).
#[test]
fn reads_past_the_budget_lose_no_byte() -> io::Result<()> {
    let Some(mut b) = uring() else { return Ok(()) };
    b.build()?.block_on(async {
        let (client, server) = pair().await?;
        let data: Vec<u8> = (0..=255u8).collect();
        client.write_all(&data).await?;
        let reader = c10k_runtime::spawn(async move {
            // One byte per read: far more ready reads in one poll than the budget allows.
            let mut got = Vec::new();
            let mut byte = [0u8; 1];
            while got.len() < 256 {
                match server.read(&mut byte).await? {
                    0 => break,
                    _ => got.push(byte[0]),
                }
            }
            Ok::<_, io::Error>(got)
        });
        client.shutdown(Shutdown::Write)?;
        let got = c10k_runtime::time::timeout(Duration::from_secs(20), reader)
            .await
            .map_err(|_| io::Error::other("the reader lost a byte and waits for it"))?
            .map_err(io::Error::other)??;
        assert_eq!(got, data);
        Ok(())
    })
}

#[test]
fn half_close_lets_the_other_direction_finish() -> io::Result<()> {
    let Some(mut b) = uring() else { return Ok(()) };
    b.build()?.block_on(async {
        let (client, server) = pair().await?;
        client.write_all(b"request").await?;
        client.shutdown(Shutdown::Write)?;
        let mut got = Vec::new();
        let mut buf = [0u8; 4];
        loop {
            match server.read(&mut buf).await? {
                0 => break,
                n => got.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(got, b"request");
        // The server's writing side is still open.
        server.write_all(b"reply").await?;
        server.shutdown(Shutdown::Write)?;
        let mut got = Vec::new();
        loop {
            match client.read(&mut buf).await? {
                0 => break,
                n => got.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(got, b"reply");
        drop((client, server));
        all_buffers_back().await
    })
}

#[test]
fn more_receivers_than_buffers_lose_nothing() -> io::Result<()> {
    const CONNS: usize = 16;
    const BYTES: usize = 8 * 1024;
    // 4 buffers of 256 bytes for 16 receivers of 8 KiB each: the group runs dry (ENOBUFS)
    // and the starved streams read with recv(2) until they re-arm.
    let Some(b) = uring() else { return Ok(()) };
    let rt = b.uring_buffers(4, 256).uring_stream_buffers(2).build()?;
    rt.block_on(async {
        let mut readers = Vec::new();
        let mut clients = Vec::new();
        for i in 0..CONNS {
            let (client, server) = pair().await?;
            readers.push(c10k_runtime::spawn(async move {
                let mut got = Vec::with_capacity(BYTES);
                let mut buf = [0u8; 100];
                while got.len() < BYTES {
                    match server.read(&mut buf).await? {
                        0 => break,
                        n => got.extend_from_slice(&buf[..n]),
                    }
                }
                Ok::<_, io::Error>((i, got))
            }));
            clients.push(client);
        }
        yield_now().await; // every receiver armed before any data arrives
        for (i, c) in clients.iter().enumerate() {
            let data: Vec<u8> = (0..BYTES).map(|k| (k * 7 + i) as u8).collect();
            c.write_all(&data).await?;
        }
        for r in readers {
            let (i, got) = r.await.map_err(io::Error::other)??;
            let want: Vec<u8> = (0..BYTES).map(|k| (k * 7 + i) as u8).collect();
            assert!(got == want, "connection {i}: bytes lost or reordered");
        }
        drop(clients);
        all_buffers_back().await
    })
}

#[test]
fn owned_buffer_io_round_trips_and_survives_dropped_futures() -> io::Result<()> {
    let Some(mut b) = uring() else { return Ok(()) };
    b.build()?.block_on(async {
        let (client, server) = pair().await?;
        // A dropped owned write still sends its whole buffer, once.
        {
            let big = vec![7u8; 1 << 20];
            let fut = client.write_all_owned(big);
            let mut fut = std::pin::pin!(fut);
            assert!(futures_util::poll!(fut.as_mut()).is_pending());
        }
        let mut got = 0;
        let mut buf = Vec::with_capacity(64 * 1024);
        while got < 1 << 20 {
            // Race the owned read against a ready timer: whichever wins, nothing is lost.
            let read = server.read_owned(std::mem::take(&mut buf));
            let (res, b) = read.await;
            let n = res?;
            assert!(b[..n].iter().all(|&x| x == 7));
            got += n;
            buf = b;
            buf.clear();
        }
        assert_eq!(got, 1 << 20);
        let (res, back) = client.write_all_owned(b"tail".to_vec()).await;
        res?;
        assert_eq!(back, b"tail");
        let (res, b) = server.read_owned(Vec::with_capacity(16)).await;
        assert_eq!(&b[..res?], b"tail");
        drop((client, server));
        all_buffers_back().await
    })
}

#[test]
fn current_thread_ring_is_bound_to_its_first_driving_thread() -> io::Result<()> {
    let Some(mut b) = uring() else { return Ok(()) };
    let rt = Arc::new(b.build()?);
    rt.block_on(c10k_runtime::time::sleep(Duration::from_millis(1)));
    let other = Arc::clone(&rt);
    let res = std::thread::spawn(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            other.block_on(c10k_runtime::time::sleep(Duration::from_millis(1)))
        }))
    })
    .join()
    .map_err(|_| io::Error::other("thread panicked outside catch_unwind"))?;
    let msg = match res {
        Ok(()) => return Err(io::Error::other("a second thread drove a bound ring")),
        Err(p) => p.downcast_ref::<String>().cloned().unwrap_or_default(),
    };
    assert!(
        msg.contains("SINGLE_ISSUER") && msg.contains("uring_single_issuer"),
        "{msg}"
    );
    // The runtime still works on its own thread.
    rt.block_on(async {
        let (c, s) = pair().await?;
        c.write_all(b"ok").await?;
        let mut buf = [0u8; 2];
        s.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"ok");
        Ok::<_, io::Error>(())
    })?;

    // Without SINGLE_ISSUER, any thread may drive it in turn.
    let Some(b) = uring() else { return Ok(()) };
    let rt = Arc::new(b.uring_single_issuer(false).build()?);
    rt.block_on(c10k_runtime::time::sleep(Duration::from_millis(1)));
    let other = Arc::clone(&rt);
    std::thread::spawn(move || other.block_on(c10k_runtime::time::sleep(Duration::from_millis(1))))
        .join()
        .map_err(|_| io::Error::other("driving from a second thread panicked"))?;
    Ok(())
}
