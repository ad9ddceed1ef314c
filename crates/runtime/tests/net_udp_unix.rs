//! UDP and Unix domain sockets: round trips on both schedulers (every backend for the
//! echo), split halves, connected UDP, the readiness triad.

mod util;

use std::io;
use std::path::PathBuf;

use c10k_runtime::net::{UdpSocket, UnixListener, UnixStream};

/// A fresh directory for socket files, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> io::Result<TempDir> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "c10k-net-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p)?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn udp_echo_every_runtime() -> io::Result<()> {
    for (name, rt) in util::runtimes_all_backends()? {
        rt.block_on(async {
            let server = UdpSocket::bind("127.0.0.1:0").await?;
            let saddr = server.local_addr()?;
            let echo = c10k_runtime::spawn(async move {
                let mut buf = [0u8; 1500];
                for _ in 0..50 {
                    let (n, from) = server.recv_from(&mut buf).await?;
                    server.send_to(&buf[..n], from).await?;
                }
                Ok::<_, io::Error>(())
            });
            let client = UdpSocket::bind("127.0.0.1:0").await?;
            client.connect(saddr).await?;
            assert_eq!(client.peer_addr()?, saddr);
            let mut buf = [0u8; 1500];
            for i in 0..50u8 {
                // One datagram in flight at a time: loopback UDP does not drop it.
                client.send(&[i; 100]).await?;
                let n = client.recv(&mut buf).await?;
                assert_eq!(&buf[..n], &[i; 100][..], "{name}");
            }
            echo.await.map_err(io::Error::other)??;
            Ok::<_, io::Error>(())
        })?;
    }
    Ok(())
}

#[test]
fn udp_triad_and_peek() -> io::Result<()> {
    util::run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await?;
        let b = UdpSocket::bind("127.0.0.1:0").await?;
        let mut buf = [0u8; 64];
        assert_eq!(
            b.try_recv_from(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        a.writable().await?;
        a.try_send_to(b"dgram", b.local_addr()?)?;
        b.readable().await?;
        let (n, from) = b.peek_from(&mut buf).await?;
        assert_eq!((&buf[..n], from), (&b"dgram"[..], a.local_addr()?));
        // Still there after the peek.
        let (n, from) = b.recv_from(&mut buf).await?;
        assert_eq!((&buf[..n], from), (&b"dgram"[..], a.local_addr()?));
        Ok(())
    })
}

#[test]
fn unix_echo_both_schedulers() -> io::Result<()> {
    for (name, rt) in util::runtimes()? {
        let dir = TempDir::new("echo")?;
        let path = dir.0.join("s.sock");
        rt.block_on(async {
            let listener = UnixListener::bind(&path)?;
            assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
            let server = c10k_runtime::spawn(async move {
                let (s, _) = listener.accept().await?;
                let mut buf = [0u8; 256];
                loop {
                    let n = s.read(&mut buf).await?;
                    if n == 0 {
                        return Ok::<_, io::Error>(());
                    }
                    s.write_all(&buf[..n]).await?;
                }
            });
            let mut client = UnixStream::connect(&path).await?;
            let (rd, wr) = UnixStream::split(&mut client);
            for i in 0..20u8 {
                wr.write_all(&[i; 64]).await?;
                let mut back = [0u8; 64];
                rd.read_exact(&mut back).await?;
                assert_eq!(back, [i; 64], "{name}");
            }
            drop(client);
            server.await.map_err(io::Error::other)??;
            Ok::<_, io::Error>(())
        })?;
    }
    Ok(())
}

#[test]
fn unix_pair_owned_halves() -> io::Result<()> {
    util::run(async {
        let (a, b) = UnixStream::pair()?;
        let (ar, aw) = a.into_split();
        let writer = c10k_runtime::spawn(async move {
            aw.write_all(b"from a").await?;
            Ok::<_, io::Error>(aw) // keep it alive: dropping would shut down writing
        });
        let mut buf = [0u8; 6];
        b.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"from a");
        b.write_all(b"to a").await?;
        let mut back = [0u8; 4];
        ar.read_exact(&mut back).await?;
        assert_eq!(&back, b"to a");
        let aw = writer.await.map_err(io::Error::other)??;
        let a = ar.reunite(aw).map_err(io::Error::other)?;
        drop(a);
        let mut rest = [0u8; 1];
        assert_eq!(b.read(&mut rest).await?, 0);
        Ok(())
    })
}

#[test]
fn unix_bind_twice_is_addr_in_use() -> io::Result<()> {
    let dir = TempDir::new("twice")?;
    let path = dir.0.join("s.sock");
    util::run(async {
        let _l = UnixListener::bind(&path)?;
        let err = UnixListener::bind(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        let missing = UnixStream::connect(dir.0.join("missing.sock"))
            .await
            .unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        Ok(())
    })
}
