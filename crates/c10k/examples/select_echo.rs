//! The tutorials' `selectors` echo server, on `c10k::selector`.
//!
//! The Python original registers the listening socket with an `accept`
//! callback and each connection with a `read` callback, then loops:
//! `for key, mask in sel.select(): key.data(key.fileobj, mask)`. This port
//! keeps that shape (a callback table keyed by [`Token`]) and adds what the
//! original leaves out:
//!
//! - **partial writes**: what the socket does not take is buffered, and the
//!   connection asks for `WRITABLE` until the buffer is flushed;
//! - **back-pressure**: a client that sends faster than it reads stops being
//!   read once [`MAX_PENDING`] bytes wait for it;
//! - **disconnects and errors** close that one connection, never the server;
//!   an accept error such as `EMFILE` pauses accepting for a moment instead
//!   of spinning on the still-readable listener;
//! - **shutdown**: a [`Stopper`] sets a flag and wakes the selector through a
//!   [`Waker`].
//!
//! Usage:
//!
//! ```text
//! cargo run -p c10k --example select_echo -- [--listen ADDR] [--backend select|poll|epoll]
//! cargo run --release -p c10k --example select_echo -- --demo [--backend B] [--clients N]
//! ```
//!
//! `--demo` starts the server on `127.0.0.1:0` in a thread, connects 100
//! clients at once, checks every upper-cased echo, prints a summary and
//! exits 0.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use c10k::selector::{Backend, Event, Events, Interest, Selector, Token, Waker};

/// The listener's token.
const LISTENER: Token = Token(0);
/// The stop waker's token.
const STOP: Token = Token(1);
/// The first connection's token.
const FIRST_CONN: usize = 2;
/// Output buffered for one connection beyond which it is not read any more
/// until the client catches up.
pub(crate) const MAX_PENDING: usize = 256 * 1024;
/// Reads per readiness event before letting other connections run (the
/// registration is level-triggered, so the rest is reported again).
const READS_PER_EVENT: usize = 16;
/// How long accepting pauses after an error such as `EMFILE`.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// What the server did, returned when it stops.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stats {
    /// Connections accepted.
    pub(crate) accepted: u64,
    /// Connections closed (by the client, or after an error).
    pub(crate) closed: u64,
    /// Connections closed because of an IO error.
    pub(crate) errors: u64,
    /// Bytes received and sent back upper-cased.
    pub(crate) bytes_echoed: u64,
}

/// A callback, as in the tutorials: `callback(server, token, event)`.
type Callback = fn(&mut Server, Token, &Event);

/// One client connection.
#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    /// Upper-cased bytes the socket has not taken yet.
    pending: Vec<u8>,
    /// The interest currently registered.
    interest: Interest,
}

/// The echo server: a selector, a listener, and the callback table.
#[derive(Debug)]
pub(crate) struct Server {
    selector: Selector,
    listener: TcpListener,
    /// The tutorials' `key.data`: which function handles each token.
    callbacks: HashMap<Token, Callback>,
    conns: HashMap<Token, Conn>,
    next_token: usize,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    stats: Stats,
    /// Set while the listener is deregistered after an accept error.
    accept_paused_until: Option<Instant>,
}

/// Stops a running [`Server`] from another thread.
#[derive(Debug, Clone)]
pub(crate) struct Stopper {
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl Stopper {
    /// Asks the server to stop; `run` returns soon after.
    pub(crate) fn stop(&self) -> io::Result<()> {
        self.stop.store(true, Ordering::Release);
        self.waker.wake()
    }
}

impl Server {
    /// A server for `listener` on `backend` (not yet running).
    pub(crate) fn new(listener: TcpListener, backend: Backend) -> io::Result<Server> {
        listener.set_nonblocking(true)?;
        let selector = Selector::with_backend(backend)?;
        selector.register(listener.as_raw_fd(), LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(&selector, STOP)?);
        let mut callbacks: HashMap<Token, Callback> = HashMap::new();
        callbacks.insert(LISTENER, accept);
        Ok(Server {
            selector,
            listener,
            callbacks,
            conns: HashMap::new(),
            next_token: FIRST_CONN,
            stop: Arc::new(AtomicBool::new(false)),
            waker,
            stats: Stats::default(),
            accept_paused_until: None,
        })
    }

    /// The address the server listens on.
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// A handle that stops [`run`](Server::run) from another thread.
    pub(crate) fn stopper(&self) -> Stopper {
        Stopper {
            stop: Arc::clone(&self.stop),
            waker: Arc::clone(&self.waker),
        }
    }

    /// The event loop: `select`, then call each event's callback, until
    /// stopped. Errors of one connection close that connection; only a
    /// failing `select` ends the loop with an error.
    pub(crate) fn run(mut self) -> io::Result<Stats> {
        let mut events = Events::with_capacity(1024);
        while !self.stop.load(Ordering::Acquire) {
            // Wait forever, or until accepting resumes.
            let timeout = self
                .accept_paused_until
                .map(|until| until.saturating_duration_since(Instant::now()));
            self.selector.select(&mut events, timeout)?;
            if self
                .accept_paused_until
                .is_some_and(|until| Instant::now() >= until)
            {
                self.accept_paused_until = None;
                let fd = self.listener.as_raw_fd();
                self.selector.register(fd, LISTENER, Interest::READABLE)?;
            }
            for event in &events {
                if event.token() == STOP {
                    continue; // the loop condition checks the flag
                }
                // A connection closed earlier in this batch has no callback.
                if let Some(callback) = self.callbacks.get(&event.token()).copied() {
                    callback(&mut self, event.token(), event);
                }
            }
        }
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for token in tokens {
            self.close(token, None);
        }
        Ok(self.stats)
    }

    /// Deregisters and drops a connection; counts `error` if there was one.
    fn close(&mut self, token: Token, error: Option<io::Error>) {
        if let Some(conn) = self.conns.remove(&token) {
            self.callbacks.remove(&token);
            // Deregister before the stream (and its descriptor) is dropped.
            if let Err(e) = self.selector.deregister(conn.stream.as_raw_fd()) {
                eprintln!("select_echo: deregister {token:?}: {e}");
            }
            self.stats.closed += 1;
            if let Some(e) = error {
                self.stats.errors += 1;
                if !matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                ) {
                    eprintln!("select_echo: closing {token:?}: {e}");
                }
            }
        }
    }
}

/// The listener's callback: accept every pending connection (until
/// `WouldBlock`) and register each with the `read` callback.
fn accept(server: &mut Server, _token: Token, _event: &Event) {
    loop {
        match server.listener.accept() {
            Ok((stream, _peer)) => {
                let token = Token(server.next_token);
                server.next_token += 1;
                let registered = stream.set_nonblocking(true).and_then(|()| {
                    server
                        .selector
                        .register(stream.as_raw_fd(), token, Interest::READABLE)
                });
                match registered {
                    Ok(()) => {
                        server.stats.accepted += 1;
                        server.callbacks.insert(token, read);
                        server.conns.insert(
                            token,
                            Conn {
                                stream,
                                pending: Vec::new(),
                                interest: Interest::READABLE,
                            },
                        );
                    }
                    Err(e) => eprintln!("select_echo: cannot register a connection: {e}"),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // The client gave up before we accepted: next one.
            Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
            // E.g. EMFILE. The listener stays readable (level-triggered), so
            // retrying at once would spin: stop watching it for a while.
            Err(e) => {
                eprintln!("select_echo: accept: {e}; pausing accepts for {ACCEPT_PAUSE:?}");
                match server.selector.deregister(server.listener.as_raw_fd()) {
                    Ok(()) => server.accept_paused_until = Some(Instant::now() + ACCEPT_PAUSE),
                    Err(e) => eprintln!("select_echo: deregister the listener: {e}"),
                }
                return;
            }
        }
    }
}

/// A connection's callback (the tutorials' `read`): flush what is pending,
/// read what arrived, send it back upper-cased, and ask for `WRITABLE` only
/// while output is pending.
fn read(server: &mut Server, token: Token, event: &Event) {
    let Some(conn) = server.conns.get_mut(&token) else {
        return;
    };
    let result = serve(conn, event, &mut server.stats);
    match result {
        Ok(Status::Open) => {
            let conn = &mut server.conns.get_mut(&token).expect("still open");
            let wanted = interest_for(conn);
            if wanted != conn.interest {
                let fd = conn.stream.as_raw_fd();
                match server.selector.reregister(fd, token, wanted) {
                    Ok(()) => conn.interest = wanted,
                    Err(e) => server.close(token, Some(e)),
                }
            }
        }
        Ok(Status::Closed) => server.close(token, None),
        Err(e) => server.close(token, Some(e)),
    }
}

enum Status {
    Open,
    Closed,
}

fn serve(conn: &mut Conn, event: &Event, stats: &mut Stats) -> io::Result<Status> {
    if event.is_writable() || event.is_error() {
        flush(conn)?;
    }
    if event.is_readable() || event.is_read_closed() || event.is_error() {
        let mut buf = [0u8; 4096];
        for _ in 0..READS_PER_EVENT {
            if conn.pending.len() >= MAX_PENDING {
                break; // back-pressure: wait for the client to read
            }
            match conn.stream.read(&mut buf) {
                Ok(0) => {
                    // End of stream: send what is left, best effort.
                    let _ = flush(conn);
                    return Ok(Status::Closed);
                }
                Ok(n) => {
                    stats.bytes_echoed += n as u64;
                    conn.pending
                        .extend(buf[..n].iter().map(u8::to_ascii_uppercase));
                    flush(conn)?;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(Status::Open)
}

/// Writes pending output until done or `WouldBlock`.
fn flush(conn: &mut Conn) -> io::Result<()> {
    let mut written = 0;
    let result = loop {
        if written == conn.pending.len() {
            break Ok(());
        }
        match conn.stream.write(&conn.pending[written..]) {
            Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    conn.pending.drain(..written);
    result
}

/// READABLE unless the client is too far behind; WRITABLE while output waits.
fn interest_for(conn: &Conn) -> Interest {
    match (conn.pending.is_empty(), conn.pending.len() >= MAX_PENDING) {
        (true, _) => Interest::READABLE,
        (false, false) => Interest::READABLE | Interest::WRITABLE,
        (false, true) => Interest::WRITABLE,
    }
}

/// One demo or test client: sends `lines` lines and checks each echo.
/// Returns the bytes it got back.
pub(crate) fn client(addr: SocketAddr, id: usize, lines: usize) -> io::Result<u64> {
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut got = 0;
    let mut line = String::new();
    for i in 0..lines {
        let sent = format!("client {id} says hello, line {i}\n");
        writer.write_all(sent.as_bytes())?;
        line.clear();
        reader.read_line(&mut line)?;
        if line != sent.to_ascii_uppercase() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("client {id}: sent {sent:?}, got {line:?}"),
            ));
        }
        got += line.len() as u64;
    }
    Ok(got)
}

/// `--demo`: a server thread, `clients` concurrent clients, a summary.
fn demo(backend: Backend, clients: usize) -> io::Result<()> {
    const LINES: usize = 5;
    let server = Server::new(TcpListener::bind("127.0.0.1:0")?, backend)?;
    let addr = server.local_addr()?;
    let stopper = server.stopper();
    println!("select_echo demo: {backend} backend, listening on {addr}");
    let server = thread::Builder::new()
        .name("select-echo-server".into())
        .spawn(move || server.run())?;
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|id| {
            thread::Builder::new()
                .name(format!("select-echo-client-{id}"))
                .spawn(move || client(addr, id, LINES))
        })
        .collect::<io::Result<_>>()?;
    let mut received = 0;
    let mut failures = Vec::new();
    for handle in handles {
        match handle.join().expect("client thread panicked") {
            Ok(n) => received += n,
            Err(e) => failures.push(e),
        }
    }
    let elapsed = start.elapsed();
    stopper.stop()?;
    let stats = server.join().expect("server thread panicked")?;
    println!("  clients        {clients} concurrent, {LINES} lines each");
    println!("  accepted       {}", stats.accepted);
    println!(
        "  bytes echoed   {} (clients checked {received})",
        stats.bytes_echoed
    );
    println!("  elapsed        {:.1} ms", elapsed.as_secs_f64() * 1e3);
    if let Some(e) = failures.first() {
        return Err(io::Error::new(
            e.kind(),
            format!("{} of {clients} clients failed; first: {e}", failures.len()),
        ));
    }
    println!("  result         ok: every echo upper-cased");
    Ok(())
}

const USAGE: &str = "\
usage: select_echo [--listen ADDR] [--backend select|poll|epoll]
       select_echo --demo [--backend select|poll|epoll] [--clients N]

An echo server that answers in upper case, written on c10k::selector as the
tutorials' `selectors` server.

  --listen ADDR     address to listen on (default 127.0.0.1:7007)
  --backend NAME    select, poll or epoll (default: the best, epoll on Linux)
  --demo            run a server on 127.0.0.1:0 and 100 concurrent clients
                    against it, print a summary, exit
  --clients N       clients for --demo (default 100)
  -h, --help        this help";

struct Args {
    listen: String,
    backend: Backend,
    demo: bool,
    clients: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: "127.0.0.1:7007".to_owned(),
        backend: Backend::best(),
        demo: false,
        clients: 100,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--listen" => args.listen = value("--listen")?,
            "--backend" => {
                args.backend = value("--backend")?.parse().map_err(|e| format!("{e}"))?
            }
            "--clients" => {
                args.clients = value("--clients")?
                    .parse()
                    .map_err(|e| format!("--clients: {e}"))?
            }
            "--demo" => args.demo = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(args)
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("select_echo: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let result = if args.demo {
        demo(args.backend, args.clients)
    } else {
        TcpListener::bind(&args.listen)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {}: {e}", args.listen)))
            .and_then(|listener| Server::new(listener, args.backend))
            .and_then(|server| {
                println!(
                    "select_echo: listening on {} ({} backend)",
                    server.local_addr()?,
                    args.backend
                );
                server.run().map(drop)
            })
    };
    if let Err(e) = result {
        eprintln!("select_echo: {e}");
        std::process::exit(1);
    }
}
