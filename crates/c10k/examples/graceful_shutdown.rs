//! Ctrl-C handling with a graceful shutdown, built by hand from the pieces: stop accepting,
//! let the connections in flight finish, then exit. The c10k programs use the same steps
//! packaged as [`c10k::shutdown::Shutdown`] (signals blocked and read from a signalfd, a
//! grace period, a second Ctrl-C exits 130).
//!
//! The server races `accept` against `SIGINT` ([`c10k::signal`]); connection tasks live in a
//! [`JoinSet`](c10k::task::JoinSet). So that the example terminates by itself, its demo
//! clients send the `SIGINT` (to their own process) once they are all connected — press
//! Ctrl-C yourself in a real program.
//!
//! `cargo run -p c10k --example graceful_shutdown`

use std::io;
use std::pin::pin;
use std::sync::Arc;

use c10k::net::{TcpListener, TcpStream};
use c10k::runtime::race::{select, Either};
use c10k::signal::{signal, SignalKind};
use c10k::sync::Barrier;
use c10k::task::JoinSet;

const CLIENTS: usize = 5;

/// Echoes one connection until the client closes it; returns the bytes echoed. (For the
/// demo, it first waits until every client was accepted.)
async fn serve(stream: TcpStream, all_accepted: Arc<Barrier>) -> io::Result<usize> {
    all_accepted.wait().await;
    let mut buf = [0u8; 1024];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n;
    }
}

/// A client that talks for three rounds (its conversation is in flight when the shutdown
/// starts).
async fn client(addr: std::net::SocketAddr, id: usize) -> io::Result<()> {
    let s = TcpStream::connect(addr).await?;
    for round in 0..3 {
        let msg = format!("client {id} round {round}");
        s.write_all(msg.as_bytes()).await?;
        let mut back = vec![0u8; msg.len()];
        s.read_exact(&mut back).await?;
        assert_eq!(back, msg.as_bytes());
    }
    Ok(()) // closing the connection ends its server task
}

pub(crate) fn main() -> io::Result<()> {
    c10k::run(async {
        // Installs the handler now: from here on SIGINT is an event, not a kill.
        let mut sigint = signal(SignalKind::interrupt())?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        println!("listening on {addr}; Ctrl-C stops accepting and drains connections");

        // The demo: clients, and a trigger that "presses Ctrl-C" once every one of them was
        // accepted (so that none is left in the backlog when the listener closes).
        let barrier = Arc::new(Barrier::new(CLIENTS + 1));
        let mut clients = JoinSet::new();
        for id in 0..CLIENTS {
            clients.spawn(client(addr, id));
        }
        let b = Arc::clone(&barrier);
        let _trigger = c10k::spawn(async move {
            b.wait().await;
            println!("demo: every client was accepted; sending SIGINT to ourselves");
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::INT)
        });

        // 1. Accept until Ctrl-C.
        let mut connections = JoinSet::new();
        loop {
            let accept = pin!(listener.accept());
            let interrupted = pin!(sigint.recv());
            match select(accept, interrupted).await {
                Either::Left((accepted, _)) => {
                    let (stream, peer) = accepted?;
                    println!("accepted {peer}");
                    connections.spawn(serve(stream, Arc::clone(&barrier)));
                }
                Either::Right(_) => break,
            }
        }
        // 2. Stop accepting: the listener closes, new clients are refused.
        drop(listener);
        println!(
            "SIGINT: stopped accepting; waiting for {} connections",
            connections.len()
        );
        // 3. Finish in-flight work.
        let mut echoed = 0;
        while let Some(done) = connections.join_next().await {
            echoed += done.map_err(io::Error::other)??;
        }
        while let Some(done) = clients.join_next().await {
            done.map_err(io::Error::other)??;
        }
        println!("all connections finished ({echoed} bytes echoed); exiting");
        Ok(())
    })
}
