//! Provided buffers recycled from other threads while the kernel keeps
//! filling the group: the producer side of the buffer ring under real
//! concurrency. Four streams of 256 KiB go through eight 512-byte buffers;
//! two worker threads take the received buffers (in arrival order, with a
//! sequence number) and drop them; the owner re-arms receivers that ran dry
//! when a returned buffer wakes it. Every byte arrives once, in order, and
//! every buffer ends at home.

mod util;

use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use c10k_uring::{BufGroup, Op, ProvidedBuf, Ring};
use util::{ensure, settle, tcp_pair, PATIENCE};

const CONNS: usize = 4;
const BYTES: usize = 256 * 1024;
const WORKERS: usize = 2;

fn pattern(conn: usize) -> Vec<u8> {
    (0..BYTES).map(|i| (i * 7 + conn * 13) as u8).collect()
}

/// What the workers saw: per connection, (sequence, bytes).
type Received = Arc<Mutex<Vec<Vec<(u64, Vec<u8>)>>>>;

#[test]
fn buffers_recycled_from_other_threads_lose_nothing() -> io::Result<()> {
    let mut ring = Ring::new()?;
    let group = ring.register_buf_group(BufGroup::builder(0).buf_size(512).count(8))?;
    ring.waker()?;
    let pairs = (0..CONNS)
        .map(|_| tcp_pair())
        .collect::<io::Result<Vec<_>>>()?;

    // Writers: each client sends its pattern, then closes.
    let writers: Vec<_> = pairs
        .iter()
        .enumerate()
        .map(|(i, (client, _))| {
            let mut client = client.try_clone()?;
            Ok(std::thread::spawn(move || -> io::Result<()> {
                client.write_all(&pattern(i))?;
                client.shutdown(std::net::Shutdown::Write)
            }))
        })
        .collect::<io::Result<_>>()?;

    // Workers: take buffers, copy, drop (recycling on their thread).
    let received: Received = Arc::new(Mutex::new(vec![Vec::new(); CONNS]));
    let (tx, rx) = mpsc::channel::<(usize, u64, ProvidedBuf)>();
    let rx = Arc::new(Mutex::new(rx));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let rx = Arc::clone(&rx);
            let received = Arc::clone(&received);
            std::thread::spawn(move || loop {
                let next = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                let Ok((conn, seq, buf)) = next else { return };
                let bytes = buf.to_vec();
                drop(buf);
                received.lock().unwrap_or_else(|e| e.into_inner())[conn].push((seq, bytes));
            })
        })
        .collect();

    for (i, (_, server)) in pairs.iter().enumerate() {
        ring.push(Op::recv_multi(server.as_raw_fd(), &group), i as u64)?;
    }
    let mut seq = 0u64;
    let mut eof = [false; CONNS];
    let mut parked = Vec::new();
    let mut no_buffers = 0;
    let deadline = Instant::now() + 6 * PATIENCE;
    while !eof.iter().all(|&e| e) {
        ensure(Instant::now() < deadline, || {
            format!("streams not finished: eof {eof:?}, parked {parked:?}")
        })?;
        ring.submit_and_wait(1, Some(PATIENCE))?;
        let mut failed = None;
        ring.reap(|mut c| {
            let conn = c.tag() as usize;
            if c.is_no_buffers() {
                no_buffers += 1;
                parked.push(conn);
                return;
            }
            match c.result() {
                Ok(0) => eof[conn] = true,
                Ok(_) => {
                    let buf = c.take_provided().expect("data in a provided buffer");
                    seq += 1;
                    // The workers outlive this loop, so the send succeeds.
                    let _ = tx.send((conn, seq, buf));
                    if c.is_final() {
                        parked.push(conn); // ended after data: re-arm
                    }
                }
                Err(e) => failed = Some(e),
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        if group.available() > 0 {
            for conn in parked.drain(..) {
                ring.push(
                    Op::recv_multi(pairs[conn].1.as_raw_fd(), &group),
                    conn as u64,
                )?;
            }
        }
    }
    drop(tx);
    for w in workers {
        w.join().expect("worker");
    }
    for w in writers {
        w.join().expect("writer")?;
    }
    settle(&mut ring, 10, |c| {
        ensure(false, || format!("unexpected {c:?}"))
    })?;

    let mut received = received.lock().unwrap_or_else(|e| e.into_inner());
    for (conn, chunks) in received.iter_mut().enumerate() {
        chunks.sort_unstable_by_key(|&(seq, _)| seq);
        let bytes: Vec<u8> = chunks.iter().flat_map(|(_, b)| b.iter().copied()).collect();
        assert!(
            bytes == pattern(conn),
            "connection {conn}: {} of {BYTES} bytes, or reordered",
            bytes.len()
        );
    }
    assert_eq!(group.available(), group.total(), "every buffer home");
    eprintln!("recycling: {seq} buffers through a group of 8, {no_buffers} ENOBUFS re-armed");
    Ok(())
}
