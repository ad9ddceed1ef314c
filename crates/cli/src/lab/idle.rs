//! Memory per idle connection: open N connections, make each do one round trip (so the
//! server has surely accepted it and set up whatever it keeps per connection), then leave
//! them idle while the server's RSS is read.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Connections opened before their round trips are done, bounding the accept backlog.
const BATCH: usize = 100;

/// Opens `n` connections to `addr`, each having echoed one byte; they stay open until the
/// returned vector is dropped.
///
/// # Errors
///
/// A connect, write or read failure (all bounded by timeouts).
pub(crate) fn open(addr: SocketAddr, n: usize) -> io::Result<Vec<TcpStream>> {
    let mut streams = Vec::with_capacity(n);
    while streams.len() < n {
        let start = streams.len();
        let batch = BATCH.min(n - start);
        for _ in 0..batch {
            let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
            stream.set_read_timeout(Some(Duration::from_secs(10)))?;
            stream.set_write_timeout(Some(Duration::from_secs(10)))?;
            streams.push(stream);
        }
        for stream in &mut streams[start..] {
            stream.write_all(b"I")?;
        }
        for stream in &mut streams[start..] {
            let mut byte = [0u8; 1];
            stream.read_exact(&mut byte)?;
        }
    }
    Ok(streams)
}
