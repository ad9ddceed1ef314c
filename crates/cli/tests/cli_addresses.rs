//! `--listen` and `--target` take `HOST:PORT` as well as `IP:PORT` (issue 9, point 11):
//! `localhost:7007` used to be refused as "invalid socket address syntax".

mod util;

use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use util::{run, EchoServer, LIMIT};

#[test]
fn echo_listens_on_localhost_port() -> io::Result<()> {
    let mut child = util::c10k()
        .args(["echo", "--model", "epoll", "--listen", "localhost:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().expect("piped");
    let mut line = String::new();
    // Bounded: the server prints its address at once or exits (closing stdout).
    let read = BufReader::new(stdout).read_line(&mut line);
    let _ = child.kill();
    let status = util::wait_bounded(&mut child, LIMIT)?;
    read?;
    let addr: SocketAddr = line
        .trim()
        .parse()
        .map_err(|e| io::Error::other(format!("{line:?} ({status}): {e}")))?;
    assert!(addr.ip().is_loopback(), "{addr}");
    assert_ne!(addr.port(), 0);
    Ok(())
}

#[test]
fn load_targets_localhost_port() -> io::Result<()> {
    let server = EchoServer::start("epoll", &[])?;
    let target = format!("localhost:{}", server.addr.port());
    let out = run(
        &[
            "load", "echo", "--target", &target, "-c", "2", "-d", "0.3", "--json",
        ],
        LIMIT,
    )?;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).map_err(io::Error::other)?;
    assert!(report["requests"].as_u64().unwrap_or(0) > 0, "{report}");
    drop(server);
    Ok(())
}

#[test]
fn unresolvable_addresses_exit_2_with_one_line() -> io::Result<()> {
    for (args, why) in [
        (&["echo", "--listen", "localhost"][..], "is not HOST:PORT"),
        (&["echo", "--listen", "localhost:70000"], "is not a port"),
        (&["load", "echo", "--target", ":7007"], "has no host"),
    ] {
        let out = run(args, Duration::from_secs(30))?;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
        assert!(out.stderr.contains(why), "{args:?}: {}", out.stderr);
    }
    Ok(())
}
