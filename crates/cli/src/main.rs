//! `c10k`: the programs (echo, chat, fetch, http, load, lab). Thin entry point; one module per
//! program.

use clap::{Parser, Subcommand};

/// Serve and drive many concurrent connections on one machine.
#[derive(Debug, Parser)]
#[command(name = "c10k", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {}

fn main() {
    let cli = Cli::parse();
    match cli.command {}
}
