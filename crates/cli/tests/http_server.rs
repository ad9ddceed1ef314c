//! `c10k http` end to end: static files, errors and limits, path escapes, keep-alive,
//! pipelining, and clients that misbehave.

mod http_util;

use std::io::{self, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;

use http_util::{read_response, Response, Server};

/// A document root with a few files, and a secret beside it (outside the root).
fn site(name: &str) -> io::Result<PathBuf> {
    let base = std::env::temp_dir().join(format!("c10k-http-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let root = base.join("root");
    std::fs::create_dir_all(root.join("docs"))?;
    std::fs::write(base.join("secret.txt"), "top secret")?;
    std::fs::write(root.join("index.html"), "<h1>home</h1>")?;
    std::fs::write(root.join("hello.txt"), "hello, file")?;
    std::fs::write(root.join("docs/a b.css"), "body{}")?;
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(root.join("big.bin"), big)?;
    std::os::unix::fs::symlink(base.join("secret.txt"), root.join("escape"))?;
    Ok(root)
}

fn start(name: &str) -> io::Result<(Server, PathBuf)> {
    let root = site(name)?;
    let server = Server::start(&["http", "--root", root.to_str().expect("utf-8 path")])?;
    Ok((server, root))
}

/// Sends raw bytes on a new connection and reads one response.
fn raw(server: &Server, request: &[u8]) -> io::Result<Response> {
    let mut stream = server.connect()?;
    stream.write_all(request)?;
    read_response(&mut BufReader::new(stream), request.starts_with(b"HEAD"))
}

fn get(server: &Server, target: &str) -> io::Result<Response> {
    raw(
        server,
        format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

/// True when the server closed the connection (EOF or reset) without more data.
fn closed(stream: TcpStream) -> bool {
    let mut rest = Vec::new();
    match BufReader::new(stream).read_to_end(&mut rest) {
        Ok(_) => rest.is_empty(),
        Err(e) => e.kind() == io::ErrorKind::ConnectionReset,
    }
}

#[test]
fn serves_files_plaintext_and_listings() -> io::Result<()> {
    let (server, root) = start("files")?;
    let r = get(&server, "/plaintext")?;
    assert_eq!((r.status, r.body.as_slice()), (200, &b"Hello, World!"[..]));
    let r = get(&server, "/hello.txt")?;
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello, file"[..]));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert!(r.header("date").is_some_and(|d| d.ends_with(" GMT")));
    let r = get(&server, "/")?;
    assert_eq!((r.status, r.body.as_slice()), (200, &b"<h1>home</h1>"[..]));
    let r = get(&server, "/docs/a%20b.css")?;
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("text/css; charset=utf-8"))
    );
    let r = get(&server, "/docs")?;
    assert_eq!((r.status, r.header("location")), (301, Some("/docs/")));
    let r = get(&server, "/docs/")?;
    assert!(String::from_utf8_lossy(&r.body).contains("<a href=\"a%20b.css\">a b.css</a>"));
    let r = get(&server, "/big.bin")?;
    assert_eq!(r.body, std::fs::read(root.join("big.bin"))?);
    let r = raw(
        &server,
        b"HEAD /hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )?;
    assert_eq!((r.status, r.header("content-length")), (200, Some("11")));
    assert_eq!(get(&server, "/nope.txt")?.status, 404);
    Ok(())
}

#[test]
fn errors_and_limits() -> io::Result<()> {
    let (server, _root) = start("limits")?;
    let r = raw(
        &server,
        b"POST /hello.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    )?;
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
    assert_eq!(
        raw(&server, b"GET / HTTP/1.1\r\n\r\n")?.status,
        400,
        "missing Host"
    );
    assert_eq!(
        raw(
            &server,
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n"
        )?
        .status,
        400
    );
    let big_header = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(9000)
    );
    assert_eq!(raw(&server, big_header.as_bytes())?.status, 431);
    let mut many = String::from("GET / HTTP/1.1\r\nHost: t\r\n");
    for i in 0..100 {
        many.push_str(&format!("X-{i}: v\r\n"));
    }
    many.push_str("\r\n");
    assert_eq!(raw(&server, many.as_bytes())?.status, 431);
    let long_uri = format!("GET /{} HTTP/1.1\r\n", "u".repeat(9000));
    assert_eq!(raw(&server, long_uri.as_bytes())?.status, 414);
    let r = raw(
        &server,
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000000\r\n\r\n",
    )?;
    assert_eq!(r.status, 413);
    assert_eq!(
        raw(&server, b"GET / HTTP/3.0\r\nHost: t\r\n\r\n")?.status,
        505
    );
    Ok(())
}

#[test]
fn no_path_escapes_the_root() -> io::Result<()> {
    let (server, _root) = start("escape")?;
    for target in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/docs/../../secret.txt",
        "/docs/%2e%2e/%2e%2e/secret.txt",
        "/..%2f..%2fetc/passwd",
        "/../../../../etc/passwd",
        "/hello.txt%00.html",
        "/escape",
    ] {
        let r = get(&server, target)?;
        assert!(
            matches!(r.status, 400 | 403 | 404),
            "{target}: {}",
            r.status
        );
        let body = String::from_utf8_lossy(&r.body);
        assert!(
            !body.contains("top secret") && !body.contains("root:"),
            "{target}"
        );
    }
    assert_eq!(get(&server, "/escape")?.status, 403);
    Ok(())
}

#[test]
fn keep_alive_and_pipelining_answer_in_order() -> io::Result<()> {
    let (server, _root) = start("pipeline")?;
    // Keep-alive: three requests, one connection, read one by one.
    let stream = server.connect()?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    for target in ["/plaintext", "/hello.txt", "/plaintext"] {
        writer.write_all(format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())?;
        let r = read_response(&mut reader, false)?;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("connection"), None);
    }
    // Pipelining: 50 requests in one write, including a 404 and a HEAD, with the last one
    // split across two writes.
    let mut batch = Vec::new();
    let targets: Vec<String> = (0..50)
        .map(|i| match i % 5 {
            0 => "/hello.txt".to_owned(),
            1 => format!("/missing-{i}"),
            _ => "/plaintext".to_owned(),
        })
        .collect();
    for (i, t) in targets.iter().enumerate() {
        let method = if i == 7 { "HEAD" } else { "GET" };
        batch.extend_from_slice(format!("{method} {t} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
    }
    let (first, second) = batch.split_at(batch.len() - 10);
    writer.write_all(first)?;
    writer.flush()?;
    writer.write_all(second)?;
    for (i, t) in targets.iter().enumerate() {
        let r = read_response(&mut reader, i == 7)?;
        let want = if t.starts_with("/missing") { 404 } else { 200 };
        assert_eq!(r.status, want, "response {i} for {t}");
        if t == "/plaintext" && i != 7 {
            assert_eq!(r.body, b"Hello, World!");
        }
    }
    // Connection: close is honoured.
    writer.write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")?;
    let r = read_response(&mut reader, false)?;
    assert_eq!(r.header("connection"), Some("close"));
    assert!(closed(writer));
    // HTTP/1.0 closes by default.
    let mut s = server.connect()?;
    s.write_all(b"GET /plaintext HTTP/1.0\r\n\r\n")?;
    let mut reader = BufReader::new(s.try_clone()?);
    assert_eq!(read_response(&mut reader, false)?.status, 200);
    assert!(closed(s));
    Ok(())
}

#[test]
fn misbehaving_clients_do_not_hurt_the_server() -> io::Result<()> {
    let (mut server, _root) = start("misbehave")?;
    for i in 0..20 {
        let stream = server.connect()?;
        match i % 4 {
            // Reset in the middle of a request head.
            0 => {
                let mut s = stream;
                s.write_all(b"GET /hello.txt HTTP/1.1\r\nHo")?;
                rustix::net::sockopt::set_socket_linger(&s, Some(std::time::Duration::ZERO))?;
            }
            // Half-close right after a complete request: the answer still comes.
            1 => {
                let mut s = stream;
                s.write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")?;
                s.shutdown(std::net::Shutdown::Write)?;
                let r = read_response(&mut BufReader::new(s), false)?;
                assert_eq!(r.status, 200);
            }
            // Ask for a big file and reset without reading it.
            2 => {
                let mut s = stream;
                s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")?;
                rustix::net::sockopt::set_socket_linger(&s, Some(std::time::Duration::ZERO))?;
            }
            // Endless header line: refused once it passes the limit.
            _ => {
                let mut s = stream;
                let _ = s.write_all(b"GET / HTTP/1.1\r\nX: ");
                let chunk = vec![b'x'; 4096];
                for _ in 0..4 {
                    if s.write_all(&chunk).is_err() {
                        break;
                    }
                }
                let r = read_response(&mut BufReader::new(s), false)?;
                assert_eq!(r.status, 431);
            }
        }
    }
    assert!(server.alive());
    assert_eq!(get(&server, "/plaintext")?.status, 200);
    let (status, _) = server.interrupt()?;
    assert!(status.success(), "{status:?}");
    Ok(())
}

#[test]
fn bad_root_is_a_usage_error() -> io::Result<()> {
    let out = http_util::run(&["http", "--root", "/nonexistent/c10k"], http_util::LIMIT)?;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr.starts_with("c10k: --root /nonexistent/c10k: "),
        "{}",
        out.stderr
    );
    Ok(())
}

#[test]
fn multi_thread_scheduler_serves() -> io::Result<()> {
    let root = site("threads")?;
    let server = Server::start(&[
        "http",
        "--threads",
        "2",
        "--root",
        root.to_str().expect("utf-8"),
    ])?;
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let addr = server.addr;
            std::thread::spawn(move || -> io::Result<()> {
                let stream = TcpStream::connect(addr)?;
                stream.set_read_timeout(Some(http_util::LIMIT))?;
                let mut reader = BufReader::new(stream.try_clone()?);
                let mut writer = stream;
                for _ in 0..50 {
                    writer.write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")?;
                    assert_eq!(read_response(&mut reader, false)?.body, b"Hello, World!");
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().expect("client thread")?;
    }
    Ok(())
}

#[test]
fn accept_backs_off_when_out_of_descriptors_and_recovers() -> io::Result<()> {
    let root = site("fdlimit")?;
    let server =
        Server::start_with_fd_limit(&["http", "--root", root.to_str().expect("utf-8")], 64)?;
    let ask = |stream: &TcpStream| -> io::Result<u16> {
        let mut writer = stream.try_clone()?;
        writer.write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")?;
        Ok(read_response(&mut BufReader::new(stream.try_clone()?), false)?.status)
    };
    let mut first: Vec<TcpStream> = (0..30)
        .map(|_| server.connect())
        .collect::<io::Result<_>>()?;
    for s in &first {
        assert_eq!(ask(s)?, 200);
    }
    let waiting: Vec<TcpStream> = (0..40)
        .map(|_| server.connect())
        .collect::<io::Result<_>>()?;
    // 70 clients cannot all be held with 64 descriptors: the runtime's accept waits out
    // EMFILE (backing off on its timer) while the others are served.
    assert_eq!(
        ask(&first[0])?,
        200,
        "open keep-alive connections are still served"
    );
    first.truncate(1);
    for s in &waiting {
        assert_eq!(ask(s)?, 200);
    }
    let (status, _stderr) = server.interrupt()?;
    assert!(status.success(), "{status:?}");
    Ok(())
}

#[test]
fn trickling_client_is_cut_off_after_the_idle_timeout() -> io::Result<()> {
    let root = site("trickle")?;
    let server = Server::start(&[
        "http",
        "--idle-timeout",
        "1",
        "--root",
        root.to_str().expect("utf-8"),
    ])?;
    let mut s = server.connect()?;
    s.write_all(b"GET / HTTP/1.1\r\nX-Slow: ")?;
    // One byte every 100 ms (pacing, the behaviour under test): each read arrives well within
    // the idle timeout, but the head as a whole does not. Bounded: 300 bytes, 30 s.
    let mut cut_off = false;
    for _ in 0..300 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if s.write_all(b"a").is_err() {
            cut_off = true;
            break;
        }
        s.set_nonblocking(true)?;
        let mut probe = [0u8; 1];
        let closed = matches!(s.read(&mut probe), Ok(0));
        s.set_nonblocking(false)?;
        if closed {
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "a head trickled for 30 s was still being read");
    Ok(())
}
