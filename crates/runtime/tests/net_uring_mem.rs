//! The memory of the io_uring backend: the provided buffer group starts small and grows
//! when receives run dry (`ENOBUFS`), up to `Builder::uring_buffers`.

mod util;

use std::io;

use c10k_runtime::driver::Backend;
use c10k_runtime::net::{TcpListener, TcpStream};
use c10k_runtime::task::yield_now;
use c10k_runtime::Runtime;

#[test]
fn more_receivers_than_the_initial_pool_grow_it_and_lose_nothing() -> io::Result<()> {
    const CONNS: usize = 16;
    const BYTES: usize = 8 * 1024;
    const INITIAL: u16 = 4;
    if !(Backend::Uring.is_available() || util::backend() == Backend::Uring) {
        eprintln!("note: io_uring unavailable here; skipped");
        return Ok(());
    }
    // 4 buffers of 256 bytes at first, up to 256 of them, for 16 receivers of 8 KiB.
    let rt = Runtime::builder()
        .current_thread()
        .backend(Backend::Uring)
        .uring_buffers(256, 256)
        .uring_initial_buffers(INITIAL)
        .uring_stream_buffers(2)
        .build()?;
    rt.block_on(async {
        let h = c10k_runtime::Handle::current();
        assert_eq!(h.uring_buffers(), Some((INITIAL.into(), INITIAL.into())));
        let l = TcpListener::bind("127.0.0.1:0").await?;
        let mut readers = Vec::new();
        let mut clients = Vec::new();
        for i in 0..CONNS {
            let client = TcpStream::connect(l.local_addr()?).await?;
            let (server, _) = l.accept().await?;
            readers.push(c10k_runtime::spawn(async move {
                let mut got = Vec::with_capacity(BYTES);
                let mut buf = [0u8; 100];
                while got.len() < BYTES {
                    match server.read(&mut buf).await? {
                        0 => break,
                        n => got.extend_from_slice(&buf[..n]),
                    }
                }
                Ok::<_, io::Error>((i, got))
            }));
            clients.push(client);
        }
        yield_now().await; // every receiver armed before any data arrives
        for (i, c) in clients.iter().enumerate() {
            c.write_all(&vec![i as u8; BYTES]).await?;
        }
        for r in readers {
            let (i, got) = r.await.map_err(io::Error::other)??;
            assert_eq!(got.len(), BYTES, "connection {i}");
            assert!(
                got.iter().all(|&b| b == i as u8),
                "connection {i}: wrong bytes"
            );
        }
        let (_, total) = h.uring_buffers().expect("a uring runtime");
        assert!(
            total > usize::from(INITIAL) && total <= 256,
            "the group did not grow: {total} buffers"
        );
        Ok(())
    })
}
