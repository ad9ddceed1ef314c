//! A lab killed with SIGKILL leaves no server or load generator behind.

mod util;

use std::io;
use std::process::Stdio;
use std::time::{Duration, Instant};

use util::{children, wait_bounded, LIMIT};

/// True while `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

#[test]
fn a_killed_lab_takes_its_servers_and_load_generators_with_it() -> io::Result<()> {
    let (out_dir, out_arg) = util::lab_out_dir("lab-orphans-test");
    // Long enough that the load generator is still running when the lab is killed.
    let mut lab = util::c10k()
        .args([
            "lab",
            "--models",
            "epoll,tokio",
            "--conns",
            "10",
            "--sizes",
            "64",
            "--runs",
            "1",
            "--duration",
            "30",
            "--idle",
            "10",
            "--out",
            &out_arg,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = lab.id();
    // Both servers, then a load generator: three children at once.
    let deadline = Instant::now() + LIMIT;
    let seen = loop {
        let now = children(pid);
        if now.len() >= 3 {
            break now;
        }
        if Instant::now() > deadline || !alive(pid) {
            let _ = lab.kill();
            let _ = lab.wait();
            panic!("the lab never had three children: {now:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    lab.kill()?;
    wait_bounded(&mut lab, LIMIT)?;
    let deadline = Instant::now() + LIMIT;
    while seen.iter().any(|&c| alive(c)) {
        if Instant::now() > deadline {
            let left: Vec<_> = seen.iter().filter(|&&c| alive(c)).collect();
            // Clean up what the lab left behind before failing.
            for &&c in &left {
                let _ = rustix::process::kill_process(
                    rustix::process::Pid::from_raw(c as i32).expect("pid"),
                    rustix::process::Signal::KILL,
                );
            }
            panic!("children outlived the killed lab: {left:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(&out_dir);
    Ok(())
}
