//! Every operation kind round-trips over real loopback sockets and pipes.

mod util;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use c10k_uring::{BufGroup, Op, OpKind, Ring};
use util::{drive, ensure, settle, tcp_pair, turn, PATIENCE};

const ACCEPT: u64 = u64::MAX;

/// Multishot accept, multishot recv on a provided group, and send: an echo
/// server on the ring, four std clients.
#[test]
fn echo_with_multishot_accept_and_recv() -> io::Result<()> {
    const CLIENTS: usize = 4;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let mut ring = Ring::new()?;
    let group = ring.register_buf_group(BufGroup::builder(3).buf_size(64).count(16))?;
    let accept = ring.push(Op::accept_multi(listener.as_raw_fd()), ACCEPT)?;

    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let mut c = TcpStream::connect(listener.local_addr()?)?;
        c.set_read_timeout(Some(PATIENCE))?;
        c.write_all(format!("hello {i}").as_bytes())?;
        clients.push(c);
    }

    // tag = index into `conns`; echo what arrives.
    let mut conns: Vec<OwnedFd> = Vec::new();
    let mut sent = 0;
    drive(&mut ring, 200, |ring, mut c| {
        match c.kind() {
            OpKind::AcceptMulti => {
                ensure(c.more(), || format!("multishot accept ended: {c:?}"))?;
                let fd = c.take_fd().expect("an accept hands over the socket");
                let tag = conns.len() as u64;
                ring.push(Op::recv_multi(fd.as_raw_fd(), &group), tag)?;
                conns.push(fd);
            }
            OpKind::RecvMulti => {
                ensure(c.more(), || format!("recv ended early: {c:?}"))?;
                let data = c.take_provided().expect("data comes in a provided buffer");
                let fd = conns[c.tag() as usize].as_raw_fd();
                ring.push(Op::send(fd, data.to_vec(), 0), c.tag())?;
            }
            OpKind::Send => {
                let n = c.result()?;
                let buf = c.take_buf().expect("a send hands its buffer back");
                ensure(n as usize == buf.len(), || "short send on loopback".into())?;
                sent += 1;
            }
            k => panic!("unexpected completion {k:?}"),
        }
        Ok(sent == CLIENTS)
    })?;

    for (i, c) in clients.iter_mut().enumerate() {
        let want = format!("hello {i}");
        let mut got = vec![0; want.len()];
        c.read_exact(&mut got)?;
        assert_eq!(got, want.as_bytes());
    }

    // Cancel everything; each op ends with ECANCELED and hands back nothing
    // it should not.
    assert!(ring.cancel(accept)?);
    for fd in &conns {
        ring.cancel_fd(fd.as_raw_fd())?;
    }
    let mut cancelled = 0;
    settle(&mut ring, 100, |c| {
        ensure(c.is_final() && c.is_cancelled(), || {
            format!("want a cancellation: {c:?}")
        })?;
        cancelled += 1;
        Ok(())
    })?;
    assert_eq!(cancelled, 1 + CLIENTS);
    assert_eq!(group.available(), group.total());
    assert!(!ring.cancel(accept)?, "a finished op's id is stale");
    Ok(())
}

/// Single accept reports the peer; connect and recv into an owned buffer.
#[test]
fn connect_accept_with_peer_and_owned_recv() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let mut ring = Ring::new()?;
    let sock = rustix::net::socket(
        rustix::net::AddressFamily::INET,
        rustix::net::SocketType::STREAM,
        None,
    )?;
    ring.push(Op::accept_with_peer(listener.as_raw_fd()), 1)?;
    ring.push(Op::connect(sock.as_raw_fd(), listener.local_addr()?), 2)?;
    let mut accepted = None;
    let mut connected = false;
    drive(&mut ring, 50, |_, mut c| {
        match c.tag() {
            1 => {
                let fd = c.take_fd().expect("accepted");
                accepted = Some((fd, c.peer_addr()));
            }
            2 => {
                c.result()?;
                connected = true;
            }
            _ => unreachable!(),
        }
        Ok(accepted.is_some() && connected)
    })?;
    let (server, peer) = accepted.expect("checked by drive");
    let client = TcpStream::from(sock);
    assert_eq!(peer, Some(client.local_addr()?));

    (&client).write_all(b"abc")?;
    let mut buf = Vec::with_capacity(16);
    buf.extend_from_slice(b">");
    ring.push(Op::recv(server.as_raw_fd(), buf), 3)?;
    let mut c = turn(&mut ring)?.pop().expect("one completion");
    assert_eq!(c.result()?, 3);
    assert_eq!(
        c.take_buf().as_deref(),
        Some(&b">abc"[..]),
        "appended after len"
    );
    Ok(())
}

/// A peer's RST (close with `SO_LINGER` 0) ends a pending receive with
/// `ECONNRESET`, for owned and provided receives alike.
#[test]
fn peer_reset_is_reported() -> io::Result<()> {
    let mut ring = Ring::new()?;
    let group = ring.register_buf_group(BufGroup::builder(0).buf_size(64).count(4))?;
    let (c1, s1) = tcp_pair()?;
    let (c2, s2) = tcp_pair()?;
    ring.push(Op::recv(s1.as_raw_fd(), Vec::with_capacity(64)), 1)?;
    ring.push(Op::recv_multi(s2.as_raw_fd(), &group), 2)?;
    ring.submit()?;
    for c in [c1, c2] {
        util::set_linger_zero(&c)?;
        drop(c);
    }
    let mut seen = HashMap::new();
    settle(&mut ring, 50, |mut c| {
        ensure(c.is_final(), || format!("a reset ends the op: {c:?}"))?;
        let kind = c.result().unwrap_err().kind();
        seen.insert(c.tag(), (kind, c.take_buf().map(|b| b.len())));
        Ok(())
    })?;
    assert_eq!(seen[&1], (io::ErrorKind::ConnectionReset, Some(0)));
    assert_eq!(seen[&2], (io::ErrorKind::ConnectionReset, None));

    // Sending to the reset socket fails, without SIGPIPE killing the test.
    ring.push(Op::send(s1.as_raw_fd(), b"x".to_vec(), 0), 3)?;
    let c = turn(&mut ring)?.pop().expect("one completion");
    let err = c.result().unwrap_err();
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ),
        "{err}"
    );
    assert_eq!(group.available(), 4);
    Ok(())
}

/// Half-close: the peer's `shutdown(Write)` ends a multishot receive with 0
/// (final), and the other direction still works.
#[test]
fn half_close_reads_zero_and_keeps_writing() -> io::Result<()> {
    let mut ring = Ring::new()?;
    let group = ring.register_buf_group(BufGroup::builder(0).buf_size(64).count(4))?;
    let (mut client, server) = tcp_pair()?;
    client.write_all(b"last words")?;
    client.shutdown(Shutdown::Write)?;
    ring.push(Op::recv_multi(server.as_raw_fd(), &group), 1)?;
    let mut data = Vec::new();
    let mut eof = false;
    drive(&mut ring, 50, |_, mut c| {
        let n = c.result()?;
        if let Some(b) = c.take_provided() {
            data.extend_from_slice(&b);
        }
        if n == 0 {
            ensure(c.is_final(), || "end of stream ends the multishot".into())?;
            eof = true;
        }
        Ok(eof)
    })?;
    assert_eq!(data, b"last words");
    assert_eq!(ring.in_flight(), 0);

    ring.push(Op::send(server.as_raw_fd(), b"reply".to_vec(), 2), 2)?;
    let c = turn(&mut ring)?.pop().expect("one completion");
    assert_eq!(c.result()?, 3, "sent buf[2..]");
    let mut got = [0; 3];
    client.read_exact(&mut got)?;
    assert_eq!(&got, b"ply");
    assert_eq!(group.available(), 4);
    Ok(())
}

/// `send_zc` delivers the send's result first, then hands the buffer back
/// only with its notification.
#[test]
fn send_zc_returns_the_buffer_with_the_notification() -> io::Result<()> {
    let mut ring = Ring::new()?;
    let (mut client, server) = tcp_pair()?;
    let payload: Vec<u8> = (0..32 * 1024).map(|i| i as u8).collect();
    let id = ring.push(Op::send_zc(server.as_raw_fd(), payload.clone(), 0), 9)?;
    let mut steps = Vec::new();
    let mut returned = None;
    // The client reads concurrently so a large send cannot stall.
    let reader = std::thread::spawn(move || -> io::Result<Vec<u8>> {
        let mut got = vec![0; 32 * 1024];
        client.read_exact(&mut got)?;
        Ok(got)
    });
    drive(&mut ring, 50, |_, mut c| {
        assert_eq!(c.id(), id);
        steps.push((
            c.result()?,
            c.more(),
            c.is_notification(),
            c.take_buf().is_some(),
        ));
        if c.is_final() {
            returned = Some(());
        }
        Ok(returned.is_some())
    })?;
    let sent = steps[0].0;
    assert!(sent > 0);
    assert_eq!(
        steps,
        [(sent, true, false, false), (sent, false, true, true)]
    );
    let got = reader.join().expect("reader thread")?;
    assert_eq!(&got[..sent as usize], &payload[..sent as usize]);
    Ok(())
}

/// read and write on a pipe, at the current position.
#[test]
fn read_and_write_a_pipe() -> io::Result<()> {
    let mut ring = Ring::new()?;
    let (r, w) = rustix::pipe::pipe()?;
    ring.push(Op::read(r.as_raw_fd(), Vec::with_capacity(32), u64::MAX), 1)?;
    ring.push(Op::write(w.as_raw_fd(), b"..pipe".to_vec(), 2, u64::MAX), 2)?;
    let mut read = None;
    let mut written = None;
    drive(&mut ring, 50, |_, mut c| {
        let n = c.result()?;
        match c.tag() {
            1 => read = c.take_buf(),
            _ => written = Some(n),
        }
        Ok(read.is_some() && written.is_some())
    })?;
    assert_eq!(written, Some(4));
    assert_eq!(read.as_deref(), Some(&b"pipe"[..]));
    Ok(())
}

/// poll (single and multishot), timeout, nop, close.
#[test]
fn poll_timeout_nop_close() -> io::Result<()> {
    let mut ring = Ring::new()?;
    let (mut client, server) = tcp_pair()?;
    let once = ring.push(Op::poll(server.as_raw_fd(), libc::POLLIN as u32), 1)?;
    let multi = ring.push(Op::poll_multi(server.as_raw_fd(), libc::POLLIN as u32), 2)?;
    ring.submit()?;
    client.write_all(b"x")?;
    let mut got = HashMap::new();
    drive(&mut ring, 50, |_, c| {
        let revents = c.result()?;
        ensure(revents & libc::POLLIN as u32 != 0, || "POLLIN".into())?;
        got.insert(c.id(), c.more());
        Ok(got.len() == 2)
    })?;
    assert!(!got[&once], "a single poll ends");
    assert!(got[&multi], "a multishot poll continues");
    // The multishot poll fires again on new data, then ends on cancel.
    client.write_all(b"y")?;
    let c = turn(&mut ring)?.pop().expect("one completion");
    assert_eq!((c.id(), c.more()), (multi, true));
    ring.cancel(multi)?;
    let c = turn(&mut ring)?.pop().expect("one completion");
    assert!(c.is_cancelled() && c.is_final());

    ring.push(Op::timeout(Duration::from_millis(1)), 3)?;
    ring.push(Op::nop(), 4)?;
    let (r, w) = rustix::pipe::pipe()?;
    ring.push(Op::close(r), 5)?;
    let mut results = HashMap::new();
    drive(&mut ring, 50, |_, c| {
        results.insert(c.tag(), c.result()?);
        Ok(results.len() == 3)
    })?;
    assert_eq!(results, HashMap::from([(3, 0), (4, 0), (5, 0)]));
    // The only read end is closed: writing fails with EPIPE.
    assert_eq!(rustix::io::write(&w, b"x"), Err(rustix::io::Errno::PIPE));
    Ok(())
}

/// A cancelled timeout ends with `ECANCELED`; a detached op's completion is
/// swallowed and its buffer freed; an accepted socket nobody takes is
/// closed.
#[test]
fn cancel_detach_and_untaken_sockets() -> io::Result<()> {
    let mut ring = Ring::new()?;
    let t = ring.push(Op::timeout(Duration::from_secs(3600)), 1)?;
    let (_client, server) = tcp_pair()?;
    let r = ring.push(Op::recv(server.as_raw_fd(), Vec::with_capacity(8)), 2)?;
    ring.submit()?;
    assert!(ring.cancel(t)?);
    assert!(ring.detach(r));
    assert!(ring.cancel(r)?);
    let c = turn(&mut ring)?.pop().expect("one completion");
    assert_eq!(c.tag(), 1);
    assert!(c.is_cancelled());
    settle(&mut ring, 10, |c| panic!("detached op delivered {c:?}"))?;

    let listener = TcpListener::bind("127.0.0.1:0")?;
    ring.push(Op::accept(listener.as_raw_fd()), 3)?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let c = turn(&mut ring)?.pop().expect("one completion");
    let fd = c.result()? as i32;
    assert!(util::is_open(fd));
    drop(c);
    // The server side is closed: the client sees end of stream.
    client.set_read_timeout(Some(PATIENCE))?;
    assert_eq!((&client).read(&mut [0; 8])?, 0);
    Ok(())
}

/// Invalid pushes hand the operation back.
#[test]
fn invalid_pushes_hand_the_op_back() -> io::Result<()> {
    let mut ring = Ring::new()?;
    let err = ring.push(Op::recv(0, Vec::new()), 0).unwrap_err();
    assert_eq!(err.error().kind(), io::ErrorKind::InvalidInput);
    assert_eq!(err.into_op().kind(), OpKind::Recv);
    let err = ring.push(Op::send(0, vec![1, 2], 3), 0).unwrap_err();
    assert_eq!(err.into_op().into_buf(), Some(vec![1, 2]));

    let mut other = Ring::new()?;
    let foreign = other.register_buf_group(BufGroup::builder(1).count(1))?;
    let err = ring.push(Op::recv_multi(0, &foreign), 0).unwrap_err();
    assert_eq!(err.error().kind(), io::ErrorKind::InvalidInput);
    assert!(ring
        .register_buf_group(BufGroup::builder(1).count(1))
        .is_ok());
    let again = ring
        .register_buf_group(BufGroup::builder(1).count(1))
        .unwrap_err();
    assert_eq!(again.kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(ring.in_flight(), 0);
    Ok(())
}

/// More pushes than SQ entries flush the SQ inside `push`.
#[test]
fn a_full_submission_queue_is_flushed_by_push() -> io::Result<()> {
    let mut ring = Ring::builder().entries(8).build()?;
    assert_eq!(ring.sq_capacity(), 8);
    for i in 0..100 {
        ring.push(Op::nop(), i)?;
    }
    let mut tags = Vec::new();
    drive(&mut ring, 100, |_, c| {
        tags.push(c.tag());
        Ok(tags.len() == 100)
    })?;
    assert_eq!(tags, (0..100).collect::<Vec<_>>());
    Ok(())
}

/// More completions than CQ entries: the kernel keeps them (NODROP), and
/// none is lost.
#[test]
fn cq_overflow_loses_nothing() -> io::Result<()> {
    let mut ring = Ring::builder().entries(8).cq_entries(16).build()?;
    for round in 0..4 {
        for i in 0..64 {
            ring.push(Op::nop(), round * 64 + i)?;
        }
        ring.submit()?;
    }
    let mut tags = Vec::new();
    drive(&mut ring, 100, |_, c| {
        tags.push(c.tag());
        Ok(tags.len() == 256)
    })?;
    tags.sort_unstable();
    assert_eq!(tags, (0..256).collect::<Vec<_>>());
    Ok(())
}

/// A waker on another thread ends a wait, every time.
#[test]
fn waker_ends_the_wait_from_another_thread() -> io::Result<()> {
    let mut ring = Ring::new()?;
    let waker = ring.waker()?;
    for _ in 0..50 {
        let w = waker.clone();
        let t = std::thread::spawn(move || w.wake());
        let start = std::time::Instant::now();
        ring.submit_and_wait(1, Some(PATIENCE))?;
        assert!(start.elapsed() < PATIENCE, "the wake was lost");
        assert_eq!(
            ring.reap(|c| panic!("the waker's read is internal: {c:?}")),
            0
        );
        t.join().expect("waker thread")?;
    }
    Ok(())
}

/// With single issuer, a ring built on one thread cannot be entered from
/// another unless built disabled and enabled there.
#[test]
fn single_issuer_binds_the_driving_thread() -> io::Result<()> {
    let mut ring = Ring::new()?;
    if !ring.setup_flags().single_issuer {
        return Ok(()); // an older kernel: nothing to check
    }
    ring.push(Op::nop(), 0)?; // something to submit, so the submit enters
    let err = std::thread::spawn(move || ring.submit().unwrap_err())
        .join()
        .expect("thread");
    assert!(err.to_string().contains("single issuer"), "{err}");

    let mut ring = Ring::builder().disabled(true).build()?;
    assert!(ring.setup_flags().disabled);
    ring.push(Op::nop(), 1)?;
    std::thread::spawn(move || -> io::Result<()> {
        ring.enable()?;
        assert_eq!(turn(&mut ring)?.len(), 1);
        Ok(())
    })
    .join()
    .expect("thread")
}

/// Dropping a ring with operations in flight cancels them and frees their
/// buffers and sockets.
#[test]
fn drop_with_ops_in_flight() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let (_client, server) = tcp_pair()?;
    let mut ring = Ring::new()?;
    let group = ring.register_buf_group(BufGroup::builder(0).count(8))?;
    ring.push(Op::recv(server.as_raw_fd(), Vec::with_capacity(1024)), 1)?;
    ring.push(Op::recv_multi(server.as_raw_fd(), &group), 2)?;
    ring.push(Op::accept_multi(listener.as_raw_fd()), 3)?;
    ring.push(Op::timeout(Duration::from_secs(3600)), 4)?;
    ring.waker()?;
    ring.submit()?;
    assert_eq!(ring.in_flight(), 4);
    drop(ring);
    // The group outlives the ring through this handle, all buffers home.
    assert_eq!(group.available(), 8);
    // A descriptor moved into a close that was never submitted is closed
    // by the ring's drop, not leaked.
    let (r, w) = rustix::pipe::pipe()?;
    let mut ring = Ring::builder().disabled(true).build()?;
    ring.push(Op::close(r), 0)?;
    assert_eq!(
        rustix::io::write(&w, b"x"),
        Ok(1),
        "still open while queued"
    );
    drop(ring);
    assert_eq!(rustix::io::write(&w, b"x"), Err(rustix::io::Errno::PIPE));
    Ok(())
}

/// The runtime's startup: build disabled on one thread, register a buffer
/// group and queue a multishot receive there, enable and drive on another.
#[test]
fn disabled_ring_with_a_group_is_driven_elsewhere() -> io::Result<()> {
    let mut ring = Ring::builder().disabled(true).build()?;
    let group = ring.register_buf_group(BufGroup::builder(2).buf_size(32).count(4))?;
    let (mut client, server) = tcp_pair()?;
    ring.push(Op::recv_multi(server.as_raw_fd(), &group), 1)?;
    let err = ring.submit().unwrap_err();
    assert!(err.to_string().contains("disabled"), "{err}");
    client.write_all(b"over there")?;
    let got = std::thread::spawn(move || -> io::Result<Vec<u8>> {
        ring.enable()?;
        let mut c = turn(&mut ring)?.pop().expect("one completion");
        let data = c.take_provided().expect("a provided buffer").to_vec();
        ring.cancel_fd(server.as_raw_fd())?;
        settle(&mut ring, 10, |c| {
            ensure(c.is_cancelled(), || format!("{c:?}"))
        })?;
        Ok(data)
    })
    .join()
    .expect("driving thread")?;
    assert_eq!(got, b"over there");
    assert_eq!(group.available(), 4);
    Ok(())
}

/// A non-waiting submit with nothing queued skips the system call unless
/// the kernel flags completion work, and a completion that arrives later
/// is still found by such submits (the flag is honoured, nothing is lost).
#[test]
fn idle_submit_skips_the_syscall_but_not_completions() -> io::Result<()> {
    let mut ring = Ring::new()?;
    if !ring.setup_flags().taskrun_flag {
        return Ok(()); // an older kernel: every submit enters
    }
    let (mut client, server) = tcp_pair()?;
    ring.push(Op::recv(server.as_raw_fd(), Vec::with_capacity(8)), 1)?;
    ring.submit()?;
    let enters = ring.enter_count();
    for _ in 0..10 {
        ring.submit()?;
    }
    assert_eq!(
        ring.enter_count(),
        enters,
        "idle submits make no system call"
    );

    client.write_all(b"late")?;
    let deadline = std::time::Instant::now() + PATIENCE;
    let mut got = None;
    while got.is_none() && std::time::Instant::now() < deadline {
        ring.submit()?;
        ring.reap(|mut c| got = c.take_buf());
        std::thread::yield_now();
    }
    assert_eq!(got.as_deref(), Some(&b"late"[..]));
    assert!(ring.enter_count() > enters, "flagged work made it enter");
    Ok(())
}

/// Registered files: operations on a table index instead of a descriptor,
/// cancelled by index, failing with `EBADF` once the entry is cleared.
#[test]
fn registered_files() -> io::Result<()> {
    let mut ring = Ring::new()?;
    ring.register_files(8)?;
    assert!(ring.register_files(8).is_err(), "one table per ring");
    let group = ring.register_buf_group(BufGroup::builder(0).buf_size(64).count(4))?;
    let (mut client, server) = tcp_pair()?;
    assert_eq!(ring.update_files(3, &[server.as_raw_fd()])?, 1);

    let recv = ring.push(Op::recv_multi(3, &group).fixed(), 1)?;
    client.write_all(b"fixed")?;
    let mut c = turn(&mut ring)?.pop().expect("one completion");
    assert_eq!(c.id(), recv);
    assert_eq!(c.take_provided().as_deref(), Some(&b"fixed"[..]));

    ring.push(Op::send(3, b"back".to_vec(), 0).fixed(), 2)?;
    let c = turn(&mut ring)?.pop().expect("one completion");
    assert_eq!(c.result()?, 4);
    let mut got = [0; 4];
    client.read_exact(&mut got)?;
    assert_eq!(&got, b"back");

    ring.cancel_fixed(3)?;
    let c = turn(&mut ring)?.pop().expect("one completion");
    assert!(c.id() == recv && c.is_cancelled() && c.is_final(), "{c:?}");

    assert_eq!(ring.update_files(3, &[-1])?, 1);
    ring.push(Op::recv(3, Vec::with_capacity(8)).fixed(), 3)?;
    let c = turn(&mut ring)?.pop().expect("one completion");
    assert_eq!(c.raw_result(), -libc::EBADF, "a cleared entry");

    let err = ring.push(Op::nop().fixed(), 4).unwrap_err();
    assert_eq!(err.error().kind(), io::ErrorKind::InvalidInput);
    assert_eq!(group.available(), 4);
    Ok(())
}

/// Untracked operations: a multishot receive with no op-table slot delivers
/// its data under its tag and id, is cancelled by its id, counts as in
/// flight until its final completion, and is waited for (its buffers
/// returned) when the ring is dropped; operations that own memory, wide
/// tags and high group ids are refused.
#[test]
fn untracked_operations() -> io::Result<()> {
    use c10k_uring::{OpId, UntrackedId};
    let mut ring = Ring::new()?;
    let group = ring.register_buf_group(BufGroup::builder(3).buf_size(64).count(4))?;
    let (mut client, server) = tcp_pair()?;
    let tag = 0x7f12_3456_7890;
    let id = ring
        .push_untracked(Op::recv_multi(server.as_raw_fd(), &group), tag)
        .map_err(|e| e.into_parts().1)?;
    assert_eq!(
        id,
        UntrackedId::new(OpKind::RecvMulti, Some(3), tag).unwrap()
    );
    assert_eq!(ring.in_flight(), 1);
    client.write_all(b"untracked")?;
    let mut data = Vec::new();
    drive(&mut ring, 50, |_, mut c| {
        assert_eq!(
            (c.tag(), c.id(), c.untracked()),
            (tag, OpId::UNTRACKED, Some(id))
        );
        assert_eq!(c.kind(), OpKind::RecvMulti);
        ensure(!c.is_final(), || format!("the receive stays armed: {c:?}"))?;
        data.extend_from_slice(&c.take_provided().expect("a provided buffer"));
        Ok(data.len() == 9)
    })?;
    assert_eq!(data, b"untracked");
    ring.cancel_untracked(id)?;
    let mut ended = false;
    drive(&mut ring, 50, |_, c| {
        ended = c.is_final() && c.is_cancelled() && c.untracked() == Some(id);
        Ok(ended)
    })?;
    assert!(ended);
    assert_eq!(ring.in_flight(), 0);
    assert_eq!(group.available(), 4);

    // Refused, and handed back.
    let wide = ring.push_untracked(Op::nop(), 1 << 48).unwrap_err();
    assert_eq!(wide.error().kind(), io::ErrorKind::InvalidInput);
    let owns = ring.push_untracked(Op::send(server.as_raw_fd(), b"x".to_vec(), 0), 1);
    assert_eq!(
        owns.unwrap_err().into_op().into_buf().as_deref(),
        Some(&b"x"[..])
    );
    let high = ring.register_buf_group(BufGroup::builder(300).buf_size(64).count(2))?;
    let err = ring.push_untracked(Op::recv_multi(server.as_raw_fd(), &high), 1);
    assert_eq!(err.unwrap_err().error().kind(), io::ErrorKind::InvalidInput);

    // Dropped in flight: the ring cancels it and waits for it; data it
    // received meanwhile goes back to the group.
    ring.push_untracked(Op::recv_multi(server.as_raw_fd(), &group), 5)
        .map_err(|e| e.into_parts().1)?;
    ring.submit()?;
    client.write_all(b"dropped")?;
    drop(ring);
    assert_eq!(group.available(), 4);
    Ok(())
}

/// A batch wait returns with the whole batch when it is there, and after `min_wait` with
/// what arrived when it is not (here one NOP, while a timeout of an hour is still in
/// flight: without the minimum wait the call would wait for it).
#[test]
fn batch_wait_returns_the_batch_or_what_came_after_min_wait() -> io::Result<()> {
    let mut ring = Ring::new()?;
    if !ring.supports_batch_wait() {
        eprintln!("skipped: the kernel has no IORING_FEAT_MIN_TIMEOUT (Linux 6.12)");
        return Ok(());
    }
    for i in 0..3 {
        ring.push(Op::nop(), i)?;
    }
    ring.submit_and_wait_batch(3, Duration::from_millis(1), Some(PATIENCE))?;
    let mut tags = Vec::new();
    ring.reap(|c| tags.push(c.tag()));
    assert_eq!(tags, [0, 1, 2]);

    let hour = ring.push(Op::timeout(Duration::from_secs(3600)), 10)?;
    ring.push(Op::nop(), 11)?;
    // Asks for 2, with no deadline: only the minimum wait can end it with the NOP alone.
    ring.submit_and_wait_batch(2, Duration::from_millis(1), None)?;
    let mut tags = Vec::new();
    ring.reap(|c| tags.push(c.tag()));
    assert_eq!(tags, [11]);

    // A batch of one, or no minimum wait, is a plain wait for one.
    assert!(ring.cancel(hour)?);
    ring.submit_and_wait_batch(1, Duration::from_millis(1), Some(PATIENCE))?;
    let mut cancelled = Vec::new();
    ring.reap(|c| cancelled.push((c.tag(), c.is_cancelled())));
    assert_eq!(cancelled, [(10, true)]);
    Ok(())
}
