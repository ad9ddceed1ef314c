//! `c10k load` against tiny in-test servers: the reported request count is the number of
//! requests the server answered. Every test runs on both loops of the generator, the epoll
//! readiness loop and the io_uring completion loop (`--backend uring`, skipped where the
//! kernel forbids io_uring).

mod util;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use util::{run, LIMIT};

/// A thread-per-connection server run by the test; `answered` counts whole answers.
struct TestServer {
    addr: SocketAddr,
    answered: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl TestServer {
    /// `answer(request_bytes_so_far)` returns the answer once a whole request arrived.
    fn start(unit: usize, answer: fn(u64) -> Vec<u8>) -> io::Result<TestServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let answered = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, halt) = (Arc::clone(&answered), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !halt.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let count = Arc::clone(&count);
                        std::thread::spawn(move || serve(stream, unit, answer, &count));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(TestServer {
            addr,
            answered,
            stop,
        })
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Answers every `unit` bytes received with `answer(n)`.
fn serve(mut stream: TcpStream, unit: usize, answer: fn(u64) -> Vec<u8>, count: &AtomicU64) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending = 0usize;
    let mut n_answered = 0u64;
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        pending += n;
        while pending >= unit {
            pending -= unit;
            n_answered += 1;
            if stream.write_all(&answer(n_answered)).is_err() {
                return;
            }
            count.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The generator's loops this machine runs: epoll, and uring unless forbidden.
fn backends() -> Vec<&'static str> {
    let mut all = vec!["epoll"];
    match util::uring_unsupported() {
        None => all.push("uring"),
        Some(why) => eprintln!("uring loop skipped: {why}"),
    }
    all
}

/// `args` with `--backend backend` added.
fn on<'a>(args: &[&'a str], backend: &'a str) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend(["--backend", backend]);
    all
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("load prints JSON")
}

#[test]
fn echo_mode_counts_what_the_server_answered() -> io::Result<()> {
    const SIZE: usize = 100;
    // The answer is the payload c10k load sends (uppercase alphabet, newline at the end).
    for backend in backends() {
        let server = TestServer::start(SIZE, |_| {
            let mut p: Vec<u8> = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                .iter()
                .copied()
                .cycle()
                .take(SIZE)
                .collect();
            p[SIZE - 1] = b'\n';
            p
        })?;
        let target = server.addr.to_string();
        let out = run(
            &on(
                &[
                    "load", "echo", "--target", &target, "-c", "4", "-d", "0.5", "--size", "100",
                    "--json",
                ],
                backend,
            ),
            LIMIT,
        )?;
        assert!(out.status.success(), "{}", out.stderr);
        let report = json(&out.stdout);
        let requests = report["requests"].as_u64().unwrap();
        assert!(requests > 0);
        assert_eq!(requests, server.answered.load(Ordering::Relaxed));
        assert_eq!(
            report["errors"].as_object().unwrap().len(),
            0,
            "{}",
            out.stdout
        );
        assert_eq!(
            report["bytes_received"].as_u64().unwrap(),
            requests * SIZE as u64
        );
        assert!(
            report["latency_us"]["p99"].as_f64().unwrap()
                >= report["latency_us"]["p50"].as_f64().unwrap()
        );
    }
    Ok(())
}

#[test]
fn echo_mode_reports_wrong_bytes() -> io::Result<()> {
    for backend in backends() {
        let server = TestServer::start(8, |_| b"wrong!!\n".to_vec())?;
        let target = server.addr.to_string();
        let out = run(
            &on(
                &[
                    "load", "echo", "--target", &target, "-c", "2", "-d", "0.3", "--size", "8",
                    "--json",
                ],
                backend,
            ),
            LIMIT,
        )?;
        assert_eq!(out.status.code(), Some(1), "no request can complete");
        let report = json(&out.stdout);
        assert_eq!(
            report["errors"]["echo: wrong bytes"].as_u64(),
            Some(2),
            "{}",
            out.stdout
        );
    }
    Ok(())
}

#[test]
fn http_mode_frames_content_length_and_chunked_responses() -> io::Result<()> {
    // Requests are fixed-size (the same GET every time); answers alternate framing and
    // the server retires the connection after every 50th answer (Connection: close).
    let request_len = "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:PORT\r\n\r\n".len();
    for backend in backends() {
        let server = TestServer::start(request_len + 5 - "PORT".len(), |n| {
            if n % 50 == 0 {
                b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok".to_vec()
            } else if n % 2 == 0 {
                b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!".to_vec()
            } else {
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nHello, \r\n6\r\nWorld!\r\n0\r\n\r\n".to_vec()
            }
        })?;
        let target = server.addr.to_string();
        assert_eq!(
            target.len(),
            "127.0.0.1:".len() + 5,
            "port with five digits"
        );
        let out = run(
            &on(
                &[
                    "load", "http", "--target", &target, "-c", "3", "-d", "0.5", "--json",
                ],
                backend,
            ),
            LIMIT,
        )?;
        assert!(out.status.success(), "{}", out.stderr);
        let report = json(&out.stdout);
        let requests = report["requests"].as_u64().unwrap();
        assert_eq!(requests, server.answered.load(Ordering::Relaxed));
        assert_eq!(
            report["errors"].as_object().unwrap().len(),
            0,
            "{}",
            out.stdout
        );
        if requests > 150 {
            assert!(
                report["reconnects"].as_u64().unwrap() + report["connects"].as_u64().unwrap() > 3
            );
        }
    }
    Ok(())
}

/// Regression (issue 9): every request answered 404 and the exit code was 0.
#[test]
fn failed_requests_make_the_exit_code_1_and_say_how_many() -> io::Result<()> {
    let request_len = "GET /nope HTTP/1.1\r\nHost: 127.0.0.1:PORT\r\n\r\n".len();
    for backend in backends() {
        let server = TestServer::start(request_len + 5 - "PORT".len(), |_| {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec()
        })?;
        let target = server.addr.to_string();
        assert_eq!(
            target.len(),
            "127.0.0.1:".len() + 5,
            "port with five digits"
        );
        let args = on(
            &[
                "load", "http", "--target", &target, "-c", "2", "-d", "0.3", "--path", "/nope",
                "--json",
            ],
            backend,
        );
        let out = run(&args, LIMIT)?;
        assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
        let report = json(&out.stdout);
        let failed = report["errors"]["http: status 404"].as_u64().unwrap_or(0);
        assert!(failed > 0, "{}", out.stdout);
        let total: u64 = report["errors"]
            .as_object()
            .map_or(0, |kinds| kinds.values().filter_map(|v| v.as_u64()).sum())
            + report["unfinished"].as_u64().unwrap_or(0);
        let line = out.stderr.trim();
        assert!(
            line.starts_with(&format!("c10k: {total} requests failed (")),
            "{line}"
        );
        assert!(
            line.contains(&format!("{failed} × http: status 404")),
            "{line}"
        );
        // Tolerated: the same run exits 0.
        let mut tolerant = args.clone();
        tolerant.extend(["--max-errors", "1000000000"]);
        let out = run(&tolerant, LIMIT)?;
        assert!(out.status.success(), "{}", out.stderr);
    }
    Ok(())
}

#[test]
fn refused_connections_are_errors_not_hangs() -> io::Result<()> {
    // A port nobody listens on: bind, read the port, close.
    for backend in backends() {
        let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?.to_string();
        let out = run(
            &on(
                &[
                    "load", "echo", "--target", &addr, "-c", "3", "-d", "0.2", "--json",
                ],
                backend,
            ),
            LIMIT,
        )?;
        assert_eq!(out.status.code(), Some(1));
        let report = json(&out.stdout);
        assert_eq!(
            report["errors"]["connect: connection refused"].as_u64(),
            Some(3),
            "{}",
            out.stdout
        );
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
    Ok(())
}

#[test]
fn bad_load_arguments_exit_2() -> io::Result<()> {
    for args in [
        &["load", "echo", "-c", "0"][..],
        &["load", "echo", "-d", "-1"],
        &["load", "echo", "-d", "soon"],
        &["load", "ftp"],
        &["load", "http", "--path", "no-slash"],
        &["load", "echo", "--size", "0"],
    ] {
        let out = run(args, LIMIT)?;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.starts_with("c10k: "), "{args:?}: {}", out.stderr);
    }
    Ok(())
}

#[test]
fn the_table_goes_to_stdout_and_a_closed_stdout_is_not_an_error() -> io::Result<()> {
    let server = TestServer::start(64, |_| {
        let mut p: Vec<u8> = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
            .iter()
            .copied()
            .cycle()
            .take(64)
            .collect();
        p[63] = b'\n';
        p
    })?;
    let target = server.addr.to_string();
    let out = run(
        &["load", "echo", "--target", &target, "-c", "1", "-d", "0.2"],
        LIMIT,
    )?;
    assert!(out.status.success());
    assert!(
        out.stdout.contains("req/s") && out.stdout.contains("p99"),
        "{}",
        out.stdout
    );
    // Stdout closed before the report is written (`c10k load ... | true`).
    let mut child = util::c10k()
        .args(["load", "echo", "--target", &target, "-c", "1", "-d", "0.2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    drop(child.stdout.take());
    let status = util::wait_bounded(&mut child, LIMIT)?;
    assert!(status.success(), "{status:?}");
    let _ = std::io::stdout().flush();
    Ok(())
}
