//! Regression test: a uring stream dropped with bytes its peer never reads must not keep
//! its descriptor forever (it lingers at most `Builder::uring_linger`, then resets).
//!
//! Alone in its binary: it counts the process's descriptors (`/proc/self/fd`).

mod util;

use std::io::{self, Read};
use std::time::{Duration, Instant};

use c10k_runtime::driver::Backend;
use c10k_runtime::net::TcpListener;
use c10k_runtime::Runtime;

fn open_fds() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/fd")?.count())
}

#[test]
fn dropped_stream_to_a_peer_that_never_reads_closes_after_linger() -> io::Result<()> {
    if !(Backend::Uring.is_available() || util::backend() == Backend::Uring) {
        eprintln!("note: io_uring unavailable here; skipped");
        return Ok(());
    }
    const CHUNK: usize = 16 * 1024;
    let rt = Runtime::builder()
        .current_thread()
        .backend(Backend::Uring)
        .uring_linger(Duration::from_millis(200))
        .uring_send_limit(1 << 20)
        .build()?;
    rt.block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await?;
        let before = open_fds()?;
        // A client with a tiny receive buffer that never reads.
        let sock = rustix::net::socket(
            rustix::net::AddressFamily::INET,
            rustix::net::SocketType::STREAM,
            None,
        )?;
        rustix::net::sockopt::set_socket_recv_buffer_size(&sock, 4096)?;
        rustix::net::connect(&sock, &l.local_addr()?)?;
        let mut client = std::net::TcpStream::from(sock);
        let (server, _) = l.accept().await?;
        rustix::net::sockopt::set_socket_send_buffer_size(&server, 4096)?;
        // Write until the stream's send limit (1 MiB): far more than the two small kernel
        // buffers hold, so the send can never complete.
        let chunk = vec![7u8; CHUNK];
        let mut written = 0;
        for _ in 0..1024 {
            match server.try_write(&chunk) {
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        assert!(written >= 1 << 20, "only {written} bytes accepted");
        drop(server);
        // The descriptor must go within the linger plus a few turns; allow 10 s.
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut now = open_fds()?;
        while now != before + 1 && Instant::now() < deadline {
            c10k_runtime::time::sleep(Duration::from_millis(10)).await;
            now = open_fds()?;
        }
        assert_eq!(
            now,
            before + 1,
            "the dropped stream's descriptor is still open (only the client's should be)"
        );
        // The connection was aborted, not flushed: the client gets less than was written.
        client.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut got = 0;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match client.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        assert!(got < written, "got {got} of {written}: nothing was dropped");
        Ok(())
    })
}
