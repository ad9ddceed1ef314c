//! The tokio reference echo server: the yardstick of `c10k lab`.
//!
//! It is written the way tokio's own tutorial teaches an echo server, on purpose: the lab
//! compares c10k's IO models against what a Rust engineer would write with tokio by the
//! book, not against a hand-tuned tokio program.
//!
//! 1. A [`tokio::net::TcpListener`] accepts in a loop.
//! 2. Every accepted connection gets its own task (`tokio::spawn`).
//! 3. Every task owns a 1 KiB read buffer (`vec![0; 1024]`) for its whole life, reads into it
//!    and answers with `write_all`; a read of 0 bytes (the peer closed) or an error ends it.
//!
//! The runtime is current-thread when one thread is asked for, multi-thread otherwise.
//! `--upper` upper-cases ASCII, as the tutorials' servers do.
//!
//! # Examples
//!
//! ```no_run
//! use c10k_tokio_ref::Config;
//!
//! let config = Config { listen: "127.0.0.1:0".parse().unwrap(), threads: 1, upper: false };
//! c10k_tokio_ref::run(&config, |addr| println!("{addr}"))?;
//! # Ok::<(), std::io::Error>(())
//! ```
#![forbid(unsafe_code)]

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};

/// What to serve and how.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Worker threads: 1 gives tokio's current-thread runtime, more the multi-thread one.
    pub threads: usize,
    /// Answer with ASCII-uppercased bytes.
    pub upper: bool,
}

/// Builds the runtime, binds, calls `on_bound` with the bound address, then serves until
/// Ctrl-C (SIGINT) arrives; connections in flight are then dropped with the runtime.
///
/// # Errors
///
/// Fails if the runtime cannot be built or the address cannot be bound.
pub fn run(config: &Config, on_bound: impl FnOnce(SocketAddr)) -> io::Result<()> {
    let runtime = if config.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.threads)
            .enable_all()
            .build()?
    };
    let upper = config.upper;
    runtime.block_on(async move {
        let listener = TcpListener::bind(config.listen).await?;
        // Registered before the address is announced, so a Ctrl-C sent right after it
        // is not lost (`ctrl_c()` would only register when first polled).
        let mut interrupt = signal(SignalKind::interrupt())?;
        on_bound(listener.local_addr()?);
        let serve = async {
            loop {
                match listener.accept().await {
                    Ok((socket, _)) => {
                        tokio::spawn(handle(socket, upper));
                    }
                    // Out of descriptors and the like: the tutorial logs and carries on;
                    // a short pause keeps the loop from spinning.
                    Err(e) => {
                        eprintln!("c10k-tokio-echo: accept: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                }
            }
        };
        tokio::select! {
            () = serve => Ok(()),
            _ = interrupt.recv() => Ok(()),
        }
    })
}

/// One connection, as in tokio's tutorial: a buffer per task, read then `write_all`.
async fn handle(mut socket: TcpStream, upper: bool) {
    let mut buf = vec![0; 1024];
    loop {
        let n = match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if upper {
            buf[..n].make_ascii_uppercase();
        }
        if socket.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
