//! More receivers than provided buffers: `ENOBUFS` ends the starved
//! multishot receives, distinctly, and re-arming them once buffers are back
//! (or after growing the group) loses no byte.

mod util;

use std::io::{self, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;

use c10k_uring::{BufGroup, Op, ProvidedBuf, Ring};
use util::{drive, ensure, settle, tcp_pair};

const CONNS: usize = 4;

struct Conn {
    client: TcpStream,
    server: TcpStream,
    want: Vec<u8>,
    got: Vec<u8>,
}

fn conns() -> io::Result<Vec<Conn>> {
    (0..CONNS)
        .map(|_| {
            let (client, server) = tcp_pair()?;
            Ok(Conn {
                client,
                server,
                want: Vec::new(),
                got: Vec::new(),
            })
        })
        .collect()
}

fn send(conn: &mut Conn, i: usize, round: &str) -> io::Result<()> {
    let msg = format!("<{round}{i}>");
    conn.client.write_all(msg.as_bytes())?;
    conn.want.extend_from_slice(msg.as_bytes());
    Ok(())
}

/// Drives the receivers until every connection got what was sent: data is
/// copied and its buffer returned at once; a receiver ended by `ENOBUFS` is
/// parked and re-armed after a turn in which buffers came back (or, with
/// `grow`, after growing the group by one). Returns how many `ENOBUFS` it
/// saw.
fn receive_all(
    ring: &mut Ring,
    group: &BufGroup,
    conns: &mut [Conn],
    grow: bool,
) -> io::Result<usize> {
    let mut parked = Vec::new();
    let mut no_buffers = 0;
    let done = |conns: &[Conn]| conns.iter().all(|c| c.got.len() == c.want.len());
    for _ in 0..1000 {
        if done(conns) {
            return Ok(no_buffers);
        }
        for mut c in util::turn(ring)? {
            let i = c.tag() as usize;
            if c.is_no_buffers() {
                ensure(c.is_final(), || "ENOBUFS ends the multishot".into())?;
                no_buffers += 1;
                parked.push(i);
                continue;
            }
            ensure(c.more(), || format!("receiver {i} ended: {c:?}"))?;
            let data = c.take_provided().expect("data comes in a provided buffer");
            conns[i].got.extend_from_slice(&data);
        }
        if grow && !parked.is_empty() {
            ring.grow_buf_group(group, 1)?;
        }
        if group.available() > 0 {
            for i in parked.drain(..) {
                ring.push(Op::recv_multi(conns[i].server.as_raw_fd(), group), i as u64)?;
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        "data still missing after 1000 turns",
    ))
}

fn cancel_all(ring: &mut Ring, group: &BufGroup, conns: &[Conn]) -> io::Result<()> {
    for c in conns {
        ring.cancel_fd(c.server.as_raw_fd())?;
    }
    settle(ring, 100, |c| {
        ensure(c.is_cancelled(), || format!("want a cancellation: {c:?}"))
    })?;
    ensure(group.available() == group.total(), || {
        format!("{} of {} buffers home", group.available(), group.total())
    })
}

#[test]
fn enobufs_then_rearm_after_buffers_return_loses_nothing() -> io::Result<()> {
    let mut ring = Ring::new()?;
    let group = ring.register_buf_group(BufGroup::builder(0).buf_size(16).count(2))?;
    let mut conns = conns()?;
    for (i, c) in conns.iter_mut().enumerate() {
        send(c, i, "a")?;
    }
    for (i, c) in conns.iter().enumerate() {
        ring.push(Op::recv_multi(c.server.as_raw_fd(), &group), i as u64)?;
    }

    // Phase 1: two receivers take the two buffers (held, not returned), the
    // other two end with ENOBUFS.
    let mut held: Vec<ProvidedBuf> = Vec::new();
    let mut starved = Vec::new();
    drive(&mut ring, 100, |_, mut c| {
        if c.is_no_buffers() {
            ensure(c.is_final(), || "ENOBUFS ends the multishot".into())?;
            starved.push(c.tag() as usize);
        } else {
            let buf = c.take_provided().expect("data in a provided buffer");
            conns[c.tag() as usize].got.extend_from_slice(&buf);
            held.push(buf);
        }
        Ok(held.len() + starved.len() == CONNS)
    })?;
    assert_eq!((held.len(), starved.len()), (2, 2));
    assert_eq!(group.available(), 0);

    // While starved, more data arrives for everyone.
    for (i, c) in conns.iter_mut().enumerate() {
        send(c, i, "b")?;
    }
    // Buffers come back from another thread (ProvidedBuf is Send) while
    // the owner sleeps: the group was starved, so the first return wakes
    // the ring's waker and the wait ends.
    ring.waker()?;
    ring.submit()?;
    let recycler = std::thread::spawn(move || drop(held));
    let start = std::time::Instant::now();
    ring.submit_and_wait(1, Some(util::PATIENCE))?;
    assert!(
        start.elapsed() < util::PATIENCE,
        "a return to a starved group wakes the owner"
    );
    recycler.join().expect("recycling thread");
    assert_eq!(group.available(), 2);
    for &i in &starved {
        ring.push(
            Op::recv_multi(conns[i].server.as_raw_fd(), &group),
            i as u64,
        )?;
    }
    receive_all(&mut ring, &group, &mut conns, false)?;
    for c in &conns {
        assert_eq!(c.got, c.want, "every byte, in order, once");
    }
    cancel_all(&mut ring, &group, &conns)
}

#[test]
fn enobufs_then_grow_the_group_loses_nothing() -> io::Result<()> {
    let mut ring = Ring::new()?;
    let group = ring.register_buf_group(
        BufGroup::builder(5)
            .buf_size(16)
            .count(1)
            .capacity(CONNS as u16),
    )?;
    let mut conns = conns()?;
    for (i, c) in conns.iter_mut().enumerate() {
        send(c, i, "g")?;
    }
    for (i, c) in conns.iter().enumerate() {
        ring.push(Op::recv_multi(c.server.as_raw_fd(), &group), i as u64)?;
    }
    let no_buffers = receive_all(&mut ring, &group, &mut conns, true)?;
    assert!(no_buffers > 0, "one buffer for four receivers must run dry");
    assert!(group.total() > 1 && group.total() <= CONNS);
    for c in &conns {
        assert_eq!(c.got, c.want);
    }
    // At capacity, growing adds nothing.
    ring.grow_buf_group(&group, CONNS as u16)?;
    assert_eq!(ring.grow_buf_group(&group, 1)?, 0);
    assert_eq!(group.total(), CONNS);
    cancel_all(&mut ring, &group, &conns)
}
