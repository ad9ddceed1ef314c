//! `Process`: start, join (blocking, timeout, async), values and panics, exit codes and
//! signals, names and pids, daemon and non-daemon children, no zombies, both start
//! methods. Runs with `harness = false` (see `tests/util`).

mod util;

use std::io;
use std::os::fd::AsFd;
use std::time::Duration;

use c10k_process::{Entry, Event, Process, ProcessError, Queue, StartMethod, Value};
use rustix::event::{PollFd, PollFlags};
use util::fail;

fn square(x: u64) -> u64 {
    x * x
}
static SQUARE: Entry<u64, u64> = Entry::new("square", square);

fn boom(msg: String) -> u32 {
    panic!("{msg}")
}
static BOOM: Entry<String, u32> = Entry::new("boom", boom);

fn exit_with(code: i32) {
    std::process::exit(code)
}
static EXIT_WITH: Entry<i32, ()> = Entry::new("exit_with", exit_with);

fn wait_event(e: Event) {
    e.wait();
}
static WAIT_EVENT: Entry<Event, ()> = Entry::new("wait_event", wait_event);

/// (name, pid, parent from current_process, parent_pid(), daemon)
fn whoami(_: ()) -> (String, u32, Option<u32>, u32, bool) {
    let me = c10k_process::current_process();
    (
        me.name,
        me.pid,
        me.parent,
        c10k_process::parent_pid(),
        me.daemon,
    )
}
static WHOAMI: Entry<(), (String, u32, Option<u32>, u32, bool)> = Entry::new("whoami", whoami);

fn echo_big(v: Vec<u8>) -> Vec<u8> {
    v.into_iter().rev().collect()
}
static ECHO_BIG: Entry<Vec<u8>, Vec<u8>> = Entry::new("echo_big", echo_big);

/// Starts a daemon grandchild that waits forever, reports its pid, and waits forever
/// itself (until killed).
fn daemon_parent((pids, forever): (Queue<u32>, Event)) {
    let mut g = Process::new(&WAIT_EVENT, forever.clone())
        .unwrap()
        .daemon(true);
    g.start().unwrap();
    pids.put(g.pid().unwrap()).unwrap();
    forever.wait();
}
static DAEMON_PARENT: Entry<(Queue<u32>, Event), ()> = Entry::new("daemon_parent", daemon_parent);

/// Starts a non-daemon grandchild that waits for `go`, then marks `done`; returns at once.
fn leave_child((go, done): (Event, Value<u32>)) {
    let mut g = Process::new(&MARK_AFTER, (go, done)).unwrap();
    g.start().unwrap();
    drop(g); // not joined: the exit handler must wait for it
}
static LEAVE_CHILD: Entry<(Event, Value<u32>), ()> = Entry::new("leave_child", leave_child);

fn mark_after((go, done): (Event, Value<u32>)) {
    go.wait();
    done.set(1);
}
static MARK_AFTER: Entry<(Event, Value<u32>), ()> = Entry::new("mark_after", mark_after);

/// An entry this binary does not register.
static UNREGISTERED: Entry<u64, u64> = Entry::new("unregistered", square);

fn value_and_panic() -> io::Result<()> {
    for method in StartMethod::ALL {
        let mut p = Process::new(&SQUARE, 12)?.start_method(method);
        p.start()?;
        let v = p.join_value().map_err(|e| fail(e.to_string()))?;
        assert_eq!(v, 144, "{method}");
        assert_eq!(p.exit_code(), Some(0));
        assert!(!p.is_alive());

        let mut p =
            Process::new(&BOOM, "the ticket booth is on fire".to_string())?.start_method(method);
        p.start()?;
        match p.join_value() {
            Err(ProcessError::Panicked(m)) => assert_eq!(m, "the ticket booth is on fire"),
            other => return Err(fail(format!("{method}: expected a panic, got {other:?}"))),
        }
        assert_eq!(p.exit_code(), Some(1));
        assert_eq!(
            p.panic_message().as_deref(),
            Some("the ticket booth is on fire")
        );
    }
    Ok(())
}

fn exit_codes_and_signals() -> io::Result<()> {
    for method in StartMethod::ALL {
        let mut p = Process::new(&EXIT_WITH, 3)?.start_method(method);
        p.start()?;
        assert_eq!(p.join()?.code(), Some(3));
        assert!(
            matches!(p.join_value(), Err(ProcessError::Exited(3))),
            "{method}"
        );

        let never = Event::new()?;
        let mut p = Process::new(&WAIT_EVENT, never.clone())?.start_method(method);
        p.start()?;
        // It waits for an event nobody sets: still running after the timeout.
        assert_eq!(p.join_timeout(Duration::from_millis(20))?, None);
        assert!(p.is_alive());
        assert_eq!(p.exit_code(), None);
        p.terminate()?;
        let st = p.join()?;
        assert_eq!(st.signal(), Some(15), "{method}: {st}");
        assert_eq!(p.exit_code(), Some(-15));
        assert!(matches!(p.join_value(), Err(ProcessError::Signaled(15))));

        let mut p = Process::new(&WAIT_EVENT, never.clone())?.start_method(method);
        p.start()?;
        p.kill()?;
        assert_eq!(p.join()?.signal(), Some(9));
        // Signals after the end are no-ops, not errors.
        p.terminate()?;
        p.kill()?;
    }
    Ok(())
}

fn identity() -> io::Result<()> {
    let me = c10k_process::current_process();
    assert_eq!(me.name, "MainProcess");
    assert_eq!(me.parent, None);
    for method in StartMethod::ALL {
        let mut p = Process::new(&WHOAMI, ())?
            .name("worker-7")
            .daemon(true)
            .start_method(method);
        assert_eq!(p.pid(), None);
        p.start()?;
        let pid = p.pid().expect("started");
        let (name, child_pid, parent, ppid, daemon) =
            p.join_value().map_err(|e| fail(e.to_string()))?;
        assert_eq!(name, "worker-7");
        assert_eq!(child_pid, pid);
        assert!(daemon);
        assert_eq!(parent, Some(ppid));
        match method {
            StartMethod::Spawn => assert_eq!(ppid, std::process::id()),
            // The fork server's child: its parent is the server, not us.
            _ => assert_ne!(ppid, std::process::id()),
        }
    }
    Ok(())
}

fn big_values() -> io::Result<()> {
    // Larger than a socket buffer both ways: the parent must drain while waiting.
    let v: Vec<u8> = (0..600_000u32).map(|i| i as u8).collect();
    let mut p = Process::spawn(&ECHO_BIG, v.clone())?;
    let back = p.join_value().map_err(|e| fail(e.to_string()))?;
    assert_eq!(back.len(), v.len());
    assert!(back.iter().eq(v.iter().rev()));
    Ok(())
}

fn join_async() -> io::Result<()> {
    let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    rt.block_on(async {
        let mut a = Process::spawn(&SQUARE, 3)?;
        let mut b = Process::new(&SQUARE, 4)?.start_method(StartMethod::Forkserver);
        b.start()?;
        let vb = b
            .join_value_async()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let va = a
            .join_value_async()
            .await
            .map_err(|e| fail(e.to_string()))?;
        assert_eq!((va, vb), (9, 16));
        Ok(())
    })
}

fn unregistered_entry() -> io::Result<()> {
    let err = Process::spawn(&UNREGISTERED, 1).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("c10k_process::init"), "{err}");
    let mut p = Process::spawn(&SQUARE, 1)?;
    assert!(p.start().is_err(), "started twice");
    p.join()?;
    Ok(())
}

/// Dropped `Process` handles: the children are reaped by the sweep, none stays a zombie.
fn no_zombies() -> io::Result<()> {
    let go = Event::new()?;
    let mut pids = Vec::new();
    for _ in 0..4 {
        let p = Process::spawn(&WAIT_EVENT, go.clone())?;
        pids.push(p.pid().unwrap());
        drop(p);
    }
    let live = c10k_process::active_children();
    for pid in &pids {
        assert!(live.contains(pid), "{pid} running: {live:?}");
    }
    // Our own pidfds, opened while the children are unreaped, tell when they exit.
    let pidfds: Vec<_> = pids
        .iter()
        .map(|&p| {
            rustix::process::pidfd_open(
                rustix::process::Pid::from_raw(p as i32).unwrap(),
                rustix::process::PidfdFlags::empty(),
            )
        })
        .collect::<Result<_, _>>()?;
    go.set();
    for fd in &pidfds {
        let mut pfd = [PollFd::from_borrowed_fd(fd.as_fd(), PollFlags::IN)];
        let ten_s = rustix::time::Timespec {
            tv_sec: 10,
            tv_nsec: 0,
        };
        if rustix::event::poll(&mut pfd, Some(&ten_s))? == 0 {
            return Err(fail("a child did not exit in 10 s"));
        }
    }
    // They exited and are zombies until reaped: the sweep reaps them.
    let live = c10k_process::active_children();
    for pid in &pids {
        assert!(!live.contains(pid));
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
        assert!(stat.is_err(), "{pid} still exists (a zombie?): {stat:?}");
    }
    Ok(())
}

/// A daemon child dies with its parent even when the parent is SIGKILLed (no exit
/// handler runs): `PR_SET_PDEATHSIG`.
fn daemon_dies_with_parent() -> io::Result<()> {
    let pids: Queue<u32> = Queue::new()?;
    let forever = Event::new()?;
    let mut parent = Process::spawn(&DAEMON_PARENT, (pids.clone(), forever.clone()))?;
    let grandchild = pids
        .get_timeout(Duration::from_secs(20))
        .map_err(|e| fail(e.to_string()))?;
    let pidfd = rustix::process::pidfd_open(
        rustix::process::Pid::from_raw(grandchild as i32).unwrap(),
        rustix::process::PidfdFlags::empty(),
    )?;
    parent.kill()?;
    assert_eq!(parent.join()?.signal(), Some(9));
    let mut pfd = [PollFd::from_borrowed_fd(pidfd.as_fd(), PollFlags::IN)];
    let ten_s = rustix::time::Timespec {
        tv_sec: 10,
        tv_nsec: 0,
    };
    if rustix::event::poll(&mut pfd, Some(&ten_s))? == 0 {
        return Err(fail("the daemon grandchild survived its parent"));
    }
    Ok(())
}

/// A child that returns while its non-daemon child runs waits for it at exit.
fn non_daemon_waited_at_exit() -> io::Result<()> {
    let go = Event::new()?;
    let done = Value::new(0u32)?;
    let mut p = Process::spawn(&LEAVE_CHILD, (go.clone(), done.clone()))?;
    // The grandchild waits for `go`, so the child cannot have exited.
    assert_eq!(p.join_timeout(Duration::from_millis(50))?, None);
    assert_eq!(done.get(), 0);
    go.set();
    assert!(p.join()?.success());
    assert_eq!(
        done.get(),
        1,
        "the child exited before its non-daemon child finished"
    );
    Ok(())
}

fn start_method_names() -> io::Result<()> {
    for m in StartMethod::ALL {
        assert_eq!(m.name().parse::<StartMethod>(), Ok(m));
    }
    let err = "fork".parse::<StartMethod>().unwrap_err();
    assert!(err.contains("spawn, forkserver"), "{err}");
    Ok(())
}

fn main() {
    c10k_process::init(&[
        &SQUARE,
        &BOOM,
        &EXIT_WITH,
        &WAIT_EVENT,
        &WHOAMI,
        &ECHO_BIG,
        &DAEMON_PARENT,
        &LEAVE_CHILD,
        &MARK_AFTER,
    ]);
    util::run(&[
        ("value_and_panic", value_and_panic),
        ("exit_codes_and_signals", exit_codes_and_signals),
        ("identity", identity),
        ("big_values", big_values),
        ("join_async", join_async),
        ("unregistered_entry", unregistered_entry),
        ("no_zombies", no_zombies),
        ("daemon_dies_with_parent", daemon_dies_with_parent),
        ("non_daemon_waited_at_exit", non_daemon_waited_at_exit),
        ("start_method_names", start_method_names),
    ]);
}
