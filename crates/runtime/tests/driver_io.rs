//! The IO driver through `Registration`, on every selector backend and both schedulers:
//! readiness, the read protocol, aborting a task parked on IO, wakes from foreign threads.

mod util;

use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use c10k_runtime::driver::{Interest, Registration};

fn pair() -> io::Result<(UnixStream, UnixStream)> {
    let (a, b) = UnixStream::pair()?;
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    Ok((a, b))
}

/// An async stream over a registered socket, the way the net types use the driver.
struct Stream {
    reg: Registration,
    sock: UnixStream,
}

impl Stream {
    fn new(sock: UnixStream) -> io::Result<Stream> {
        let reg = Registration::new(sock.as_raw_fd(), Interest::READABLE | Interest::WRITABLE)?;
        Ok(Stream { reg, sock })
    }

    async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| {
            loop {
                let ev = std::task::ready!(self.reg.poll_read_ready(cx))?;
                match (&self.sock).read(buf) {
                    Ok(n) => {
                        if n > 0 && n < buf.len() {
                            // Short read: drained (see the driver docs).
                            self.reg.clear_readiness(ev);
                        }
                        return std::task::Poll::Ready(Ok(n));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.reg.clear_readiness(ev),
                    Err(e) => return std::task::Poll::Ready(Err(e)),
                }
            }
        })
        .await
    }

    async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = poll_fn(|cx| self.reg.poll_write_io(cx, || (&self.sock).write(buf))).await?;
            buf = &buf[n..];
        }
        Ok(())
    }
}

#[test]
fn echo_over_socketpair_every_backend() -> io::Result<()> {
    for (name, rt) in util::runtimes_all_backends()? {
        rt.block_on(async {
            let (a, b) = pair()?;
            let server = c10k_runtime::spawn(async move {
                let s = Stream::new(b)?;
                let mut buf = [0u8; 64];
                loop {
                    let n = s.read(&mut buf).await?;
                    if n == 0 {
                        return Ok::<_, io::Error>(());
                    }
                    s.write_all(&buf[..n]).await?;
                }
            });
            let c = Stream::new(a)?;
            let mut buf = [0u8; 64];
            for i in 0..200u32 {
                let msg = format!("message {i}");
                c.write_all(msg.as_bytes()).await?;
                let mut got = 0;
                while got < msg.len() {
                    let n = c.read(&mut buf[got..]).await?;
                    assert!(n > 0, "{name}: early EOF");
                    got += n;
                }
                assert_eq!(&buf[..got], msg.as_bytes(), "{name}");
            }
            drop(c); // closes our end: the server reads EOF
            server.await.unwrap()
        })?;
    }
    Ok(())
}

#[test]
fn large_transfer_hits_would_block_both_ways() -> io::Result<()> {
    for (name, rt) in util::runtimes_all_backends()? {
        rt.block_on(async {
            let (a, b) = pair()?;
            const TOTAL: usize = 4 << 20;
            let writer = c10k_runtime::spawn(async move {
                let s = Stream::new(a)?;
                let chunk = vec![7u8; 64 * 1024];
                let mut sent = 0;
                while sent < TOTAL {
                    s.write_all(&chunk).await?;
                    sent += chunk.len();
                }
                Ok::<_, io::Error>(())
            });
            let r = Stream::new(b)?;
            let mut buf = vec![0u8; 100_000];
            let mut got = 0;
            while got < TOTAL {
                let n = r.read(&mut buf).await?;
                assert!(n > 0, "{name}");
                assert!(buf[..n].iter().all(|&x| x == 7));
                got += n;
            }
            writer.await.unwrap()
        })?;
    }
    Ok(())
}

#[test]
fn abort_a_task_waiting_on_io() -> io::Result<()> {
    for (name, rt) in util::runtimes_all_backends()? {
        rt.block_on(async {
            let (a, _b) = pair()?;
            let (tx, rx) = std::sync::mpsc::channel();
            let h = c10k_runtime::spawn(async move {
                let s = Stream::new(a)?;
                let mut buf = [0u8; 8];
                tx.send(()).unwrap();
                s.read(&mut buf).await // never readable: `_b` writes nothing
            });
            while rx.try_recv().is_err() {
                c10k_runtime::task::yield_now().await;
            }
            h.abort();
            let err = h.await.unwrap_err();
            assert!(err.is_cancelled(), "{name}: {err:?}");
            Ok::<_, io::Error>(())
        })?;
    }
    Ok(())
}

#[test]
fn wake_from_a_foreign_thread() -> io::Result<()> {
    for (name, rt) in util::runtimes()? {
        rt.block_on(async {
            // A waker handed to a plain thread, which wakes the task after the task parked.
            let slot: Arc<std::sync::Mutex<Option<std::task::Waker>>> = Arc::default();
            let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let (s2, f2) = (Arc::clone(&slot), Arc::clone(&flag));
            let task = c10k_runtime::spawn(async move {
                poll_fn(|cx| {
                    if f2.load(std::sync::atomic::Ordering::SeqCst) {
                        return std::task::Poll::Ready(());
                    }
                    *s2.lock().unwrap() = Some(cx.waker().clone());
                    std::task::Poll::Pending
                })
                .await;
                "woken"
            });
            let waker_thread = std::thread::spawn(move || loop {
                if let Some(w) = slot.lock().unwrap().take() {
                    flag.store(true, std::sync::atomic::Ordering::SeqCst);
                    w.wake();
                    return;
                }
                std::thread::yield_now();
            });
            assert_eq!(task.await.unwrap(), "woken", "{name}");
            waker_thread.join().unwrap();
        });
    }
    Ok(())
}

#[test]
fn registration_outside_runtime_is_an_error() -> io::Result<()> {
    let (a, _b) = pair()?;
    let err = Registration::new(a.as_raw_fd(), Interest::READABLE).unwrap_err();
    assert!(err.to_string().contains("inside a c10k runtime"), "{err}");
    Ok(())
}

#[test]
fn io_after_shutdown_reports_an_error() -> io::Result<()> {
    let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    let (a, _b) = pair()?;
    let s = rt.block_on(async { Stream::new(a) })?;
    drop(rt);
    let err = futures_util::FutureExt::now_or_never(s.read(&mut [0u8; 4]))
        .expect("ready at once")
        .unwrap_err();
    assert!(err.to_string().contains("shut down"), "{err}");
    Ok(())
}

#[test]
fn many_pairs_across_workers() -> io::Result<()> {
    // Registrations are spread over the workers' selectors; tasks migrate by stealing.
    for backend in c10k_runtime::driver::Backend::ALL {
        let rt = c10k_runtime::Runtime::builder()
            .multi_thread()
            .worker_threads(4)
            .backend(backend)
            .build()?;
        rt.block_on(async {
            let mut set = c10k_runtime::task::JoinSet::new();
            for p in 0..20u32 {
                set.spawn(async move {
                    let (a, b) = pair()?;
                    let echo = c10k_runtime::spawn(async move {
                        let s = Stream::new(b)?;
                        let mut buf = [0u8; 32];
                        loop {
                            let n = s.read(&mut buf).await?;
                            if n == 0 {
                                return Ok::<_, io::Error>(());
                            }
                            s.write_all(&buf[..n]).await?;
                        }
                    });
                    let c = Stream::new(a)?;
                    let mut buf = [0u8; 32];
                    for i in 0..100u32 {
                        let msg = (p * 1000 + i).to_le_bytes();
                        c.write_all(&msg).await?;
                        let mut got = 0;
                        while got < 4 {
                            let n = c.read(&mut buf[got..4]).await?;
                            assert!(n > 0);
                            got += n;
                        }
                        assert_eq!(buf[..4], msg);
                    }
                    drop(c);
                    echo.await.unwrap()
                });
            }
            while let Some(r) = set.join_next().await {
                r.unwrap()?;
            }
            Ok::<_, io::Error>(())
        })
        .map_err(|e| io::Error::other(format!("{backend}: {e}")))?;
    }
    Ok(())
}
