//! Long-poll detection and stopped processes: a runtime stopped with `SIGSTOP` in the middle of
//! a poll and continued later reports nothing, and a poll that really blocks is still reported.
//!
//! The runtime runs in a child process (this test binary again, with `C10K_STOP_CHILD` set to
//! the flavor): the parent waits until the child is busy with back-to-back polls, stops it
//! for longer than the threshold, continues it, then lets it run a task that blocks. The
//! child prints one `report NAME STILL_RUNNING` line per long-poll report.

use std::io::{self, BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use c10k_runtime::{task, Runtime};

const CHILD_ENV: &str = "C10K_STOP_CHILD";
const THRESHOLD: Duration = Duration::from_millis(300);
/// How long the parent keeps the child stopped: well past the threshold.
const STOPPED_FOR: Duration = Duration::from_millis(1200);
/// How long the blocking task blocks: past the threshold and the watchdog's margin.
const BLOCKS_FOR: Duration = Duration::from_millis(700);
const TEST_NAME: &str = "a_stopped_then_continued_runtime_reports_nothing_but_a_blocking_poll";

/// The child's role: poll busily until told to go on, then block once.
fn child(flavor: &str) -> io::Result<()> {
    let b = Runtime::builder()
        .long_poll_threshold(THRESHOLD)
        .on_long_poll(|r| {
            let name = r.name.as_deref().unwrap_or("-");
            println!("CHILD report {name} {}", r.still_running);
        });
    let rt = if flavor == "current_thread" {
        b.current_thread().build()?
    } else {
        b.multi_thread().worker_threads(2).build()?
    };
    rt.block_on(async {
        let go = Arc::new(AtomicBool::new(false));
        let g = Arc::clone(&go);
        let reader = c10k_runtime::spawn_blocking(move || {
            let mut line = String::new();
            let res = io::stdin().lock().read_line(&mut line);
            g.store(true, Ordering::SeqCst);
            res.map(|_| ())
        });
        let spinner = task::Builder::new().name("spinner").spawn(async move {
            let mut said_ready = false;
            while !go.load(Ordering::SeqCst) {
                // One busy poll (20 ms of CPU, well under the threshold), then a yield: the
                // thread is almost always inside a poll, so the parent's SIGSTOP lands in one,
                // often one the watchdog has already seen.
                let until = Instant::now() + Duration::from_millis(20);
                while Instant::now() < until {
                    std::hint::spin_loop();
                }
                if !said_ready {
                    println!("CHILD ready");
                    io::stdout().flush().unwrap();
                    said_ready = true;
                }
                task::yield_now().await;
            }
        });
        spinner.await.unwrap();
        reader.await.unwrap().unwrap();
        task::Builder::new()
            .name("blocker")
            .spawn(async {
                // Blocking inside a poll is the behaviour under test.
                std::thread::sleep(BLOCKS_FOR);
            })
            .await
            .unwrap();
    });
    drop(rt);
    println!("CHILD done");
    io::stdout().flush()
}

#[test]
fn a_stopped_then_continued_runtime_reports_nothing_but_a_blocking_poll() -> io::Result<()> {
    if let Ok(flavor) = std::env::var(CHILD_ENV) {
        return child(&flavor);
    }
    for flavor in ["current_thread", "multi_thread"] {
        let reports = run_parent(flavor)?;
        assert_eq!(
            reports.len(),
            1,
            "{flavor}: only the blocking task is reported: {reports:?}"
        );
        assert!(reports[0].starts_with("blocker "), "{flavor}: {reports:?}");
    }
    Ok(())
}

/// Runs one child, stops and continues it mid-poll, and returns its report lines.
fn run_parent(flavor: &str) -> io::Result<Vec<String>> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, flavor)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // libtest may print its own words on the same line first.
            if let Some(at) = line.find("CHILD ") {
                if tx.send(line[at + "CHILD ".len()..].to_string()).is_err() {
                    break;
                }
            }
        }
    });
    let wait = Duration::from_secs(60);
    let result = (|| {
        let first = rx
            .recv_timeout(wait)
            .map_err(|e| io::Error::other(format!("{e}")))?;
        if first != "ready" {
            return Err(io::Error::other(format!("child said {first:?} first")));
        }
        // The behaviour under test: the process stopped for longer than the threshold.
        signal(pid, libc::SIGSTOP)?;
        std::thread::sleep(STOPPED_FOR);
        signal(pid, libc::SIGCONT)?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin.write_all(b"go\n")?;
        drop(stdin);
        let mut reports = Vec::new();
        loop {
            let line = rx
                .recv_timeout(wait)
                .map_err(|e| io::Error::other(format!("{e}")))?;
            if line == "done" {
                return Ok(reports);
            }
            if let Some(r) = line.strip_prefix("report ") {
                reports.push(r.to_string());
            }
        }
    })();
    if result.is_err() {
        let _ = child.kill();
    }
    let status = child.wait()?;
    reader
        .join()
        .map_err(|_| io::Error::other("stdout reader panicked"))?;
    let reports = result?;
    if !status.success() {
        return Err(io::Error::other(format!("{flavor} child failed: {status}")));
    }
    Ok(reports)
}

fn signal(pid: libc::pid_t, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: `kill` takes plain integers; the pid is our own child, not yet reaped.
    if unsafe { libc::kill(pid, sig) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
