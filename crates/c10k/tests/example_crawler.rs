//! Runs the `crawler` and `crawler_callbacks` examples' logic against a tiny HTTP server started by the test on
//! 127.0.0.1:0: every page arrives intact (bodies larger than one read), errors are
//! reported per page, and malformed responses are rejected.

#[allow(dead_code)]
#[path = "../examples/crawler.rs"]
mod crawler;

#[allow(dead_code)]
#[path = "../examples/crawler_callbacks.rs"]
mod crawler_callbacks;

use std::io;
use std::net::SocketAddr;

use c10k::net::TcpListener;

/// The body served for `path`: its name repeated, `size_for(path)` bytes long.
fn body_for(path: &str) -> Vec<u8> {
    let n: usize = path
        .trim_matches('/')
        .rsplit('/')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    path.bytes().cycle().take(100 + n * 5000).collect()
}

/// Serves HTTP/1.0: `/goods/N/` gets its body, anything else a 404. Stops after `requests`.
async fn http_server(listener: TcpListener, requests: usize) -> io::Result<()> {
    let mut handlers = Vec::new();
    for _ in 0..requests {
        let (stream, _) = listener.accept().await?;
        handlers.push(c10k::spawn(async move {
            let mut req = Vec::new();
            let mut buf = [0u8; 512];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut buf).await?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "request cut short",
                    ));
                }
                req.extend_from_slice(&buf[..n]);
            }
            let text = String::from_utf8_lossy(&req).into_owned();
            let mut words = text.split_whitespace();
            assert_eq!(words.next(), Some("GET"));
            let path = words.next().unwrap_or("").to_owned();
            assert_eq!(words.next(), Some("HTTP/1.0"));
            assert!(
                text.contains("\r\nHost: "),
                "the crawler sends a Host header"
            );
            let (status, body) = if path.starts_with("/goods/") {
                ("200 OK", body_for(&path))
            } else {
                ("404 Not Found", b"nope".to_vec())
            };
            stream
                .write_all(
                    format!(
                        "HTTP/1.0 {status}\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await?;
            stream.write_all(&body).await?;
            Ok(())
        }));
    }
    for h in handlers {
        h.await.map_err(io::Error::other)??;
    }
    Ok(())
}

#[test]
fn crawls_every_page_from_a_local_server() -> io::Result<()> {
    c10k::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr: SocketAddr = listener.local_addr()?;
        let mut paths: Vec<String> = (0..30).map(|i| format!("/goods/{i}/")).collect();
        paths.push("/missing".to_owned());
        let server = c10k::spawn(http_server(listener, paths.len()));
        let results = crawler::crawl(addr, "shop.local", &paths).await;
        assert_eq!(results.len(), paths.len());
        for (path, r) in paths.iter().zip(results) {
            let page = r?;
            if path == "/missing" {
                assert_eq!(page.status, 404);
            } else {
                assert_eq!(page.status, 200, "{path}");
                assert!(page.body == body_for(path), "{path}: body differs");
            }
        }
        server.await.map_err(io::Error::other)?
    })
}

#[test]
fn fetch_reports_connection_errors() -> io::Result<()> {
    c10k::run(async {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?; // closed again
        let err = crawler::fetch(addr, "x", "/").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        Ok(())
    })
}

#[test]
fn malformed_responses_are_rejected() {
    for bad in [
        &b""[..],
        b"HTTP/1.0 200 OK\r\n",
        b"SSH-2.0\r\n\r\n",
        b"HTTP/1.1 abc\r\n\r\n",
    ] {
        let err = crawler::parse_response(bad).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{bad:?}");
    }
    let ok = crawler::parse_response(b"HTTP/1.1 301 Moved\r\nLocation: /\r\n\r\nbody").unwrap();
    assert_eq!((ok.status, &ok.body[..]), (301, &b"body"[..]));
}

#[test]
fn callback_crawler_fetches_every_page() -> io::Result<()> {
    let ev = c10k::event_loop::EventLoop::new()?;
    let (listener, addr) = ev.run_until_complete(async {
        let l = TcpListener::bind("127.0.0.1:0").await?;
        let a = l.local_addr()?;
        Ok::<_, io::Error>((l, a))
    })?;
    let paths: Vec<String> = (0..12).map(|i| format!("/goods/{i}/")).collect();
    // The server is a task on the loop's own runtime: callbacks and tasks share one driver.
    let server = ev.runtime().spawn(http_server(listener, paths.len()));
    let results = crawler_callbacks::crawl_with_callbacks(&ev, addr, &paths)?;
    for (path, r) in paths.iter().zip(results) {
        let body = r.map_err(io::Error::other)?;
        assert!(body == body_for(path), "{path}: body differs");
    }
    ev.run_until_complete(server).map_err(io::Error::other)?
}

#[test]
fn callback_crawler_reports_refused_connections() -> io::Result<()> {
    let ev = c10k::event_loop::EventLoop::new()?;
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?; // closed again
    let results =
        crawler_callbacks::crawl_with_callbacks(&ev, addr, &["/a".to_owned(), "/b".to_owned()])?;
    for r in results {
        let err = r.unwrap_err();
        assert!(err.starts_with("connect:"), "{err}");
    }
    Ok(())
}

#[allow(dead_code)]
#[path = "../examples/crawler_generators.rs"]
mod crawler_generators;

#[test]
fn generator_and_green_crawlers_fetch_every_page() -> io::Result<()> {
    let ev = c10k::event_loop::EventLoop::new()?;
    let (listener, addr) = ev.run_until_complete(async {
        let l = TcpListener::bind("127.0.0.1:0").await?;
        let a = l.local_addr()?;
        Ok::<_, io::Error>((l, a))
    })?;
    let paths: Vec<String> = (0..12).map(|i| format!("/goods/{i}/")).collect();
    let server = ev.runtime().spawn(http_server(listener, paths.len()));
    let results = crawler_generators::crawl_with_generators(&ev, addr, &paths)?;
    for (path, r) in paths.iter().zip(results) {
        let body = r.map_err(io::Error::other)?;
        assert!(body == body_for(path), "{path}: body differs");
    }
    ev.run_until_complete(server).map_err(io::Error::other)??;

    // The green-thread crawler against a server on its own thread and runtime.
    let rt = c10k::Runtime::builder().current_thread().build()?;
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let n = paths.len();
    let server = std::thread::spawn(move || rt.block_on(http_server(listener, n)));
    let results = crawler_generators::crawl_with_green_threads(addr, &paths)?;
    for (path, r) in paths.iter().zip(results) {
        let body = r.map_err(io::Error::other)?;
        assert!(body == body_for(path), "{path}: body differs");
    }
    server
        .join()
        .map_err(|_| io::Error::other("server panicked"))?
}

#[test]
fn generator_crawler_reports_refused_connections() -> io::Result<()> {
    let ev = c10k::event_loop::EventLoop::new()?;
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?; // closed again
    let results = crawler_generators::crawl_with_generators(&ev, addr, &["/a".to_owned()])?;
    assert!(results[0].as_ref().unwrap_err().starts_with("connect:"));
    Ok(())
}
