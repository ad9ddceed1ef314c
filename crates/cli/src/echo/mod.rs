//! `c10k echo`: the tutorials' echo server under every Unix IO model.
//!
//! Each model is one file exporting `serve(listeners, &Options)`; this module parses the
//! command line, binds the listeners (one per loop, `SO_REUSEPORT`), prints the bound
//! address on stdout (scripts and `c10k lab` read it), and dispatches:
//!
//! | model | file | how it waits |
//! |---|---|---|
//! | `threads` | `threads.rs` | a blocking thread per connection (256 KiB stacks) |
//! | `nonblocking` | `nonblocking.rs` | it does not: it busy-polls every socket |
//! | `select`, `poll`, `epoll`, `uring` | `runtime.rs` | the c10k runtime on that backend (io_uring: completions), a task per connection |
//! | `reactor` | `selector_loop.rs` | callbacks on `c10k::selector` (`--backend`), one loop per thread |
//! | `sigio` | `sigio.rs` | real-time signals queued per ready socket, read from a signalfd |
//! | `green` | `green.rs` | a green thread per connection (blocking style), one hub per thread on the runtime's epoll driver |
//!
//! Shutdown (Ctrl-C): every model stops accepting, finishes the writes in flight (at most
//! `--grace` seconds), and returns; a second Ctrl-C exits with 130 at once. The runtime
//! models read Ctrl-C with a task ([`c10k::shutdown::Shutdown::listen`]); the hand-written
//! loops wait on the shutdown's eventfd beside their sockets.
//!
//! `--idle-timeout`: every model closes a connection silent for that long (`idle.rs`).

mod conn;
mod green;
mod idle;
mod nonblocking;
mod runtime;
mod selector_loop;
mod sigio;
mod threads;

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Args as ClapArgs;

use crate::errors::usage;
use crate::model::{IoModel, ModelChoice, SelectorBackend};

/// Echo server: answers every byte it receives.
#[derive(Debug, ClapArgs)]
#[command(
    after_help = "The first line on stdout is the bound address (useful with port 0).\n\
Ctrl-C stops accepting, finishes the writes in flight (at most --grace seconds), and \
exits 0; a second Ctrl-C exits 130 at once."
)]
pub(crate) struct Args {
    /// Address to listen on, IP:PORT or HOST:PORT (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:7007", value_parser = crate::net::parse_addr)]
    pub(crate) listen: SocketAddr,
    /// IO model.
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) model: ModelChoice,
    /// Threads: runtime workers (the models on the c10k runtime: 1 = current-thread
    /// runtime, N = the multi-thread scheduler), or event loops (the others); each has its
    /// own SO_REUSEPORT listener. Ignored by `threads`.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) threads: u16,
    /// Selector backend of the `reactor` model [default: epoll].
    #[arg(long, value_enum)]
    pub(crate) backend: Option<SelectorBackend>,
    /// Answer with ASCII-uppercased bytes, as the tutorials' servers do.
    #[arg(long)]
    pub(crate) upper: bool,
    /// Close a connection that neither sends nor takes a byte for this many seconds (0: never).
    /// Checked in quarters of it (the `threads` model: exactly), so a silent client goes after
    /// SECS to 1.25 × SECS.
    #[arg(long, default_value_t = 300.0, value_name = "SECS", value_parser = crate::net::parse_secs)]
    pub(crate) idle_timeout: f64,
    /// After Ctrl-C, how long the writes in flight may take to finish (seconds).
    #[arg(long, default_value_t = 5.0, value_name = "SECS", value_parser = crate::net::parse_secs)]
    pub(crate) grace: f64,
}

/// What every model needs to know.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    pub(crate) upper: bool,
    /// `--idle-timeout`, `None` when off.
    pub(crate) idle: Option<Duration>,
}

/// Runs `c10k echo`.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let model = args.model.resolve();
    if let Some(why) = model.unavailable() {
        return Err(usage(format!(
            "the {model} model is not available: {why} (try --model epoll)"
        )));
    }
    if args.backend.is_some() && model != IoModel::Reactor {
        return Err(usage("--backend applies to --model reactor only"));
    }
    crate::sys::raise_fd_limit();
    let runtime_backend = model.runtime_backend();
    // Before any thread exists: the signals must be blocked in all of them. The models on
    // the c10k runtime print a task dump on SIGQUIT.
    let shutdown = crate::shutdown::install_with(
        Duration::from_secs_f64(args.grace),
        runtime_backend.is_some(),
    )?;
    if model == IoModel::Sigio {
        crate::sys::block_signals(&crate::sys::sigio_signals())?;
    }
    if runtime_backend.is_none() {
        // The runtime models read Ctrl-C with a task (`runtime.rs`): no signal thread.
        crate::shutdown::listen_on_thread(&shutdown)?;
    }
    let loops = match model {
        IoModel::Threads => 1,
        _ => usize::from(args.threads),
    };
    let listeners = crate::net::listeners(args.listen, loops, model != IoModel::Threads)?;
    let bound = listeners[0].local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{bound}")?;
        out.flush()?;
    }
    let options = Options {
        upper: args.upper,
        idle: (args.idle_timeout > 0.0).then(|| Duration::from_secs_f64(args.idle_timeout)),
    };
    if let Some(backend) = runtime_backend {
        return runtime::serve(listeners, options, backend, loops, shutdown);
    }
    match model {
        IoModel::Threads => threads::serve(listeners, options, shutdown),
        IoModel::Nonblocking => nonblocking::serve(listeners, options, shutdown),
        IoModel::Reactor => {
            let backend = args
                .backend
                .map_or(c10k::selector::Backend::best(), |b| b.0);
            selector_loop::serve(listeners, options, backend, shutdown)
        }
        IoModel::Sigio => sigio::serve(listeners, options, shutdown),
        IoModel::Green => green::serve(listeners, options, shutdown),
        IoModel::Select | IoModel::Poll | IoModel::Epoll | IoModel::Uring => {
            Err(anyhow::anyhow!("the runtime has no {model} backend"))
        }
    }
}

/// Runs one loop per listener on named threads and waits for all of them.
pub(crate) fn run_loops<F>(
    name: &str,
    listeners: Vec<std::net::TcpListener>,
    body: F,
) -> anyhow::Result<()>
where
    F: Fn(std::net::TcpListener) -> anyhow::Result<()> + Send + Sync + Clone + 'static,
{
    let mut handles = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        let body = body.clone();
        handles.push(
            std::thread::Builder::new()
                .name(format!("c10k-{name}-{i}"))
                .spawn(move || body(listener))?,
        );
    }
    let mut result = Ok(());
    for handle in handles {
        match handle.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => result = Err(e),
            Err(_) => result = Err(anyhow::anyhow!("an event loop panicked")),
        }
    }
    result
}

/// Arguments of the hidden `__tokio-echo` subcommand (the lab's tokio reference).
#[derive(Debug, ClapArgs)]
pub(crate) struct TokioArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7007", value_parser = crate::net::parse_addr)]
    listen: SocketAddr,
    /// Runtime threads (1: current-thread runtime).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    threads: u16,
    /// Upper-case ASCII.
    #[arg(long)]
    upper: bool,
}

/// Runs the tokio reference server linked into this binary, so that `c10k lab` needs no
/// second binary on a fresh clone.
pub(crate) fn run_tokio(args: &TokioArgs) -> anyhow::Result<()> {
    // Started by the lab, this process inherits its blocked SIGINT; tokio needs it delivered.
    crate::sys::unblock_signals(&[libc::SIGINT, libc::SIGTERM])?;
    let config = c10k_tokio_ref::Config {
        listen: args.listen,
        threads: usize::from(args.threads),
        upper: args.upper,
    };
    let mut announced = Ok(());
    c10k_tokio_ref::run(&config, |addr| {
        let mut out = std::io::stdout().lock();
        announced = writeln!(out, "{addr}").and_then(|()| out.flush());
    })
    .map_err(|e| anyhow::anyhow!("cannot serve {}: {}", args.listen, crate::errors::short(&e)))?;
    Ok(announced?)
}

/// Says on stderr that an accepted connection was closed because the IO backend could not
/// watch it, at most once a second (`last_log`: when it last did), so that a burst of them
/// does not flood the terminal.
fn log_refusal(last_log: &mut Option<std::time::Instant>, open: usize, e: &std::io::Error) {
    let now = std::time::Instant::now();
    if last_log.is_none_or(|t| now - t >= Duration::from_secs(1)) {
        *last_log = Some(now);
        eprintln!(
            "c10k: refusing a connection ({open} open): {}",
            crate::errors::short(e)
        );
    }
}
