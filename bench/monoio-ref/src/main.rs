//! A monoio echo server, written like `c10k-tokio-ref`'s: one task per connection, a
//! 1 KiB buffer, read then write back everything read. monoio's reads and writes are
//! owned-buffer operations on io_uring (one `recv` and one `send` SQE per request,
//! submitted in a batch when the thread parks).
//!
//! Usage: `c10k-monoio-ref [IP:PORT]` (default 127.0.0.1:7103); SIGTERM ends it (a
//! background job keeps SIGINT ignored). `MONOIO_TASKRUN` picks the ring's setup (below),
//! `MONOIO_ENTRIES` its size (default 4096).
//!
//! Not in the project's workspace (it is its own), so `cargo test --workspace` and CI do not
//! build it. Side by side with tokio, as `bench/runs/2026-12-07-monoio/` measured it:
//!
//! ```text
//! cargo build --release --manifest-path bench/monoio-ref/Cargo.toml
//! MONOIO_TASKRUN=coop SERVER=bench/monoio-ref/target/release/c10k-monoio-ref \
//!     bench/pair.sh target/release/c10k /tmp/monoio-pair
//! ```

use monoio::buf::IoBuf;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::{TcpListener, TcpStream};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7103".to_string());
    let entries = std::env::var("MONOIO_ENTRIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4096);
    // MONOIO_TASKRUN=coop: COOP_TASKRUN; =defer: SINGLE_ISSUER and DEFER_TASKRUN too (what
    // c10k's ring uses); unset: monoio's default setup.
    let mut urb = io_uring::IoUring::builder();
    match std::env::var("MONOIO_TASKRUN").as_deref() {
        Ok("coop") => {
            urb.setup_coop_taskrun();
        }
        Ok("defer") => {
            urb.setup_coop_taskrun()
                .setup_single_issuer()
                .setup_defer_taskrun();
        }
        Ok(other) => {
            eprintln!("c10k-monoio-ref: MONOIO_TASKRUN must be coop or defer, not {other:?}");
            std::process::exit(2);
        }
        Err(_) => {}
    }
    let mut rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .with_entries(entries)
        .uring_builder(urb)
        .enable_timer()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(addr.as_str())?;
        loop {
            // As the tokio reference: a failed accept (EMFILE) is reported, and retried after
            // a pause.
            match listener.accept().await {
                Ok((stream, _)) => {
                    monoio::spawn(handle(stream));
                }
                Err(e) => {
                    eprintln!("c10k-monoio-ref: accept: {e}");
                    monoio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    })
}

async fn handle(mut stream: TcpStream) {
    let mut buf = vec![0u8; 1024];
    loop {
        let (res, b) = stream.read(buf).await;
        let n = match res {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let (res, b) = stream.write_all(b.slice(..n)).await;
        buf = b.into_inner();
        if res.is_err() {
            return;
        }
    }
}
