//! The tutorials' *async context manager* (`async with Client(ip, port) as f`, seed 002),
//! as an RAII guard: `Client::connect(..).await?` is `__aenter__`, and the end of the scope
//! is `__aexit__` — the connection is closed by `Drop`, even on `?` or panic.
//!
//! Rust has no async `Drop`, so the guard offers both: an explicit `close().await` for a
//! graceful goodbye (send `FIN`, wait for the peer to finish), and a synchronous `Drop` that
//! always closes the socket as a fallback.
//!
//! `cargo run -p c10k --example async_context_manager`

use std::io;
use std::net::{Shutdown, SocketAddr};

use c10k::net::{TcpListener, TcpStream};

/// A connected client; the socket closes when the guard goes out of scope.
#[derive(Debug)]
#[must_use = "the connection closes as soon as the guard is dropped"]
pub(crate) struct Client {
    stream: TcpStream,
    addr: SocketAddr,
}

impl Client {
    /// `__aenter__`: connect.
    pub(crate) async fn connect(addr: SocketAddr) -> io::Result<Client> {
        let stream = TcpStream::connect(addr).await?;
        println!("client: connected to {addr}");
        Ok(Client { stream, addr })
    }

    /// `loop.sock_sendall`.
    pub(crate) async fn send(&self, data: &str) -> io::Result<()> {
        self.stream.write_all(data.as_bytes()).await
    }

    /// `loop.sock_recv(c, 1024)`.
    pub(crate) async fn recv(&self) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; 1024];
        let n = self.stream.read(&mut buf).await?;
        buf.truncate(n);
        Ok(buf)
    }

    /// The graceful `__aexit__`: say we are done writing, drain what the server still
    /// sends, then close.
    pub(crate) async fn close(self) -> io::Result<()> {
        self.stream.shutdown(Shutdown::Write)?;
        let mut buf = [0u8; 1024];
        while self.stream.read(&mut buf).await? != 0 {}
        Ok(()) // `self` drops here: Drop closes the socket
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // The synchronous half of `__aexit__`: dropping `stream` closes the descriptor.
        println!("client: connection to {} closed", self.addr);
    }
}

/// An echo server for the demo: serves `conns` connections, one at a time.
async fn echo_server(listener: TcpListener, conns: usize) -> io::Result<()> {
    for _ in 0..conns {
        let (stream, peer) = listener.accept().await?;
        let mut buf = [0u8; 1024];
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            stream.write_all(&buf[..n]).await?;
        }
        println!("server: {peer} left");
    }
    Ok(())
}

fn main() -> io::Result<()> {
    c10k::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = c10k::spawn(echo_server(listener, 2));

        // `async with Client(...) as f:` — the scope is the `with` block.
        {
            let f = Client::connect(addr).await?;
            f.send("abc").await?;
            let data = f.recv().await?;
            println!("client: received {:?}", String::from_utf8_lossy(&data));
            f.close().await?;
        }
        // Leaving early (here with `?` on an error we make up) still closes the connection.
        let early: io::Result<()> = async {
            let f = Client::connect(addr).await?;
            f.send("def").await?;
            Err(io::Error::other("the with-block failed"))?;
            f.close().await
        }
        .await;
        println!("with-block result: {early:?}");

        server.await.map_err(io::Error::other)?
    })
}
