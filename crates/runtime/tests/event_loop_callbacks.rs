//! The callback event loop: ordering, timers, cancellation, thread-safe scheduling, fd
//! watchers (level-triggered), and mixing callbacks with tasks on the same driver.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use c10k_runtime::driver::Backend;
use c10k_runtime::event_loop::EventLoop;
use c10k_runtime::time::Instant;

type Log = Rc<RefCell<Vec<String>>>;

fn push(log: &Log, s: impl Into<String>) {
    log.borrow_mut().push(s.into());
}

#[test]
fn call_soon_is_fifo_and_nested_calls_run_next_iteration() -> io::Result<()> {
    let ev = EventLoop::new()?;
    let h = ev.handle();
    let log: Log = Rc::default();
    for i in 0..3 {
        let (l, h2) = (log.clone(), h.clone());
        h.call_soon(move || {
            push(&l, format!("a{i}"));
            let (l2, h3) = (l.clone(), h2.clone());
            h2.call_soon(move || {
                push(&l2, format!("b{i}"));
                if i == 2 {
                    h3.stop();
                }
            });
        });
    }
    ev.run_forever();
    assert_eq!(*log.borrow(), ["a0", "a1", "a2", "b0", "b1", "b2"]);
    Ok(())
}

#[test]
fn timers_run_in_deadline_order_never_early_and_cancel() -> io::Result<()> {
    let ev = EventLoop::new()?;
    let h = ev.handle();
    let log: Log = Rc::default();
    let start = h.time();
    for (ms, name) in [(30u64, "c"), (10, "a"), (20, "b"), (20, "b2")] {
        let (l, h2) = (log.clone(), h.clone());
        h.call_later(Duration::from_millis(ms), move || {
            assert!(
                h2.time() >= start + Duration::from_millis(ms),
                "timer {name} ran early"
            );
            push(&l, name);
        });
    }
    let l = log.clone();
    let cancelled = h.call_later(Duration::from_millis(15), move || push(&l, "cancelled"));
    assert!(cancelled.when() >= start + Duration::from_millis(15));
    cancelled.cancel();
    assert!(cancelled.cancelled());
    let h2 = h.clone();
    h.call_at(start + Duration::from_millis(40), move || h2.stop());
    ev.run_forever();
    assert_eq!(*log.borrow(), ["a", "b", "b2", "c"]);
    assert!(Instant::now() >= start + Duration::from_millis(40));
    Ok(())
}

#[test]
fn call_soon_threadsafe_wakes_a_waiting_loop() -> io::Result<()> {
    let ev = EventLoop::new()?;
    let remote = ev.handle().remote();
    let (tx, rx) = std::sync::mpsc::channel::<u32>();
    let thread = std::thread::spawn(move || {
        for i in 0..100 {
            let tx = tx.clone();
            remote.call_soon_threadsafe(move || tx.send(i).unwrap());
        }
        let r = remote.clone();
        remote.call_soon_threadsafe(move || r.stop());
    });
    ev.run_forever();
    thread.join().unwrap();
    let got: Vec<u32> = rx.try_iter().collect();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    Ok(())
}

#[test]
fn readers_are_level_triggered_on_every_backend() -> io::Result<()> {
    for backend in Backend::ALL {
        let ev = EventLoop::with_backend(backend)?;
        let h = ev.handle();
        let (a, mut b) = UnixStream::pair()?;
        a.set_nonblocking(true)?;
        let a = Rc::new(a);
        let got = Rc::new(RefCell::new(Vec::new()));
        // The reader takes 3 bytes per call: the loop must call it again while data is left.
        let (a2, g, h2) = (a.clone(), got.clone(), h.clone());
        let fd = a.as_raw_fd();
        h.add_reader(fd, move || {
            let mut buf = [0u8; 3];
            match (&*a2).read(&mut buf) {
                Ok(0) => {
                    h2.remove_reader(fd);
                    h2.stop();
                }
                Ok(n) => g.borrow_mut().extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        })?;
        b.write_all(b"hello event loop")?;
        drop(b); // end of file after the data
        ev.run_forever();
        assert_eq!(&*got.borrow(), b"hello event loop", "{backend}");
        assert!(!h.remove_reader(fd), "{backend}: already removed");
    }
    Ok(())
}

#[test]
fn writer_and_reader_on_one_fd_with_remove() -> io::Result<()> {
    let ev = EventLoop::new()?;
    let h = ev.handle();
    let (a, b) = UnixStream::pair()?;
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    let (a, b) = (Rc::new(a), Rc::new(b));
    let fd = a.as_raw_fd();
    let log: Log = Rc::default();
    // Writer: fires because the socket is writable; writes once and removes itself.
    let (a2, l, h2) = (a.clone(), log.clone(), h.clone());
    h.add_writer(fd, move || {
        (&*a2).write_all(b"ping").unwrap();
        push(&l, "wrote");
        assert!(h2.remove_writer(fd));
    })?;
    // The peer echoes through its own reader.
    let (b2, h3) = (b.clone(), h.clone());
    let bfd = b.as_raw_fd();
    h.add_reader(bfd, move || {
        let mut buf = [0u8; 16];
        if let Ok(n) = (&*b2).read(&mut buf) {
            (&*b2).write_all(&buf[..n]).unwrap();
            h3.remove_reader(bfd);
        }
    })?;
    let (a3, l, h4) = (a.clone(), log.clone(), h.clone());
    h.add_reader(fd, move || {
        let mut buf = [0u8; 16];
        if let Ok(n) = (&*a3).read(&mut buf) {
            push(&l, String::from_utf8_lossy(&buf[..n]).into_owned());
            h4.remove_reader(fd);
            h4.stop();
        }
    })?;
    ev.run_forever();
    assert_eq!(*log.borrow(), ["wrote", "ping"]);
    Ok(())
}

#[test]
fn callbacks_and_tasks_share_the_loop() -> io::Result<()> {
    let ev = EventLoop::new()?;
    let h = ev.handle();
    let log: Log = Rc::default();
    let out = ev.run_until_complete({
        let (h, log) = (h.clone(), log.clone());
        async move {
            let l = log.clone();
            h.call_soon(move || push(&l, "callback"));
            // A task on the same thread and driver, awaiting a timer.
            let l = log.clone();
            let task = h.create_task(async move {
                c10k_runtime::time::sleep(Duration::from_millis(2)).await;
                push(&l, "task");
                7
            });
            // A future completed by a callback (asyncio's `fut.set_result` from a callback).
            let slot: Rc<RefCell<(Option<u32>, Option<std::task::Waker>)>> = Rc::default();
            let s2 = slot.clone();
            h.call_later(Duration::from_millis(5), move || {
                let mut s = s2.borrow_mut();
                s.0 = Some(35);
                if let Some(w) = s.1.take() {
                    w.wake();
                }
            });
            let a = task.await.unwrap();
            let b = std::future::poll_fn(|cx| {
                let mut s = slot.borrow_mut();
                match s.0 {
                    Some(v) => std::task::Poll::Ready(v),
                    None => {
                        s.1 = Some(cx.waker().clone());
                        std::task::Poll::Pending
                    }
                }
            })
            .await;
            a + b
        }
    });
    assert_eq!(out, 42);
    assert_eq!(*log.borrow(), ["callback", "task"]);
    assert!(!h.is_running());
    Ok(())
}

#[test]
fn stop_before_run_forever_runs_one_iteration() -> io::Result<()> {
    let ev = EventLoop::new()?;
    let h = ev.handle();
    let log: Log = Rc::default();
    let l = log.clone();
    h.call_soon(move || push(&l, "ran"));
    h.stop();
    ev.run_forever();
    assert_eq!(*log.borrow(), ["ran"]);
    Ok(())
}

#[test]
fn dropping_the_loop_drops_pending_callbacks_holding_its_handle() -> io::Result<()> {
    // Regression: callbacks that capture a `LoopHandle` form an `Rc` cycle with the loop's
    // state; dropping the loop must break it (no leaked callbacks or registrations).
    let token = Rc::new(());
    {
        let ev = EventLoop::new()?;
        let h = ev.handle();
        let (t1, h1) = (token.clone(), h.clone());
        h.call_soon(move || drop((t1, h1)));
        let (t2, h2) = (token.clone(), h.clone());
        h.call_later(Duration::from_secs(3600), move || drop((t2, h2)));
        let (a, _b) = UnixStream::pair()?;
        a.set_nonblocking(true)?;
        let (t3, h3) = (token.clone(), h.clone());
        h.add_reader(a.as_raw_fd(), move || {
            let _ = (&t3, &h3);
        })?;
        assert_eq!(Rc::strong_count(&token), 4);
        drop(ev);
        drop(a);
    }
    assert_eq!(Rc::strong_count(&token), 1);
    Ok(())
}
