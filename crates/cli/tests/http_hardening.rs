//! Regression tests for `c10k http` against one client that tries to take the server down
//! (issue 9, points 1–3): pipelining listings without reading, never reading a large
//! download, a FIFO under the root, and paths that must not name what they seem to.

mod http_util;

use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use http_util::{read_response, run, Response, Server, LIMIT};

/// A fresh document root for one test.
fn root(name: &str) -> io::Result<PathBuf> {
    let root = std::env::temp_dir().join(format!("c10k-http-hard-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("docs"))?;
    std::fs::write(root.join("hello.txt"), "hello, file")?;
    std::fs::write(root.join("docs/page.txt"), "page")?;
    Ok(root)
}

fn start(root: &Path, extra: &[&str]) -> io::Result<Server> {
    let mut args = vec!["http", "--root", root.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    Server::start(&args)
}

fn get(server: &Server, target: &str) -> io::Result<Response> {
    let mut stream = server.connect()?;
    stream.write_all(
        format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    read_response(&mut BufReader::new(stream), false)
}

/// A line of `/proc/PID/status` (`VmRSS`), in KiB.
fn rss_kib(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::other("no VmRSS"))
}

/// A process's open descriptors: (sockets, files under `root`). The runtime's own
/// descriptors (epoll, eventfd) are created lazily, so a plain count would depend on when
/// it was taken.
fn held(pid: u32, root: &Path) -> io::Result<(usize, usize)> {
    let (mut sockets, mut files) = (0, 0);
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        // A descriptor closed since the listing is simply not counted.
        let Ok(target) = std::fs::read_link(entry?.path()) else {
            continue;
        };
        if target.to_string_lossy().starts_with("socket:") {
            sockets += 1;
        } else if target.starts_with(root) {
            files += 1;
        }
    }
    Ok((sockets, files))
}

/// Polls `f` (every 10 ms, at most [`LIMIT`]) until it holds.
fn eventually(what: &str, mut f: impl FnMut() -> io::Result<bool>) -> io::Result<()> {
    let deadline = Instant::now() + LIMIT;
    while Instant::now() < deadline {
        if f()? {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("never: {what}"),
    ))
}

/// Point 1. A client pipelines a thousand requests for a 2 000-entry listing (about 120 KB
/// each) and reads one byte. Before the fix the server built every listing of its 16 KiB
/// read (about 450, 55 MB) before sending the first byte, and held them while the client
/// did not read; now it stops parsing while 64 KiB of answers wait.
#[test]
fn pipelined_listings_without_reading_do_not_pile_up() -> io::Result<()> {
    let root = root("pipeline")?;
    let many = root.join("many");
    std::fs::create_dir_all(&many)?;
    for i in 0..2000 {
        std::fs::write(
            many.join(format!("a-file-with-a-rather-long-name-{i:05}.txt")),
            "",
        )?;
    }
    let server = start(&root, &[])?;
    let pid = server.child.id();
    // Warm up: one listing, so the allocator and the blocking pool exist before measuring.
    let page = get(&server, "/many/")?;
    assert_eq!(page.status, 200);
    assert!(page.body.len() > 100_000, "{}", page.body.len());
    let before = rss_kib(pid)?;
    let mut stream = server.connect()?;
    let request = b"GET /many/ HTTP/1.1\r\nHost: t\r\n\r\n";
    let batch: Vec<u8> = request
        .iter()
        .copied()
        .cycle()
        .take(request.len() * 1000)
        .collect();
    stream.write_all(&batch)?;
    // The first byte of the first answer: the server has started answering.
    let mut first = [0u8; 1];
    stream.read_exact(&mut first)?;
    assert_eq!(&first, b"H");
    // Another client is still served at once (the runtime thread is not stuck).
    assert_eq!(get(&server, "/plaintext")?.status, 200);
    let grown = rss_kib(pid)?.saturating_sub(before);
    assert!(
        grown < 16 * 1024,
        "the server grew by {grown} KiB for one client that does not read"
    );
    drop(stream);
    std::fs::remove_dir_all(&root)
}

/// Point 2. A client asks for a 64 MiB file and never reads: with `--send-timeout 1` the
/// server gives up on it, closing both the socket and the file (before the fix writes never
/// timed out, and the flag did not exist).
#[test]
fn a_client_that_never_reads_is_disconnected_after_the_send_timeout() -> io::Result<()> {
    let root = root("send-timeout")?;
    // Sparse: 64 MiB of zeros without writing them.
    std::fs::File::create(root.join("huge.bin"))?.set_len(64 << 20)?;
    let mut server = start(&root, &["--send-timeout", "1"])?;
    let pid = server.child.id();
    let root = std::fs::canonicalize(&root)?;
    // The listener alone.
    assert_eq!(held(pid, &root)?, (1, 0));
    let mut stream = server.connect()?;
    stream.write_all(b"GET /huge.bin HTTP/1.1\r\nHost: t\r\n\r\n")?;
    // The connection and the file are open while the response is stuck...
    eventually("the server holds the connection and the file", || {
        Ok(held(pid, &root)? == (2, 1))
    })?;
    // ... and closed after the send timeout, without the client doing anything.
    let mut last = (0, 0);
    eventually(
        "the server closes the stalled connection and its file",
        || {
            last = held(pid, &root)?;
            Ok(last == (1, 0))
        },
    )
    .map_err(|e| io::Error::other(format!("{e}: (sockets, files) = {last:?}")))?;
    assert!(server.alive());
    // The client got a truncated response, then the end of the stream.
    let mut got = 0u64;
    let mut block = vec![0u8; 1 << 20];
    loop {
        match stream.read(&mut block) {
            Ok(0) => break,
            Ok(n) => got += n as u64,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
            Err(e) => return Err(e),
        }
    }
    assert!(got < 64 << 20, "the whole file arrived: {got} bytes");
    assert_eq!(get(&server, "/plaintext")?.status, 200);
    std::fs::remove_dir_all(&root)
}

/// Point 3. Opening a FIFO blocks until a writer comes: it froze the whole server. Now it
/// (and a symlink to it) gets 403 without ever being opened.
#[test]
fn a_fifo_under_the_root_is_refused_without_blocking() -> io::Result<()> {
    let root = root("fifo")?;
    rustix::fs::mknodat(
        rustix::fs::CWD,
        root.join("pipe"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )?;
    std::os::unix::fs::symlink(root.join("pipe"), root.join("docs/link"))?;
    let server = start(&root, &[])?;
    assert_eq!(get(&server, "/pipe")?.status, 403);
    assert_eq!(get(&server, "/docs/link")?.status, 403);
    assert_eq!(get(&server, "/plaintext")?.status, 200);
    assert_eq!(get(&server, "/hello.txt")?.body, b"hello, file");
    std::fs::remove_dir_all(&root)
}

/// Point 3. `/hello.txt/` names a directory that does not exist (it served the file), and a
/// directory asked for as `//docs` must not be redirected to the scheme-relative `//docs/`
/// (another host, to a browser).
#[test]
fn paths_name_only_what_they_say() -> io::Result<()> {
    let root = root("paths")?;
    let server = start(&root, &[])?;
    assert_eq!(get(&server, "/hello.txt")?.status, 200);
    assert_eq!(get(&server, "/hello.txt/")?.status, 404);
    assert_eq!(get(&server, "/docs/page.txt/")?.status, 404);
    for (target, location) in [
        ("//docs", "/docs/"),
        ("///docs", "/docs/"),
        ("/docs", "/docs/"),
        ("//docs?x=1", "/docs/?x=1"),
        ("/./docs", "/docs/"),
    ] {
        let r = get(&server, target)?;
        assert_eq!(
            (r.status, r.header("location")),
            (301, Some(location)),
            "{target}"
        );
    }
    std::fs::remove_dir_all(&root)
}

#[test]
fn a_zero_send_timeout_is_a_usage_error() -> io::Result<()> {
    let out = run(
        &["http", "--send-timeout", "0", "--listen", "127.0.0.1:0"],
        LIMIT,
    )?;
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("--send-timeout must be at least 1 second"),
        "{}",
        out.stderr
    );
    Ok(())
}
