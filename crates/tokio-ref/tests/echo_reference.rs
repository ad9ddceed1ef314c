//! The reference server echoes, upper-cases with `--upper`, and exits on Ctrl-C.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn round_trip(addr: &str, data: &[u8]) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.write_all(data)?;
    let mut back = vec![0u8; data.len()];
    stream.read_exact(&mut back)?;
    Ok(back)
}

#[test]
fn echoes_uppercases_and_stops_on_sigint() -> io::Result<()> {
    for (args, expect) in [
        (&[][..], &b"Hello, tokio\n"[..]),
        (&["--upper", "--threads", "2"][..], b"HELLO, TOKIO\n"),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_c10k-tokio-echo"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
        let addr = line.trim().to_owned();
        let result = round_trip(&addr, b"Hello, tokio\n");
        // Ctrl-C, then a bounded wait; killed (by its own PID) if it does not exit.
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if Instant::now() > deadline {
                child.kill()?;
                child.wait()?;
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(result?, expect);
        assert!(status.is_some_and(|s| s.success()), "{status:?}");
    }
    Ok(())
}
