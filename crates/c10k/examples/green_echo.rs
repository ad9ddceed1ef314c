//! The tutorials' gevent echo server (seed 001, "many sockets in one thread"): one green
//! thread per connection, written with blocking `read`/`write` on
//! [`c10k::green::net`], all on one OS thread.
//!
//! `cargo run --release -p c10k --example green_echo -- 127.0.0.1:8000`, then drive it with
//! `c10k load echo --target 127.0.0.1:8000 -c 1000 -d 10`.

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use c10k::green::{self, net::TcpListener, net::TcpStream};

/// `handle_request`: echo until the client closes.
pub(crate) fn handle(mut conn: TcpStream) -> io::Result<u64> {
    let mut buf = [0u8; 1024];
    let mut total = 0;
    loop {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            return Ok(total); // `if not data`: the client closed
        }
        conn.write_all(&buf[..n])?;
        total += n as u64;
    }
}

/// `server(port)`: accept forever (or `max` connections), a green thread each. Calls
/// `bound` with the address once listening.
pub(crate) fn server(
    addr: SocketAddr,
    max: Option<usize>,
    bound: impl FnOnce(SocketAddr),
) -> io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    bound(listener.local_addr()?);
    let mut handlers = Vec::new();
    let mut accepted = 0;
    while max.is_none_or(|m| accepted < m) {
        let (conn, _peer) = listener.accept()?;
        accepted += 1;
        handlers.push(green::spawn(move || handle(conn)));
        handlers.retain(|h| !h.is_dead());
    }
    green::joinall(&handlers, None);
    Ok(())
}

fn main() -> io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".into())
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("address: {e}")))?;
    green::run(move || server(addr, None, |a| println!("listening on {a}")))?
}
