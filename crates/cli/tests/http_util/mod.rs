//! Helpers for the chat, http and fetch tests: run a `c10k` server as a child on
//! `127.0.0.1:0`, read the address it prints first, and stop only that child.
#![allow(dead_code, unreachable_pub, unused_imports)]

use std::io::{self, BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[path = "../util/mod.rs"]
pub mod util;

pub use util::{c10k, run, wait_bounded, LIMIT};

/// A server child; killed (through its `Child`, by PID) when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    stderr: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Server {
    /// Starts `c10k <args> --listen 127.0.0.1:0` and reads the bound address.
    pub fn start(args: &[&str]) -> io::Result<Server> {
        let mut command = c10k();
        command.args(args).args(["--listen", "127.0.0.1:0"]);
        Server::spawn(command)
    }

    /// Like [`start`](Self::start), with at most `limit` open descriptors (`ulimit -n`,
    /// soft and hard, so the server cannot raise it).
    pub fn start_with_fd_limit(args: &[&str], limit: u32) -> io::Result<Server> {
        let mut command = Command::new("sh");
        command
            .args([
                "-c",
                &format!("ulimit -n {limit} && exec \"$0\" \"$@\""),
                env!("CARGO_BIN_EXE_c10k"),
            ])
            .args(args)
            .args(["--listen", "127.0.0.1:0"]);
        Server::spawn(command)
    }

    fn spawn(mut command: Command) -> io::Result<Server> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let mut reader = BufReader::new(stdout);
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining so the child never blocks on a full pipe.
            let _ = io::copy(&mut reader, &mut io::sink());
        });
        let (err_tx, err_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if err_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let line = rx.recv_timeout(LIMIT).unwrap_or_default();
        match line.trim().parse() {
            Ok(addr) => Ok(Server {
                child,
                addr,
                stderr: err_rx,
                seen: Vec::new(),
            }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let err: Vec<String> = err_rx.try_iter().collect();
                Err(io::Error::other(format!(
                    "{command:?}: no address printed: {line:?} {err:?}"
                )))
            }
        }
    }

    /// A connected client with read and write timeouts.
    pub fn connect(&self) -> io::Result<TcpStream> {
        let stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(10))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_write_timeout(Some(Duration::from_secs(30)))?;
        Ok(stream)
    }

    /// True while the server runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits (bounded) for a stderr line containing `pattern`.
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

    /// Sends SIGINT and waits (bounded) for the exit; returns the status and stderr.
    pub fn interrupt(mut self) -> io::Result<(ExitStatus, String)> {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("pid");
        rustix::process::kill_process(pid, rustix::process::Signal::INT)?;
        let status = wait_bounded(&mut self.child, LIMIT)?;
        // The pipe closes with the child: the reader thread ends, so this ends.
        let mut lines = std::mem::take(&mut self.seen);
        lines.extend(self.stderr.iter());
        Ok((status, lines.join("\n")))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A line reader over a stream that skips nothing and fails on timeout.
pub struct Lines {
    reader: BufReader<TcpStream>,
}

impl Lines {
    pub fn new(stream: &TcpStream) -> io::Result<Lines> {
        Ok(Lines {
            reader: BufReader::new(stream.try_clone()?),
        })
    }

    /// The next line without its `\n`; `UnexpectedEof` at end of stream.
    pub fn next(&mut self) -> io::Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(line.trim_end_matches('\n').to_owned())
    }

    /// Reads lines until one satisfies `pred` (at most `max` lines); returns it.
    pub fn until(&mut self, max: usize, pred: impl Fn(&str) -> bool) -> io::Result<String> {
        for _ in 0..max {
            let line = self.next()?;
            if pred(&line) {
                return Ok(line);
            }
        }
        Err(io::Error::other("expected line not seen"))
    }

    /// True when the server closed the stream (reads until EOF, at most `max` lines).
    pub fn closed(&mut self, max: usize) -> bool {
        for _ in 0..max {
            match self.next() {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return true,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
        false
    }
}

/// A response read from a raw connection.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header with this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response with a `Content-Length` body (none when `head_only`).
pub fn read_response(reader: &mut BufReader<TcpStream>, head_only: bool) -> io::Result<Response> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (n, v) = l
            .split_once(':')
            .ok_or_else(|| io::Error::other("bad header"))?;
        headers.push((n.trim().to_owned(), v.trim().to_owned()));
    }
    let mut resp = Response {
        status,
        headers,
        body: Vec::new(),
    };
    let len: usize = resp
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if !head_only {
        resp.body = vec![0; len];
        reader.read_exact(&mut resp.body)?;
    }
    Ok(resp)
}
