//! The tutorials' select server that answers its clients from the operator's keyboard
//! (`004_*`, "例1:select网络IO模型": `inp = input('回答%s号客户>>>' % ...)`).
//!
//! The Python original calls `input()` inside its select loop, so while the operator types
//! no other client is served. Here the operator's input is one more descriptor in the same
//! `select` set as the listening socket and the clients: a line typed by the operator is
//! read when it is complete, like a client's line, and nobody waits on anybody.
//!
//! - Each client is greeted with its number; each line it sends is a question, printed for
//!   the operator as `#N> text` and acknowledged to the client.
//! - Each line the operator types answers the client that has waited longest; `#N text`
//!   answers client N.
//! - The operator's end of input (Ctrl-D) stops the server.
//!
//! Limits: a line is at most [`MAX_LINE`] bytes (longer, the client is disconnected), and a
//! client that does not take its answer (its socket buffer is full) is disconnected.
//!
//! Run: `cargo run -p c10k --example select_operator -- [--listen 127.0.0.1:8801]
//! [--backend select|poll|epoll]`, then `nc 127.0.0.1 8801` in other terminals.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use c10k::selector::{Backend, Events, Interest, Selector, Token};

/// The listening socket's token.
const LISTENER: Token = Token(0);
/// The operator's input's token.
const OPERATOR: Token = Token(1);
/// The longest line a client or the operator may send.
pub(crate) const MAX_LINE: usize = 4096;

/// What the server did, returned when the operator's input ends.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stats {
    pub clients: u64,
    pub questions: u64,
    pub answers: u64,
}

struct Client {
    stream: TcpStream,
    partial: Vec<u8>,
}

/// Complete lines taken off the front of `buf`; `Err` if a line grows past [`MAX_LINE`].
fn take_lines(buf: &mut Vec<u8>) -> Result<Vec<String>, ()> {
    let mut lines = Vec::new();
    while let Some(end) = buf.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = buf.drain(..=end).collect();
        let text = String::from_utf8_lossy(&line[..end]);
        lines.push(text.trim_end_matches('\r').to_owned());
    }
    if buf.len() > MAX_LINE {
        return Err(());
    }
    Ok(lines)
}

struct Server<'a, W> {
    selector: Selector,
    listener: TcpListener,
    clients: HashMap<usize, Client>,
    /// Clients with an unanswered question, longest waiting first.
    waiting: VecDeque<usize>,
    next: usize,
    out: &'a mut W,
    stats: Stats,
}

impl<W: Write> Server<'_, W> {
    fn say(&mut self, line: &str) {
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }

    /// Sends one line to the client of `token`; a client that cannot take it is
    /// disconnected.
    fn send(&mut self, token: usize, line: &str) {
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        let mut msg = line.as_bytes().to_vec();
        msg.push(b'\n');
        if let Err(e) = client.stream.write_all(&msg) {
            let n = token - 1;
            self.say(&format!(
                "client #{n} does not take its answer ({e}): disconnected"
            ));
            self.drop_client(token);
        }
    }

    fn drop_client(&mut self, token: usize) {
        if let Some(client) = self.clients.remove(&token) {
            let _ = self.selector.deregister(client.stream.as_raw_fd());
        }
        self.waiting.retain(|&w| w != token);
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    // Tokens 0 and 1 are taken, so client N has token N + 1.
                    let token = self.next;
                    self.next += 1;
                    if stream.set_nonblocking(true).is_err()
                        || self
                            .selector
                            .register(stream.as_raw_fd(), Token(token), Interest::READABLE)
                            .is_err()
                    {
                        continue;
                    }
                    self.clients.insert(
                        token,
                        Client {
                            stream,
                            partial: Vec::new(),
                        },
                    );
                    self.stats.clients += 1;
                    let n = token - 1;
                    self.say(&format!("client #{n} connected from {peer}"));
                    self.send(token, &format!("you are client #{n}; ask away"));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    self.say(&format!("accept failed: {e}"));
                    return;
                }
            }
        }
    }

    fn read_client(&mut self, token: usize) {
        let n = token - 1;
        let mut buf = [0u8; 1024];
        let mut closed = false;
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        loop {
            match client.stream.read(&mut buf) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(k) => client.partial.extend_from_slice(&buf[..k]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    closed = true;
                    break;
                }
            }
            if client.partial.len() > MAX_LINE {
                break;
            }
        }
        match take_lines(&mut client.partial) {
            Ok(lines) => {
                for line in lines {
                    self.stats.questions += 1;
                    self.say(&format!("#{n}> {line}"));
                    if !self.waiting.contains(&token) {
                        self.waiting.push_back(token);
                    }
                    self.send(token, "(the operator will answer)");
                }
            }
            Err(()) => {
                self.say(&format!(
                    "client #{n} sent a line over {MAX_LINE} bytes: disconnected"
                ));
                closed = true;
            }
        }
        if closed {
            self.say(&format!("client #{n} left"));
            self.drop_client(token);
        }
    }

    /// One line typed by the operator.
    fn answer(&mut self, line: &str) {
        let addressed = line
            .strip_prefix('#')
            .and_then(|rest| rest.split_once(' '))
            .and_then(|(n, text)| Some((n.parse::<usize>().ok()? + 1, text)));
        let (token, text) = match addressed {
            Some((token, text)) if self.clients.contains_key(&token) => (token, text),
            Some((token, _)) => {
                self.say(&format!("(no client #{})", token - 1));
                return;
            }
            None => match self.waiting.front() {
                Some(&token) => (token, line),
                None => {
                    self.say("(nobody is waiting for an answer; #N text answers client N)");
                    return;
                }
            },
        };
        self.waiting.retain(|&w| w != token);
        self.stats.answers += 1;
        self.send(token, &format!("operator: {text}"));
    }
}

/// Serves until the operator's input ends; `operator` is read only when `select` says so.
///
/// # Errors
///
/// Registration or `select` errors.
pub(crate) fn serve<W: Write>(
    listener: TcpListener,
    operator: BorrowedFd<'_>,
    backend: Backend,
    out: &mut W,
) -> io::Result<Stats> {
    listener.set_nonblocking(true)?;
    let selector = Selector::with_backend(backend)?;
    selector.register(listener.as_raw_fd(), LISTENER, Interest::READABLE)?;
    selector.register(operator.as_raw_fd(), OPERATOR, Interest::READABLE)?;
    let mut server = Server {
        selector,
        listener,
        clients: HashMap::new(),
        waiting: VecDeque::new(),
        next: 2,
        out,
        stats: Stats::default(),
    };
    let mut typed = Vec::new();
    let mut events = Events::with_capacity(64);
    loop {
        match server.selector.select(&mut events, None) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        let ready: Vec<(Token, bool)> = events
            .iter()
            .map(|e| {
                (
                    e.token(),
                    e.is_readable() || e.is_read_closed() || e.is_error(),
                )
            })
            .collect();
        for (token, readable) in ready {
            match token {
                LISTENER => server.accept(),
                OPERATOR if readable => {
                    let mut buf = [0u8; 1024];
                    // One read: `select` said it will not block.
                    let n = match rustix::io::read(operator, &mut buf) {
                        Ok(n) => n,
                        Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => continue,
                        Err(e) => return Err(e.into()),
                    };
                    if n == 0 {
                        server.say("(the operator's input ended: closing)");
                        return Ok(server.stats);
                    }
                    typed.extend_from_slice(&buf[..n]);
                    match take_lines(&mut typed) {
                        Ok(lines) => lines.iter().for_each(|l| server.answer(l)),
                        Err(()) => {
                            server.say(&format!("(a line over {MAX_LINE} bytes: ignored)"));
                            typed.clear();
                        }
                    }
                }
                Token(t) if t > OPERATOR.0 => server.read_client(t),
                _ => {}
            }
        }
    }
}

#[allow(dead_code)] // its test calls `serve`
fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let listen = value("--listen").unwrap_or_else(|| "127.0.0.1:8801".to_owned());
    let backend: Backend = value("--backend")
        .unwrap_or_else(|| "select".to_owned())
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("--backend: {e}")))?;
    let listener = TcpListener::bind(&listen)?;
    println!(
        "listening on {} with {}; connect with `nc {}`; type a line to answer the client \
         that waited longest, `#N text` to answer client N, Ctrl-D to stop",
        listener.local_addr()?,
        backend.name(),
        listener.local_addr()?
    );
    let stdin = io::stdin();
    let stats = serve(listener, stdin.as_fd(), backend, &mut io::stdout())?;
    println!(
        "{} clients, {} questions, {} answers",
        stats.clients, stats.questions, stats.answers
    );
    Ok(())
}
