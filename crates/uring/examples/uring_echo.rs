//! An echo server straight on the ring, no runtime: the pattern a
//! completion driver follows, and the floor of what the completion model
//! costs per request.
//!
//! One thread, one [`Ring`]. A multishot accept hands over each connection;
//! each connection has one multishot receive on a provided buffer group
//! (so an idle connection holds no buffer); every received chunk is copied
//! into a send buffer (from a free list) and sent back. One
//! `submit_and_wait` per turn submits every send and re-arm queued in the
//! previous turn's reap. Partial sends continue from their offset; a
//! receive that ends (`ENOBUFS`, or the kernel ending the multishot) is
//! re-armed; end of stream or an error closes the connection through the
//! ring.
//!
//! Run: `cargo run --release -p c10k-uring --example uring_echo -- [ADDR] [SECONDS]`
//! (default `127.0.0.1:7008`, forever), then for instance
//! `c10k load echo --target 127.0.0.1:7008 -c 100 -d 5`. With a duration it
//! exits after that many seconds and prints its turns, system calls and
//! requests.

use std::collections::HashMap;
use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use c10k_uring::{BufGroup, Completion, Op, OpKind, Ring};

const ACCEPT: u64 = u64::MAX;

/// What a connection's tag maps to.
struct Conn {
    fd: OwnedFd,
    /// A send is in flight (the next data waits in `queued`).
    sending: bool,
    queued: Vec<u8>,
}

struct Server {
    ring: Ring,
    listener: std::os::fd::RawFd,
    group: BufGroup,
    conns: HashMap<u64, Conn>,
    next_tag: u64,
    /// Send buffers to reuse.
    free: Vec<Vec<u8>>,
    /// Connections whose receive ended and must be re-armed.
    rearm: Vec<u64>,
    requests: u64,
}

impl Server {
    fn on(&mut self, mut c: Completion) -> io::Result<()> {
        match c.kind() {
            OpKind::AcceptMulti => {
                if !c.more() {
                    // The kernel ended the multishot accept: re-arm it.
                    self.ring.push(Op::accept_multi(self.listener), ACCEPT)?;
                }
                let Some(fd) = c.take_fd() else { return Ok(()) };
                let tag = self.next_tag;
                self.next_tag += 1;
                self.ring
                    .push(Op::recv_multi(fd.as_raw_fd(), &self.group), tag)?;
                let conn = Conn {
                    fd,
                    sending: false,
                    queued: Vec::new(),
                };
                self.conns.insert(tag, conn);
            }
            OpKind::RecvMulti => {
                let tag = c.tag();
                match c.result() {
                    Ok(0) => return self.close(tag),
                    Ok(_) => {
                        let data = c.take_provided().expect("data in a provided buffer");
                        self.requests += 1;
                        let conn = self.conns.get_mut(&tag).expect("live connection");
                        conn.queued.extend_from_slice(&data);
                        drop(data); // back to the group before the next turn
                        if !conn.sending {
                            self.send_queued(tag)?;
                        }
                        if c.is_final() {
                            self.rearm.push(tag);
                        }
                    }
                    Err(_) if c.is_no_buffers() => self.rearm.push(tag),
                    Err(_) => return self.close(tag),
                }
            }
            OpKind::Send => {
                let tag = c.tag();
                let mut buf = c.take_buf().expect("a send hands its buffer back");
                let Some(conn) = self.conns.get_mut(&tag) else {
                    return Ok(());
                };
                conn.sending = false;
                match c.result() {
                    Ok(n) if (n as usize) < buf.len() => {
                        // Short send: continue from where it stopped.
                        buf.drain(..n as usize);
                        conn.sending = true;
                        let fd = conn.fd.as_raw_fd();
                        self.ring.push(Op::send(fd, buf, 0), tag)?;
                    }
                    Ok(_) => {
                        buf.clear();
                        self.free.push(buf);
                        if !conn.queued.is_empty() {
                            self.send_queued(tag)?;
                        }
                    }
                    Err(_) => return self.close(tag),
                }
            }
            OpKind::Close => {}
            kind => unreachable!("no {kind:?} is pushed"),
        }
        Ok(())
    }

    fn send_queued(&mut self, tag: u64) -> io::Result<()> {
        let conn = self.conns.get_mut(&tag).expect("live connection");
        let mut buf = self.free.pop().unwrap_or_default();
        std::mem::swap(&mut buf, &mut conn.queued);
        conn.sending = true;
        self.ring.push(Op::send(conn.fd.as_raw_fd(), buf, 0), tag)?;
        Ok(())
    }

    fn close(&mut self, tag: u64) -> io::Result<()> {
        if let Some(conn) = self.conns.remove(&tag) {
            // Ends the receive (and a send in flight) before the close.
            self.ring.cancel_fd(conn.fd.as_raw_fd())?;
            self.ring.push(Op::close(conn.fd), tag)?;
        }
        Ok(())
    }
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:7008".into());
    let seconds: Option<f64> = args
        .next()
        .map(|s| s.parse())
        .transpose()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("SECONDS: {e}")))?;
    let listener = TcpListener::bind(&addr)?;
    let mut ring = Ring::builder().entries(4096).build()?;
    let group = ring.register_buf_group(BufGroup::builder(0).buf_size(4096).count(4096))?;
    ring.push(Op::accept_multi(listener.as_raw_fd()), ACCEPT)?;
    eprintln!("uring_echo: listening on {addr} ({:?})", ring.setup_flags());
    let mut server = Server {
        ring,
        listener: listener.as_raw_fd(),
        group,
        conns: HashMap::new(),
        next_tag: 0,
        free: Vec::new(),
        rearm: Vec::new(),
        requests: 0,
    };
    let end = seconds.map(|s| Instant::now() + Duration::from_secs_f64(s));
    let mut turns = 0u64;
    let mut batch = Vec::new();
    loop {
        let timeout = match end {
            Some(end) if Instant::now() >= end => break,
            Some(end) => Some(end - Instant::now()),
            None => None,
        };
        server.ring.submit_and_wait(1, timeout)?;
        turns += 1;
        server.ring.reap(|c| batch.push(c));
        for c in batch.drain(..) {
            server.on(c)?;
        }
        if server.group.available() > 0 {
            for tag in std::mem::take(&mut server.rearm) {
                if let Some(conn) = server.conns.get(&tag) {
                    let fd = conn.fd.as_raw_fd();
                    server.ring.push(Op::recv_multi(fd, &server.group), tag)?;
                }
            }
        }
    }
    println!(
        "turns {turns}, io_uring_enter {}, requests {}, enters per request {:.3}",
        server.ring.enter_count(),
        server.requests,
        server.ring.enter_count() as f64 / server.requests.max(1) as f64,
    );
    Ok(())
}
