//! The cancel storm: reads and accepts dropped while in flight, on the io_uring backend,
//! then every provided buffer is back in its ring, and the open descriptors and the
//! resident memory are back at their starting level.
//!
//! Each iteration races one operation against a ready timer (`select` with
//! `time::sleep(ZERO)`) and drops the loser: a `read`, a `read_owned`, an `accept`, or a
//! `write_all_owned` of a buffer the ring keeps until its send completes. Clients write now
//! and then, so some reads win and hold provided buffers; every 512 iterations a connection
//! is replaced (its armed receive cancelled by the drop). At the end every byte written was
//! read exactly once.
//!
//! `C10K_STORM_ITERATIONS` sets the count (default 1 000 000; the recorded run
//! in `BENCH-net.md` is in release). Its own test binary: descriptor and memory
//! counts are per process.
//!
//! Under valgrind (detected by its preload library in `LD_PRELOAD`) the RSS check is
//! skipped: freed blocks sit in valgrind's quarantine (`--freelist-vol`), so RSS grows
//! by design there, and valgrind's own leak check covers memory instead. Every other
//! check (bytes, buffers, descriptors) still runs. The recorded valgrind run is in
//! `BENCH-net.md`.

use std::io;
use std::pin::pin;
use std::time::Duration;

use c10k_runtime::driver::Backend;
use c10k_runtime::net::{TcpListener, TcpStream};
use c10k_runtime::task::yield_now;
use c10k_runtime::time::sleep;
use c10k_runtime::Runtime;
use futures_util::future::{select, Either};
use futures_util::AsyncWriteExt;

const PAIRS: usize = 32;

fn open_fds() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/fd")?.count())
}

/// `VmRSS` of `/proc/self/status` (not `statm` × the page size: rustix's page size reads
/// the vDSO's ELF header, which valgrind does not map).
fn rss_bytes() -> io::Result<usize> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kib: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::other("no VmRSS in /proc/self/status"))?;
    Ok(kib * 1024)
}

/// A connected pair; connections of the accept races still queued are dropped on the way.
async fn pair(l: &TcpListener) -> io::Result<(TcpStream, TcpStream)> {
    let client = TcpStream::connect(l.local_addr()?).await?;
    let me = client.local_addr()?;
    for _ in 0..64 {
        let (server, peer) = l.accept().await?;
        if peer == me {
            return Ok((client, server));
        }
    }
    Err(io::Error::other(
        "the connection never came out of the accept queue",
    ))
}

#[test]
fn a_storm_of_dropped_reads_and_accepts_leaks_nothing() -> io::Result<()> {
    let forced = std::env::var("C10K_TEST_BACKEND").is_ok_and(|b| b == "uring");
    if !Backend::Uring.is_available() && !forced {
        eprintln!("note: io_uring unavailable here; skipped");
        return Ok(());
    }
    let iterations: usize = match std::env::var("C10K_STORM_ITERATIONS") {
        Ok(v) => v.parse().map_err(io::Error::other)?,
        Err(_) => 1_000_000,
    };
    let fds_before = open_fds()?;
    let rt = Runtime::builder()
        .current_thread()
        .backend(Backend::Uring)
        .uring_buffers(64, 4096)
        .build()?;
    let fds_with_runtime = open_fds()?;
    let (written, read, rss_warm, rss_end) = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let mut pairs = Vec::with_capacity(PAIRS);
        for _ in 0..PAIRS {
            pairs.push(pair(&listener).await?);
        }
        let mut backlog: Vec<std::net::TcpStream> = Vec::new();
        let (mut written, mut read) = (0usize, 0usize);
        let mut buf = [0u8; 256];
        let mut owned = Vec::with_capacity(256);
        let mut rss_warm = 0;
        for i in 0..iterations {
            if i == iterations / 10 {
                rss_warm = rss_bytes()?;
            }
            // Every pair sees every case (a pair only written to would fill its socket).
            let p = (i / 8) % PAIRS;
            match i % 8 {
                0..=2 => {
                    let (_, server) = &pairs[p];
                    let (op, timer) = (pin!(server.read(&mut buf)), pin!(sleep(Duration::ZERO)));
                    if let Either::Left((n, _)) = select(op, timer).await {
                        read += n?;
                    }
                }
                3 => {
                    let (_, server) = &pairs[p];
                    let fut = server.read_owned(std::mem::take(&mut owned));
                    match select(pin!(fut), pin!(sleep(Duration::ZERO))).await {
                        Either::Left(((n, b), _)) => {
                            read += n?;
                            owned = b;
                        }
                        // The owned buffer went with the dropped future: a new one.
                        Either::Right(_) => owned = Vec::with_capacity(256),
                    }
                    owned.clear();
                }
                4 => {
                    let (op, timer) = (pin!(listener.accept()), pin!(sleep(Duration::ZERO)));
                    if let Either::Left((accepted, _)) = select(op, timer).await {
                        drop(accepted?);
                    }
                    if i % 64 == 4 && backlog.len() < 16 {
                        // Something to accept next time (closed once accepted or at the end).
                        backlog.push(std::net::TcpStream::connect(listener.local_addr()?)?);
                    } else if backlog.len() >= 16 {
                        backlog.clear();
                    }
                }
                5 => {
                    let (client, _) = &pairs[p];
                    // Once the stream has nothing unsent, the owned write hands its buffer to
                    // the ring at its first poll: dropped or finished, its 64 bytes go out.
                    let mut w: &TcpStream = client;
                    w.flush().await?;
                    let fut = client.write_all_owned(vec![1u8; 64]);
                    let _ = select(pin!(fut), pin!(sleep(Duration::ZERO))).await;
                    written += 64;
                }
                6 => {
                    let (client, _) = &pairs[p];
                    if i % 16 == 6 {
                        client.write_all(&[2u8; 100]).await?;
                        written += 100;
                    }
                }
                _ => {
                    if i % 512 == 7 {
                        // Replace a connection: first read what it still carries.
                        let (client, server) = pairs.swap_remove(p);
                        client.shutdown(std::net::Shutdown::Write)?;
                        loop {
                            match server.read(&mut buf).await? {
                                0 => break,
                                n => read += n,
                            }
                        }
                        drop((client, server));
                        pairs.push(pair(&listener).await?);
                    }
                }
            }
        }
        // Drain what is still in flight.
        for (client, server) in pairs.drain(..) {
            client.shutdown(std::net::Shutdown::Write)?;
            loop {
                match server.read(&mut buf).await? {
                    0 => break,
                    n => read += n,
                }
            }
        }
        drop(backlog);
        drop(listener);
        let h = c10k_runtime::Handle::current();
        let mut turns = 0;
        while h.uring_buffers().is_some_and(|(free, total)| free != total) && turns < 1000 {
            yield_now().await;
            turns += 1;
        }
        let (free, total) = h
            .uring_buffers()
            .ok_or_else(|| io::Error::other("not on uring"))?;
        assert_eq!(free, total, "provided buffers leaked");
        Ok::<_, io::Error>((written, read, rss_warm, rss_bytes()?))
    })?;
    assert_eq!(read, written, "bytes lost or duplicated");
    // Every socket is closed through the ring: give the runtime a turn to submit the closes.
    rt.block_on(async {
        for _ in 0..100 {
            if open_fds().is_ok_and(|n| n == fds_with_runtime) {
                break;
            }
            yield_now().await;
        }
    });
    assert_eq!(open_fds()?, fds_with_runtime, "descriptors leaked");
    drop(rt);
    assert_eq!(open_fds()?, fds_before, "the runtime left descriptors open");
    // Memory: after the first tenth, the storm must not grow the heap (a leak of a few
    // bytes per iteration would show as megabytes).
    let grown = rss_end.saturating_sub(rss_warm);
    let under_valgrind = std::env::var("LD_PRELOAD").is_ok_and(|p| p.contains("valgrind"));
    assert!(
        under_valgrind || grown < 8 << 20,
        "RSS grew by {grown} bytes over {iterations} iterations (from {rss_warm})"
    );
    eprintln!(
        "cancel storm: {iterations} iterations, {written} bytes, RSS {rss_warm} -> {rss_end}"
    );
    Ok(())
}
