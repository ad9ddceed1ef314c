//! `c10k http` and `c10k chat` on the one shutdown path (`c10k::shutdown::Shutdown`): the
//! first SIGINT stops accepting and lets the work in flight finish, then the server exits 0;
//! a second SIGINT during the drain exits 130 at once. Every wait is bounded.

mod http_util;

use std::io::{self, Write};
use std::process::Child;

use http_util::{run, wait_bounded, LIMIT};

fn sigint(child: &Child) -> io::Result<()> {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::INT)?;
    Ok(())
}

/// `c10k http`: a request whose head is half sent is in flight; Ctrl-C waits for it, the
/// answer arrives, and the server exits 0. A second SIGINT during such a wait exits 130.
#[test]
fn http_finishes_the_request_in_flight_and_a_second_sigint_exits_130() -> io::Result<()> {
    let server = http_util::Server::start(&["http", "--grace", "60"])?;
    let mut idle = server.connect()?;
    idle.write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")?;
    http_util::read_response(&mut io::BufReader::new(idle.try_clone()?), false)?;
    let mut slow = server.connect()?;
    slow.write_all(b"GET /plaintext HTTP/1.1\r\n")?;
    let mut probe = server.connect()?;
    probe.write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")?;
    http_util::read_response(&mut io::BufReader::new(probe), false)?;
    let mut server = server;
    sigint(&server.child)?;
    server.wait_stderr("shutting down")?;
    slow.write_all(b"Host: t\r\nConnection: close\r\n\r\n")?;
    let response = http_util::read_response(&mut io::BufReader::new(slow), false)?;
    assert_eq!(response.status, 200);
    let status = wait_bounded(&mut server.child, LIMIT)?;
    assert_eq!(status.code(), Some(0));
    drop(idle);

    let server = http_util::Server::start(&["http", "--grace", "60"])?;
    let mut slow = server.connect()?;
    slow.write_all(b"GET /plaintext HTTP/1.1\r\n")?;
    let mut probe = server.connect()?;
    probe.write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")?;
    http_util::read_response(&mut io::BufReader::new(probe), false)?;
    let mut server = server;
    sigint(&server.child)?;
    server.wait_stderr("shutting down")?;
    assert!(server.alive(), "exited with a request in flight");
    sigint(&server.child)?;
    let status = wait_bounded(&mut server.child, LIMIT)?;
    assert_eq!(status.code(), Some(130));
    Ok(())
}

/// `c10k chat`: Ctrl-C with members connected, one of them in the middle of a line: every
/// member hears the notice and the server exits 0.
#[test]
fn chat_drains_and_exits_zero() -> io::Result<()> {
    let server = http_util::Server::start(&["chat", "--grace", "60"])?;
    let a = server.connect()?;
    let mut a_lines = http_util::Lines::new(&a)?;
    a_lines.next()?;
    let mut b = server.connect()?;
    let mut b_lines = http_util::Lines::new(&b)?;
    b_lines.next()?;
    b.write_all(b"half a li")?;
    let mut server = server;
    sigint(&server.child)?;
    a_lines.until(5, |l| l == "* server shutting down, bye")?;
    b_lines.until(5, |l| l == "* server shutting down, bye")?;
    let status = wait_bounded(&mut server.child, LIMIT)?;
    assert_eq!(status.code(), Some(0));
    Ok(())
}

/// `--grace` takes a number of seconds; anything else is a usage error (exit 2).
#[test]
fn a_bad_grace_is_a_usage_error() -> io::Result<()> {
    for program in ["http", "chat", "echo"] {
        let done = run(&[program, "--grace=-1", "--listen", "127.0.0.1:0"], LIMIT)?;
        assert_eq!(done.status.code(), Some(2), "{program}: {}", done.stderr);
        assert!(
            done.stderr.contains("--grace"),
            "{program}: {}",
            done.stderr
        );
    }
    Ok(())
}
