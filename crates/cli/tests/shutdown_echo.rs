//! The echo models' one shutdown path (`c10k::shutdown::Shutdown`): the first SIGINT stops
//! accepting and lets the work in flight finish, then the server exits 0; a second SIGINT
//! during the drain exits 130 at once. Every wait is bounded.
//!
//! The second SIGINT is tested in `shutdown_http_chat.rs`, where the server deterministically
//! holds work in flight (an HTTP request half sent). An echo's output in flight mostly sits
//! in the kernel's send buffer (autotuned to megabytes on loopback), which the server no
//! longer holds, and a `threads` connection blocked in its write was seen to end early once
//! its read side was shut down, so no echo model holds work in flight for sure. The library's own tests
//! (`crates/runtime/tests/shutdown_signals.rs`) cover both listeners (the runtime task of the
//! runtime models, the thread of the others) with a guard held on purpose.

mod util;

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::Child;

use util::{EchoServer, LIMIT};

/// Every echo model.
const ECHO_MODELS: [&str; 8] = [
    "threads",
    "nonblocking",
    "select",
    "poll",
    "epoll",
    "reactor",
    "sigio",
    "green",
];

fn sigint(child: &Child) -> io::Result<()> {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::INT)?;
    Ok(())
}

/// A payload that tells its bytes apart.
fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A client sends a payload and half-closes; once the first byte of its echo came back (so
/// the server read the whole payload: it fits in one read of every model and travels as one
/// loopback segment), Ctrl-C arrives. The server must deliver the rest of the echo, close in
/// order, and exit 0.
///
/// Regression (flaky before): with 128 KiB and a probe on another connection as the only
/// synchronization, SIGINT could arrive before a `threads` connection read everything, and
/// the test saw a short echo or a reset; and the busy client stayed open while the server
/// lingered for it, so one run in a few waited the whole grace period.
#[test]
fn echo_models_finish_the_echo_in_flight_then_exit_zero() -> io::Result<()> {
    for model in ECHO_MODELS {
        one_model_finishes_in_flight(model)
            .map_err(|e| io::Error::new(e.kind(), format!("{model}: {e}")))?;
    }
    Ok(())
}

fn one_model_finishes_in_flight(model: &str) -> io::Result<()> {
    let mut server = EchoServer::start(model, &["--grace", "60"])?;
    let idle = server.connect()?;
    let mut busy = server.connect()?;
    let data = payload(4 * 1024);
    busy.write_all(&data)?;
    busy.shutdown(Shutdown::Write)?;
    let mut back = vec![0u8; 1];
    busy.read_exact(&mut back)?;
    sigint(&server.child)?;
    server.wait_stderr("shutting down")?;
    busy.read_to_end(&mut back)?;
    assert!(
        back == data,
        "{model}: {} of {} bytes",
        back.len(),
        data.len()
    );
    drop(busy);
    let status = util::wait_bounded(&mut server.child, LIMIT)?;
    assert_eq!(status.code(), Some(0), "{model}");
    // New connections are refused once the listener closed.
    assert!(TcpStream::connect(server.addr).is_err(), "{model}");
    drop(idle);
    Ok(())
}

/// Regression: on Ctrl-C the `threads` model shut the read side of every connection down,
/// so a thread blocked writing an echo ended early and the client was reset (2.8 of 8.4 MB
/// delivered). A client that sends without reading until the server's thread is stuck in
/// its write, then reads after SIGINT, must get the echo of what the server read, then an
/// end of stream (no reset); once it closes, the server exits 0.
#[test]
fn threads_model_ends_a_connection_mid_transfer_in_order() -> io::Result<()> {
    use rustix::event::{poll, PollFd, PollFlags};
    let mut server = EchoServer::start("threads", &["--grace", "60"])?;
    let mut client = server.connect()?;
    client.set_nonblocking(true)?;
    let data = payload(64 * 1024 * 256);
    let mut sent = 0;
    // Until our socket stays unwritable for a second: the server's thread is stuck in its
    // write (bounded: 16 MiB at most, the buffers hold a few).
    while sent < data.len() {
        match (&client).write(&data[sent..(sent + 64 * 1024).min(data.len())]) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let mut fds = [PollFd::new(&client, PollFlags::OUT)];
                let second = rustix::time::Timespec {
                    tv_sec: 1,
                    tv_nsec: 0,
                };
                if poll(&mut fds, Some(&second))? == 0 {
                    break;
                }
            }
            Err(e) => return Err(e),
        }
    }
    assert!(
        sent < data.len(),
        "the server read 16 MiB it could not send"
    );
    sigint(&server.child)?;
    server.wait_stderr("shutting down")?;
    client.set_nonblocking(false)?;
    let mut back = Vec::new();
    client.read_to_end(&mut back)?; // a reset fails here
    assert!(!back.is_empty());
    assert!(back.len() <= sent);
    assert!(
        back == data[..back.len()],
        "the echo is a prefix of what was sent"
    );
    drop(client);
    let status = util::wait_bounded(&mut server.child, LIMIT)?;
    assert_eq!(status.code(), Some(0));
    Ok(())
}
