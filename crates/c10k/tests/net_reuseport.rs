//! `TcpSocket` with `SO_REUSEPORT`: two listeners on one port share the connections.

use std::io;

use c10k::net::{TcpSocket, TcpStream};
use c10k::sync::channel::mpsc;

const CONNS: usize = 64;

#[c10k::test]
async fn reuseport_listeners_share_incoming_connections() -> io::Result<()> {
    let first = TcpSocket::new_v4()?;
    first.set_reuseport(true)?;
    first.set_reuseaddr(true)?;
    first.bind("127.0.0.1:0".parse().unwrap())?;
    let addr = first.local_addr()?;
    let second = TcpSocket::new_v4()?;
    second.set_reuseport(true)?;
    second.set_reuseaddr(true)?;
    second.bind(addr)?;
    let listeners = [first.listen(1024)?, second.listen(1024)?];

    let (tx, mut rx) = mpsc::unbounded();
    let mut acceptors = Vec::new();
    for (i, l) in listeners.into_iter().enumerate() {
        let tx = tx.clone();
        acceptors.push(c10k::spawn(async move {
            let mut kept = Vec::new();
            loop {
                let (s, _) = l.accept().await?;
                kept.push(s);
                if tx.send(i).await.is_err() {
                    return Ok::<_, io::Error>(());
                }
            }
        }));
    }
    // Distinct source ports hash to either listener: with 64 connections, all landing on
    // one listener has probability 2^-63.
    let mut clients = Vec::new();
    for _ in 0..CONNS {
        clients.push(TcpStream::connect(addr).await?);
    }
    let mut per_listener = [0usize; 2];
    for _ in 0..CONNS {
        let i = rx.recv().await.map_err(io::Error::other)?;
        per_listener[i] += 1;
    }
    assert_eq!(per_listener[0] + per_listener[1], CONNS);
    assert!(per_listener.iter().all(|&n| n > 0), "{per_listener:?}");
    for a in acceptors {
        a.abort();
    }
    Ok(())
}

#[c10k::test]
async fn socket_options_and_bound_client() -> io::Result<()> {
    let server = TcpSocket::new_v4()?;
    server.set_reuseaddr(true)?;
    server.set_recv_buffer_size(64 * 1024)?;
    server.bind("127.0.0.1:0".parse().unwrap())?;
    let addr = server.local_addr()?;
    let listener = server.listen(16)?;
    let client = TcpSocket::new_for(&addr)?;
    client.set_nodelay(true)?;
    client.set_send_buffer_size(64 * 1024)?;
    client.bind("127.0.0.1:0".parse().unwrap())?;
    let local = client.local_addr()?;
    let stream = client.connect(addr).await?;
    assert!(stream.nodelay()?);
    assert_eq!(stream.local_addr()?, local);
    let (_s, peer) = listener.accept().await?;
    assert_eq!(peer, local);
    Ok(())
}
