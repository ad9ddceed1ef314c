//! `c10k http`: an HTTP/1.1 server on the c10k runtime — static files under a root and the
//! `/plaintext` benchmark endpoint, with keep-alive and pipelining.
//!
//! | file | role |
//! |---|---|
//! | `request.rs` | request heads (`httparse`) and their limits: 400, 413, 414, 431, 505 |
//! | `path.rs` | percent-decoding and resolving a target without escaping the root |
//! | `handler.rs` | what to answer: `/plaintext`, files, listings, redirects, 404/405 |
//! | `response.rs`, `date.rs`, `mime.rs` | heads, `Date`, `Content-Type` |
//! | `server.rs` | the accept loop and one task per connection |
//!
//! Only `GET` and `HEAD` are served; other methods get 405 with `Allow: GET, HEAD`.

mod date;
mod handler;
mod mime;
mod path;
pub(crate) mod request;
mod response;
mod server;

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
are refused and symlinks leading outside get 403.\n\
The first line on stdout is the bound address (useful with port 0).\n\
Ctrl-C stops accepting, lets the requests in flight finish (at most 2 s), and exits."
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
}

/// Runs `c10k http`.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    if args.idle_timeout == 0 {
        return Err(usage("--idle-timeout must be at least 1 second"));
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
    let backend = crate::model::RuntimeBackend::resolve(args.backend)?;
    crate::sys::raise_fd_limit();
    crate::shutdown::install()?;
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
    let rt = builder.backend(backend).thread_name("c10k-http").build()?;
    let config = server::Config {
        root,
        idle: std::time::Duration::from_secs(args.idle_timeout),
    };
    rt.block_on(server::serve(listener, config))
}
