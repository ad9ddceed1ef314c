//! `c10k chat --connect`: the tutorials' chat client, as two threads and as one task, talking
//! to each other through a `c10k chat` server; each ends when its input ends or when the
//! server goes away.

mod http_util;

use std::io::{self, BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;

use http_util::{c10k, wait_bounded, Server, LIMIT};

/// A client child with its keyboard (stdin) and its screen (stdout lines).
struct Client {
    child: Child,
    keyboard: Option<ChildStdin>,
    screen: mpsc::Receiver<String>,
}

impl Client {
    fn start(server: &Server, kind: &str) -> io::Result<Client> {
        let mut child = c10k()
            .args([
                "chat",
                "--connect",
                &server.addr.to_string(),
                "--client",
                kind,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let keyboard = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, screen) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Client {
            child,
            keyboard,
            screen,
        })
    }

    fn type_line(&mut self, line: &str) -> io::Result<()> {
        let keyboard = self.keyboard.as_mut().expect("keyboard still open");
        keyboard.write_all(format!("{line}\n").as_bytes())?;
        keyboard.flush()
    }

    /// The next line on the screen (within the tests' generous limit).
    fn next(&self) -> String {
        self.screen
            .recv_timeout(LIMIT)
            .expect("a line on the client's screen in time")
    }

    /// Skips lines until one satisfies `pred` (at most 20).
    fn until(&self, pred: impl Fn(&str) -> bool) -> String {
        for _ in 0..20 {
            let line = self.next();
            if pred(&line) {
                return line;
            }
        }
        panic!("no matching line in 20");
    }

    /// Ctrl-D: closes stdin and waits for the client to exit.
    fn end_input(mut self) -> io::Result<(std::process::ExitStatus, Vec<String>)> {
        drop(self.keyboard.take());
        let status = wait_bounded(&mut self.child, LIMIT)?;
        Ok((status, self.screen.try_iter().collect()))
    }
}

fn said(line: &str, nick: &str, text: &str) -> bool {
    line.len() > 9 && line[9..] == format!("<{nick}> {text}")
}

#[test]
fn a_threads_client_and_a_task_client_talk() -> io::Result<()> {
    let server = Server::start(&["chat"])?;
    let mut threads = Client::start(&server, "threads")?;
    assert!(threads.next().starts_with("* welcome to c10k chat"));
    threads.type_line("/nick threads")?;
    assert_eq!(threads.next(), "* you are now threads");

    let mut task = Client::start(&server, "task")?;
    assert!(task.next().starts_with("* welcome to c10k chat"));
    task.type_line("/nick task")?;
    assert_eq!(task.next(), "* you are now task");
    threads.until(|l| l == "* task joined lobby" || l.ends_with("is now task"));

    threads.type_line("hello from two threads")?;
    let got = task.next();
    assert!(said(&got, "threads", "hello from two threads"), "{got}");
    task.type_line("hello from one task")?;
    let got = threads.until(|l| l.len() > 9 && l[9..].starts_with('<'));
    assert!(said(&got, "task", "hello from one task"), "{got}");

    // Ctrl-D on the task client: it half-closes, the server says goodbye, it exits 0.
    let (status, _) = task.end_input()?;
    assert!(status.success(), "{status}");
    threads.until(|l| l.starts_with("* task left"));

    // The threads client, through /quit: the server closes, the receiving thread sees it.
    threads.type_line("/quit")?;
    assert_eq!(threads.next(), "* bye");
    let (status, _) = threads.end_input()?;
    assert!(status.success(), "{status}");
    Ok(())
}

#[test]
fn clients_end_when_the_server_goes_away() -> io::Result<()> {
    for kind in ["threads", "task"] {
        let server = Server::start(&["chat"])?;
        let mut client = Client::start(&server, kind)?;
        assert!(client.next().starts_with("* welcome to c10k chat"));
        let (status, _) = server.interrupt()?;
        assert!(status.success(), "the server exits 0 on Ctrl-C: {status}");
        // The client prints the server's goodbye and exits by itself, stdin still open.
        let status = wait_bounded(&mut client.child, LIMIT)?;
        assert!(status.success(), "{kind}: {status}");
        drop(client.keyboard.take());
    }
    Ok(())
}

#[test]
fn client_flag_needs_connect() -> io::Result<()> {
    let out = http_util::run(&["chat", "--client", "task"], LIMIT)?;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    Ok(())
}
