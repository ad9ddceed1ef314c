//! Connection counts: poll and epoll hold thousands; select refuses past FD_SETSIZE and
//! keeps serving the connections it has.

mod util;

use std::io::{self, Read};

use util::{client, round_trip, EchoServer};

/// Opens `n` connections and makes each one echo, all held open together.
fn hold(server: &EchoServer, n: usize) -> io::Result<Vec<std::net::TcpStream>> {
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        streams.push(client(server.addr)?);
    }
    for (i, stream) in streams.iter_mut().enumerate() {
        let msg = format!("{i:06}");
        assert_eq!(round_trip(stream, msg.as_bytes())?, msg.as_bytes());
    }
    Ok(streams)
}

#[test]
fn poll_and_epoll_hold_thousands_of_connections() -> io::Result<()> {
    for model in ["poll", "epoll"] {
        let mut server = EchoServer::start(model, &[])?;
        let mut streams = hold(&server, 3000)?;
        // Everyone still answers once all are open.
        for stream in streams.iter_mut().step_by(97) {
            assert_eq!(round_trip(stream, b"ok")?, b"ok", "{model}");
        }
        assert!(server.alive());
    }
    Ok(())
}

#[test]
fn select_refuses_past_fd_setsize_and_serves_the_rest() -> io::Result<()> {
    let mut server = EchoServer::start("select", &[])?;
    let mut held = hold(&server, 900)?;
    // Past FD_SETSIZE the server closes new connections instead of crashing.
    let mut refused = 0;
    let mut extra = Vec::new();
    for _ in 0..300 {
        let mut stream = client(server.addr)?;
        let _ = std::io::Write::write_all(&mut stream, b"x");
        let mut byte = [0u8; 1];
        match stream.read(&mut byte) {
            Ok(1) => extra.push(stream),
            Ok(_) | Err(_) => refused += 1,
        }
    }
    assert!(refused > 0, "select accepted 1200 descriptors");
    for stream in held.iter_mut().step_by(50) {
        assert_eq!(round_trip(stream, b"ok")?, b"ok");
    }
    assert!(server.alive());
    drop(extra);
    drop(held);
    let (_, stderr) = server.interrupt()?;
    assert!(stderr.contains("FD_SETSIZE"), "{stderr}");
    Ok(())
}
