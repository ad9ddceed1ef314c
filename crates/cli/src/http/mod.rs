//! `c10k http`: an HTTP/1.1 server on the c10k runtime — static files under a root and the
//! `/plaintext` benchmark endpoint, with keep-alive and pipelining.
//!
//! | file | role |
//! |---|---|
//! | `request.rs` | request heads (`httparse`) and their limits: 400, 413, 414, 431, 505 |
//! | `path.rs` | percent-decoding and resolving a target without escaping the root |
//! | `handler.rs` | what to answer: `/plaintext`, files, listings, redirects, 404/405; the file-system part runs on the blocking pool |
//! | `response.rs`, `mime.rs` | heads (`Date` by `httpdate`), `Content-Type` (by `mime_guess`) |
//! | `server.rs` | the accept loop and one task per connection |
//! | `stream.rs` | a connection's stream, TCP or TLS (`--tls-cert`/`--tls-key`), with the send timeout |
//!
//! Only `GET` and `HEAD` are served; other methods get 405 with `Allow: GET, HEAD`.
//!
//! What one client can hold, each limit a flag:
//!
//! - `--idle-timeout` (30 s): reading. A connection idle between requests, or whose request
//!   (head and body) takes longer than this to arrive, is closed.
//! - `--send-timeout` (60 s, nginx's `send_timeout`): writing. A response whose client
//!   accepts no byte for this long (between two writes that make progress, over the whole
//!   response: head, listing, every block of a file) is abandoned and the connection and
//!   its file closed. Why a no-progress timeout rather than a deadline: `server.rs`.
//! - `--output-buffer` (64 KiB): pipelining. Parsing pauses while this many bytes of answers
//!   wait to be sent.
//! - `--blocking-threads` (one per CPU): file-system work runs on the runtime's blocking
//!   pool, at most this many threads at once. Hostile clients asking for many large listings
//!   at once would otherwise start hundreds of CPU-bound threads that starve the runtime
//!   thread (measured with the fault matrix's `pipeline` case: the slowest health probe went
//!   from about 500 ms with 512 threads to about 50 ms with 2, on 2 cores).
//! - `--handshake-timeout` (10 s): with TLS, the handshake must complete within this, or
//!   the connection is closed (a client that connects and says nothing holds no more than a
//!   plain one does with its idle timeout).
//! - Request heads, headers and bodies: `request.rs`. Only regular files and directories
//!   are ever opened: `handler.rs`.

mod handler;
mod mime;
mod path;
pub(crate) mod request;
mod response;
mod server;
mod stream;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args as ClapArgs;

use crate::errors::usage;

/// HTTP/1.1 server: static files and `/plaintext`.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "GET /plaintext answers 'Hello, World!'; any other path is a file (or a \
directory listing, or its index.html) under --root. No path escapes the root: '..' segments \
are refused and symlinks leading outside get 403; FIFOs, sockets and devices get 403 and are \
never opened.\n\
Timeouts: --idle-timeout bounds reading (the wait for the next request, and each request's \
arrival as a whole); --send-timeout bounds writing (how long a response may wait for the \
client to accept any byte, between two successive writes: a slow download is fine, a client \
that stops reading is disconnected). --output-buffer bounds what a client that pipelines \
requests without reading the answers can make the server queue.\n\
With --tls-cert and --tls-key (PEM files) every connection speaks HTTPS (TLS 1.2 or 1.3, \
ALPN http/1.1); a handshake must finish within --handshake-timeout.\n\
The first line on stdout is the bound address (useful with port 0).\n\
Ctrl-C stops accepting, lets the requests in flight finish (at most --grace seconds), and \
exits 0; a second Ctrl-C exits 130 at once."
)]
pub(crate) struct Args {
    /// Address to listen on, IP:PORT or HOST:PORT (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", value_parser = crate::net::parse_addr)]
    pub(crate) listen: SocketAddr,
    /// Directory whose files are served.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub(crate) root: PathBuf,
    /// Scheduler threads (1: the current-thread scheduler; more: the multi-thread one).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) threads: u16,
    /// The runtime's IO backend (default: epoll, the runtime's default on Linux).
    #[arg(long, value_enum, value_name = "BACKEND")]
    pub(crate) backend: Option<crate::model::RuntimeBackend>,
    /// Close a connection idle for this many seconds, or whose request (head and body) takes
    /// longer than that to arrive.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub(crate) idle_timeout: u64,
    /// After Ctrl-C, how long the requests in flight may take to finish (seconds).
    #[arg(long, default_value_t = 5.0, value_name = "SECS", value_parser = crate::net::parse_secs)]
    pub(crate) grace: f64,
    /// Close a connection whose client accepts no byte of a response for this many seconds
    /// (between two successive writes, over the whole response).
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub(crate) send_timeout: u64,
    /// Threads for file-system work: resolving paths, opening and reading files, building
    /// listings [default: one per CPU].
    ///
    /// That work is mostly CPU on the page cache: more threads than cores would only take
    /// the CPU from the connections. Raise it for a slow disk or a network file system.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub(crate) blocking_threads: Option<u16>,
    /// Stop parsing pipelined requests while this many bytes of answers wait to be sent.
    #[arg(long, default_value_t = 64 * 1024, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(1..=1 << 30))]
    pub(crate) output_buffer: u64,
    /// Serve HTTPS with this certificate chain (PEM file; needs --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM file: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
    /// With TLS, close a connection whose handshake takes longer than this many seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECS", value_parser = crate::net::parse_secs)]
    pub(crate) handshake_timeout: f64,
}

/// Runs `c10k http`.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    if args.idle_timeout == 0 {
        return Err(usage("--idle-timeout must be at least 1 second"));
    }
    if args.send_timeout == 0 {
        return Err(usage("--send-timeout must be at least 1 second"));
    }
    if args.handshake_timeout <= 0.0 {
        return Err(usage("--handshake-timeout must be more than 0 seconds"));
    }
    let root = std::fs::canonicalize(&args.root).map_err(|e| {
        usage(format!(
            "--root {}: {}",
            args.root.display(),
            crate::errors::short(&e)
        ))
    })?;
    if !root.is_dir() {
        return Err(usage(format!(
            "--root {}: not a directory",
            args.root.display()
        )));
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(std::sync::Arc::new(
            crate::tls::server_config(cert, key).map_err(|e| usage(e.to_string()))?,
        )),
        _ => None,
    };
    let backend = crate::model::RuntimeBackend::resolve(args.backend)?;
    crate::sys::raise_fd_limit();
    // Before the runtime's threads exist; a task of the runtime reads Ctrl-C.
    let shutdown =
        crate::shutdown::install_with(std::time::Duration::from_secs_f64(args.grace), true)?;
    let listener = crate::net::listeners(args.listen, 1, true)?.remove(0);
    let bound = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{bound}")?;
        out.flush()?;
    }
    let mut builder = c10k::runtime::Runtime::builder();
    builder = if args.threads == 1 {
        builder.current_thread()
    } else {
        builder
            .multi_thread()
            .worker_threads(usize::from(args.threads))
    };
    let blocking = match args.blocking_threads {
        Some(n) => usize::from(n),
        None => std::thread::available_parallelism().map_or(2, usize::from),
    };
    let rt = builder
        .backend(backend)
        .thread_name("c10k-http")
        .max_blocking_threads(blocking)
        .build()?;
    let config = server::Config {
        root: root.into(),
        idle: std::time::Duration::from_secs(args.idle_timeout),
        shutdown,
        send: std::time::Duration::from_secs(args.send_timeout),
        output_limit: usize::try_from(args.output_buffer).unwrap_or(usize::MAX),
        tls,
        handshake: std::time::Duration::from_secs_f64(args.handshake_timeout),
    };
    rt.block_on(server::serve(listener, config))
}
