//! Helpers for the CLI tests: run `c10k` as a child, bounded in time, and stop only the
//! children the test started.
#![allow(dead_code, unreachable_pub)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Generous bound for anything a test waits for (the machine is loaded).
pub const LIMIT: Duration = Duration::from_secs(60);

/// The binary under test.
pub fn c10k() -> Command {
    Command::new(env!("CARGO_BIN_EXE_c10k"))
}

/// Output of a finished command.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `c10k args...` to completion, killing it past `limit`.
pub fn run(args: &[&str], limit: Duration) -> io::Result<Finished> {
    run_env(args, &[], limit)
}

/// [`run`] with extra environment variables.
pub fn run_env(args: &[&str], env: &[(&str, &str)], limit: Duration) -> io::Result<Finished> {
    let mut child = c10k()
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = wait_bounded(&mut child, limit)?;
    Ok(Finished {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    })
}

/// Waits for `child`, killing it (and failing) past `limit`.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> io::Result<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "child did not finish in time",
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A `c10k echo` server child; killed (by its PID, through `Child`) when dropped.
pub struct EchoServer {
    pub child: Child,
    pub addr: SocketAddr,
    /// Lines of the server's stderr as they come.
    stderr: mpsc::Receiver<String>,
    /// Lines already taken from `stderr`.
    seen: Vec<String>,
}

impl EchoServer {
    /// Starts `c10k echo --model MODEL --listen 127.0.0.1:0 extra...`.
    pub fn start(model: &str, extra: &[&str]) -> io::Result<EchoServer> {
        let mut command = c10k();
        command
            .args(["echo", "--model", model, "--listen", "127.0.0.1:0"])
            .args(extra);
        EchoServer::spawn(model, command)
    }

    /// Like [`EchoServer::start`], with the server's descriptor limit (soft and hard) set
    /// to `limit` by the shell's `ulimit -n` before it starts.
    pub fn start_with_fd_limit(model: &str, limit: u32) -> io::Result<EchoServer> {
        let mut command = Command::new("sh");
        command.args([
            "-c",
            &format!("ulimit -n {limit} && exec \"$0\" \"$@\""),
            env!("CARGO_BIN_EXE_c10k"),
            "echo",
            "--model",
            model,
            "--listen",
            "127.0.0.1:0",
        ]);
        EchoServer::spawn(model, command)
    }

    fn spawn(model: &str, mut command: Command) -> io::Result<EchoServer> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let (err_tx, err_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(&mut stderr).lines() {
                let Ok(line) = line else { return };
                if err_tx.send(line).is_err() {
                    return;
                }
            }
        });
        let line = rx.recv_timeout(LIMIT).unwrap_or_default();
        let addr = match line.trim().parse() {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::other(format!(
                    "{model}: no address printed: {line:?}"
                )));
            }
        };
        Ok(EchoServer {
            child,
            addr,
            stderr: err_rx,
            seen: Vec::new(),
        })
    }

    /// A connected client with read and write timeouts.
    pub fn connect(&self) -> io::Result<TcpStream> {
        client(self.addr)
    }

    /// True while the server process runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends SIGINT and waits (bounded) for the exit; returns the status and stderr.
    pub fn interrupt(mut self) -> io::Result<(ExitStatus, String)> {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("pid");
        rustix::process::kill_process(pid, rustix::process::Signal::INT)?;
        let status = wait_bounded(&mut self.child, LIMIT)?;
        // The process is gone: its stderr ends (bounded anyway).
        while let Ok(line) = self.stderr.recv_timeout(LIMIT) {
            self.seen.push(line);
        }
        Ok((status, self.seen.join("\n")))
    }

    /// Waits (bounded) until the server writes a stderr line containing `pattern`.
    pub fn wait_stderr(&mut self, pattern: &str) -> io::Result<()> {
        if self.seen.iter().any(|l| l.contains(pattern)) {
            return Ok(());
        }
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(pattern);
                    self.seen.push(line);
                    if found {
                        return Ok(());
                    }
                }
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no stderr line with {pattern:?}; got {:?}", self.seen),
                    ))
                }
            }
        }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client with timeouts, so no test can hang on a silent server.
pub fn client(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.set_write_timeout(Some(Duration::from_secs(20)))?;
    Ok(stream)
}

/// Writes `data` and reads the same number of bytes back.
pub fn round_trip(stream: &mut TcpStream, data: &[u8]) -> io::Result<Vec<u8>> {
    stream.write_all(data)?;
    let mut back = vec![0u8; data.len()];
    stream.read_exact(&mut back)?;
    Ok(back)
}

/// Sends `data` from a second thread while reading the echo on this one (large payloads
/// would otherwise deadlock on full socket buffers).
pub fn stream_through(stream: &TcpStream, data: Vec<u8>) -> io::Result<Vec<u8>> {
    let mut writer = stream.try_clone()?;
    let len = data.len();
    let sender = std::thread::spawn(move || writer.write_all(&data));
    let mut back = vec![0u8; len];
    let mut reader = stream.try_clone()?;
    let read = reader.read_exact(&mut back);
    sender.join().expect("writer thread")?;
    read?;
    Ok(back)
}

/// The models that every machine runs (no async runtime, or a readiness backend).
pub const MODELS: [&str; 7] = [
    "threads",
    "nonblocking",
    "select",
    "poll",
    "epoll",
    "sigio",
    "green",
];

/// Every model the echo tests run here: [`MODELS`], and `uring` where the kernel allows
/// io_uring (otherwise skipped, saying why on stderr once per call).
pub fn models() -> Vec<&'static str> {
    let mut models = MODELS.to_vec();
    match uring_unsupported() {
        None => models.push("uring"),
        Some(why) => eprintln!("skipping the uring model: {why}"),
    }
    models
}

/// Why this machine cannot run io_uring (a seccomp profile, `kernel.io_uring_disabled`, an
/// old kernel), or `None` when it can.
pub fn uring_unsupported() -> Option<&'static str> {
    if c10k::runtime::driver::Backend::Uring.is_available() {
        None
    } else {
        Some("io_uring is unavailable on this machine (seccomp, kernel.io_uring_disabled or an old kernel)")
    }
}

/// A fresh (emptied) lab output directory for one test, and its path as an argument.
pub fn lab_out_dir(name: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("c10k-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let arg = dir.to_string_lossy().into_owned();
    (dir, arg)
}

/// The one run directory a lab run wrote under `out_dir`.
pub fn only_run_dir(out_dir: &std::path::Path) -> io::Result<std::path::PathBuf> {
    let runs: Vec<_> = std::fs::read_dir(out_dir)?.collect::<Result<_, _>>()?;
    assert_eq!(runs.len(), 1, "one run directory");
    Ok(runs[0].path())
}

/// The first markdown table row of `model` in a lab's output (columns may be padded).
pub fn table_row<'a>(stdout: &'a str, model: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| table_cells(l).first() == Some(&model))
        .unwrap_or_else(|| panic!("no {model} row in {stdout}"))
}

/// The trimmed cells of a markdown table row.
pub fn table_cells(row: &str) -> Vec<&str> {
    let inner = row.trim().strip_prefix('|').unwrap_or("");
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    if row.trim().starts_with('|') {
        inner.split('|').map(str::trim).collect()
    } else {
        Vec::new()
    }
}

/// The child processes of `pid` (every thread's `children` list in `/proc`).
pub fn children(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return found;
    };
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            found.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    found
}
