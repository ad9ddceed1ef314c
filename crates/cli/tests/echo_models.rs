//! Every echo model answers correctly and survives hostile clients.

mod util;

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use util::{round_trip, stream_through, EchoServer};

#[test]
fn every_model_echoes_and_uppercases() -> io::Result<()> {
    for model in util::models() {
        let plain = EchoServer::start(model, &[])?;
        let mut a = plain.connect()?;
        let mut b = plain.connect()?;
        assert_eq!(
            round_trip(&mut a, b"hello, World 1\n")?,
            b"hello, World 1\n",
            "{model}"
        );
        assert_eq!(
            round_trip(&mut b, b"second client")?,
            b"second client",
            "{model}"
        );
        assert_eq!(round_trip(&mut a, b"again")?, b"again", "{model}");

        let upper = EchoServer::start(model, &["--upper"])?;
        let mut c = upper.connect()?;
        assert_eq!(
            round_trip(&mut c, b"hello, World 1\n")?,
            b"HELLO, WORLD 1\n",
            "{model}"
        );
    }
    Ok(())
}

#[test]
fn large_payloads_and_endless_lines_come_back_whole() -> io::Result<()> {
    // 4 MiB without a newline: more than any socket buffer, so the servers meet partial
    // writes and must keep the rest.
    let data: Vec<u8> = (0..4 * 1024 * 1024u32)
        .map(|i| b'a' + (i % 26) as u8)
        .collect();
    for model in util::models() {
        let server = EchoServer::start(model, &["--upper"])?;
        let stream = server.connect()?;
        let back = stream_through(&stream, data.clone())?;
        assert!(back == data.to_ascii_uppercase(), "{model}: echo differs");
    }
    Ok(())
}

#[test]
fn garbage_bytes_are_echoed_verbatim() -> io::Result<()> {
    let garbage: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    for model in util::models() {
        let server = EchoServer::start(model, &["--upper"])?;
        let stream = server.connect()?;
        let back = stream_through(&stream, garbage.clone())?;
        assert_eq!(back, garbage.to_ascii_uppercase(), "{model}");
    }
    Ok(())
}

#[test]
fn half_close_gets_the_echo_then_end_of_stream() -> io::Result<()> {
    for model in util::models() {
        let server = EchoServer::start(model, &[])?;
        let mut stream = server.connect()?;
        stream.write_all(b"last words")?;
        stream.shutdown(Shutdown::Write)?;
        let mut back = Vec::new();
        stream.read_to_end(&mut back)?;
        assert_eq!(back, b"last words", "{model}");
    }
    Ok(())
}

#[test]
fn a_reset_mid_write_does_not_hurt_the_others() -> io::Result<()> {
    for model in util::models() {
        let mut server = EchoServer::start(model, &[])?;
        let mut other = server.connect()?;
        for _ in 0..5 {
            let mut rude = server.connect()?;
            rude.write_all(&vec![b'x'; 256 * 1024])?;
            // SO_LINGER 0: close sends RST while the server still has data to echo.
            rustix::net::sockopt::set_socket_linger(&rude, Some(Duration::ZERO))?;
            drop(rude);
        }
        assert_eq!(
            round_trip(&mut other, b"still here")?,
            b"still here",
            "{model}"
        );
        assert!(server.alive(), "{model} died");
    }
    Ok(())
}

#[test]
fn a_client_that_never_reads_is_dropped_without_blocking_others() -> io::Result<()> {
    for model in util::models() {
        let mut server = EchoServer::start(model, &[])?;
        let hog = server.connect()?;
        let mut writer = hog.try_clone()?;
        // Writes until the server gives up on it; never reads a byte.
        let flood = std::thread::spawn(move || -> io::Result<()> {
            let chunk = vec![b'z'; 64 * 1024];
            for _ in 0..1024 {
                writer.write_all(&chunk)?;
            }
            Ok(())
        });
        let mut polite = server.connect()?;
        for i in 0..20 {
            let msg = format!("message {i}");
            assert_eq!(
                round_trip(&mut polite, msg.as_bytes())?,
                msg.as_bytes(),
                "{model}"
            );
        }
        let outcome = flood.join().expect("flood thread");
        // Dropped means reset (or a broken pipe), not our own write timing out: on uring a
        // dropped stream used to linger on its blocked send, so the peer saw nothing.
        match outcome {
            Ok(()) => panic!("{model}: the server kept accepting 64 MiB it could not send"),
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                ),
                "{model}: the hog was not dropped, its write ended with {e}"
            ),
        }
        assert_eq!(round_trip(&mut polite, b"after")?, b"after", "{model}");
        assert!(server.alive(), "{model} died");
        drop(hog);
    }
    Ok(())
}

#[test]
fn ctrl_c_finishes_in_flight_work_and_exits_zero() -> io::Result<()> {
    for model in util::models() {
        let server = EchoServer::start(model, &[])?;
        let mut stream = server.connect()?;
        assert_eq!(round_trip(&mut stream, b"before")?, b"before", "{model}");
        let (status, stderr) = server.interrupt()?;
        assert!(status.success(), "{model}: {status:?} {stderr}");
        assert!(stderr.contains("shutting down"), "{model}: {stderr}");
    }
    Ok(())
}

/// `--idle-timeout`: on every model, a silent client is disconnected, and one that keeps
/// talking (a round trip at least every 100 ms, paced by the wait on the silent one) is not.
#[test]
fn idle_clients_are_disconnected_and_active_ones_are_not() -> io::Result<()> {
    for model in util::models().into_iter().chain(["reactor"]) {
        let server = EchoServer::start(model, &["--idle-timeout", "1"])?;
        let mut silent = server.connect()?;
        silent.set_read_timeout(Some(Duration::from_millis(100)))?;
        let mut active = server.connect()?;
        assert_eq!(round_trip(&mut active, b"hello")?, b"hello", "{model}");
        let deadline = std::time::Instant::now() + util::LIMIT;
        let mut byte = [0u8; 1];
        let closed = loop {
            match silent.read(&mut byte) {
                Ok(0) => break true,
                Ok(_) => panic!("{model}: the silent client got data"),
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break true,
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::TimedOut => {}
                Err(e) => return Err(e),
            }
            if std::time::Instant::now() >= deadline {
                break false;
            }
            assert_eq!(round_trip(&mut active, b"ping")?, b"ping", "{model}");
        };
        assert!(closed, "{model}: the silent client was never disconnected");
        assert_eq!(
            round_trip(&mut active, b"still here")?,
            b"still here",
            "{model}"
        );
    }
    Ok(())
}
