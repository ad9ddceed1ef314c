//! `c10k-tokio-echo`: the tokio reference echo server as a standalone binary.
//!
//! Prints its bound address on stdout, then serves until Ctrl-C. See the library docs.
#![forbid(unsafe_code)]

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;

/// The tokio echo server written as tokio's tutorial teaches (the c10k lab's reference).
#[derive(Debug, Parser)]
#[command(name = "c10k-tokio-echo", version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:7007")]
    listen: SocketAddr,
    /// Runtime threads: 1 is tokio's current-thread runtime, more the multi-thread runtime.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    threads: u16,
    /// Answer with ASCII-uppercased bytes.
    #[arg(long)]
    upper: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = c10k_tokio_ref::Config {
        listen: args.listen,
        threads: usize::from(args.threads),
        upper: args.upper,
    };
    let result = c10k_tokio_ref::run(&config, |addr| {
        let mut out = std::io::stdout().lock();
        // A closed stdout is not an error for a server that only announces its address.
        let _ = writeln!(out, "{addr}").and_then(|()| out.flush());
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("c10k-tokio-echo: cannot serve {}: {e}", args.listen);
            ExitCode::FAILURE
        }
    }
}
