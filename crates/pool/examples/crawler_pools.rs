//! A crawler that fetches pages on a thread pool and parses them on a process pool: the
//! tutorials' advice (seed 002: IO-bound work on threads, CPU-bound work on processes) in
//! one program. Fetching waits on the network, so threads suit it; parsing is CPU work,
//! which Python's threads cannot run in parallel (the GIL), so it goes to processes. In
//! Python it would read:
//!
//! ```python
//! fetchers = ThreadPoolExecutor(4)
//! parsers = ProcessPoolExecutor(2)
//! def on_fetched(url, fut):
//!     parsers.submit(parse, fut.result()).add_done_callback(partial(on_parsed, url))
//! def on_parsed(url, fut):
//!     for link in fut.result().links:
//!         if link not in seen:
//!             seen.add(link)
//!             fetchers.submit(fetch, link).add_done_callback(partial(on_fetched, link))
//! ```
//!
//! The example starts its own HTTP server on loopback (a thread serving a tree of
//! [`PAGES`] generated pages, each linking to two more), so it needs no network. Callbacks
//! chain the two pools: a fetched page is handed to a parser process, a parsed page's new
//! links to the fetchers; the main thread only counts what comes back. Everything is
//! bounded: a fixed set of pages, socket timeouts, and a deadline on every wait.
//!
//! ```text
//! cargo run -p c10k-pool --example crawler_pools
//! ```

use std::collections::HashSet;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use c10k_pool::{PoolError, ProcessPool, ThreadPool};
use c10k_process::{Entry, Registered};
use serde::{Deserialize, Serialize};

/// Pages the server has: `/page/0` … `/page/30`, a binary tree.
const PAGES: usize = 31;
/// The bound on every socket operation and on each wait for the next event.
const TIMEOUT: Duration = Duration::from_secs(20);

/// What a parser process finds in a page.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Page {
    title: String,
    links: Vec<String>,
    words: usize,
    parsed_by: u32,
}

/// Runs in a worker process: the title, the `href`s and the words of the body's text.
fn parse(html: String) -> Page {
    let title = between(&html, "<title>", "</title>")
        .unwrap_or("")
        .to_owned();
    let mut links = Vec::new();
    let mut rest = html.as_str();
    while let Some(at) = rest.find("href=\"") {
        rest = &rest[at + 6..];
        if let Some(end) = rest.find('"') {
            links.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    let mut words = 0;
    let mut in_tag = false;
    let mut in_word = false;
    for c in html.chars() {
        match c {
            '<' => (in_tag, in_word) = (true, false),
            '>' => in_tag = false,
            c if !in_tag && c.is_alphanumeric() => {
                words += usize::from(!in_word);
                in_word = true;
            }
            _ => in_word = false,
        }
    }
    Page {
        title,
        links,
        words,
        parsed_by: std::process::id(),
    }
}
static PARSE: Entry<String, Page> = Entry::new("crawler_pools_parse", parse);

/// The entries this demo's workers run (the program adds [`c10k_pool::PROCESS_WORKER`]).
pub(crate) const ENTRIES: &[&dyn Registered] = &[&PARSE];

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = s.find(open)? + open.len();
    let len = s[start..].find(close)?;
    Some(&s[start..start + len])
}

/// Runs on a fetcher thread: a blocking HTTP/1.0 GET, the body of a 200 answer.
fn fetch(addr: SocketAddr, path: &str) -> io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut answer = String::new();
    stream.take(1 << 20).read_to_string(&mut answer)?;
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no end of headers"))?;
    if !head.starts_with("HTTP/1.0 200") {
        let status = head.lines().next().unwrap_or("");
        return Err(io::Error::other(format!("{path}: {status}")));
    }
    Ok(body.to_owned())
}

/// The page the server sends for `/page/n`.
fn page_html(n: usize) -> String {
    let links: String = [2 * n + 1, 2 * n + 2]
        .iter()
        .filter(|&&k| k < PAGES)
        .map(|k| format!("<li><a href=\"/page/{k}\">page {k}</a></li>"))
        .collect();
    format!(
        "<html><head><title>Page {n}</title></head><body><h1>Page {n}</h1>\
         <p>{}</p><ul>{links}</ul></body></html>",
        "some words to count on this page ".repeat(n % 5 + 1)
    )
}

/// The loopback server: one thread, one request per connection, until `stop`.
fn serve(listener: TcpListener, stop: Arc<AtomicBool>) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let _ = answer(stream);
    }
}

fn answer(stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    // Read the whole head (closing with unread bytes would reset the connection), at
    // most 8 KiB of it.
    let mut reader = BufReader::new(&stream).take(8192);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let mut line = String::new();
    while reader.read_line(&mut line)? > 0 && line != "\r\n" {
        line.clear();
    }
    let page = request
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.strip_prefix("/page/"))
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&n| n < PAGES);
    let (status, body) = match page {
        Some(n) => ("200 OK", page_html(n)),
        None => ("404 Not Found", "no such page".to_owned()),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.0 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// What the pools' callbacks tell the main thread.
enum Event {
    Fetched(String, Result<String, String>),
    Parsed(String, Result<Page, PoolError>),
}

/// Runs the demo (also from `tests/process_examples_run.rs`).
pub(crate) fn demo() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let stop = stop.clone();
        std::thread::spawn(move || serve(listener, stop))
    };
    println!("serving {PAGES} pages on http://{addr}/page/0");
    let crawled = crawl(addr);
    stop.store(true, Ordering::SeqCst);
    let _ = TcpStream::connect_timeout(&addr, TIMEOUT); // wakes the server's accept
    let _ = server.join();

    let parsed = crawled?;
    assert_eq!(parsed.len(), PAGES, "every page was found and parsed once");
    let me = std::process::id();
    assert!(
        parsed.iter().all(|p| p.parsed_by != me),
        "parsing ran in the parser processes"
    );
    Ok(())
}

/// Crawls from `/page/0`: every page it parsed, or why it stopped.
fn crawl(addr: SocketAddr) -> io::Result<Vec<Page>> {
    let start = Instant::now();
    let fetchers = ThreadPool::builder()
        .workers(4)
        .name_prefix("fetcher")
        .build()?;
    let parsers = ProcessPool::builder()
        .workers(2)
        .name_prefix("parser")
        .build()?;
    let (tx, rx) = mpsc::channel::<Event>();
    let submit_fetch = |path: String| {
        let tx = tx.clone();
        let p = path.clone();
        fetchers
            .submit(move || fetch(addr, &p).map_err(|e| e.to_string()))
            .add_done_callback(move |res| {
                let res = res.map_err(|e| e.to_string()).and_then(Clone::clone);
                let _ = tx.send(Event::Fetched(path, res));
            });
    };

    let mut seen: HashSet<String> = HashSet::from(["/page/0".to_owned()]);
    let mut in_flight = 1;
    let mut parsed = Vec::new();
    let mut failures = 0;
    submit_fetch("/page/0".to_owned());
    while in_flight > 0 {
        let event = rx
            .recv_timeout(TIMEOUT)
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the crawl stalled"))?;
        match event {
            Event::Fetched(path, Ok(body)) => {
                println!("fetched {path}: {} bytes", body.len());
                let tx = tx.clone();
                // A fetch's callback could submit the parse itself; the main thread does it
                // here so that it also sees the page go by.
                parsers.submit(&PARSE, body).add_done_callback(move |res| {
                    let _ = tx.send(Event::Parsed(path, res.cloned().map_err(Clone::clone)));
                });
            }
            Event::Fetched(path, Err(e)) => {
                println!("fetch {path} failed: {e}");
                failures += 1;
                in_flight -= 1;
            }
            Event::Parsed(path, Ok(page)) => {
                in_flight -= 1;
                println!(
                    "parsed {path} in pid {}: {:?}, {} words, {} links",
                    page.parsed_by,
                    page.title,
                    page.words,
                    page.links.len()
                );
                for link in &page.links {
                    if seen.insert(link.clone()) {
                        in_flight += 1;
                        submit_fetch(link.clone());
                    }
                }
                parsed.push(page);
            }
            Event::Parsed(path, Err(e)) => {
                println!("parse {path} failed: {e}");
                failures += 1;
                in_flight -= 1;
            }
        }
    }
    println!(
        "crawled {} pages in {:.2?} ({failures} failures)",
        parsed.len(),
        start.elapsed()
    );
    if failures > 0 {
        return Err(io::Error::other(format!("{failures} pages failed")));
    }
    Ok(parsed)
}

#[allow(dead_code)]
fn main() -> io::Result<()> {
    c10k_process::init(&[&[c10k_pool::PROCESS_WORKER], ENTRIES].concat());
    demo()
}
