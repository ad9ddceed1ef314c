//! The lab stops (SIGSTOP) only servers that spin when idle.
//!
//! Regression (issue 9, point 10): the lab paused every server between its measurements,
//! and a c10k runtime server stopped in the middle of a task's poll reported a long poll of
//! several seconds when it resumed, a false alarm in its log. This test watches the state
//! of the lab's server children while it runs: none of these may ever be seen stopped.

mod util;

use std::io::{self, Read};
use std::process::Stdio;
use std::time::{Duration, Instant};

use util::{children, LIMIT};

/// The state letter of `pid` (`R`, `S`, `T`, ...) and whether it is a server (`c10k echo`
/// or `c10k __tokio-echo`), or `None` once it is gone.
fn server_state(pid: u32) -> Option<(char, bool)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let state = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .next()?
        .chars()
        .next()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    let server = args
        .get(1)
        .is_some_and(|a| *a == b"echo" || *a == b"__tokio-echo");
    Some((state, server))
}

#[test]
fn the_lab_never_stops_servers_that_are_idle_when_idle() -> io::Result<()> {
    let (out_dir, out_arg) = util::lab_out_dir("lab-pause-test");
    // Sequential: while one server is measured the other waits, which is when the lab used
    // to stop it.
    let mut lab = util::c10k()
        .args([
            "lab",
            "--models",
            "epoll,poll,tokio",
            "--conns",
            "10",
            "--sizes",
            "64",
            "--runs",
            "2",
            "--duration",
            "0.5",
            "--idle",
            "10",
            "--out",
            &out_arg,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = lab.id();
    let mut stderr = lab.stderr.take().expect("piped");
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + LIMIT;
    let mut samples = 0u32;
    let mut stopped = Vec::new();
    let status = loop {
        if let Some(status) = lab.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = lab.kill();
            let _ = lab.wait();
            panic!("the lab did not finish within {LIMIT:?}");
        }
        for child in children(pid) {
            if let Some((state, true)) = server_state(child) {
                samples += 1;
                if state == 'T' && !stopped.contains(&child) {
                    stopped.push(child);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = err.join().unwrap_or_default();
    assert!(status.success(), "{stderr}");
    assert!(
        samples > 10,
        "too few samples of the servers' state: {samples}"
    );
    assert!(
        stopped.is_empty(),
        "servers seen stopped: {stopped:?}\n{stderr}"
    );
    let dir = util::only_run_dir(&out_dir)?;
    for model in ["epoll", "poll", "tokio"] {
        let log = std::fs::read_to_string(dir.join(format!("server-{model}.log")))?;
        assert!(!log.contains("in a single poll"), "{model}: {log}");
    }
    std::fs::remove_dir_all(&out_dir)?;
    Ok(())
}
