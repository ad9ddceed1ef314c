//! Blocking-style sockets on green threads, on every IO backend of the runtime.

use std::io::{self, Read, Write};
use std::time::Duration;

use c10k_green::net::{TcpListener, TcpStream, UdpSocket};
use c10k_green::{self as green, Hub};
use c10k_runtime::driver::Backend;

/// The backends this machine has (io_uring may be refused, e.g. under seccomp).
fn backends() -> Vec<Backend> {
    Backend::ALL
        .into_iter()
        .filter(|b| b.is_available())
        .collect()
}

/// Generous: each bounded test needs well under a second on an idle machine.
const LIMIT: Duration = Duration::from_secs(60);

fn on_hub<T: 'static>(backend: Backend, f: impl FnOnce() -> T + 'static) -> io::Result<T> {
    green::run_with(Hub::builder().backend(backend).stack_size(64 * 1024), f)
}

/// Runs `f` on its own thread and fails the test if it has not returned within `limit`: a
/// timeout that never fires would otherwise hang the test instead of failing it.
fn within<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(result) => result,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("still blocked after {limit:?}: the timeout did not fire")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread sends before it ends"),
        },
    }
}

/// A green-thread echo server and 100 green-thread clients on one hub, each client doing
/// 10 round trips: every read and write parks only its green thread.
#[test]
fn tcp_echo_with_green_clients_on_every_backend() -> io::Result<()> {
    for backend in backends() {
        let total = on_hub(backend, || -> io::Result<usize> {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            let server = green::spawn(move || -> io::Result<()> {
                for _ in 0..100 {
                    let (mut conn, _) = listener.accept()?;
                    green::spawn(move || -> io::Result<()> {
                        let mut buf = [0u8; 256];
                        loop {
                            let n = conn.read(&mut buf)?;
                            if n == 0 {
                                return Ok(());
                            }
                            conn.write_all(&buf[..n])?;
                        }
                    });
                }
                Ok(())
            });
            let clients: Vec<_> = (0..100)
                .map(|i| {
                    green::spawn(move || -> io::Result<usize> {
                        let mut s = TcpStream::connect(addr)?;
                        let mut got = 0;
                        for k in 0..10 {
                            let msg = format!("client {i} message {k}");
                            s.write_all(msg.as_bytes())?;
                            s.flush()?;
                            let mut reply = vec![0u8; msg.len()];
                            s.read_exact(&mut reply)?;
                            assert_eq!(reply, msg.as_bytes());
                            got += reply.len();
                        }
                        Ok(got)
                    })
                })
                .collect();
            let mut total = 0;
            for c in clients {
                total += c.join().expect("no panic")?;
            }
            server.join().expect("no panic")?;
            Ok(total)
        })??;
        let expected: usize = (0..100)
            .flat_map(|i| (0..10).map(move |k| format!("client {i} message {k}").len()))
            .sum();
        assert_eq!(total, expected, "backend {}", backend.name());
    }
    Ok(())
}

/// 10 000 green threads each blocked in `recv` on its own UDP socket, then woken by one
/// datagram each. (UDP keeps the test within the 20 000-descriptor limit: 10 001 sockets.)
#[test]
fn ten_thousand_green_threads_blocked_on_sockets_are_woken() -> io::Result<()> {
    const N: usize = 10_000;
    let backend = if Backend::Epoll.is_available() {
        Backend::Epoll
    } else {
        Backend::Poll
    };
    let sum = on_hub(backend, || -> io::Result<u64> {
        let (tx, rx) = std::sync::mpsc::channel::<std::net::SocketAddr>();
        let mut handles = Vec::with_capacity(N);
        for _ in 0..N {
            let tx = tx.clone();
            handles.push(green::spawn(move || -> io::Result<u64> {
                let sock = UdpSocket::bind("127.0.0.1:0")?;
                tx.send(sock.local_addr()?).expect("main alive");
                let mut buf = [0u8; 8];
                let n = sock.recv(&mut buf)?;
                assert_eq!(n, 8);
                Ok(u64::from_le_bytes(buf))
            }));
        }
        // Let every green thread bind and park in recv.
        let mut addrs = Vec::with_capacity(N);
        while addrs.len() < N {
            match rx.try_recv() {
                Ok(a) => addrs.push(a),
                Err(_) => green::sleep(Duration::ZERO),
            }
        }
        green::sleep(Duration::ZERO);
        assert!(handles.iter().all(|h| !h.is_dead()), "all parked in recv");
        let sender = UdpSocket::bind("127.0.0.1:0")?;
        for (i, a) in addrs.iter().enumerate() {
            sender.send_to(&(i as u64).to_le_bytes(), *a)?;
        }
        let mut sum = 0;
        for h in handles {
            sum += h.join().expect("no panic")?;
        }
        Ok(sum)
    })??;
    assert_eq!(sum, (0..N as u64).sum::<u64>());
    Ok(())
}

/// A green thread blocked in `read` does not stop the others: a timer-driven green thread
/// keeps ticking while the reader waits for a peer that writes only after the ticks.
#[test]
fn a_blocked_read_parks_only_its_green_thread() -> io::Result<()> {
    on_hub(Backend::auto(), || -> io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let ticks = std::rc::Rc::new(std::cell::Cell::new(0));
        let t = std::rc::Rc::clone(&ticks);
        let reader = green::spawn(move || -> io::Result<u32> {
            let (mut conn, _) = listener.accept()?;
            let mut b = [0u8; 1];
            conn.read_exact(&mut b)?;
            Ok(t.get())
        });
        let mut client = TcpStream::connect(addr)?;
        for _ in 0..5 {
            green::sleep(Duration::from_millis(1));
            ticks.set(ticks.get() + 1);
        }
        client.write_all(b"x")?;
        assert_eq!(reader.join().expect("no panic")?, 5);
        Ok(())
    })?
}

/// `set_read_timeout`: a read with no data fails with `TimedOut` after the timeout, on the
/// hub's timer; the stream stays usable.
#[test]
fn read_timeout_fails_with_timed_out() -> io::Result<()> {
    within(LIMIT, || {
        on_hub(Backend::auto(), || -> io::Result<()> {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let mut client = TcpStream::connect(listener.local_addr()?)?;
            let (server, _) = listener.accept()?;
            client.set_read_timeout(Some(Duration::from_millis(5)))?;
            let mut b = [0u8; 1];
            let err = client.read(&mut b).expect_err("nothing was sent");
            assert_eq!(err.kind(), io::ErrorKind::TimedOut);
            (&server).write_all(b"y")?;
            assert_eq!(client.read(&mut b)?, 1);
            assert!(client.set_read_timeout(Some(Duration::ZERO)).is_err());
            Ok(())
        })?
    })
}

/// `set_write_timeout`: a write that completes at once succeeds (it arms no timer), and
/// `write_all` to a peer that never reads fails with `TimedOut` once the socket buffers are
/// full and the timeout has passed; the hub keeps serving other green threads meanwhile.
#[test]
fn write_timeout_fails_with_timed_out_when_the_peer_never_reads() -> io::Result<()> {
    within(LIMIT, || {
        on_hub(Backend::auto(), || -> io::Result<()> {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let mut client = TcpStream::connect(listener.local_addr()?)?;
            let (_server, _) = listener.accept()?; // never read
            client.set_write_timeout(Some(Duration::from_millis(20)))?;
            client.write_all(b"fits at once")?;
            let ticker = green::spawn(|| {
                for _ in 0..3 {
                    green::sleep(Duration::from_millis(1));
                }
                "ticked"
            });
            // Far more than loopback's socket buffers hold, so the write must wait.
            let big = vec![7u8; 64 << 20];
            let err = client.write_all(&big).expect_err("the peer never reads");
            assert_eq!(err.kind(), io::ErrorKind::TimedOut);
            assert_eq!(ticker.join().ok(), Some("ticked"));
            Ok(())
        })?
    })
}
