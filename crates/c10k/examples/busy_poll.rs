//! The busy-polling HTTP client of the tutorials (`000_*`, "使用非阻塞io完成http请求"): a
//! non-blocking socket, then `while True: try: send ... except OSError: pass` and
//! `while True: try: recv ... except BlockingIOError: continue`. It never blocks, and it
//! never waits either: every failed try is a wasted iteration that burns CPU.
//!
//! This demo fetches the same pages from a local server that takes `--delay` ms to answer
//! each (as a remote server would), twice:
//! 1. busy polling, one page after the other, as the tutorial does, counting the wasted
//!    iterations (`EINPROGRESS`/`ENOTCONN` on send, `EAGAIN` on recv) and the client thread's
//!    CPU time;
//! 2. the selector-based crawler (`crawler_callbacks.rs`: callbacks on c10k's event loop,
//!    every page at once), with its CPU time.
//!
//! Run: `cargo run --release -p c10k --example busy_poll` (options: `--pages 10`,
//! `--delay 20`).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketFlags, SocketType};

#[allow(dead_code)] // its `main` is the other example's
#[path = "crawler_callbacks.rs"]
mod crawler_callbacks;

/// The CPU time this thread has used so far.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// A local HTTP/1.0 server on its own threads: answers `pages` requests, each after `delay`.
fn slow_server(pages: usize, delay: Duration) -> io::Result<(SocketAddr, thread::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = thread::spawn(move || {
        let answering: Vec<_> = (0..pages)
            .filter_map(|_| listener.accept().ok())
            .map(|(mut stream, _)| {
                thread::spawn(move || {
                    let mut req = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => req.extend_from_slice(&buf[..n]),
                        }
                    }
                    thread::sleep(delay); // the server's own work: the client must wait for it
                    let body = b"<html>goods</html>";
                    let head = format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(body);
                })
            })
            .collect();
        for t in answering {
            let _ = t.join();
        }
    });
    Ok((addr, server))
}

/// One page, fetched the tutorial's way; returns the body and the wasted iterations.
fn busy_get(addr: SocketAddr, path: &str) -> io::Result<(Vec<u8>, u64)> {
    let family = if addr.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    let fd = rustix::net::socket_with(
        family,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    // `client.connect(...)` on a non-blocking socket: BlockingIOError, ignored.
    match rustix::net::connect(&fd, &addr) {
        Ok(()) | Err(Errno::INPROGRESS) => {}
        Err(e) => return Err(e.into()),
    }
    let mut wasted = 0u64;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    // `while True: try: client.send(...); break; except OSError: pass`
    let mut sent = 0;
    while sent < request.len() {
        match rustix::net::send(
            &fd,
            &request.as_bytes()[sent..],
            rustix::net::SendFlags::NOSIGNAL,
        ) {
            Ok(n) => sent += n,
            Err(Errno::AGAIN | Errno::NOTCONN | Errno::INPROGRESS | Errno::ALREADY) => wasted += 1,
            Err(e) => return Err(e.into()),
        }
    }
    // `while True: try: d = client.recv(1024) except BlockingIOError: continue`
    let mut data = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match rustix::net::recv(&fd, &mut buf, rustix::net::RecvFlags::empty()) {
            Ok((0, _)) => break,
            Ok((n, _)) => data.extend_from_slice(&buf[..n]),
            Err(Errno::AGAIN) => wasted += 1,
            Err(e) => return Err(e.into()),
        }
    }
    let body = match data.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) => data.split_off(at + 4),
        None => return Err(io::Error::other("no end of headers in the response")),
    };
    Ok((body, wasted))
}

/// What one way of fetching cost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cost {
    pub pages: usize,
    pub wall: Duration,
    pub cpu: Duration,
    /// Busy polling only: the tries that found nothing to do.
    pub wasted: u64,
}

/// Runs both clients against a fresh slow server each; returns (busy polling, selector).
pub(crate) fn demo(pages: usize, delay: Duration) -> io::Result<(Cost, Cost)> {
    let paths: Vec<String> = (0..pages).map(|i| format!("/goods/{i}/")).collect();
    println!("{pages} pages from a local server that takes {delay:?} to answer each");

    let (addr, server) = slow_server(pages, delay)?;
    let (wall, cpu) = (Instant::now(), thread_cpu());
    let mut busy = Cost {
        pages: 0,
        wall: Duration::ZERO,
        cpu: Duration::ZERO,
        wasted: 0,
    };
    for path in &paths {
        let (body, wasted) = busy_get(addr, path)?;
        busy.pages += usize::from(body == b"<html>goods</html>");
        busy.wasted += wasted;
    }
    busy.wall = wall.elapsed();
    busy.cpu = thread_cpu() - cpu;
    server
        .join()
        .map_err(|_| io::Error::other("server thread panicked"))?;
    println!(
        "busy polling, one page at a time: {} pages in {:>8.1?} wall, {:>8.1?} CPU ({:.0}% of the wall), {} wasted iterations",
        busy.pages,
        busy.wall,
        busy.cpu,
        100.0 * busy.cpu.as_secs_f64() / busy.wall.as_secs_f64(),
        busy.wasted
    );

    let (addr, server) = slow_server(pages, delay)?;
    let ev = c10k::event_loop::EventLoop::new()?;
    let (wall, cpu) = (Instant::now(), thread_cpu());
    let results = crawler_callbacks::crawl_with_callbacks(&ev, addr, &paths)?;
    let selector = Cost {
        pages: results
            .iter()
            .filter(|r| r.as_deref().is_ok_and(|b| b == b"<html>goods</html>"))
            .count(),
        wall: wall.elapsed(),
        cpu: thread_cpu() - cpu,
        wasted: 0,
    };
    server
        .join()
        .map_err(|_| io::Error::other("server thread panicked"))?;
    println!(
        "selector + callbacks, all at once: {} pages in {:>8.1?} wall, {:>8.1?} CPU ({:.0}% of the wall), sleeps in epoll_wait instead",
        selector.pages,
        selector.wall,
        selector.cpu,
        100.0 * selector.cpu.as_secs_f64() / selector.wall.as_secs_f64(),
    );
    println!(
        "busy polling used {:.0}x the CPU time of the selector for the same pages",
        busy.cpu.as_secs_f64() / selector.cpu.as_secs_f64().max(1e-9)
    );
    Ok((busy, selector))
}

fn flag(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}: not a number: {v:?}"))
        })
}

#[allow(dead_code)] // its test calls `demo`
fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let pages = flag(&args, "--pages", 10) as usize;
    let delay = Duration::from_millis(flag(&args, "--delay", 20));
    demo(pages, delay).map(drop)
}
