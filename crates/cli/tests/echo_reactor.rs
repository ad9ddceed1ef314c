//! The `reactor` model (the hand-written callback loop on the selector) on every backend,
//! and its `--backend` flag.

mod util;

use std::io::{self, Read, Write};

use util::{round_trip, run, EchoServer, LIMIT};

#[test]
fn reactor_echoes_on_every_backend() -> io::Result<()> {
    for backend in ["select", "poll", "epoll"] {
        let server = EchoServer::start("reactor", &["--backend", backend, "--upper"])?;
        let mut stream = server.connect()?;
        assert_eq!(round_trip(&mut stream, b"hello")?, b"HELLO", "{backend}");
        // Half-close: the echo comes back, then end of stream.
        stream.write_all(b"bye")?;
        stream.shutdown(std::net::Shutdown::Write)?;
        let mut back = Vec::new();
        stream.read_to_end(&mut back)?;
        assert_eq!(back, b"BYE", "{backend}");
        let (status, stderr) = server.interrupt()?;
        assert!(status.success(), "{backend}: {status:?} {stderr}");
    }
    Ok(())
}

#[test]
fn reactor_runs_several_loops() -> io::Result<()> {
    let server = EchoServer::start("reactor", &["--threads", "2"])?;
    for i in 0..8 {
        let mut stream = server.connect()?;
        let msg = format!("reactor {i}");
        assert_eq!(round_trip(&mut stream, msg.as_bytes())?, msg.as_bytes());
    }
    Ok(())
}

#[test]
fn backend_is_refused_for_other_models() -> io::Result<()> {
    let out = run(
        &[
            "echo",
            "--model",
            "epoll",
            "--backend",
            "poll",
            "--listen",
            "127.0.0.1:0",
        ],
        LIMIT,
    )?;
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--backend"), "{}", out.stderr);
    let out = run(
        &["echo", "--model", "reactor", "--backend", "kqueue"],
        LIMIT,
    )?;
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    Ok(())
}

#[test]
fn help_names_the_reactor() -> io::Result<()> {
    let out = run(&["echo", "--help"], LIMIT)?;
    assert!(out.stdout.contains("reactor"), "{}", out.stdout);
    assert!(out.stdout.contains("--backend"), "{}", out.stdout);
    Ok(())
}
