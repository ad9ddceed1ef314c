//! The echo command line: bad input exits 2 with one line, runtime failures exit 1.

mod util;

use std::io;

use util::{run, EchoServer, LIMIT};

fn one_line(stderr: &str) -> bool {
    stderr.trim_end().lines().count() == 1
}

#[test]
fn bad_arguments_exit_2() -> io::Result<()> {
    for args in [
        &["echo", "--model", "bogus"][..],
        &["echo", "--listen", "not-an-address"],
        &["echo", "--threads", "0"],
        &["echo", "--no-such-flag"],
        &["no-such-command"],
    ] {
        let out = run(args, LIMIT)?;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.starts_with("c10k: "), "{args:?}: {}", out.stderr);
        assert!(one_line(&out.stderr), "{args:?}");
    }
    Ok(())
}

/// Where io_uring is forbidden (forced here with `C10K_URING_DISABLE=1`, as a seccomp
/// profile or `kernel.io_uring_disabled` would), `--model uring` is refused, not run on
/// something else.
#[test]
fn uring_where_forbidden_is_refused_with_one_line_and_exit_2() -> io::Result<()> {
    let out = util::run_env(
        &["echo", "--model", "uring", "--listen", "127.0.0.1:0"],
        &[("C10K_URING_DISABLE", "1")],
        LIMIT,
    )?;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("c10k: ") && out.stderr.contains("io_uring"),
        "{}",
        out.stderr
    );
    Ok(())
}

#[test]
fn an_address_in_use_is_one_line_and_exit_1() -> io::Result<()> {
    let server = EchoServer::start("epoll", &[])?;
    let addr = server.addr.to_string();
    let out = run(&["echo", "--model", "poll", "--listen", &addr], LIMIT)?;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        out.stderr.trim_end(),
        format!("c10k: cannot bind {addr}: address in use")
    );
    Ok(())
}

#[test]
fn help_explains_the_models() -> io::Result<()> {
    let out = run(&["echo", "--help"], LIMIT)?;
    assert_eq!(out.status.code(), Some(0));
    for word in [
        "threads",
        "nonblocking",
        "select",
        "poll",
        "epoll",
        "reactor",
        "sigio",
        "uring",
        "green",
        "--upper",
    ] {
        assert!(out.stdout.contains(word), "--help lacks {word}");
    }
    Ok(())
}

#[test]
fn several_loops_share_one_port() -> io::Result<()> {
    for model in ["epoll", "poll", "sigio", "nonblocking", "green"] {
        let server = EchoServer::start(model, &["--threads", "3"])?;
        for i in 0..12 {
            let mut stream = server.connect()?;
            let msg = format!("loop test {i}");
            assert_eq!(
                util::round_trip(&mut stream, msg.as_bytes())?,
                msg.as_bytes(),
                "{model}"
            );
        }
    }
    Ok(())
}

#[test]
fn the_multi_thread_runtime_serves_and_shuts_down_gracefully() -> io::Result<()> {
    for model in ["select", "poll", "epoll"] {
        let server = EchoServer::start(model, &["--threads", "2", "--upper"])?;
        let mut streams: Vec<_> = (0..8)
            .map(|_| server.connect())
            .collect::<io::Result<_>>()?;
        for (i, stream) in streams.iter_mut().enumerate() {
            let msg = format!("worker test {i}");
            assert_eq!(
                util::round_trip(stream, msg.as_bytes())?,
                msg.to_ascii_uppercase().as_bytes(),
                "{model}"
            );
        }
        let (status, stderr) = server.interrupt()?;
        assert!(status.success(), "{model}: {status:?} {stderr}");
    }
    Ok(())
}
