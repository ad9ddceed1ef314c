//! Out of descriptors: accept backs off, the open connections keep being served, and once
//! descriptors come back the waiting connections are accepted (regression test for an
//! accept loop spinning on EMFILE).

mod util;

use std::io;

use util::{client, round_trip, EchoServer};

#[test]
fn accept_backs_off_when_out_of_descriptors_and_recovers() -> io::Result<()> {
    for model in util::models() {
        let mut server = EchoServer::start_with_fd_limit(model, 64)?;
        // More connections than the server has descriptors: the kernel completes them all
        // (backlog), the server can only accept some.
        let mut first: Vec<_> = (0..30)
            .map(|_| client(server.addr))
            .collect::<io::Result<_>>()?;
        for stream in &mut first {
            assert_eq!(round_trip(stream, b"early")?, b"early", "{model}");
        }
        let mut waiting: Vec<_> = (0..40)
            .map(|_| client(server.addr))
            .collect::<io::Result<_>>()?;
        // Synchronize on the server saying it ran out, not on time.
        server.wait_stderr("too many open files")?;
        // The accepted ones are still served while the server is out of descriptors.
        assert_eq!(round_trip(&mut first[0], b"busy")?, b"busy", "{model}");
        assert!(server.alive(), "{model} died");
        // Free descriptors: every waiting connection gets accepted and answered.
        first.truncate(1);
        for stream in &mut waiting {
            assert_eq!(round_trip(stream, b"late")?, b"late", "{model}");
        }
        assert_eq!(round_trip(&mut first[0], b"still")?, b"still", "{model}");
        drop(waiting);
        let (status, stderr) = server.interrupt()?;
        assert!(status.success(), "{model}: {status:?}");
        assert!(stderr.contains("pausing accepts"), "{model}: {stderr}");
    }
    Ok(())
}
