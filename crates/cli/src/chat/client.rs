//! `c10k chat --connect ADDR`: the tutorials' chat client (`000_*`), two ways.
//!
//! - `--client threads`: the tutorial's shape. A sending thread reads stdin and writes each
//!   line to the socket; a receiving thread reads the socket and prints each line. They share
//!   a lock (around stdout, so that a line is never printed in the middle of another) and a
//!   stop flag (set by whichever side ends first, checked by the other before it acts).
//! - `--client task`: one task on c10k's runtime that races the next line typed against the
//!   next line received (`select!`), with no lock and no flag: both ends live in one place.
//!   Reading the terminal cannot be made asynchronous portably (a regular file is never
//!   "readable later"), so a plain thread reads stdin into a channel, as asyncio's
//!   `run_in_executor(None, input)` does.
//!
//! Either way the client ends when the server closes the connection (its lines are all
//! printed first) or when stdin ends (the socket's write half is shut, so the server sees
//! the client leave and closes; the lines it sent until then are printed).

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::io::{AsyncBufReadExt, AsyncWriteExt};
use futures_util::{FutureExt, StreamExt};

use crate::sync::lock;

/// How the client is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Client {
    /// A sending thread and a receiving thread, a shared lock and a stop flag.
    Threads,
    /// One task racing the keyboard against the socket.
    Task,
}

/// Connects to `addr` and runs the chosen client until the server closes or stdin ends.
pub(crate) fn run(addr: SocketAddr, client: Client) -> anyhow::Result<()> {
    match client {
        Client::Threads => threads(addr),
        Client::Task => task(addr),
    }
}

fn threads(addr: SocketAddr) -> anyhow::Result<()> {
    let stream = TcpStream::connect(addr)?;
    let stdout = Arc::new(Mutex::new(io::stdout()));
    let stop = Arc::new(AtomicBool::new(false));

    let sending = {
        let (stream, stop) = (stream.try_clone()?, stop.clone());
        std::thread::Builder::new()
            .name("chat-send".into())
            .spawn(move || -> io::Result<()> {
                let mut stream = stream;
                for line in io::stdin().lock().lines() {
                    let line = line?;
                    if stop.load(Ordering::Acquire) {
                        break; // the server is gone: nobody to send to
                    }
                    stream.write_all(format!("{line}\n").as_bytes())?;
                }
                stop.store(true, Ordering::Release);
                // End of input: tell the server; the receiving thread prints the rest.
                let _ = stream.shutdown(Shutdown::Write);
                Ok(())
            })?
    };

    let receiving = {
        let (stream, stop, stdout) = (stream.try_clone()?, stop.clone(), stdout.clone());
        std::thread::Builder::new()
            .name("chat-recv".into())
            .spawn(move || -> io::Result<()> {
                for line in BufReader::new(stream).lines() {
                    let line = line?;
                    let mut out = lock(&stdout);
                    writeln!(out, "{line}")?;
                    out.flush()?;
                }
                stop.store(true, Ordering::Release);
                Ok(())
            })?
    };

    let received = receiving
        .join()
        .map_err(|_| anyhow::anyhow!("the receiving thread panicked"))?;
    if sending.is_finished() {
        sending
            .join()
            .map_err(|_| anyhow::anyhow!("the sending thread panicked"))??;
    }
    // Otherwise the sending thread is blocked reading the keyboard for a server that has
    // gone: like a daemon thread, it ends with the process.
    received?;
    Ok(())
}

fn task(addr: SocketAddr) -> anyhow::Result<()> {
    let (typed_tx, mut typed) = c10k::sync::channel::mpsc::bounded::<String>(16);
    std::thread::Builder::new()
        .name("chat-stdin".into())
        .spawn(move || {
            // Ends at the end of input, on an unreadable terminal, or when the task is gone.
            for line in io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if typed_tx.send_blocking(line).is_err() {
                    break;
                }
            }
        })?;
    let rt = c10k::runtime::Runtime::builder()
        .current_thread()
        .thread_name("c10k-chat-client")
        .build()?;
    rt.block_on(async move {
        let stream = c10k::net::TcpStream::connect(addr).await?;
        let mut received = futures_util::io::BufReader::new(&stream).lines();
        let mut writer = &stream;
        let mut typing = true;
        loop {
            // Once stdin has ended, only the socket is left to wait for.
            let next_typed = async {
                if typing {
                    typed.recv().await.ok()
                } else {
                    std::future::pending().await
                }
            };
            futures_util::select! {
                line = next_typed.fuse() => match line {
                    Some(line) => {
                        writer.write_all(format!("{line}\n").as_bytes()).await?;
                        writer.flush().await?;
                    }
                    None => {
                        // End of input: tell the server, keep printing what it still sends.
                        typing = false;
                        stream.shutdown(Shutdown::Write)?;
                    }
                },
                line = received.next().fuse() => match line {
                    Some(line) => {
                        let mut out = io::stdout().lock();
                        writeln!(out, "{}", line?)?;
                        out.flush()?;
                    }
                    None => return Ok::<(), anyhow::Error>(()),
                },
            }
        }
    })
}
