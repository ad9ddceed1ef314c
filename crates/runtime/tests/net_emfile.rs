//! Regression test: `accept` under descriptor exhaustion (`EMFILE`) waits and recovers
//! instead of failing or spinning. A test binary of its own with a single test, because it
//! uses up every descriptor of the process for a moment (then gives them all back).

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::time::Duration;

use c10k_runtime::driver::Backend;
use c10k_runtime::net::TcpListener;
use c10k_runtime::Runtime;

/// Duplicates a descriptor until the process limit is hit. Bounded by the soft limit.
fn exhaust_descriptors() -> io::Result<Vec<OwnedFd>> {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(1 << 20);
    let base = OwnedFd::from(File::open("/dev/null")?);
    let mut held = Vec::new();
    for _ in 0..=limit {
        match base.try_clone() {
            Ok(fd) => held.push(fd),
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => {
                held.push(base);
                return Ok(held);
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("descriptor limit not reached"))
}

#[test]
fn accept_backs_off_on_emfile_and_recovers() -> io::Result<()> {
    for backend in [Backend::Epoll, Backend::Poll, Backend::Uring] {
        let rt = Runtime::builder()
            .current_thread()
            .backend(backend)
            .build()?;
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            // Queued in the backlog: the client is connected before the server accepts.
            let client = std::net::TcpStream::connect(addr)?;
            let accept = c10k_runtime::spawn(async move { listener.accept().await });

            let held = exhaust_descriptors()?;
            // Out of descriptors: accept must neither fail nor complete.
            c10k_runtime::time::sleep(Duration::from_millis(150)).await;
            assert!(
                !accept.is_finished(),
                "{backend}: accept returned while descriptors were exhausted"
            );
            // Free them: the back-off timer retries and the connection comes through.
            drop(held);
            let (stream, peer) = c10k_runtime::time::timeout(Duration::from_secs(20), accept)
                .await
                .map_err(|_| io::Error::other(format!("{backend}: accept did not recover")))?
                .map_err(io::Error::other)??;
            assert_eq!(peer, client.local_addr()?, "{backend}");
            stream.write_all(b"ok").await?;
            let mut buf = [0u8; 2];
            io::Read::read_exact(&mut &client, &mut buf)?;
            assert_eq!(&buf, b"ok");
            Ok::<_, io::Error>(())
        })?;
    }
    Ok(())
}
