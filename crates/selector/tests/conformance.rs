//! The selector's contract, checked once per backend.
//!
//! Each test body below takes the backend as an argument; the
//! `conformance!` macro instantiates all of them in the modules
//! `backend_select`, `backend_poll` and `backend_epoll`, so that
//! `cargo test -p c10k-selector --test conformance -- backend_poll::` runs
//! one backend (no module name is a substring of another).

mod util;

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Once};
use std::thread;
use std::time::{Duration, Instant};

use c10k_selector::{Backend, Event, Events, Interest, Selector, Token, Waker, FD_SETSIZE};
use util::{drain, fds_exclusive, fds_shared, pair, select_some, send, tcp_pair, PATIENCE};

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod backend_select {
            $(#[test]
            fn $name() -> std::io::Result<()> {
                super::$name(c10k_selector::Backend::Select)
            })*
        }
        mod backend_poll {
            $(#[test]
            fn $name() -> std::io::Result<()> {
                super::$name(c10k_selector::Backend::Poll)
            })*
        }
        mod backend_epoll {
            $(#[test]
            fn $name() -> std::io::Result<()> {
                super::$name(c10k_selector::Backend::Epoll)
            })*
        }
    };
}

conformance!(
    readable,
    writable,
    level_triggered_until_drained,
    edge_triggered,
    peer_hang_up,
    half_close,
    connection_reset,
    connect_refused,
    waker_from_another_thread,
    wakes_coalesce_and_drain,
    waker_outlives_selector,
    timeout_not_early,
    sub_millisecond_timeout_rounds_up,
    zero_timeout_does_not_block,
    eintr_is_retried_with_remaining_time,
    register_while_blocked,
    reregister_while_blocked,
    deregister_while_blocked,
    many_descriptors,
    fd_setsize,
    already_exists,
    not_found,
    reserved_token,
    closed_behind_back,
    reregister_changes_interest,
    no_events_after_deregister,
    full_events_rotate,
);

fn only(events: &Events) -> Event {
    assert_eq!(events.len(), 1, "expected one event, got {events:?}");
    *events.iter().next().unwrap()
}

fn readable(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    let (a, z) = pair()?;
    selector.register(z.as_raw_fd(), Token(3), Interest::READABLE)?;
    let mut events = Events::with_capacity(8);
    assert_eq!(selector.select(&mut events, Some(Duration::ZERO))?, 0);
    send(&a, b"hello")?;
    select_some(&selector, &mut events)?;
    let ev = only(&events);
    assert_eq!(ev.token(), Token(3));
    assert!(
        ev.is_readable() && !ev.is_writable() && !ev.is_error(),
        "{ev:?}"
    );
    assert_eq!(drain(&z)?, b"hello");
    Ok(())
}

fn writable(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    let (_a, z) = pair()?;
    selector.register(z.as_raw_fd(), Token(4), Interest::WRITABLE)?;
    let mut events = Events::with_capacity(8);
    select_some(&selector, &mut events)?;
    let ev = only(&events);
    assert_eq!(ev.token(), Token(4));
    assert!(ev.is_writable() && !ev.is_readable(), "{ev:?}");
    Ok(())
}

fn level_triggered_until_drained(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    let (a, mut z) = pair()?;
    selector.register(z.as_raw_fd(), Token(1), Interest::READABLE)?;
    send(&a, b"0123456789")?;
    let mut events = Events::with_capacity(8);
    let mut buf = [0u8; 4];
    // Read part of the data each time: still readable, so reported again.
    for _ in 0..2 {
        select_some(&selector, &mut events)?;
        assert!(only(&events).is_readable());
        assert_eq!(z.read(&mut buf)?, 4);
    }
    select_some(&selector, &mut events)?;
    assert_eq!(drain(&z)?, b"89");
    // Drained: nothing to report.
    assert_eq!(selector.select(&mut events, Some(Duration::ZERO))?, 0);
    Ok(())
}

fn edge_triggered(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    let (a, mut z) = pair()?;
    let interest = Interest::READABLE.edge();
    if !b.supports_edge() {
        // select and poll refuse edge mode rather than emulate it.
        let err = selector
            .register(z.as_raw_fd(), Token(1), interest)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        assert!(err.to_string().contains("edge"), "{err}");
        // The descriptor was not registered by the failed call.
        selector.register(z.as_raw_fd(), Token(1), Interest::READABLE)?;
        let err = selector
            .reregister(z.as_raw_fd(), Token(1), interest)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        return Ok(());
    }
    selector.register(z.as_raw_fd(), Token(1), interest)?;
    send(&a, b"0123456789")?;
    let mut events = Events::with_capacity(8);
    select_some(&selector, &mut events)?;
    assert!(only(&events).is_readable());
    // Reported once: not again while no new data arrives, even undrained.
    let mut buf = [0u8; 4];
    assert_eq!(z.read(&mut buf)?, 4);
    assert_eq!(selector.select(&mut events, Some(Duration::ZERO))?, 0);
    // New data is a new edge.
    send(&a, b"x")?;
    select_some(&selector, &mut events)?;
    assert!(only(&events).is_readable());
    assert_eq!(drain(&z)?, b"456789x");
    assert_eq!(selector.select(&mut events, Some(Duration::ZERO))?, 0);
    Ok(())
}

fn peer_hang_up(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    let (a, z) = tcp_pair()?;
    selector.register(z.as_raw_fd(), Token(2), Interest::READABLE)?;
    drop(a);
    let mut events = Events::with_capacity(8);
    select_some(&selector, &mut events)?;
    let ev = only(&events);
    assert!(ev.is_readable(), "{ev:?}");
    // select(2) cannot tell a hang-up from data; the others say so.
    assert_eq!(ev.is_read_closed(), b != Backend::Select, "{ev:?}");
    // The authoritative answer: end of stream.
    assert_eq!((&z).read(&mut [0u8; 8])?, 0);
    Ok(())
}

fn half_close(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    let (a, z) = tcp_pair()?;
    selector.register(z.as_raw_fd(), Token(2), Interest::READABLE)?;
    send(&a, b"last words")?;
    a.shutdown(std::net::Shutdown::Write)?;
    let mut events = Events::with_capacity(8);
    let mut got = Vec::new();
    // Data then end of stream; possibly in one event, possibly in two.
    loop {
        select_some(&selector, &mut events)?;
        let ev = only(&events);
        assert!(ev.is_readable(), "{ev:?}");
        let mut buf = [0u8; 64];
        match (&z).read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    assert_eq!(got, b"last words");
    if b != Backend::Select {
        assert!(only(&events).is_read_closed());
    }
    // Our side can still write: the connection is only half closed.
    send(&z, b"reply")?;
    Ok(())
}

fn connection_reset(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    let (a, z) = tcp_pair()?;
    // Linger 0: close sends RST instead of FIN.
    rustix::net::sockopt::set_socket_linger(&a, Some(Duration::ZERO))?;
    selector.register(z.as_raw_fd(), Token(9), Interest::READABLE)?;
    drop(a);
    let mut events = Events::with_capacity(8);
    select_some(&selector, &mut events)?;
    let ev = only(&events);
    assert_eq!(ev.token(), Token(9));
    if b == Backend::Select {
        assert!(ev.is_readable(), "{ev:?}");
    } else {
        assert!(ev.is_error() || ev.is_read_closed(), "{ev:?}");
    }
    let err = (&z).read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    Ok(())
}

fn connect_refused(b: Backend) -> io::Result<()> {
    use rustix::net::{connect, socket_with, AddressFamily, SocketFlags, SocketType};
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    // A port nobody listens on: bind one, then close it.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let sock = socket_with(
        AddressFamily::INET,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    match connect(&sock, &addr) {
        Err(rustix::io::Errno::INPROGRESS) => {}
        // Loopback may refuse synchronously; then there is nothing to wait for.
        Err(rustix::io::Errno::CONNREFUSED) => return Ok(()),
        Ok(()) => panic!("connected to a closed port"),
        Err(e) => return Err(e.into()),
    }
    selector.register(sock.as_raw_fd(), Token(5), Interest::WRITABLE)?;
    let mut events = Events::with_capacity(8);
    select_some(&selector, &mut events)?;
    let ev = only(&events);
    assert_eq!(ev.token(), Token(5));
    if b == Backend::Select {
        assert!(ev.is_writable(), "{ev:?}");
    } else {
        assert!(ev.is_error(), "{ev:?}");
    }
    let error = rustix::net::sockopt::socket_error(&sock)?;
    assert_eq!(error, Err(rustix::io::Errno::CONNREFUSED));
    selector.deregister(sock.as_raw_fd())?;
    Ok(())
}

fn waker_from_another_thread(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    let waker = Waker::new(&selector, Token(usize::MAX))?;
    let (_a, z) = pair()?;
    selector.register(z.as_raw_fd(), Token(0), Interest::READABLE)?;
    let waking = thread::spawn(move || waker.wake());
    let mut events = Events::with_capacity(8);
    // Nothing else is ready: only the wake can end this wait. (The waker is
    // dropped by the thread right after waking: the wake still counts.)
    selector.select(&mut events, Some(PATIENCE))?;
    let ev = only(&events);
    assert_eq!(ev.token(), Token(usize::MAX));
    assert!(ev.is_readable());
    waking.join().unwrap()?;
    Ok(())
}

fn wakes_coalesce_and_drain(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Arc::new(Selector::with_backend(b)?);
    let w1 = Arc::new(Waker::new(&selector, Token(1))?);
    let w2 = Waker::new(&selector, Token(2))?;
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let w1 = Arc::clone(&w1);
            thread::spawn(move || (0..100).try_for_each(|_| w1.wake()))
        })
        .collect();
    for t in threads {
        t.join().unwrap()?;
    }
    let mut events = Events::with_capacity(8);
    select_some(&selector, &mut events)?;
    // 400 wakes, one event; the other waker did not wake.
    assert_eq!(only(&events).token(), Token(1));
    // The notifier was drained: no event, no busy loop.
    let start = Instant::now();
    assert_eq!(
        selector.select(&mut events, Some(Duration::from_millis(20)))?,
        0
    );
    assert!(start.elapsed() >= Duration::from_millis(20));
    // Both wakers, one event each.
    w1.wake()?;
    w2.wake()?;
    w2.wake()?;
    select_some(&selector, &mut events)?;
    let mut tokens: Vec<Token> = events.iter().map(Event::token).collect();
    tokens.sort();
    assert_eq!(tokens, [Token(1), Token(2)]);
    // A full buffer defers the second waker's event to the next call.
    let mut one = Events::with_capacity(1);
    w1.wake()?;
    w2.wake()?;
    select_some(&selector, &mut one)?;
    let first = only(&one).token();
    select_some(&selector, &mut one)?;
    let second = only(&one).token();
    assert_ne!(first, second);
    assert_eq!(selector.select(&mut one, Some(Duration::ZERO))?, 0);
    // A dropped waker is forgotten.
    drop(w2);
    w1.wake()?;
    select_some(&selector, &mut events)?;
    assert_eq!(only(&events).token(), Token(1));
    Ok(())
}

fn waker_outlives_selector(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    let waker = Waker::new(&selector, Token(1))?;
    drop(selector);
    // Wakes nobody, fails nothing.
    waker.wake()?;
    waker.wake()?;
    Ok(())
}

fn timeout_not_early(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    let (_a, z) = pair()?;
    selector.register(z.as_raw_fd(), Token(0), Interest::READABLE)?;
    let mut events = Events::with_capacity(8);
    for ms in [1, 10, 50] {
        let timeout = Duration::from_millis(ms);
        let start = Instant::now();
        assert_eq!(selector.select(&mut events, Some(timeout))?, 0);
        let waited = start.elapsed();
        assert!(waited >= timeout, "{b}: waited {waited:?} for {timeout:?}");
    }
    Ok(())
}

fn sub_millisecond_timeout_rounds_up(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    let mut events = Events::with_capacity(8);
    for micros in [1, 100, 500, 999, 1500] {
        let timeout = Duration::from_micros(micros);
        let start = Instant::now();
        assert_eq!(selector.select(&mut events, Some(timeout))?, 0);
        let waited = start.elapsed();
        // Regression guard: a sub-millisecond wait truncated to 0 ms on epoll
        // would return at once.
        assert!(waited >= timeout, "{b}: waited {waited:?} for {timeout:?}");
    }
    Ok(())
}

fn zero_timeout_does_not_block(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    let (a, z) = pair()?;
    selector.register(z.as_raw_fd(), Token(0), Interest::READABLE)?;
    let mut events = Events::with_capacity(8);
    // Nothing ready: returns 0 (and returns, or the test would hang).
    assert_eq!(selector.select(&mut events, Some(Duration::ZERO))?, 0);
    send(&a, b"x")?;
    // Already ready: reported by a non-blocking check.
    assert_eq!(selector.select(&mut events, Some(Duration::ZERO))?, 1);
    Ok(())
}

static SIGNALS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_signal(_: libc::c_int) {
    SIGNALS.fetch_add(1, Ordering::Relaxed);
}

/// Installs a counting SIGUSR1 handler *without* `SA_RESTART`, so that
/// blocking system calls fail with `EINTR`.
fn install_sigusr1_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: `sa` is zero-initialized (a valid `sigaction`: empty mask,
        // no flags) and then given a handler that only touches an atomic,
        // which is async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = count_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = 0;
            assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
        }
    });
}

fn eintr_is_retried_with_remaining_time(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    install_sigusr1_handler();
    let selector = Selector::with_backend(b)?;
    let timeout = Duration::from_millis(300);
    let (tid_tx, tid_rx) = mpsc::channel();
    let (exit_tx, exit_rx) = mpsc::channel::<()>();
    let done = Arc::new(AtomicBool::new(false));
    let waiter = {
        let done = Arc::clone(&done);
        thread::spawn(move || {
            // SAFETY: pthread_self has no preconditions.
            tid_tx.send(unsafe { libc::pthread_self() }).unwrap();
            let mut events = Events::with_capacity(8);
            let start = Instant::now();
            let result = selector.select(&mut events, Some(timeout));
            let waited = start.elapsed();
            done.store(true, Ordering::Release);
            // Stay alive until the signaller stopped: signalling an exited
            // thread would be undefined behaviour.
            let _ = exit_rx.recv();
            (result, waited)
        })
    };
    let tid = tid_rx.recv().unwrap();
    let before = SIGNALS.load(Ordering::Relaxed);
    let mut sent = 0;
    while !done.load(Ordering::Acquire) && sent < 10_000 {
        // SAFETY: `tid` is a live thread: it exits only after `exit_tx` is
        // dropped below.
        assert_eq!(unsafe { libc::pthread_kill(tid, libc::SIGUSR1) }, 0);
        sent += 1;
        // Pacing, not synchronization: spread signals over the wait.
        thread::sleep(Duration::from_millis(2));
    }
    drop(exit_tx);
    let (result, waited) = waiter.join().unwrap();
    assert_eq!(result?, 0, "{b}: a signal must not end the wait");
    assert!(waited >= timeout, "{b}: waited {waited:?} for {timeout:?}");
    assert!(
        SIGNALS.load(Ordering::Relaxed) > before,
        "no signal was delivered"
    );
    Ok(())
}

fn register_while_blocked(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Arc::new(Selector::with_backend(b)?);
    let (a, z) = pair()?;
    send(&a, b"ready before registration")?;
    let registrar = {
        let selector = Arc::clone(&selector);
        let fd = z.as_raw_fd();
        // The wait below starts before or after this runs; either way the
        // registration must reach it.
        thread::spawn(move || selector.register(fd, Token(42), Interest::READABLE))
    };
    let mut events = Events::with_capacity(8);
    select_some(&selector, &mut events)?;
    registrar.join().unwrap()?;
    assert_eq!(only(&events).token(), Token(42));
    Ok(())
}

fn reregister_while_blocked(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Arc::new(Selector::with_backend(b)?);
    let (_a, z) = pair()?;
    // Writable, but only readability is asked for: the wait blocks.
    selector.register(z.as_raw_fd(), Token(1), Interest::READABLE)?;
    let changer = {
        let selector = Arc::clone(&selector);
        let fd = z.as_raw_fd();
        thread::spawn(move || selector.reregister(fd, Token(2), Interest::WRITABLE))
    };
    let mut events = Events::with_capacity(8);
    select_some(&selector, &mut events)?;
    changer.join().unwrap()?;
    let ev = only(&events);
    assert_eq!(ev.token(), Token(2));
    assert!(ev.is_writable(), "{ev:?}");
    Ok(())
}

fn deregister_while_blocked(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Arc::new(Selector::with_backend(b)?);
    let (gone_peer, gone) = pair()?;
    let (kept_peer, kept) = pair()?;
    selector.register(gone.as_raw_fd(), Token(1), Interest::READABLE)?;
    selector.register(kept.as_raw_fd(), Token(2), Interest::READABLE)?;
    let (started_tx, started_rx) = mpsc::channel();
    let waiter = {
        let selector = Arc::clone(&selector);
        thread::spawn(move || -> io::Result<Vec<Token>> {
            started_tx.send(()).unwrap();
            let mut events = Events::with_capacity(8);
            select_some(&selector, &mut events)?;
            Ok(events.iter().map(Event::token).collect())
        })
    };
    started_rx.recv().unwrap();
    // Whether the wait has begun or not, the deregistered descriptor must
    // not be reported, even though it becomes readable.
    selector.deregister(gone.as_raw_fd())?;
    send(&gone_peer, b"ignored")?;
    send(&kept_peer, b"seen")?;
    let tokens = waiter.join().unwrap()?;
    assert_eq!(tokens, [Token(2)], "{b}");
    // Level-triggered: still reported, and still alone.
    let mut events = Events::with_capacity(8);
    select_some(&selector, &mut events)?;
    assert_eq!(only(&events).token(), Token(2));
    Ok(())
}

/// `count` descriptors registered (both ends of `count / 2` socket pairs),
/// one ready at a time: exactly that one is reported.
fn many_descriptors(b: Backend) -> io::Result<()> {
    let _fds = fds_exclusive();
    let count = if b == Backend::Select { 1000 } else { 10_000 };
    let selector = Selector::with_backend(b)?;
    let mut ends = Vec::with_capacity(count);
    for _ in 0..count / 2 {
        let (a, z) = pair()?;
        ends.push(a);
        ends.push(z);
    }
    for (i, end) in ends.iter().enumerate() {
        selector.register(end.as_raw_fd(), Token(i), Interest::READABLE)?;
    }
    let mut events = Events::with_capacity(64);
    assert_eq!(selector.select(&mut events, Some(Duration::ZERO))?, 0);
    for i in [0, 1, count / 2, count - 2, count - 1] {
        // Writing to the peer of `i` makes `i` readable.
        send(&ends[i ^ 1], b"!")?;
        select_some(&selector, &mut events)?;
        assert_eq!(only(&events).token(), Token(i));
        assert_eq!(drain(&ends[i])?, b"!");
    }
    for end in &ends {
        selector.deregister(end.as_raw_fd())?;
    }
    Ok(())
}

fn fd_setsize(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    let (a, z) = pair()?;
    // The same socket under a descriptor value above FD_SETSIZE.
    let high: OwnedFd = rustix::io::fcntl_dupfd_cloexec(&z, FD_SETSIZE as i32 + 500)?;
    let fd = high.as_raw_fd();
    assert!(fd as usize >= FD_SETSIZE);
    let result = selector.register(fd, Token(7), Interest::READABLE);
    if b == Backend::Select {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let msg = err.to_string();
        assert!(msg.contains(&fd.to_string()), "{msg}");
        assert!(msg.contains("poll") && msg.contains("epoll"), "{msg}");
        // Nothing was registered.
        assert_eq!(
            selector.deregister(fd).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    } else {
        result?;
        send(&a, b"x")?;
        let mut events = Events::with_capacity(8);
        select_some(&selector, &mut events)?;
        assert_eq!(only(&events).token(), Token(7));
        selector.deregister(fd)?;
    }
    Ok(())
}

fn already_exists(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    let (_a, z) = pair()?;
    selector.register(z.as_raw_fd(), Token(1), Interest::READABLE)?;
    let err = selector
        .register(z.as_raw_fd(), Token(2), Interest::WRITABLE)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert!(
        err.to_string().contains(&z.as_raw_fd().to_string()),
        "{err}"
    );
    Ok(())
}

fn not_found(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    let (_a, z) = pair()?;
    let fd = z.as_raw_fd();
    let kind = |r: io::Result<()>| r.unwrap_err().kind();
    assert_eq!(kind(selector.deregister(fd)), io::ErrorKind::NotFound);
    assert_eq!(
        kind(selector.reregister(fd, Token(0), Interest::READABLE)),
        io::ErrorKind::NotFound
    );
    selector.register(fd, Token(0), Interest::READABLE)?;
    selector.deregister(fd)?;
    assert_eq!(kind(selector.deregister(fd)), io::ErrorKind::NotFound);
    assert_eq!(kind(selector.deregister(-1)), io::ErrorKind::NotFound);
    Ok(())
}

fn reserved_token(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    let (_a, z) = pair()?;
    let err = selector
        .register(z.as_raw_fd(), Token(usize::MAX), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let err = selector
        .register(-3, Token(0), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    Ok(())
}

fn closed_behind_back(b: Backend) -> io::Result<()> {
    // Exclusive: the closed number must not be reused by another test.
    let _fds = fds_exclusive();
    let selector = Selector::with_backend(b)?;
    let (a, z) = pair()?;
    let (_c, live) = pair()?;
    let fd = z.into_raw_fd();
    selector.register(fd, Token(13), Interest::READABLE)?;
    selector.register(live.as_raw_fd(), Token(14), Interest::READABLE)?;
    send(&a, b"unread")?;
    // SAFETY: `fd` came from `into_raw_fd` and is owned by nobody else.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
    let mut events = Events::with_capacity(8);
    if b == Backend::Epoll {
        // The kernel dropped it: no event, and nothing to deregister.
        assert_eq!(
            selector.select(&mut events, Some(Duration::from_millis(10)))?,
            0
        );
        assert_eq!(
            selector.deregister(fd).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    } else {
        // Reported as an error for its token, on every call (level), never
        // as a failed or spinning wait.
        for _ in 0..3 {
            select_some(&selector, &mut events)?;
            let ev = only(&events);
            assert_eq!(ev.token(), Token(13));
            assert!(ev.is_error(), "{ev:?}");
        }
        selector.deregister(fd)?;
        assert_eq!(
            selector.select(&mut events, Some(Duration::from_millis(10)))?,
            0
        );
    }
    // The other registration still works.
    send(&_c, b"x")?;
    select_some(&selector, &mut events)?;
    assert_eq!(only(&events).token(), Token(14));
    Ok(())
}

fn reregister_changes_interest(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    let (_a, z) = pair()?;
    let fd = z.as_raw_fd();
    // Writable but not readable.
    selector.register(fd, Token(1), Interest::READABLE)?;
    let mut events = Events::with_capacity(8);
    assert_eq!(selector.select(&mut events, Some(Duration::ZERO))?, 0);
    selector.reregister(fd, Token(2), Interest::READABLE | Interest::WRITABLE)?;
    select_some(&selector, &mut events)?;
    let ev = only(&events);
    assert_eq!(ev.token(), Token(2));
    assert!(ev.is_writable() && !ev.is_readable(), "{ev:?}");
    selector.reregister(fd, Token(3), Interest::READABLE)?;
    assert_eq!(selector.select(&mut events, Some(Duration::ZERO))?, 0);
    Ok(())
}

fn no_events_after_deregister(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    let (a, z) = pair()?;
    selector.register(
        z.as_raw_fd(),
        Token(1),
        Interest::READABLE | Interest::WRITABLE,
    )?;
    send(&a, b"pending")?;
    let mut events = Events::with_capacity(8);
    select_some(&selector, &mut events)?;
    selector.deregister(z.as_raw_fd())?;
    assert_eq!(
        selector.select(&mut events, Some(Duration::from_millis(10)))?,
        0
    );
    // Registering again works and sees the still-pending data.
    selector.register(z.as_raw_fd(), Token(5), Interest::READABLE)?;
    select_some(&selector, &mut events)?;
    assert_eq!(only(&events).token(), Token(5));
    Ok(())
}

fn full_events_rotate(b: Backend) -> io::Result<()> {
    let _fds = fds_shared();
    let selector = Selector::with_backend(b)?;
    let pairs: Vec<(UnixStream, UnixStream)> = (0..3).map(|_| pair()).collect::<Result<_, _>>()?;
    for (i, (a, z)) in pairs.iter().enumerate() {
        selector.register(z.as_fd().as_raw_fd(), Token(i), Interest::READABLE)?;
        (&*a).write_all(b"x")?;
    }
    // One slot per call, all three ready and never drained: each call must
    // report a different one (no starvation).
    let mut events = Events::with_capacity(1);
    let mut seen = Vec::new();
    for _ in 0..3 {
        select_some(&selector, &mut events)?;
        seen.push(only(&events).token().0);
    }
    seen.sort();
    assert_eq!(seen, [0, 1, 2]);
    Ok(())
}

#[test]
fn filters_select_one_backend() {
    // `backend_poll::` must not match `backend_epoll::` (see the module docs).
    assert!(!"backend_epoll::readable".contains("backend_poll::"));
    assert!(!"backend_select::readable".contains("backend_poll::"));
}

#[test]
fn backend_names_round_trip() {
    for b in Backend::ALL {
        assert_eq!(b.to_string().parse::<Backend>(), Ok(b));
    }
    assert!(Backend::best().is_available());
    let err = "kqueue".parse::<Backend>().unwrap_err().to_string();
    assert!(
        err.contains("kqueue") && err.contains("select, poll, epoll"),
        "{err}"
    );
}

/// When every descriptor below FD_SETSIZE is taken, a select selector cannot
/// watch its own notifier: creating one fails clearly; poll does not care.
#[test]
fn select_backend_needs_a_descriptor_below_fd_setsize() -> io::Result<()> {
    let _fds = fds_exclusive();
    let (a, _z) = pair()?;
    let mut held = Vec::new();
    // `dup` takes the lowest free number: once it returns one at or above
    // FD_SETSIZE, every lower number is in use.
    while held.len() <= FD_SETSIZE {
        let fd = rustix::io::dup(&a)?;
        let high = fd.as_raw_fd() as usize >= FD_SETSIZE;
        held.push(fd);
        if high {
            break;
        }
    }
    let err = Selector::with_backend(Backend::Select).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("notifier"), "{err}");
    Selector::with_backend(Backend::Poll)?;
    Ok(())
}
