//! Drives the `select_echo` example's server with real TCP clients, on every
//! selector backend.

// The example's `main`, argument parsing and demo are not used here.
#[allow(dead_code)]
#[path = "../examples/select_echo.rs"]
mod select_echo;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use c10k::selector::Backend;
use select_echo::{client, Server, Stats, Stopper, MAX_PENDING};

/// A running server: its address, its stopper, its thread.
struct Running {
    addr: SocketAddr,
    stopper: Stopper,
    thread: JoinHandle<io::Result<Stats>>,
}

fn start(backend: Backend) -> io::Result<Running> {
    let server = Server::new(TcpListener::bind("127.0.0.1:0")?, backend)?;
    let addr = server.local_addr()?;
    let stopper = server.stopper();
    let thread = thread::Builder::new()
        .name(format!("select-echo-{backend}"))
        .spawn(move || server.run())?;
    Ok(Running {
        addr,
        stopper,
        thread,
    })
}

impl Running {
    fn stop(self) -> io::Result<Stats> {
        self.stopper.stop()?;
        self.thread.join().expect("server thread panicked")
    }
}

#[test]
fn echoes_upper_case_to_concurrent_clients() -> io::Result<()> {
    for backend in Backend::ALL {
        let server = start(backend)?;
        let addr = server.addr;
        let clients: Vec<_> = (0..20)
            .map(|id| thread::spawn(move || client(addr, id, 5)))
            .collect();
        let mut received = 0;
        for c in clients {
            received += c.join().expect("client panicked")?;
        }
        let stats = server.stop()?;
        assert_eq!(stats.accepted, 20, "{backend}");
        assert_eq!(stats.bytes_echoed, received, "{backend}");
        assert_eq!(stats.closed, 20, "{backend}: all closed at shutdown");
        assert_eq!(stats.errors, 0, "{backend}");
    }
    Ok(())
}

/// Regression guard for partial writes: a client that sends much more than
/// the socket buffers and `MAX_PENDING` hold, and reads concurrently, gets
/// every byte back in order.
#[test]
fn partial_writes_and_back_pressure_lose_nothing() -> io::Result<()> {
    const TOTAL: usize = 4 * 1024 * 1024;
    const { assert!(TOTAL > 8 * MAX_PENDING) };
    for backend in Backend::ALL {
        let server = start(backend)?;
        let stream = TcpStream::connect(server.addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_write_timeout(Some(Duration::from_secs(30)))?;
        let mut writer = stream.try_clone()?;
        let sender = thread::spawn(move || -> io::Result<()> {
            let chunk: Vec<u8> = (0..64 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
            for _ in 0..TOTAL / chunk.len() {
                writer.write_all(&chunk)?;
            }
            Ok(())
        });
        let mut reader = stream;
        let mut got = 0;
        let mut buf = vec![0u8; 64 * 1024];
        while got < TOTAL {
            let n = reader.read(&mut buf)?;
            assert!(n > 0, "{backend}: server closed after {got} bytes");
            for (k, &byte) in buf[..n].iter().enumerate() {
                let expected = b'A' + ((got + k) % (64 * 1024) % 26) as u8;
                assert_eq!(byte, expected, "{backend}: byte {}", got + k);
            }
            got += n;
        }
        sender.join().expect("sender panicked")?;
        drop(reader);
        let stats = server.stop()?;
        assert_eq!(stats.bytes_echoed, TOTAL as u64, "{backend}");
    }
    Ok(())
}

#[test]
fn survives_disconnects_and_resets() -> io::Result<()> {
    for backend in Backend::ALL {
        let server = start(backend)?;
        // Connects and leaves at once.
        drop(TcpStream::connect(server.addr)?);
        // Sends and leaves without reading the echo.
        let mut rude = TcpStream::connect(server.addr)?;
        rude.write_all(&[b'x'; 100_000])?;
        drop(rude);
        // Resets the connection (linger 0) with data in flight.
        let reset = TcpStream::connect(server.addr)?;
        (&reset).write_all(b"about to reset\n")?;
        rustix::net::sockopt::set_socket_linger(&reset, Some(Duration::ZERO))?;
        drop(reset);
        // The server is still serving.
        let echoed = client(server.addr, 99, 3)?;
        assert!(echoed > 0);
        let stats = server.stop()?;
        // The backlog is accepted in order, so the three came before client 99.
        assert_eq!(stats.accepted, 4, "{backend}: {stats:?}");
        assert_eq!(stats.closed, 4, "{backend}: {stats:?}");
    }
    Ok(())
}
