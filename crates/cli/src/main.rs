//! `c10k`: the programs (echo, load, lab, ...). Thin entry point; one module per program.
//!
//! Exit codes: 0 success, 1 runtime failure, 2 bad usage (see [`errors`]).

mod chat;
mod echo;
mod errors;
mod fetch;
mod http;
mod lab;
mod load;
mod model;
mod net;
mod shutdown;
mod sync;
mod sys;
mod tls;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Serve and drive many concurrent connections on one machine.
///
/// c10k runs the tutorials' echo server under every Unix IO model (`c10k echo --help`
/// lists them), a chat room, an HTTP server and fetcher, a load generator to drive them, and
/// a lab that measures the models side by side against a tokio reference.
#[derive(Debug, Parser)]
#[command(name = "c10k", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Echo server under one IO model (the list: see `model::IoModel`).
    #[command(about = format!("Echo server under one IO model: {}", model::IoModel::names()))]
    Echo(echo::Args),
    /// Chat-room server (line protocol for nc, telnet and the tutorials' client).
    Chat(chat::Args),
    /// Fetch many http:// URLs concurrently: keep-alive, redirects, retries, summary.
    Fetch(fetch::Args),
    /// HTTP/1.1 server: static files under --root and /plaintext, keep-alive, pipelining.
    Http(http::Args),
    /// Load generator: many connections doing echo ping-pongs or keep-alive HTTP GETs.
    Load(load::Args),
    /// Measure every echo model against tokio: CPU per request, latency, req/s, memory.
    Lab(lab::Args),
    /// The tokio reference echo server (used by the lab).
    #[command(name = "__tokio-echo", hide = true)]
    TokioEcho(echo::TokioArgs),
}

fn main() -> ExitCode {
    // First thing, before parsing arguments: a Ctrl-C that arrives before a program installs
    // its shutdown (`shutdown.rs`) then waits, pending, instead of being lost. A process
    // started in the background by a non-interactive shell has SIGINT *ignored*, and the
    // kernel discards an ignored signal unless it is blocked: a Ctrl-C in the first
    // milliseconds used to vanish and leave the server running (bench/sigint-loop.sh -e).
    if let Err(e) = sys::block_signals(&[libc::SIGINT, libc::SIGTERM]) {
        eprintln!("c10k: cannot block SIGINT and SIGTERM: {e}");
        return ExitCode::from(1);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let result = match &cli.command {
        Command::Echo(args) => echo::run(args),
        Command::Chat(args) => chat::run(args),
        Command::Fetch(args) => fetch::run(args),
        Command::Http(args) => http::run(args),
        Command::Load(args) => load::run(args),
        Command::Lab(args) => lab::run(args),
        Command::TokioEcho(args) => echo::run_tokio(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = errors::exit_code(&e);
            if code != 0 {
                eprintln!("c10k: {e:#}");
            }
            ExitCode::from(code)
        }
    }
}

/// Prints a command-line error as one line (`c10k: invalid value 'x' for '--model <MODEL>'
/// [possible values: ...]`) and returns exit code 2; `--help` and `--version` print as
/// usual and succeed.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
        || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    {
        let _ = e.print();
        return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let text = e.to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("bad command line");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let mut line = format!("c10k: {first}");
    let rest =
        lines.take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"));
    for extra in rest {
        line.push(' ');
        line.push_str(extra);
    }
    line.push_str(" (see --help)");
    eprintln!("{line}");
    ExitCode::from(2)
}
