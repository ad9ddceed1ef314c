//! `Shutdown` end to end with real signals, in child processes (a signal mask is a
//! per-process matter, and the default test harness starts threads that do not block
//! `SIGINT`, so this file has its own `main`: `harness = false`).
//!
//! The parent re-runs this binary with `C10K_SHUTDOWN_CHILD=<mode>`; the child installs a
//! `Shutdown` first thing, holds one piece of work in flight, prints `ready`, and drains.
//! The parent sends SIGINT, waits for the announcement, and then either lets the child
//! finish its work (exit 0) or sends a second SIGINT (exit 130, at once, with the work still
//! held). Both listeners are covered: a task of the runtime and a thread. Every wait is
//! bounded by [`LIMIT`].

use std::io::{self, BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use c10k_runtime::shutdown::Shutdown;

const LIMIT: Duration = Duration::from_secs(60);
const ENV: &str = "C10K_SHUTDOWN_CHILD";

fn main() {
    if let Ok(mode) = std::env::var(ENV) {
        if let Err(e) = child(&mode) {
            eprintln!("child {mode}: {e}");
            std::process::exit(1);
        }
        return;
    }
    let mut failed = 0;
    for (name, test) in [
        (
            "task_listener_first_sigint_drains_then_exits_zero",
            first_drains as fn(&str) -> _,
        ),
        ("task_listener_second_sigint_exits_130", second_exits_130),
        (
            "thread_listener_first_sigint_drains_then_exits_zero",
            first_drains,
        ),
        ("thread_listener_second_sigint_exits_130", second_exits_130),
    ] {
        let mode = if name.starts_with("task") {
            "task"
        } else {
            "thread"
        };
        match test(mode) {
            Ok(()) => println!("test {name} ... ok"),
            Err(e) => {
                println!("test {name} ... FAILED: {e}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        std::process::exit(1);
    }
}

/// The child: the work in flight ends when stdin says `finish` (or closes).
fn child(mode: &str) -> io::Result<()> {
    let shutdown = Shutdown::builder()
        .grace(LIMIT)
        .announce("shutting down")
        .install()?;
    let work = shutdown.in_flight();
    let finisher = std::thread::spawn(move || {
        let mut line = String::new();
        let _ = io::stdin().lock().read_line(&mut line);
        drop(work);
    });
    let drained = if mode == "task" {
        let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
        rt.block_on(async {
            drop(shutdown.listen()?);
            println!("ready");
            io::stdout().flush()?;
            Ok::<_, io::Error>(shutdown.drained().await)
        })?
    } else {
        shutdown.listen_on_thread()?;
        println!("ready");
        io::stdout().flush()?;
        shutdown.drained_blocking()
    };
    finisher.join().expect("finisher");
    if drained {
        Ok(())
    } else {
        Err(io::Error::other("the grace period ran out"))
    }
}

struct Kid {
    child: Child,
    stderr: BufReader<std::process::ChildStderr>,
}

fn spawn(mode: &str) -> io::Result<Kid> {
    let mut child = Command::new(std::env::current_exe()?)
        .env(ENV, mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
    if line.trim() != "ready" {
        let _ = child.kill();
        let _ = child.wait();
        return Err(io::Error::other(format!("child said {line:?}")));
    }
    let stderr = BufReader::new(child.stderr.take().expect("piped"));
    Ok(Kid { child, stderr })
}

impl Kid {
    fn sigint(&self) -> io::Result<()> {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("pid");
        rustix::process::kill_process(pid, rustix::process::Signal::INT)?;
        Ok(())
    }

    /// Reads stderr (blocking, but the child writes it at once or dies) until the line.
    fn announced(&mut self) -> io::Result<()> {
        let mut line = String::new();
        self.stderr.read_line(&mut line)?;
        if line.trim() == "shutting down" {
            Ok(())
        } else {
            Err(io::Error::other(format!("child said {line:?} on stderr")))
        }
    }

    fn exit_code(mut self) -> io::Result<Option<i32>> {
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status.code());
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err(io::Error::new(io::ErrorKind::TimedOut, "child hung"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn first_drains(mode: &str) -> io::Result<()> {
    let mut kid = spawn(mode)?;
    kid.sigint()?;
    kid.announced()?;
    if kid.child.try_wait()?.is_some() {
        return Err(io::Error::other("exited with work in flight"));
    }
    writeln!(kid.child.stdin.as_mut().expect("piped"), "finish")?;
    match kid.exit_code()? {
        Some(0) => Ok(()),
        code => Err(io::Error::other(format!("exit code {code:?}, wanted 0"))),
    }
}

fn second_exits_130(mode: &str) -> io::Result<()> {
    let mut kid = spawn(mode)?;
    kid.sigint()?;
    kid.announced()?;
    kid.sigint()?;
    match kid.exit_code()? {
        Some(130) => Ok(()),
        code => Err(io::Error::other(format!("exit code {code:?}, wanted 130"))),
    }
}
