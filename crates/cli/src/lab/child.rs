//! The lab's child processes: a server per model and a load generator per measurement,
//! both this same executable (`c10k echo`, `c10k __tokio-echo`, `c10k load`), each pinned
//! to its own CPU when the machine has two.
//!
//! Pinning: a child inherits the CPU mask of the thread that spawns it, so the lab sets its
//! own mask to the child's CPU around `spawn` and restores it afterwards; no code runs
//! between fork and exec.
//!
//! Load generators are [`Bounded`] children: each is waited for until a deadline and killed
//! past it, so a hung generator cannot hang the lab.
//!
//! Pausing: a server that spins when idle (the busy-polling `nonblocking` model) is stopped
//! with SIGSTOP between its measurements, so that it cannot take the server CPU from the
//! others. No other server is ever stopped: they take no CPU while idle, and a process
//! stopped in the middle of a task's poll would see that poll last as long as the pause,
//! which the c10k runtime reports on stderr as a long poll (a false alarm in the server's
//! log). The lab's tests check the logs for it.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};
use rustix::thread::CpuSet;

/// How long a server may take to print its address.
const STARTUP: Duration = Duration::from_secs(15);

/// The CPUs the lab may use, from its own affinity mask.
pub(crate) fn cpus() -> Vec<usize> {
    match rustix::thread::sched_getaffinity(None) {
        Ok(set) => (0..CpuSet::MAX_CPU).filter(|&c| set.is_set(c)).collect(),
        Err(_) => Vec::new(),
    }
}

/// Spawns `command` with its CPU mask set to `cpu` (when given).
///
/// The child dies with the lab (see `sys::die_with_parent`), so no server is left behind,
/// paused, by a lab that was killed.
pub(crate) fn spawn_on(command: &mut Command, cpu: Option<usize>) -> std::io::Result<Child> {
    crate::sys::die_with_parent(command);
    let Some(cpu) = cpu else {
        return command.spawn();
    };
    let saved = rustix::thread::sched_getaffinity(None)?;
    let mut only = CpuSet::new();
    only.set(cpu);
    rustix::thread::sched_setaffinity(None, &only)?;
    let child = command.spawn();
    rustix::thread::sched_setaffinity(None, &saved)?;
    child
}

/// A running server child.
#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    /// Whether [`pause`](Self::pause) stops it (only servers that spin when idle).
    pausable: bool,
}

impl Server {
    /// Starts `exe args...`, its stderr going to `log`, and waits for the address it prints.
    /// `pausable`: the server spins when idle, so [`pause`](Self::pause) stops it.
    ///
    /// # Errors
    ///
    /// The reason it did not start, as one line (the server's own message when it printed
    /// one, e.g. the `uring` model's).
    pub(crate) fn start(
        exe: &Path,
        args: &[String],
        cpu: Option<usize>,
        log: &Path,
        pausable: bool,
    ) -> Result<Server, String> {
        let stderr =
            File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let mut command = Command::new(exe);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = spawn_on(&mut command, cpu)
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(STARTUP);
        if let Some(addr) = line
            .as_deref()
            .ok()
            .and_then(|l| l.trim().parse::<SocketAddr>().ok())
        {
            return Ok(Server {
                child,
                addr,
                pausable,
            });
        }
        // End of stdout without an address means the server exited (or is exiting): its
        // status says why. No line at all within the time limit: it hangs, kill it.
        if line.is_err() {
            let _ = child.kill();
        }
        let status = child.wait().ok();
        let message = std::fs::read_to_string(log).unwrap_or_default();
        let message = message
            .lines()
            .last()
            .unwrap_or("no address printed")
            .trim();
        let message = message.strip_prefix("c10k: ").unwrap_or(message);
        // Exit code 2 is the programs' "bad usage": here, a model this build or machine lacks.
        let kind = if status.and_then(|s| s.code()) == Some(2) {
            "unavailable"
        } else {
            "failed"
        };
        Err(format!("{kind}: {message}"))
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops a server that spins when idle (SIGSTOP) between its measurements; does
    /// nothing to the others (see the module docs).
    pub(crate) fn pause(&self) {
        if self.pausable {
            self.signal(Signal::STOP);
        }
    }

    /// Lets a paused server run again (SIGCONT).
    pub(crate) fn resume(&self) {
        if self.pausable {
            self.signal(Signal::CONT);
        }
    }

    fn signal(&self, signal: Signal) {
        if let Some(pid) = Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process(pid, signal);
        }
    }

    /// True while the process runs.
    pub(crate) fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Ctrl-C (SIGINT) and a short wait; SIGKILL if it does not exit.
    pub(crate) fn stop(mut self) {
        self.resume();
        self.signal(Signal::INT);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child whose stdout and stderr are collected by two threads while it runs, so that
/// several can run at once (the side-by-side measurement starts two load generators).
#[derive(Debug)]
pub(crate) struct Bounded {
    child: Child,
    out: JoinHandle<String>,
    err: JoinHandle<String>,
}

impl Bounded {
    /// Spawns `command` on `cpu` (when given) with its output piped.
    ///
    /// # Errors
    ///
    /// The spawn failure, as one line.
    pub(crate) fn start(command: &mut Command, cpu: Option<usize>) -> Result<Bounded, String> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child =
            spawn_on(command, cpu).map_err(|e| format!("cannot start the load generator: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        Ok(Bounded {
            child,
            out: read_all(stdout),
            err: read_all(stderr),
        })
    }

    /// True once the child has exited (or cannot be waited for); never blocks.
    pub(crate) fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the child until `deadline`, killing it past that, and returns its stdout;
    /// `limit` is only named in the error.
    ///
    /// # Errors
    ///
    /// The last line of its stderr when it failed, or that it did not finish in time.
    pub(crate) fn finish(mut self, deadline: Instant, limit: Duration) -> Result<String, String> {
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        let out = self.out.join().unwrap_or_default();
        let err = self.err.join().unwrap_or_default();
        match status {
            Some(s) if s.success() => Ok(out),
            Some(_) => Err(err.lines().last().unwrap_or("failed").trim().to_owned()),
            None => Err(format!("did not finish within {} s", limit.as_secs())),
        }
    }
}

fn read_all(mut from: impl std::io::Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = from.read_to_string(&mut text);
        text
    })
}
