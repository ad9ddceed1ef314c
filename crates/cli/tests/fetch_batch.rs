//! `c10k fetch` end to end against a scripted in-test HTTP server (content-length, chunked
//! with trailers, close-delimited, redirects, a flaky connection, a redirect loop) and
//! against `c10k http` (saving with `-o`).

mod http_util;

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use http_util::Server;

/// Serves scripted answers on its own threads; at most `max_conns` connections, then the
/// accept loop ends (the test process ends the rest).
fn scripted_server(max_conns: usize) -> io::Result<(SocketAddr, Arc<AtomicUsize>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let flaky_hits = Arc::new(AtomicUsize::new(0));
    let hits = flaky_hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max_conns) {
            let Ok(stream) = stream else { continue };
            let hits = hits.clone();
            std::thread::spawn(move || {
                let _ = serve_conn(stream, &hits);
            });
        }
    });
    Ok((addr, flaky_hits))
}

fn serve_conn(stream: TcpStream, flaky_hits: &AtomicUsize) -> io::Result<()> {
    stream.set_read_timeout(Some(http_util::LIMIT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut host = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            if line.to_ascii_lowercase().starts_with("host:") {
                host = line[5..].trim().to_owned();
            }
            if line == "\r\n" {
                break;
            }
        }
        assert!(!host.is_empty(), "request without Host");
        let path = request_line.split(' ').nth(1).unwrap_or("/").to_owned();
        match path.as_str() {
            "/len" => out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")?,
            "/chunked" => out.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n",
            )?,
            "/continue" => out.write_all(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")?,
            "/a/redirect" => out.write_all(b"HTTP/1.1 302 Found\r\nLocation: ../len\r\nContent-Length: 3\r\n\r\nxyz")?,
            "/to-chunked" => out.write_all(b"HTTP/1.1 301 Moved\r\nLocation: /chunked\r\nContent-Length: 0\r\n\r\n")?,
            "/loop" => out.write_all(b"HTTP/1.1 307 Again\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n")?,
            "/then-close" => {
                // Keep-alive by the headers, closed right after: the pooled connection is
                // stale when the next request uses it.
                out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbye!")?;
                return Ok(());
            }
            "/missing" => out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope")?,
            "/close" => {
                out.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")?;
                return Ok(());
            }
            "/truncated" => {
                out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")?;
                return Ok(());
            }
            "/flaky" => {
                // The first attempt dies before any response byte: the client must retry.
                if flaky_hits.fetch_add(1, Ordering::SeqCst) == 0 {
                    return Ok(());
                }
                out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")?;
            }
            _ => out.write_all(b"HTTP/1.1 500 Unscripted\r\nContent-Length: 0\r\n\r\n")?,
        }
    }
}

/// A port with nothing listening (bound, then closed).
fn dead_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}"))
}

#[test]
fn batch_with_every_framing_redirects_and_failures() -> io::Result<()> {
    let (addr, flaky_hits) = scripted_server(200)?;
    let base = format!("http://{addr}");
    let dead = dead_port()?;
    let urls = [
        format!("{base}/len"),
        format!("{base}/chunked"),
        format!("{base}/close"),
        format!("{base}/a/redirect"),
        format!("{base}/to-chunked"),
        format!("{base}/missing"),
        format!("{base}/continue"),
        format!("{base}/flaky"),
        format!("{base}/loop"),
        format!("{base}/truncated"),
        format!("http://127.0.0.1:{dead}/refused"),
        format!("https://127.0.0.1:{dead}/refused-too"),
    ];
    let mut args = vec!["fetch", "--json", "-c", "3", "--timeout", "20"];
    args.extend(urls.iter().map(String::as_str));
    let out = http_util::run(&args, http_util::LIMIT)?;
    assert_eq!(out.status.code(), Some(1), "some URLs fail: {}", out.stderr);
    let v = json(&out.stdout);
    let results = v["results"].as_array().expect("results");
    assert_eq!(results.len(), urls.len());
    for (r, url) in results.iter().zip(&urls) {
        assert_eq!(r["url"], url.as_str(), "results keep the input order");
    }
    let status = |i: usize| results[i]["status"].as_u64();
    let bytes = |i: usize| results[i]["bytes"].as_u64();
    assert_eq!((status(0), bytes(0)), (Some(200), Some(5)));
    assert_eq!(
        (status(1), bytes(1)),
        (Some(200), Some(9)),
        "chunked: Wikipedia"
    );
    assert_eq!(
        (status(2), bytes(2)),
        (Some(200), Some(13)),
        "close-delimited"
    );
    assert_eq!(
        (status(3), bytes(3)),
        (Some(200), Some(5)),
        "relative redirect to /len"
    );
    assert_eq!(results[3]["final_url"], format!("{base}/len").as_str());
    assert_eq!(results[3]["redirects"], 1);
    assert_eq!((status(4), bytes(4)), (Some(200), Some(9)));
    assert_eq!(
        status(5),
        Some(404),
        "an HTTP error is a response (counted as an error status), not a failure"
    );
    assert_eq!((status(6), bytes(6)), (Some(201), Some(2)), "1xx skipped");
    assert_eq!(
        (status(7), bytes(7)),
        (Some(200), Some(6)),
        "flaky retried: {}",
        results[7]
    );
    assert!(results[7]["retries"].as_u64() >= Some(1));
    assert!(flaky_hits.load(Ordering::SeqCst) >= 2);
    assert!(
        results[8]["error"]
            .as_str()
            .is_some_and(|e| e.contains("redirects")),
        "{}",
        results[8]
    );
    assert!(
        results[9]["error"]
            .as_str()
            .is_some_and(|e| e.contains("before the end")),
        "{}",
        results[9]
    );
    assert!(
        results[10]["error"]
            .as_str()
            .is_some_and(|e| e.contains("refused")),
        "{}",
        results[10]
    );
    // https is supported now: the URL is fetched, and this port refuses the connection.
    assert!(
        results[11]["error"]
            .as_str()
            .is_some_and(|e| e.contains("refused")),
        "{}",
        results[11]
    );
    let s = &v["summary"];
    assert_eq!(
        (
            s["urls"].as_u64(),
            s["ok"].as_u64(),
            s["http_errors"].as_u64(),
            s["failed"].as_u64()
        ),
        (Some(12), Some(7), Some(1), Some(4))
    );
    assert_eq!(s["by_status"]["200"], 6);
    assert!(s["p99_ms"].as_f64() >= s["p50_ms"].as_f64());
    // Every failure was named on stderr, one line each.
    for url in &urls[8..12] {
        assert!(
            out.stderr.contains(&format!("c10k: fetch {url}: ")),
            "{}",
            out.stderr
        );
    }
    Ok(())
}

#[test]
fn stale_pooled_connection_is_replaced() -> io::Result<()> {
    let (addr, _) = scripted_server(20)?;
    let first = format!("http://{addr}/then-close");
    let second = format!("http://{addr}/len");
    let out = http_util::run(
        &["fetch", "--json", "-c", "1", &first, &second],
        http_util::LIMIT,
    )?;
    assert!(out.status.success(), "{}", out.stderr);
    let v = json(&out.stdout);
    assert_eq!(v["results"][0]["bytes"], 4);
    assert_eq!(v["results"][1]["bytes"], 5);
    assert_eq!(v["results"][1]["retries"], 1, "{}", v["results"][1]);
    assert_eq!(v["summary"]["requests"], 3);
    Ok(())
}

#[test]
fn saves_bodies_from_c10k_http_with_keep_alive() -> io::Result<()> {
    let root = std::env::temp_dir().join(format!("c10k-fetch-root-{}", std::process::id()));
    let dir = std::env::temp_dir().join(format!("c10k-fetch-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(root.join("sub"))?;
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 241) as u8).collect();
    std::fs::write(root.join("big.bin"), &big)?;
    std::fs::write(root.join("sub/page.html"), "<p>page</p>")?;
    let server = Server::start(&["http", "--root", root.to_str().expect("utf-8")])?;
    let list = root.join("urls.txt");
    let mut urls = String::from("# a comment, then a blank line\n\n");
    for i in 0..40 {
        let target = if i % 2 == 0 {
            "/big.bin".to_owned()
        } else {
            format!("/sub/page.html?i={i}")
        };
        urls.push_str(&format!("http://{}{target}\n", server.addr));
    }
    std::fs::write(&list, urls)?;
    let dir_s = dir.to_str().expect("utf-8");
    let out = http_util::run(
        &[
            "fetch",
            "-i",
            list.to_str().expect("utf-8"),
            "-c",
            "4",
            "-o",
            dir_s,
        ],
        http_util::LIMIT,
    )?;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout.starts_with("fetched 40 URLs in "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("40 ok, 0 error status, 0 failed"),
        "{}",
        out.stdout
    );
    let port = server.addr.port();
    assert_eq!(
        std::fs::read(dir.join(format!("127.0.0.1_{port}_big.bin")))?,
        big
    );
    assert_eq!(
        std::fs::read(dir.join(format!("127.0.0.1_{port}_big.bin.1")))?,
        big
    );
    assert_eq!(
        std::fs::read_to_string(dir.join(format!("127.0.0.1_{port}_sub_page.html_i=1")))?,
        "<p>page</p>"
    );
    let files = std::fs::read_dir(&dir)?.count();
    assert_eq!(files, 40, "one file per URL, no leftover .part files");
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn usage_errors_exit_2() -> io::Result<()> {
    let out = http_util::run(&["fetch"], http_util::LIMIT)?;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr.starts_with("c10k: no URL given"),
        "{}",
        out.stderr
    );
    let out = http_util::run(&["fetch", "-i", "/nonexistent/list"], http_util::LIMIT)?;
    assert_eq!(out.status.code(), Some(2));
    let out = http_util::run(
        &["fetch", "--timeout", "0", "http://127.0.0.1:1/"],
        http_util::LIMIT,
    )?;
    assert_eq!(out.status.code(), Some(2));
    Ok(())
}

#[test]
fn ctrl_c_finishes_in_flight_and_reports() -> io::Result<()> {
    use std::process::Stdio;
    use std::sync::mpsc;
    // A server that answers its first request only when told to.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let (got_tx, got_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    std::thread::spawn(move || -> io::Result<()> {
        let (stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(http_util::LIMIT))?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut line = String::new();
        while reader.read_line(&mut line)? > 0 && line != "\r\n" {
            line.clear();
        }
        let _ = got_tx.send(());
        let _ = go_rx.recv_timeout(http_util::LIMIT);
        let mut out = stream;
        out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate")?;
        Ok(())
    });
    let urls: Vec<String> = (0..3).map(|i| format!("http://{addr}/{i}")).collect();
    let mut child = http_util::c10k()
        .args(["fetch", "--json", "-c", "1"])
        .args(&urls)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().expect("piped");
    let (err_tx, err_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = err_tx.send(line);
        }
    });
    let stdout = child.stdout.take().expect("piped");
    let out = std::thread::spawn(move || io::read_to_string(stdout));
    got_rx
        .recv_timeout(http_util::LIMIT)
        .map_err(io::Error::other)?;
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::INT)?;
    // Synchronize on the program having seen Ctrl-C, then let the request finish.
    loop {
        let line = err_rx
            .recv_timeout(http_util::LIMIT)
            .map_err(io::Error::other)?;
        if line.contains("shutting down") {
            break;
        }
    }
    go_tx.send(()).map_err(io::Error::other)?;
    let status = http_util::wait_bounded(&mut child, http_util::LIMIT)?;
    assert_eq!(status.code(), Some(1));
    let v = json(&out.join().expect("reader")?);
    assert_eq!(v["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        v["results"][0]["bytes"], 4,
        "the request in flight finished"
    );
    assert_eq!(v["summary"]["not_started"], 2);
    // The child exited: its stderr is at end of file, so this ends.
    let rest: Vec<String> = err_rx.iter().collect();
    assert!(
        rest.iter()
            .any(|l| l.contains("interrupted: 2 of 3 URLs not fetched")),
        "{rest:?}"
    );
    Ok(())
}
