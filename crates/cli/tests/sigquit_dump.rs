//! `SIGQUIT` (Ctrl-\) makes `c10k echo` (on the runtime), `chat` and `http` write a task dump
//! to stderr and keep serving, as a Go program prints its goroutines; SIGINT still shuts
//! them down cleanly afterwards. Every wait is bounded.

mod http_util;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::Child;

fn sigquit(child: &Child) -> io::Result<()> {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::QUIT)?;
    Ok(())
}

/// Starts the server, holds an idle client (a task waiting on its socket), sends SIGQUIT,
/// expects the dump (with the idle connection's read and the signal task), checks that the
/// server still answers `probe`, then interrupts it and expects exit 0.
fn dump_and_keep_serving(
    args: &[&str],
    probe: impl Fn(&mut http_util::Server) -> io::Result<()>,
) -> io::Result<()> {
    let mut server = http_util::Server::start(args)?;
    let idle = server.connect()?;
    // Let the server see the connection (and, for chat, greet it) before the dump.
    probe(&mut server)?;
    sigquit(&server.child)?;
    server.wait_stderr("c10k task dump:")?;
    server.wait_stderr("\"signals\"")?;
    server.wait_stderr("waiting on read of fd")?;
    assert!(server.alive(), "{args:?}: SIGQUIT ended the server");
    // A second dump, and service as usual in between.
    probe(&mut server)?;
    sigquit(&server.child)?;
    probe(&mut server)?;
    let (status, stderr) = server.interrupt()?;
    assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
    assert_eq!(
        stderr.matches("c10k task dump:").count(),
        2,
        "{args:?}: {stderr}"
    );
    drop(idle);
    Ok(())
}

#[test]
fn echo_on_the_runtime_dumps_on_sigquit() -> io::Result<()> {
    for model in ["epoll", "poll"] {
        dump_and_keep_serving(&["echo", "--model", model], |s| {
            let mut c = s.connect()?;
            c.write_all(b"ping")?;
            let mut buf = [0u8; 4];
            c.read_exact(&mut buf)?;
            assert_eq!(&buf, b"ping");
            Ok(())
        })?;
    }
    Ok(())
}

#[test]
fn http_dumps_on_sigquit() -> io::Result<()> {
    dump_and_keep_serving(&["http"], |s| {
        let mut c = s.connect()?;
        c.write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")?;
        let response = http_util::read_response(&mut BufReader::new(c), false)?;
        assert_eq!(response.status, 200);
        Ok(())
    })
}

#[test]
fn chat_dumps_on_sigquit() -> io::Result<()> {
    dump_and_keep_serving(&["chat"], |s| {
        let c = s.connect()?;
        let mut line = String::new();
        BufReader::new(c).read_line(&mut line)?;
        assert!(!line.is_empty(), "no greeting");
        Ok(())
    })
}
