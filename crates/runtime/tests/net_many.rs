//! 5000 concurrent TCP echo connections in one process (10000 descriptors: under the
//! 20000 limit, so this binary holds only this test's sockets), on poll and epoll; and the
//! select backend refusing descriptors beyond `FD_SETSIZE` with its clear error.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use c10k_runtime::driver::Backend;
use c10k_runtime::net::{TcpListener, TcpStream};
use c10k_runtime::Runtime;

const CONNS: usize = 5000;
/// Clients connect in waves so the 4096-deep backlog never overflows (a dropped SYN would
/// only cost a one-second retransmit, but the test stays quick).
const WAVE: usize = 500;

/// Serializes the tests of this binary. The select test needs small descriptor numbers:
/// run beside the 5000-connection test, it could find the lowest 1024 numbers taken, so
/// that its own runtime or listener is refused for being beyond `FD_SETSIZE`.
static DESCRIPTORS: Mutex<()> = Mutex::new(());

fn descriptors_exclusive() -> MutexGuard<'static, ()> {
    // A panic in the other test poisoned the lock, not the descriptor table.
    DESCRIPTORS.lock().unwrap_or_else(|e| e.into_inner())
}

async fn run_many() -> io::Result<usize> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let served = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let s2 = Arc::clone(&served);
    let server = c10k_runtime::spawn(async move {
        let mut conns = Vec::with_capacity(CONNS);
        for _ in 0..CONNS {
            let (stream, _) = listener.accept().await?;
            let served = Arc::clone(&s2);
            conns.push(c10k_runtime::spawn(async move {
                let mut buf = [0u8; 64];
                loop {
                    let n = stream.read(&mut buf).await?;
                    if n == 0 {
                        return Ok::<_, io::Error>(());
                    }
                    stream.write_all(&buf[..n]).await?;
                    served.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }));
        }
        for c in conns {
            c.await.map_err(io::Error::other)??;
        }
        Ok::<_, io::Error>(())
    });

    // Phase 1: open every connection with one echo each, keeping them all open.
    let mut clients = Vec::with_capacity(CONNS);
    for wave in 0..CONNS / WAVE {
        let tasks: Vec<_> = (0..WAVE)
            .map(|i| {
                let id = (wave * WAVE + i) as u32;
                c10k_runtime::spawn(async move {
                    let s = TcpStream::connect(addr).await?;
                    let msg = [id.to_le_bytes(); 16].concat();
                    s.write_all(&msg).await?;
                    let mut back = [0u8; 64];
                    s.read_exact(&mut back).await?;
                    assert_eq!(&back[..], &msg[..]);
                    Ok::<_, io::Error>(s)
                })
            })
            .collect();
        for t in tasks {
            clients.push(t.await.map_err(io::Error::other)??);
        }
    }
    // Phase 2: all 5000 open at once, one more echo on each, concurrently.
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|s| {
            c10k_runtime::spawn(async move {
                s.write_all(&[7u8; 64]).await?;
                let mut back = [0u8; 64];
                s.read_exact(&mut back).await?;
                assert_eq!(back, [7u8; 64]);
                Ok::<_, io::Error>(()) // dropping `s` closes it: its server task ends
            })
        })
        .collect();
    for t in tasks {
        t.await.map_err(io::Error::other)??;
    }
    server.await.map_err(io::Error::other)??;
    Ok(served.load(std::sync::atomic::Ordering::Relaxed))
}

#[test]
fn five_thousand_echo_connections_poll_epoll_and_uring() -> io::Result<()> {
    let _fds = descriptors_exclusive();
    let runtimes = [
        (
            "current_thread/epoll",
            Runtime::builder()
                .current_thread()
                .backend(Backend::Epoll)
                .build()?,
        ),
        (
            "current_thread/poll",
            Runtime::builder()
                .current_thread()
                .backend(Backend::Poll)
                .build()?,
        ),
        (
            "multi_thread/epoll",
            Runtime::builder()
                .multi_thread()
                .worker_threads(2)
                .backend(Backend::Epoll)
                .build()?,
        ),
        (
            "current_thread/uring",
            Runtime::builder()
                .current_thread()
                .backend(Backend::Uring)
                .build()?,
        ),
        (
            "multi_thread/uring",
            Runtime::builder()
                .multi_thread()
                .worker_threads(2)
                .backend(Backend::Uring)
                .build()?,
        ),
    ];
    for (name, rt) in runtimes {
        let served = rt.block_on(async {
            c10k_runtime::time::timeout(Duration::from_secs(120), run_many())
                .await
                .map_err(|_| {
                    io::Error::other(format!("{name}: 5000 connections did not finish in 120 s"))
                })?
        })?;
        assert_eq!(served, 2 * CONNS, "{name}");
    }
    Ok(())
}

#[test]
fn select_refuses_descriptors_beyond_fd_setsize() -> io::Result<()> {
    let _fds = descriptors_exclusive();
    let rt = Runtime::builder()
        .current_thread()
        .backend(Backend::Select)
        .build()?;
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut held = Vec::new();
        // Each connect creates one descriptor (the accepted side stays in the backlog).
        for _ in 0..2048 {
            match TcpStream::connect(addr).await {
                Ok(s) => held.push(s),
                Err(e) => {
                    assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
                    let msg = e.to_string();
                    assert!(
                        msg.contains("FD_SETSIZE") && msg.contains("poll or epoll"),
                        "{msg}"
                    );
                    assert!(held.len() < 1024);
                    return Ok(());
                }
            }
        }
        Err(io::Error::other(
            "select accepted descriptors beyond FD_SETSIZE",
        ))
    })
}
