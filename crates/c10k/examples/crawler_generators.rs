//! The crawler of the tutorials written the two stackful ways, to read beside
//! `crawler_callbacks.rs` (callbacks) and `crawler.rs` (`async`/`await`):
//!
//! 1. **Generators driving an event loop** (seed 000's step between callbacks and
//!    `async`/`await`): each fetch is a [`Generator`] written top to bottom; where it would block
//!    it yields what it waits for ([`Wait::Writable`] / [`Wait::Readable`] on its socket), and
//!    a small `Task` registers that with the loop (`add_writer` / `add_reader`) and resumes
//!    the generator from the callback. The callbacks are gone from the crawler's logic: they
//!    live once, in the task driver.
//! 2. **Green threads** (gevent): the same top-to-bottom code with blocking `std::io` calls on
//!    [`c10k::green::net::TcpStream`]; the hub does the waiting, so no `yield` is written at
//!    all.
//!
//! `cargo run -p c10k --example crawler_generators` (starts a local demo server).

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;

use c10k::event_loop::{EventLoop, LoopHandle};
use c10k::generator::{Generator, Step};
use c10k::green;

/// The result of one URL: the response's body, or what went wrong.
pub(crate) type Outcome = Result<Vec<u8>, String>;

/// What a fetch generator waits for (the tutorial's `Future` it yields).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Wait {
    /// The socket can be written (the connect finished).
    Writable(RawFd),
    /// The socket has data or end of file.
    Readable(RawFd),
}

type Fetch = Generator<(), Wait, Outcome>;

fn body_of(data: &[u8]) -> Outcome {
    match data.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(end) => Ok(data[end + 4..].to_vec()),
        None => Err("response without headers".to_owned()),
    }
}

/// One fetch as a generator: connect, send, read to the end, yielding where it would block.
fn fetch(addr: SocketAddr, path: String) -> Fetch {
    Generator::new(move |co| {
        let fd = rustix::net::socket_with(
            if addr.is_ipv4() {
                rustix::net::AddressFamily::INET
            } else {
                rustix::net::AddressFamily::INET6
            },
            rustix::net::SocketType::STREAM,
            rustix::net::SocketFlags::NONBLOCK | rustix::net::SocketFlags::CLOEXEC,
            None,
        )
        .map_err(|e| format!("socket: {e}"))?;
        match rustix::net::connect(&fd, &addr) {
            Ok(()) | Err(rustix::io::Errno::INPROGRESS) => {}
            Err(e) => return Ok(Err(format!("connect: {}", io::Error::from(e)))),
        }
        let client = std::net::TcpStream::from(fd);
        co.yield_(Wait::Writable(client.as_raw_fd()))?; // `yield f` until connected
        if let Ok(Some(e)) | Err(e) = client.take_error() {
            return Ok(Err(format!("connect: {e}")));
        }
        let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        if let Err(e) = (&client).write_all(request.as_bytes()) {
            return Ok(Err(format!("send: {e}")));
        }
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match (&client).read(&mut buf) {
                Ok(0) => return Ok(body_of(&data)),
                Ok(n) => data.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    co.yield_(Wait::Readable(client.as_raw_fd()))?; // `yield f` until readable
                }
                Err(e) => return Ok(Err(format!("recv: {e}"))),
            }
        }
    })
}

/// Results and URLs left, shared by the tasks.
struct Crawl {
    results: RefCell<Vec<Option<Outcome>>>,
    left: Cell<usize>,
}

/// The tutorial's `Task`: resumes its generator and registers what it waits for; the
/// callback resumes it again.
fn step(h: &LoopHandle, crawl: &Rc<Crawl>, index: usize, gen: Rc<RefCell<Fetch>>) {
    let next = gen.borrow_mut().resume();
    let wait = match next {
        Ok(Step::Yielded(w)) => w,
        Ok(Step::Returned(outcome)) => return finish(h, crawl, index, outcome),
        Err(e) => return finish(h, crawl, index, Err(e.to_string())),
    };
    let (h2, c2) = (h.clone(), Rc::clone(crawl));
    let registered = match wait {
        Wait::Writable(fd) => h.add_writer(fd, move || {
            h2.remove_writer(fd);
            step(&h2, &c2, index, Rc::clone(&gen));
        }),
        Wait::Readable(fd) => h.add_reader(fd, move || {
            h2.remove_reader(fd);
            step(&h2, &c2, index, Rc::clone(&gen));
        }),
    };
    if let Err(e) = registered {
        finish(h, crawl, index, Err(format!("register: {e}")));
    }
}

fn finish(h: &LoopHandle, crawl: &Crawl, index: usize, outcome: Outcome) {
    crawl.results.borrow_mut()[index] = Some(outcome);
    crawl.left.set(crawl.left.get() - 1);
    if crawl.left.get() == 0 {
        h.stop();
    }
}

/// Fetches every path from `addr` with generators driven by `ev`'s callbacks.
///
/// # Errors
///
/// None of its own today; per-URL failures are in the results.
pub(crate) fn crawl_with_generators(
    ev: &EventLoop,
    addr: SocketAddr,
    paths: &[String],
) -> io::Result<Vec<Outcome>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let h = ev.handle();
    let crawl = Rc::new(Crawl {
        results: RefCell::new(vec![None; paths.len()]),
        left: Cell::new(paths.len()),
    });
    for (index, path) in paths.iter().enumerate() {
        step(
            &h,
            &crawl,
            index,
            Rc::new(RefCell::new(fetch(addr, path.clone()))),
        );
    }
    if crawl.left.get() > 0 {
        ev.run_forever();
    }
    let results = crawl.results.take();
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not finished".to_owned())))
        .collect())
}

/// Fetches every path from `addr`, a green thread each, in blocking style.
///
/// # Errors
///
/// If the hub's runtime cannot be built; per-URL failures are in the results.
pub(crate) fn crawl_with_green_threads(
    addr: SocketAddr,
    paths: &[String],
) -> io::Result<Vec<Outcome>> {
    let paths = paths.to_vec();
    green::run(move || {
        let handles: Vec<_> = paths
            .into_iter()
            .map(|path| {
                green::spawn(move || -> Outcome {
                    let mut client = green::net::TcpStream::connect(addr)
                        .map_err(|e| format!("connect: {e}"))?;
                    let request =
                        format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
                    client
                        .write_all(request.as_bytes())
                        .map_err(|e| format!("send: {e}"))?;
                    let mut data = Vec::new();
                    client
                        .read_to_end(&mut data)
                        .map_err(|e| format!("recv: {e}"))?;
                    body_of(&data)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| Err(e.to_string())))
            .collect()
    })
}

fn main() -> io::Result<()> {
    let pages = 20;
    let server = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = server.local_addr()?;
    // A blocking demo server on a thread: 2 crawls × `pages` requests.
    let served = std::thread::spawn(move || -> io::Result<()> {
        for _ in 0..2 * pages {
            let (mut s, _) = server.accept()?;
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&buf[..n]);
            }
            let body = "goods page";
            write!(
                s,
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )?;
        }
        Ok(())
    });
    let paths: Vec<String> = (0..pages).map(|i| format!("/goods/{i}/")).collect();
    let ev = EventLoop::new()?;
    let by_generators = crawl_with_generators(&ev, addr, &paths)?;
    let by_green = crawl_with_green_threads(addr, &paths)?;
    println!(
        "generators: {} pages, green threads: {} pages",
        by_generators.iter().filter(|r| r.is_ok()).count(),
        by_green.iter().filter(|r| r.is_ok()).count()
    );
    served
        .join()
        .map_err(|_| io::Error::other("demo server panicked"))?
}
