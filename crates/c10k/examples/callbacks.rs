//! The tutorials' callback style on the low-level event loop (asyncio's `call_soon`,
//! `call_later`, `add_reader`): a socket pair where one side is watched by a reader callback,
//! with timers driving the writes. Everything runs on one thread and one selector, together
//! with an ordinary task.
//!
//! `cargo run -p c10k --example callbacks`

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use c10k::event_loop::EventLoop;

/// Runs the demo (called by `tests/example_patterns.rs` too).
pub(crate) fn main() -> io::Result<()> {
    let ev = EventLoop::new()?;
    let h = ev.handle();
    let (rx, tx) = UnixStream::pair()?;
    rx.set_nonblocking(true)?;
    let rx = Rc::new(rx);
    let tx = Rc::new(RefCell::new(Some(tx)));

    // The reader callback: runs whenever `rx` is readable (level-triggered, as asyncio).
    let fd = rx.as_raw_fd();
    let (r, h2) = (rx.clone(), h.clone());
    h.add_reader(fd, move || {
        let mut buf = [0u8; 64];
        match (&*r).read(&mut buf) {
            Ok(0) => {
                println!("reader: end of file, stopping the loop");
                h2.remove_reader(fd);
                h2.stop();
            }
            Ok(n) => println!("reader: {:?}", String::from_utf8_lossy(&buf[..n])),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => println!("reader: error {e}"),
        }
    })?;

    // Timers write three messages, then close the writing side.
    for (i, ms) in [10u64, 20, 30].into_iter().enumerate() {
        let tx = tx.clone();
        h.call_later(Duration::from_millis(ms), move || {
            if let Some(s) = tx.borrow_mut().as_mut() {
                let _ = writeln!(s, "message {i}");
            }
        });
    }
    let tx2 = tx.clone();
    h.call_later(Duration::from_millis(40), move || {
        drop(tx2.borrow_mut().take())
    });
    h.call_soon(|| println!("call_soon: runs first"));

    // A task on the same loop.
    let task = ev.runtime().spawn(async {
        c10k::time::sleep(Duration::from_millis(5)).await;
        println!("task: a coroutine ran between the callbacks");
    });

    ev.run_forever();
    assert!(task.is_finished(), "the task ran on the loop's runtime");
    println!("loop stopped");
    Ok(())
}
