//! GET some URLs at once with one client, and print each one's status, final URL, size and
//! `Content-Type`:
//!
//! ```text
//! cargo run -p c10k-http-client --example get -- http://127.0.0.1:8080/ https://example.com/
//! ```
//!
//! Without URLs, it starts a small server on loopback and gets three pages from it (one
//! redirects, one is chunked), so that it runs anywhere:
//!
//! ```text
//! cargo run -p c10k-http-client --example get
//! ```
//!
//! The exit code is 1 when a URL failed.

use std::time::Duration;

use c10k_http_client::Client;
use c10k_runtime::net::{TcpListener, TcpStream};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut urls: Vec<String> = std::env::args().skip(1).collect();
    let failed = c10k_runtime::run(async move {
        if urls.is_empty() {
            let addr = demo_server().await?;
            urls = ["/", "/old", "/chunked"]
                .iter()
                .map(|path| format!("http://{addr}{path}"))
                .collect();
        }
        let client = Client::builder().timeout(Duration::from_secs(10)).build();
        // One task per URL; the client's pool is shared by all of them.
        let tasks: Vec<_> = urls
            .into_iter()
            .map(|url| {
                let client = client.clone();
                c10k_runtime::spawn(async move {
                    let mut response = client.get(&url).await?;
                    let mut size = 0;
                    while let Some(piece) = response.chunk().await? {
                        size += piece.len();
                    }
                    let kind = response.headers().get_str("content-type").unwrap_or("-");
                    println!(
                        "{} {} {size} bytes {kind}",
                        response.status(),
                        response.url()
                    );
                    Ok::<_, c10k_http_client::Error>(())
                })
            })
            .collect();
        let mut failed = false;
        for task in tasks {
            if let Err(e) = task.await? {
                eprintln!("get: {e}");
                failed = true;
            }
        }
        Ok::<_, Box<dyn std::error::Error>>(failed)
    })?;
    if failed {
        std::process::exit(1);
    }
    Ok(())
}

/// A server on loopback for the demo: `/` is a page, `/old` redirects to it, `/chunked` is
/// sent in chunks.
async fn demo_server() -> std::io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // Detached: the demo's server ends with the runtime.
    drop(c10k_runtime::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(c10k_runtime::spawn(answer(stream)));
        }
    }));
    Ok(addr)
}

/// Answers the requests of one connection until the client closes it.
async fn answer(stream: TcpStream) -> std::io::Result<()> {
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    loop {
        let Some(end) = buf[..len].windows(4).position(|w| w == b"\r\n\r\n") else {
            if len == buf.len() {
                return Ok(()); // a head this demo does not expect
            }
            let n = stream.read(&mut buf[len..]).await?;
            if n == 0 {
                return Ok(());
            }
            len += n;
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.copy_within(end + 4..len, 0);
        len -= end + 4;
        let reply: &[u8] = match head.split(' ').nth(1) {
            Some("/") => b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 23\r\n\r\n<p>hello from c10k</p>\n",
            Some("/old") => b"HTTP/1.1 301 Moved Permanently\r\nLocation: /\r\nContent-Length: 0\r\n\r\n",
            Some("/chunked") => b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nchunks\r\n4\r\n too\r\n0\r\n\r\n",
            _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        };
        stream.write_all(reply).await?;
    }
}
