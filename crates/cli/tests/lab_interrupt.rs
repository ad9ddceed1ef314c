//! Ctrl-C stops `c10k lab` promptly with exit code 130, writing what was measured
//! (issue 9, point 6: the lab exited 0 after an interruption).

mod util;

use std::io::{self, Read};
use std::process::Stdio;
use std::time::{Duration, Instant};

use util::{children, wait_bounded, LIMIT};

#[test]
fn an_interrupted_lab_exits_130_and_keeps_what_it_measured() -> io::Result<()> {
    let (out_dir, out_arg) = util::lab_out_dir("lab-interrupt-test");
    // A 60 s measurement: the lab would run past the test's patience unless Ctrl-C stops
    // the load generator at once.
    let mut lab = util::c10k()
        .args([
            "lab",
            "--models",
            "epoll",
            "--conns",
            "10",
            "--sizes",
            "64",
            "--runs",
            "1",
            "--duration",
            "60",
            "--idle",
            "10",
            "--out",
            &out_arg,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = lab.id();
    let mut stdout = lab.stdout.take().expect("piped");
    let mut stderr = lab.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    // The server, then its load generator: two children at once.
    let deadline = Instant::now() + LIMIT;
    let mut seen = children(pid);
    while seen.len() < 2 {
        if Instant::now() > deadline || lab.try_wait()?.is_some() {
            let _ = lab.kill();
            let _ = lab.wait();
            panic!("the lab never started its load generator");
        }
        std::thread::sleep(Duration::from_millis(20));
        seen = children(pid);
    }
    let interrupted_at = Instant::now();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).expect("pid"),
        rustix::process::Signal::INT,
    )?;
    // Well under the 60 s measurement: the generator was killed, not waited for.
    let status = wait_bounded(&mut lab, Duration::from_secs(40))?;
    let took = interrupted_at.elapsed();
    let (stdout, stderr) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(took < Duration::from_secs(40), "{took:?}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.trim_end().ends_with("c10k: interrupted"), "{stderr}");
    // The run directory holds the table, with the interrupted cell marked.
    let epoll = util::table_row(&stdout, "epoll");
    assert!(epoll.contains("interrupted"), "{epoll}");
    let dir = util::only_run_dir(&out_dir)?;
    assert!(std::fs::read_to_string(dir.join("results.md"))?.contains("interrupted"));
    // The lab waited for its children: none is left running.
    for child in seen {
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        assert!(stat.is_empty(), "child {child} outlived the lab: {stat}");
    }
    std::fs::remove_dir_all(&out_dir)?;
    Ok(())
}
