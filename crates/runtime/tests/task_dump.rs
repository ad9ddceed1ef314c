//! `Handle::dump`: the content of a dump for tasks blocked on each of the runtime's leaf
//! futures (socket read, write, accept; timer; join), names and spawn locations, and a dump
//! taken while a worker is stuck in a long poll. Both schedulers, on the backend of
//! `C10K_TEST_BACKEND` (`.ci/run` runs the suite once per backend).

mod util;

use std::future::pending;
use std::io;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use c10k_runtime::net::{TcpListener, TcpStream};
use c10k_runtime::task::dump::{Dump, TaskDump, TaskState, WaitOn};
use c10k_runtime::task::{self, Builder, Id};
use c10k_runtime::{time, Handle};

/// How long a test waits for the tasks to reach their awaits before it fails.
const PATIENCE: Duration = Duration::from_secs(20);

fn find(dump: &Dump, id: Id) -> Option<&TaskDump> {
    dump.tasks().iter().find(|t| t.id() == id)
}

/// Takes dumps, letting the runtime run in between, until `ready` accepts one (or fails
/// after [`PATIENCE`], printing the last dump).
async fn dump_until(ready: impl Fn(&Dump) -> bool) -> Dump {
    let start = Instant::now();
    loop {
        let dump = Handle::current().dump();
        if ready(&dump) {
            return dump;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "the tasks did not reach their awaits; last dump:\n{dump}"
        );
        time::sleep(Duration::from_millis(1)).await;
    }
}

fn waits(dump: &Dump, id: Id, pred: impl Fn(&WaitOn) -> bool) -> bool {
    find(dump, id)
        .is_some_and(|t| t.state() == TaskState::Idle && t.waiting_on().is_some_and(&pred))
}

#[test]
fn a_dump_names_what_each_task_waits_on() -> io::Result<()> {
    for (flavor, rt) in util::runtimes()? {
        rt.block_on(async {
            // A connected pair whose server side reads what never comes.
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let quiet_client = TcpStream::connect(addr).await?;
            let (quiet_server, _) = listener.accept().await?;
            let client_addr = quiet_client.local_addr()?;
            let reader = Builder::new().name("reader").spawn(async move {
                let mut buf = [0u8; 16];
                quiet_server.read(&mut buf).await
            });

            // A pair whose client writes to a server that never reads, until it blocks.
            let stuffed_client = TcpStream::connect(addr).await?;
            let (stuffed_server, _) = listener.accept().await?;
            let stuffed_peer = stuffed_client.peer_addr()?;
            let writer = task::spawn(async move {
                let chunk = vec![7u8; 1 << 20];
                loop {
                    stuffed_client.write_all(&chunk).await?;
                }
                #[allow(unreachable_code)]
                Ok::<(), io::Error>(())
            });

            let acceptor = task::spawn(async move { listener.accept().await.map(|_| ()) });
            let sleeper = Builder::new()
                .name("sleeper")
                .spawn(time::sleep(Duration::from_secs(3600)));
            let forever = task::spawn(pending::<()>());
            let forever_id = forever.id();
            let forever_abort = forever.abort_handle();
            let joiner = task::spawn(forever);

            let dump = dump_until(|d| {
                waits(d, reader.id(), |w| matches!(w, WaitOn::Read { .. }))
                    && waits(d, writer.id(), |w| matches!(w, WaitOn::Write { .. }))
                    && waits(d, acceptor.id(), |w| matches!(w, WaitOn::Accept { .. }))
                    && waits(d, sleeper.id(), |w| matches!(w, WaitOn::Timer { .. }))
                    && waits(d, joiner.id(), |w| matches!(w, WaitOn::Join { .. }))
            })
            .await;
            println!("{flavor}:\n{dump}");

            let t = find(&dump, reader.id()).unwrap();
            assert_eq!(t.name(), Some("reader"));
            assert_eq!(t.location().file(), file!(), "{flavor}");
            assert!(t.since_last_poll().is_some());
            assert!(
                matches!(t.waiting_on(), Some(WaitOn::Read { peer: Some(p), .. }) if *p == client_addr),
                "{flavor}: {t}"
            );
            let t = find(&dump, writer.id()).unwrap();
            assert!(
                matches!(t.waiting_on(), Some(WaitOn::Write { peer: Some(p), .. }) if *p == stuffed_peer),
                "{flavor}: {t}"
            );
            let t = find(&dump, acceptor.id()).unwrap();
            assert!(
                matches!(t.waiting_on(), Some(WaitOn::Accept { local: Some(a), .. }) if *a == addr),
                "{flavor}: {t}"
            );
            let t = find(&dump, sleeper.id()).unwrap();
            assert_eq!(t.name(), Some("sleeper"));
            match t.waiting_on() {
                Some(WaitOn::Timer { remaining, .. }) => {
                    assert!(*remaining > Duration::from_secs(3000), "{flavor}: {t}");
                    assert!(*remaining <= Duration::from_secs(3600), "{flavor}: {t}");
                }
                other => panic!("{flavor}: {other:?}"),
            }
            let t = find(&dump, joiner.id()).unwrap();
            assert_eq!(
                t.waiting_on(),
                Some(&WaitOn::Join { task: forever_id }),
                "{flavor}"
            );
            // The joined task itself waits on nothing the runtime knows of.
            assert_eq!(find(&dump, forever_id).unwrap().waiting_on(), None);

            // The text names every task and what it waits on.
            let text = dump.to_string();
            assert!(text.contains("\"reader\""), "{text}");
            assert!(text.contains("read of fd"), "{text}");
            assert!(text.contains(&format!("join of task {forever_id}")), "{text}");
            assert!(text.contains("timer due in"), "{text}");
            assert!(text.contains(&format!("listening on {addr}")), "{text}");

            for h in [
                reader.abort_handle(),
                writer.abort_handle(),
                acceptor.abort_handle(),
                forever_abort,
            ] {
                h.abort();
            }
            sleeper.abort();
            joiner.abort();
            drop(stuffed_server);
            Ok::<(), io::Error>(())
        })?;
        // Every aborted task is gone from the next dump once the runtime dropped it.
        rt.block_on(async {
            dump_until(|d| d.tasks().is_empty()).await;
        });
    }
    Ok(())
}

#[test]
fn names_and_locations_of_every_spawn_path() -> io::Result<()> {
    for (flavor, rt) in util::runtimes()? {
        let from_handle = rt.handle().spawn(pending::<()>());
        let line = line!() - 1;
        let blocking_line = line!() + 2;
        let (release, blocked) = mpsc::channel::<()>();
        let blocking = rt.handle().spawn_blocking(move || blocked.recv());
        let named = Builder::new()
            .name("named")
            .spawn_on(pending::<()>(), rt.handle());
        let dump = rt.handle().dump();
        let t = find(&dump, from_handle.id()).unwrap();
        assert_eq!(
            (t.location().file(), t.location().line()),
            (file!(), line),
            "{flavor}"
        );
        let t = find(&dump, blocking.id()).unwrap();
        assert!(t.is_blocking());
        assert_eq!(t.location().line(), blocking_line, "{flavor}");
        assert_eq!(find(&dump, named.id()).unwrap().name(), Some("named"));
        assert_eq!(named.name(), Some("named"));
        assert_eq!(from_handle.name(), None);
        rt.block_on(async {
            let h = Builder::new()
                .name("inner")
                .spawn(async { task::current().name().map(str::to_owned) });
            assert_eq!(h.await.unwrap().as_deref(), Some("inner"));
            assert!(task::try_current().is_none());
            let h = task::spawn(async { task::current().id() });
            assert_eq!(h.id(), h.await.unwrap());
        });
        release.send(()).unwrap();
        rt.block_on(blocking).unwrap().unwrap();
        from_handle.abort();
        named.abort();
    }
    Ok(())
}

/// The tasks of a `LocalSet` the runtime drives are in its dump, with what they wait on.
#[test]
fn local_tasks_are_in_the_dump() -> io::Result<()> {
    for (flavor, rt) in util::runtimes()? {
        let local = task::LocalSet::new();
        rt.block_on(local.run_until(async {
            let sleeper = Builder::new()
                .name("local-sleeper")
                .spawn_local(time::sleep(Duration::from_secs(3600)));
            let dump =
                dump_until(|d| waits(d, sleeper.id(), |w| matches!(w, WaitOn::Timer { .. }))).await;
            let t = find(&dump, sleeper.id()).unwrap();
            assert_eq!(t.name(), Some("local-sleeper"), "{flavor}");
            assert_eq!(t.location().file(), file!(), "{flavor}");
            sleeper.abort();
        }));
    }
    Ok(())
}

/// A task stuck in a long poll (blocking its worker) shows as running, and the dump, taken
/// from another thread, neither waits for it nor disturbs the runtime.
#[test]
fn a_dump_works_while_a_worker_is_stuck() -> io::Result<()> {
    for (flavor, rt) in util::runtimes()? {
        let (release, stuck) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<()>();
        let hog = Builder::new().name("hog").spawn_on(
            async move {
                started_tx.send(()).unwrap();
                // Blocks its worker thread until the test has its dump.
                stuck.recv().unwrap();
            },
            rt.handle(),
        );
        let handle = rt.handle().clone();
        let hog_id = hog.id();
        // On the current-thread runtime the hog runs inside this `block_on`, so the dump is
        // taken from another thread; on the multi-thread one, from that thread too.
        let observer = std::thread::spawn(move || {
            started.recv().unwrap();
            let deadline = Instant::now() + PATIENCE;
            loop {
                let dump = handle.dump();
                let t = find(&dump, hog_id).expect("the hog is in the dump").clone();
                // The state word says running as soon as the poll began.
                if let TaskState::Running { for_ } = t.state() {
                    release.send(()).unwrap();
                    return (t, for_, dump.to_string());
                }
                assert!(
                    Instant::now() < deadline,
                    "never saw the hog running:\n{dump}"
                );
                std::thread::yield_now();
            }
        });
        rt.block_on(hog).unwrap();
        let (t, for_, text) = observer.join().unwrap();
        assert_eq!(t.name(), Some("hog"), "{flavor}");
        assert!(for_ < PATIENCE, "{flavor}: {for_:?}");
        assert!(text.contains("[running for"), "{flavor}: {text}");
    }
    Ok(())
}
