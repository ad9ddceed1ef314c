//! 10 000 concurrent connections to `c10k echo --model uring`, every one answered, no error.
//!
//! Ignored by default (it needs about 10 000 descriptors in this process and as many in the
//! server's, and a release build to be quick): run it with
//! `cargo test --release -p c10k-cli --test echo_uring_10k -- --ignored`.

mod util;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use util::{EchoServer, LIMIT};

/// Concurrent connections (issue 11's target).
const CONNS: usize = 10_000;

#[test]
#[ignore = "10 000 descriptors per process; run with --ignored (release)"]
fn ten_thousand_concurrent_connections_on_uring_with_no_error() -> io::Result<()> {
    if let Some(why) = util::uring_unsupported() {
        eprintln!("skipped: {why}");
        return Ok(());
    }
    let needed = (CONNS + 100) as u64;
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    if limit.maximum.is_some_and(|max| max < needed) {
        eprintln!(
            "skipped: this process may open at most {:?} descriptors",
            limit.maximum
        );
        return Ok(());
    }
    rustix::process::setrlimit(
        rustix::process::Resource::Nofile,
        rustix::process::Rlimit {
            current: Some(needed.max(limit.current.unwrap_or(0))),
            maximum: limit.maximum,
        },
    )?;
    let mut server = EchoServer::start("uring", &[])?;
    let deadline = Instant::now() + LIMIT * 2;
    // 1. Open them all and keep them open: every connection is concurrent.
    let mut conns = Vec::with_capacity(CONNS);
    for _ in 0..CONNS {
        assert!(Instant::now() < deadline, "connecting took too long");
        let stream = TcpStream::connect(server.addr)?;
        stream.set_read_timeout(Some(LIMIT))?;
        conns.push(stream);
    }
    // 2. Send on every one before reading any, so all 10 000 are in flight at once.
    for (i, stream) in conns.iter_mut().enumerate() {
        stream.write_all(format!("{i:05}").as_bytes())?;
    }
    // 3. Every answer comes back, on its own connection.
    let mut errors = 0usize;
    for (i, stream) in conns.iter_mut().enumerate() {
        let mut back = [0u8; 5];
        match stream.read_exact(&mut back) {
            Ok(()) if back == *format!("{i:05}").as_bytes() => {}
            Ok(()) => errors += 1,
            Err(e) => {
                eprintln!("connection {i}: {e}");
                errors += 1;
            }
        }
    }
    assert_eq!(errors, 0, "{errors} of {CONNS} connections failed");
    assert!(server.alive(), "the server died");
    // 4. A second round on the same connections: they stayed open, idle, and still answer.
    for stream in &mut conns {
        stream.write_all(b"again")?;
    }
    for stream in &mut conns {
        let mut back = [0u8; 5];
        stream.read_exact(&mut back)?;
        assert_eq!(&back, b"again");
    }
    drop(conns);
    let (status, stderr) = server.interrupt()?;
    assert!(status.success(), "{status:?} {stderr}");
    Ok(())
}
