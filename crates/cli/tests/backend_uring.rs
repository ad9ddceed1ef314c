//! `--backend uring` on every program: `http`, `chat` and `fetch` run on the runtime's
//! io_uring driver, `load` drives a uring echo server from its io_uring completion loop
//! and from its epoll loop with no error (and refuses select and poll, exit 2). Each test skips, saying why, where the kernel
//! forbids io_uring.

mod http_util;

use std::io::{self, BufReader, Write};

use http_util::{read_response, run, util, Lines, Server, LIMIT};

macro_rules! skip_without_uring {
    () => {
        if let Some(why) = util::uring_unsupported() {
            eprintln!("skipped: {why}");
            return Ok(());
        }
    };
}

/// A site of one file under the temporary directory.
fn site(name: &str) -> io::Result<std::path::PathBuf> {
    let root = std::env::temp_dir().join(format!("c10k-uring-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root)?;
    std::fs::write(root.join("hello.txt"), "hello over io_uring\n")?;
    std::fs::write(root.join("big.bin"), vec![0x5au8; 300_000])?;
    Ok(root)
}

#[test]
fn http_serves_keep_alive_on_uring_with_one_and_two_threads() -> io::Result<()> {
    skip_without_uring!();
    let root = site("http")?;
    let root_s = root.to_str().expect("utf-8");
    for threads in ["1", "2"] {
        let server = Server::start(&[
            "http",
            "--root",
            root_s,
            "--backend",
            "uring",
            "--threads",
            threads,
        ])?;
        let stream = server.connect()?;
        let mut writer = stream.try_clone()?;
        let mut reader = BufReader::new(stream);
        // Keep-alive: several requests on one connection, a large body among them.
        for (target, body_len) in [
            ("/hello.txt", 20),
            ("/big.bin", 300_000),
            ("/hello.txt", 20),
        ] {
            write!(writer, "GET {target} HTTP/1.1\r\nHost: test\r\n\r\n")?;
            let resp = read_response(&mut reader, false)?;
            assert_eq!(resp.status, 200, "{threads} threads {target}");
            assert_eq!(resp.body.len(), body_len, "{threads} threads {target}");
        }
        let (status, stderr) = server.interrupt()?;
        assert!(status.success(), "{threads} threads: {status:?} {stderr}");
    }
    let _ = std::fs::remove_dir_all(&root);
    Ok(())
}

#[test]
fn chat_clients_talk_on_uring() -> io::Result<()> {
    skip_without_uring!();
    let server = Server::start(&["chat", "--backend", "uring"])?;
    let a = server.connect()?;
    let mut a_lines = Lines::new(&a)?;
    assert!(a_lines.next()?.starts_with("* welcome"));
    let b = server.connect()?;
    let mut b_lines = Lines::new(&b)?;
    assert!(b_lines.next()?.starts_with("* welcome"));
    assert!(a_lines.next()?.ends_with(" joined lobby"));
    (&a).write_all(b"/nick alice\nhello from the ring\n")?;
    assert_eq!(a_lines.next()?, "* you are now alice");
    let got = b_lines.until(5, |l| l.ends_with("<alice> hello from the ring"))?;
    assert!(got.ends_with("<alice> hello from the ring"), "{got}");
    let (status, stderr) = server.interrupt()?;
    assert!(status.success(), "{status:?} {stderr}");
    Ok(())
}

#[test]
fn fetch_downloads_on_uring() -> io::Result<()> {
    skip_without_uring!();
    let root = site("fetch")?;
    let server = Server::start(&["http", "--root", root.to_str().expect("utf-8")])?;
    let mut args = vec!["fetch".to_owned(), "--backend".into(), "uring".into()];
    args.extend(["-c".into(), "3".into()]);
    for i in 0..9 {
        let target = if i % 3 == 0 { "big.bin" } else { "hello.txt" };
        args.push(format!("http://{}/{target}?i={i}", server.addr));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, LIMIT)?;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout.contains("9 ok, 0 error status, 0 failed"),
        "{}",
        out.stdout
    );
    let _ = std::fs::remove_dir_all(&root);
    Ok(())
}

#[test]
fn load_runs_on_uring_and_epoll_against_a_uring_echo_server() -> io::Result<()> {
    // select(2) and poll(2) have no edge mode: refused whatever the kernel.
    for backend in ["select", "poll"] {
        let out = run(&["load", "echo", "--backend", backend, "-d", "0.1"], LIMIT)?;
        assert_eq!(out.status.code(), Some(2), "{backend}: {}", out.stderr);
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
        assert!(out.stderr.contains("--backend"), "{}", out.stderr);
    }
    let out = run(&["load", "--help"], LIMIT)?;
    assert!(out.stdout.contains("completion loop"), "{}", out.stdout);
    skip_without_uring!();
    let server = Server::start(&["echo", "--model", "uring"])?;
    let target = server.addr.to_string();
    for (backend, size) in [("uring", "1024"), ("epoll", "1024"), ("uring", "70000")] {
        let out = run(
            &[
                "load",
                "echo",
                "--backend",
                backend,
                "--target",
                &target,
                "-c",
                "50",
                "-d",
                "0.5",
                "--size",
                size,
                "--json",
            ],
            LIMIT,
        )?;
        assert!(out.status.success(), "{backend}: {}", out.stderr);
        let report: serde_json::Value =
            serde_json::from_str(&out.stdout).map_err(io::Error::other)?;
        let requests = report["requests"].as_u64().unwrap_or(0);
        assert!(requests > 0, "{backend}: {}", out.stdout);
        assert_eq!(
            report["errors"].as_object().map_or(1, |e| e.len()),
            0,
            "{backend}: {}",
            out.stdout
        );
        let size: u64 = size.parse().map_err(io::Error::other)?;
        assert_eq!(
            report["bytes_received"].as_u64(),
            Some(requests * size),
            "{backend}: {}",
            out.stdout
        );
    }
    let (status, stderr) = server.interrupt()?;
    assert!(status.success(), "{status:?} {stderr}");
    Ok(())
}

#[test]
fn an_unknown_backend_is_a_usage_error_listing_the_backends() -> io::Result<()> {
    for program in [
        &["http"][..],
        &["chat"],
        &["fetch", "http://127.0.0.1:1/"],
        &["load", "echo"],
    ] {
        let mut args = program.to_vec();
        args.extend(["--backend", "kqueue"]);
        let out = run(&args, LIMIT)?;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        for name in c10k::runtime::driver::Backend::ALL.map(|b| b.name()) {
            assert!(out.stderr.contains(name), "{args:?}: {}", out.stderr);
        }
    }
    Ok(())
}

#[test]
fn a_forbidden_uring_is_refused_not_replaced() -> io::Result<()> {
    for program in [
        &["http"][..],
        &["chat"],
        &["fetch", "http://127.0.0.1:1/"],
        &["load", "echo"],
    ] {
        let mut args = program.to_vec();
        args.extend(["--backend", "uring", "--listen", "127.0.0.1:0"]);
        if program[0] == "fetch" || program[0] == "load" {
            args.truncate(args.len() - 2);
        }
        let out = util_run_disabled(&args)?;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("io_uring"), "{args:?}: {}", out.stderr);
    }
    Ok(())
}

/// Runs `c10k` with io_uring forbidden (`C10K_URING_DISABLE=1`, as seccomp would).
fn util_run_disabled(args: &[&str]) -> io::Result<util::Finished> {
    util::run_env(args, &[("C10K_URING_DISABLE", "1")], LIMIT)
}
