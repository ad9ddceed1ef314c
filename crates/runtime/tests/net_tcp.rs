//! TCP: echo round trips on every scheduler × backend, split halves, `connect_timeout`,
//! `incoming`, aborting a task blocked in `read`, name lookup.

mod util;

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use c10k_runtime::net::{TcpListener, TcpStream};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use futures_util::StreamExt;

/// Serves one echo connection per accepted client until it closes; returns the bytes echoed.
async fn echo_once(listener: TcpListener) -> io::Result<usize> {
    let (stream, _) = listener.accept().await?;
    let mut buf = [0u8; 4096];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n;
    }
}

#[test]
fn echo_round_trips_every_runtime() -> io::Result<()> {
    for (name, rt) in util::runtimes_all_backends()? {
        let echoed = rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let server = c10k_runtime::spawn(echo_once(listener));
            let client = TcpStream::connect(addr).await?;
            client.set_nodelay(true)?;
            assert!(client.nodelay()?);
            assert_eq!(client.peer_addr()?, addr);
            let mut buf = [0u8; 64];
            for i in 0..100u8 {
                let msg = [i; 64];
                client.write_all(&msg).await?;
                client.read_exact(&mut buf).await?;
                assert_eq!(buf, msg);
            }
            client.shutdown(Shutdown::Write)?;
            assert_eq!(
                client.read(&mut buf).await?,
                0,
                "end of file after the server closes"
            );
            server.await.map_err(io::Error::other)?
        })?;
        assert_eq!(echoed, 6400, "{name}");
    }
    Ok(())
}

#[test]
fn large_transfer_through_futures_io_traits() -> io::Result<()> {
    // 4 MiB each way: writes fill the socket buffers, so both the write back-pressure path
    // (short writes, WouldBlock) and the read path are exercised.
    for (name, rt) in util::runtimes()? {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let server = c10k_runtime::spawn(echo_once(listener));
            let mut client = TcpStream::connect(addr).await?;
            let data: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
            // Spelled out: with `AsyncReadExt` in scope, `client.split()` would pick its by-value,
            // lock-based `split` over ours.
            let (mut rd, mut wr) = TcpStream::split(&mut client);
            let send = async {
                wr.write_all(&data).await?;
                wr.close().await?; // FIN: the server stops echoing after the last byte
                Ok::<_, io::Error>(())
            };
            let recv = async {
                let mut back = Vec::new();
                rd.read_to_end(&mut back).await?;
                Ok::<_, io::Error>(back)
            };
            let (sent, back) = futures_util::future::join(send, recv).await;
            sent?;
            let back = back?;
            assert!(back == data, "{name}: echoed bytes differ");
            assert_eq!(server.await.map_err(io::Error::other)??, data.len());
            Ok::<_, io::Error>(())
        })?;
    }
    Ok(())
}

#[test]
fn owned_halves_in_two_tasks_and_reunite() -> io::Result<()> {
    for (name, rt) in util::runtimes()? {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let client = TcpStream::connect(addr).await?;
            let (server, _) = listener.accept().await?;
            let (rd, wr) = server.into_split();
            // A writer task and a reader task on the same socket at once.
            let writer = c10k_runtime::spawn(async move {
                for i in 0..50u8 {
                    wr.write_all(&[i; 100]).await?;
                }
                Ok::<_, io::Error>(wr)
            });
            let reader = c10k_runtime::spawn(async move {
                let mut buf = [0u8; 10];
                rd.read_exact(&mut buf).await?;
                Ok::<_, io::Error>((rd, buf))
            });
            client.write_all(b"0123456789").await?;
            let mut got = vec![0u8; 5000];
            client.read_exact(&mut got).await?;
            for (i, chunk) in got.chunks(100).enumerate() {
                assert!(chunk.iter().all(|&b| b == i as u8), "{name}: chunk {i}");
            }
            let wr = writer.await.map_err(io::Error::other)??;
            let (rd, buf) = reader.await.map_err(io::Error::other)??;
            assert_eq!(&buf, b"0123456789");
            let stream = rd.reunite(wr).map_err(io::Error::other)?;
            // Reunited: no shutdown happened, the stream still works both ways.
            stream.write_all(b"!").await?;
            let mut one = [0u8; 1];
            client.read_exact(&mut one).await?;
            assert_eq!(&one, b"!");
            Ok::<_, io::Error>(())
        })?;
    }
    Ok(())
}

#[test]
fn reunite_refuses_halves_of_different_streams() -> io::Result<()> {
    util::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let a = TcpStream::connect(addr).await?;
        let b = TcpStream::connect(addr).await?;
        let (ra, _wa) = a.into_split();
        let (_rb, wb) = b.into_split();
        let err = ra.reunite(wb).unwrap_err();
        assert!(err.to_string().contains("not from the same socket"));
        Ok(())
    })
}

#[test]
fn dropping_owned_write_half_sends_eof() -> io::Result<()> {
    util::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let client = TcpStream::connect(listener.local_addr()?).await?;
        let (server, _) = listener.accept().await?;
        let (rd, wr) = client.into_split();
        wr.write_all(b"bye").await?;
        drop(wr);
        let mut buf = Vec::new();
        (&server).read_to_end(&mut buf).await?;
        assert_eq!(buf, b"bye");
        // The read half still works after the write half is gone.
        server.write_all(b"ok").await?;
        let mut two = [0u8; 2];
        rd.read_exact(&mut two).await?;
        assert_eq!(&two, b"ok");
        Ok(())
    })
}

#[test]
fn incoming_yields_connections() -> io::Result<()> {
    util::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let clients = c10k_runtime::spawn(async move {
            let mut v = Vec::new();
            for _ in 0..3 {
                v.push(TcpStream::connect(addr).await?);
            }
            Ok::<_, io::Error>(v)
        });
        let accepted: Vec<TcpStream> = listener
            .incoming()
            .take(3)
            .map(|r| r.expect("accept"))
            .collect()
            .await;
        let clients = clients.await.map_err(io::Error::other)??;
        let mut peers: Vec<SocketAddr> = accepted
            .iter()
            .map(|s| s.peer_addr())
            .collect::<io::Result<_>>()?;
        let mut locals: Vec<SocketAddr> = clients
            .iter()
            .map(|s| s.local_addr())
            .collect::<io::Result<_>>()?;
        peers.sort();
        locals.sort();
        assert_eq!(peers, locals);
        Ok(())
    })
}

#[test]
fn connect_refused_is_reported() -> io::Result<()> {
    util::run(async {
        // Bind then drop: the port is (almost certainly) closed for the next instant.
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            l.local_addr()?
        };
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        Ok(())
    })
}

#[test]
fn connect_timeout_gives_up_on_a_full_backlog() -> io::Result<()> {
    util::run(async {
        // A listener with backlog 0 that never accepts: Linux queues backlog + 1 connections,
        // then drops further SYNs, so the next connect hangs (SYN retransmits after 1 s, 3 s).
        let fd = rustix::net::socket(
            rustix::net::AddressFamily::INET,
            rustix::net::SocketType::STREAM,
            None,
        )?;
        let any: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
        rustix::net::bind(&fd, &any)?;
        rustix::net::listen(&fd, 0)?;
        let addr = std::net::TcpListener::from(fd);
        let target = addr.local_addr()?;
        let mut kept = Vec::new();
        let mut timed_out = None;
        for _ in 0..16 {
            match TcpStream::connect_timeout(target, Duration::from_millis(200)).await {
                Ok(s) => kept.push(s),
                Err(e) => {
                    timed_out = Some(e);
                    break;
                }
            }
        }
        let err = timed_out.expect("a connect to a full backlog must time out");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        // The connections that got in stay open until here, keeping the backlog full.
        drop(kept);
        Ok(())
    })
}

#[test]
fn abort_task_blocked_in_read_releases_the_socket() -> io::Result<()> {
    for (name, rt) in util::runtimes_all_backends()? {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let client = TcpStream::connect(listener.local_addr()?).await?;
            let (server, _) = listener.accept().await?;
            let reader = c10k_runtime::spawn(async move {
                let mut buf = [0u8; 16];
                server.read(&mut buf).await
            });
            c10k_runtime::task::yield_now().await;
            reader.abort();
            let err = reader.await.unwrap_err();
            assert!(err.is_cancelled(), "{name}");
            // The aborted task owned the server socket: dropping its future deregistered and
            // closed it, so the client reads end of file (nothing leaked, nothing stuck).
            let mut buf = [0u8; 1];
            let n = c10k_runtime::time::timeout(Duration::from_secs(10), client.read(&mut buf))
                .await??;
            assert_eq!(n, 0, "{name}");
            Ok::<_, io::Error>(())
        })?;
    }
    Ok(())
}

#[test]
fn try_read_and_readiness_triad() -> io::Result<()> {
    util::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let client = TcpStream::connect(listener.local_addr()?).await?;
        let (server, _) = listener.accept().await?;
        let mut buf = [0u8; 8];
        // Nothing sent yet: try_read never waits.
        assert_eq!(
            server.try_read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        client.writable().await?;
        loop {
            match client.try_write(b"abc") {
                Ok(n) => {
                    assert_eq!(n, 3);
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => client.writable().await?,
                Err(e) => return Err(e),
            }
        }
        let n = loop {
            server.readable().await?;
            match server.try_read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        };
        assert_eq!(&buf[..n], b"abc");
        std::future::poll_fn(|cx| client.poll_write_ready(cx)).await?;
        Ok(())
    })
}

#[test]
fn peek_leaves_data_in_place() -> io::Result<()> {
    util::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let client = TcpStream::connect(listener.local_addr()?).await?;
        let (server, _) = listener.accept().await?;
        client.write_all(b"peek").await?;
        let mut buf = [0u8; 4];
        let n = server.peek(&mut buf).await?;
        assert!(n > 0 && buf[..n] == b"peek"[..n]);
        server.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"peek");
        Ok(())
    })
}

#[test]
fn connect_and_bind_resolve_host_names() -> io::Result<()> {
    util::run(async {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let addrs = c10k_runtime::net::lookup_host(format!("localhost:{port}")).await?;
        assert!(
            addrs
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == port),
            "{addrs:?}"
        );
        // "localhost" may resolve to ::1 first, where nothing listens: connect tries each.
        let client = TcpStream::connect(("localhost", port)).await?;
        let (server, _) = listener.accept().await?;
        assert_eq!(server.peer_addr()?, client.local_addr()?);
        let bad = c10k_runtime::net::lookup_host("no port here")
            .await
            .unwrap_err();
        assert!(!bad.to_string().is_empty());
        Ok(())
    })
}

#[test]
fn from_std_and_into_std() -> io::Result<()> {
    util::run(async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let listener = TcpListener::from_std(std_listener)?;
        let addr = listener.local_addr()?;
        let std_client = std::net::TcpStream::connect(addr)?;
        let client = TcpStream::from_std(std_client)?;
        let (server, _) = listener.accept().await?;
        client.write_all(b"x").await?;
        let mut b = [0u8; 1];
        server.read_exact(&mut b).await?;
        let std_server = server.into_std();
        assert_eq!(std_server.peer_addr()?, client.local_addr()?);
        let _ = listener.into_std();
        Ok(())
    })
}

#[test]
fn socket_types_are_send_and_sync() {
    // Compile-time guard: sockets and owned halves move between tasks and threads.
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TcpListener>();
    assert_send_sync::<TcpStream>();
    assert_send_sync::<c10k_runtime::net::TcpSocket>();
    assert_send_sync::<c10k_runtime::net::UdpSocket>();
    assert_send_sync::<c10k_runtime::net::UnixListener>();
    assert_send_sync::<c10k_runtime::net::UnixStream>();
    assert_send_sync::<c10k_runtime::net::tcp::split::OwnedReadHalf>();
    assert_send_sync::<c10k_runtime::net::tcp::split::OwnedWriteHalf>();
    assert_send_sync::<c10k_runtime::net::tcp::split::ReadHalf<'static>>();
    assert_send_sync::<c10k_runtime::signal::Signal>();
    assert_send_sync::<c10k_runtime::event_loop::RemoteHandle>();
    assert_send_sync::<c10k_runtime::event_loop::CallbackHandle>();
}
