//! The tutorials' async HTTP crawler (seed 000, "使用select完成http请求" then coroutines),
//! on raw sockets: each page is fetched by its own task with a hand-written HTTP/1.0 `GET`
//! over a [`TcpStream`]; the runtime's event loop multiplexes them all on one thread.
//!
//! The Python version registers callbacks with a selector (`connected` → send the request,
//! `readable` → accumulate the response, stop when every URL is done). Here the same state
//! machine is written top to bottom as one `async fn`, and "stop when every URL is done" is
//! simply waiting for every task.
//!
//! `cargo run -p c10k --example crawler [HOST:PORT] [PAGES]` — without arguments it starts a
//! tiny local HTTP server on 127.0.0.1:0 and crawls 20 pages from it, then exits.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use c10k::net::{TcpListener, TcpStream};

/// A fetched page: the status code of the response and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    /// The status code (e.g. 200).
    pub(crate) status: u16,
    /// Everything after the blank line that ends the headers.
    pub(crate) body: Vec<u8>,
}

/// Fetches `path` from the server at `addr` with an HTTP/1.0 `GET` (the server closes the
/// connection after the response, which is how the body's end is found).
///
/// # Errors
///
/// Connection errors, a timeout after 10 s, or a malformed response (`InvalidData`).
pub(crate) async fn fetch(addr: SocketAddr, host: &str, path: &str) -> io::Result<Page> {
    let stream = TcpStream::connect_timeout(addr, Duration::from_secs(10)).await?;
    // The tutorial's request, as HTTP/1.0: one request per connection, no chunking.
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;

    // The tutorial's `readable` callback: append what arrives until end of file.
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, io::Error>(());
            }
            response.extend_from_slice(&buf[..n]);
        }
    };
    c10k::time::timeout(Duration::from_secs(10), read_all).await??;
    parse_response(&response)
}

/// Splits an HTTP/1.x response into its status code and body.
///
/// # Errors
///
/// `InvalidData` if there is no status line or no end of headers.
pub(crate) fn parse_response(response: &[u8]) -> io::Result<Page> {
    let bad = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("malformed HTTP response: {what}"),
        )
    };
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&response[..end]).map_err(|_| bad("headers are not UTF-8"))?;
    let status_line = head.lines().next().ok_or_else(|| bad("empty"))?;
    let mut parts = status_line.split_whitespace();
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(bad("not HTTP/1.x"));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status code"))?;
    Ok(Page {
        status,
        body: response[end + 4..].to_vec(),
    })
}

/// Fetches every path concurrently, one task per page (the tutorial's one `Fetcher` per
/// URL), and returns the results in the order of `paths`.
pub(crate) async fn crawl(addr: SocketAddr, host: &str, paths: &[String]) -> Vec<io::Result<Page>> {
    let tasks: Vec<_> = paths
        .iter()
        .map(|path| {
            let (host, path) = (host.to_owned(), path.clone());
            c10k::spawn(async move { fetch(addr, &host, &path).await })
        })
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for t in tasks {
        results.push(t.await.unwrap_or_else(|e| Err(io::Error::other(e))));
    }
    results
}

/// A tiny HTTP/1.0 server for the demo: answers `requests` requests, each with
/// `page <path>`, then returns.
async fn demo_server(listener: TcpListener, requests: usize) -> io::Result<()> {
    for _ in 0..requests {
        let (stream, _) = listener.accept().await?;
        // Detached: the handler finishes on its own (dropping a JoinHandle detaches).
        let _handler = c10k::spawn(async move {
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let path = String::from_utf8_lossy(&req)
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .to_owned();
            let body = format!("page {path}");
            let resp = format!(
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            // Errors mean the client left: nothing to do for a demo server.
            let _ = stream.write_all(resp.as_bytes()).await;
        });
    }
    Ok(())
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let target = args.next();
    let pages: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(20);
    c10k::run(async move {
        let (addr, host, server) = match target {
            Some(t) => {
                let addr = c10k::net::lookup_host(t.as_str()).await?[0];
                (addr, t, None)
            }
            None => {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                (
                    addr,
                    addr.to_string(),
                    Some(c10k::spawn(demo_server(listener, pages))),
                )
            }
        };
        let paths: Vec<String> = (0..pages).map(|i| format!("/goods/{i}/")).collect();
        let start = Instant::now();
        let results = crawl(addr, &host, &paths).await;
        let mut ok = 0;
        for (path, r) in paths.iter().zip(&results) {
            match r {
                Ok(page) => {
                    ok += 1;
                    println!(
                        "{path}: {} ({} bytes) {}",
                        page.status,
                        page.body.len(),
                        String::from_utf8_lossy(&page.body)
                    );
                }
                Err(e) => println!("{path}: error: {e}"),
            }
        }
        println!(
            "fetched {ok}/{} pages from {host} in {:.3?}",
            paths.len(),
            start.elapsed()
        );
        if let Some(server) = server {
            server.await.map_err(io::Error::other)??;
        }
        Ok(())
    })
}
