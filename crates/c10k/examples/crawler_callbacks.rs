//! The tutorials' *callback* crawler (seed 000, `class Fetcher` with `connected` and
//! `readable` callbacks on a `DefaultSelector`), on c10k's low-level event loop:
//! `add_writer` waits for the non-blocking connect, `add_reader` accumulates the response,
//! and the loop stops when the last URL is done — the same control flow as the Python code,
//! without a hand-written `while not stop: selector.select()` loop.
//!
//! Compare with `crawler.rs`, the same program written with `async`/`await`.
//!
//! `cargo run -p c10k --example crawler_callbacks` (starts a local demo server and crawls 20
//! pages from it).

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;

use c10k::event_loop::{EventLoop, LoopHandle};
use c10k::net::TcpListener;

/// The result of one URL: the response's body, or what went wrong.
pub(crate) type Outcome = Result<Vec<u8>, String>;

/// One URL being fetched (the tutorial's `Fetcher`).
struct Fetcher {
    index: usize,
    path: String,
    host: String,
    client: std::net::TcpStream,
    data: RefCell<Vec<u8>>,
}

/// State shared by every fetcher: results and the count of URLs left (`urls` and `stop` in
/// the tutorial).
struct Crawl {
    results: RefCell<Vec<Option<Outcome>>>,
    left: Cell<usize>,
}

impl Crawl {
    fn finish(&self, h: &LoopHandle, f: &Fetcher, outcome: Outcome) {
        h.remove_reader(f.client.as_raw_fd());
        h.remove_writer(f.client.as_raw_fd());
        self.results.borrow_mut()[f.index] = Some(outcome);
        self.left.set(self.left.get() - 1);
        if self.left.get() == 0 {
            h.stop(); // the tutorial's `stop = True`
        }
    }
}

/// `connected`: the socket became writable, so the connect finished; send the request and
/// wait for the response.
fn connected(h: &LoopHandle, crawl: &Rc<Crawl>, f: &Rc<Fetcher>) {
    h.remove_writer(f.client.as_raw_fd());
    match f.client.take_error() {
        Ok(None) => {}
        Ok(Some(e)) | Err(e) => return crawl.finish(h, f, Err(format!("connect: {e}"))),
    }
    let request = format!(
        "GET {} HTTP/1.0\r\nHost: {}\r\nConnection: close\r\n\r\n",
        f.path, f.host
    );
    // A fresh socket's send buffer holds a small request whole.
    if let Err(e) = (&f.client).write_all(request.as_bytes()) {
        return crawl.finish(h, f, Err(format!("send: {e}")));
    }
    let (h2, c2, f2) = (h.clone(), Rc::clone(crawl), Rc::clone(f));
    if let Err(e) = h.add_reader(f.client.as_raw_fd(), move || readable(&h2, &c2, &f2)) {
        crawl.finish(h, f, Err(format!("add_reader: {e}")));
    }
}

/// `readable`: take what arrived; at end of file, the response is complete.
fn readable(h: &LoopHandle, crawl: &Rc<Crawl>, f: &Rc<Fetcher>) {
    let mut buf = [0u8; 4096];
    match (&f.client).read(&mut buf) {
        Ok(0) => {
            let data = f.data.take();
            let outcome = match data.windows(4).position(|w| w == b"\r\n\r\n") {
                Some(end) => Ok(data[end + 4..].to_vec()),
                None => Err("response without headers".to_owned()),
            };
            crawl.finish(h, f, outcome);
        }
        Ok(n) => f.data.borrow_mut().extend_from_slice(&buf[..n]),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => crawl.finish(h, f, Err(format!("recv: {e}"))),
    }
}

/// Fetches every path from `addr` with callbacks on `ev`, running the loop until the last
/// one is done. Results are in the order of `paths`.
///
/// # Errors
///
/// Socket creation or registration errors; per-URL failures are in the results.
pub(crate) fn crawl_with_callbacks(
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
        // `client.setblocking(False); client.connect(...)` → BlockingIOError is expected.
        let fd = rustix::net::socket_with(
            if addr.is_ipv4() {
                rustix::net::AddressFamily::INET
            } else {
                rustix::net::AddressFamily::INET6
            },
            rustix::net::SocketType::STREAM,
            rustix::net::SocketFlags::NONBLOCK | rustix::net::SocketFlags::CLOEXEC,
            None,
        )?;
        match rustix::net::connect(&fd, &addr) {
            Ok(()) | Err(rustix::io::Errno::INPROGRESS) => {}
            Err(e) => {
                // Failed at once: this URL is done.
                crawl.results.borrow_mut()[index] =
                    Some(Err(format!("connect: {}", io::Error::from(e))));
                crawl.left.set(crawl.left.get() - 1);
                continue;
            }
        }
        let f = Rc::new(Fetcher {
            index,
            path: path.clone(),
            host: addr.to_string(),
            client: fd.into(),
            data: RefCell::default(),
        });
        // `selector.register(fd, EVENT_WRITE, self.connected)`
        let (h2, c2, f2) = (h.clone(), Rc::clone(&crawl), Rc::clone(&f));
        h.add_writer(f.client.as_raw_fd(), move || connected(&h2, &c2, &f2))?;
    }
    // `loop()`: runs until the last fetcher calls stop().
    if crawl.left.get() > 0 {
        ev.run_forever();
    }
    let results = crawl.results.take();
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not finished".to_owned())))
        .collect())
}

/// A tiny HTTP/1.0 server for the demo, as a task on the loop's runtime.
async fn demo_server(listener: TcpListener, requests: usize) -> io::Result<()> {
    for _ in 0..requests {
        let (stream, _) = listener.accept().await?;
        let mut req = Vec::new();
        let mut buf = [0u8; 1024];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            req.extend_from_slice(&buf[..n]);
        }
        let path = String::from_utf8_lossy(&req)
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .to_owned();
        let body = format!("goods page {path}");
        stream
            .write_all(
                format!(
                    "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
            .await?;
    }
    Ok(())
}

fn main() -> io::Result<()> {
    let ev = EventLoop::new()?;
    let pages = 20;
    let (listener, addr) = ev.run_until_complete(async {
        let l = TcpListener::bind("127.0.0.1:0").await?;
        let a = l.local_addr()?;
        Ok::<_, io::Error>((l, a))
    })?;
    let server = ev.runtime().spawn(demo_server(listener, pages));
    let paths: Vec<String> = (0..pages).map(|i| format!("/goods/{i}/")).collect();
    let start = std::time::Instant::now();
    let results = crawl_with_callbacks(&ev, addr, &paths)?;
    for (path, r) in paths.iter().zip(&results) {
        match r {
            Ok(body) => println!("{path}: {}", String::from_utf8_lossy(body)),
            Err(e) => println!("{path}: error: {e}"),
        }
    }
    println!(
        "{} pages in {:.3?}",
        results.iter().filter(|r| r.is_ok()).count(),
        start.elapsed()
    );
    ev.run_until_complete(server).map_err(io::Error::other)?
}
