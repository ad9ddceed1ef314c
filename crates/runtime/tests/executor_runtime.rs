//! Runtime-level behaviour: shutdown, the long-poll report, fairness, budget, blocking pool.

mod util;

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use c10k_runtime::{task, Runtime};

struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn drop_runtime_cancels_pending_tasks() -> io::Result<()> {
    for (name, rt) in util::runtimes()? {
        let dropped = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            for _ in 0..50 {
                let g = DropCount(Arc::clone(&dropped));
                drop(c10k_runtime::spawn(async move {
                    let _g = g;
                    std::future::pending::<()>().await;
                }));
            }
            task::yield_now().await;
        });
        assert_eq!(rt.handle().num_tasks(), 50, "{name}");
        drop(rt);
        assert_eq!(dropped.load(Ordering::SeqCst), 50, "{name}");
    }
    Ok(())
}

#[test]
fn shutdown_timeout_does_not_wait_for_a_stuck_blocking_task() -> io::Result<()> {
    for (name, rt) in util::runtimes()? {
        let release = Arc::new(Barrier::new(2));
        let r = Arc::clone(&release);
        let started = Arc::new(Barrier::new(2));
        let s = Arc::clone(&started);
        let _h = rt.handle().spawn_blocking(move || {
            s.wait();
            r.wait(); // blocked until after shutdown returns
        });
        started.wait();
        rt.shutdown_timeout(Duration::from_millis(50));
        // We got here while the blocking task is still blocked: release it.
        release.wait();
        let _ = name;
    }
    Ok(())
}

#[test]
fn long_poll_is_reported_once_with_name() -> io::Result<()> {
    for flavor in ["current_thread", "multi_thread"] {
        let reports = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&reports);
        let b = Runtime::builder()
            .long_poll_threshold(Duration::from_millis(100))
            .on_long_poll(move |r| sink.lock().unwrap().push(r.clone()));
        let rt = if flavor == "current_thread" {
            b.current_thread().build()?
        } else {
            b.multi_thread().worker_threads(2).build()?
        };
        rt.block_on(async {
            let h = task::Builder::new().name("sleepy").spawn(async {
                for _ in 0..2 {
                    // Blocking inside a poll is the behaviour under test. Three times the
                    // threshold: the watchdog credits at most one period (an eighth of it) per
                    // look, so on a loaded machine a starved watchdog sees less than the
                    // poll's length (150 ms failed 1 run in 15 at load average 17).
                    std::thread::sleep(Duration::from_millis(300));
                    task::yield_now().await;
                }
            });
            let id = h.id();
            h.await.unwrap();
            c10k_runtime::spawn(async {}).await.unwrap();
            id
        });
        let reports = reports.lock().unwrap();
        assert_eq!(
            reports.len(),
            1,
            "{flavor}: reported once per task: {reports:?}"
        );
        assert_eq!(reports[0].name.as_deref(), Some("sleepy"));
        assert!(
            reports[0].duration >= Duration::from_millis(100),
            "{:?}",
            reports[0]
        );
        assert!(reports[0].to_string().contains("sleepy"));
    }
    Ok(())
}

#[test]
fn yield_now_lets_other_tasks_run() -> io::Result<()> {
    for (name, rt) in util::runtimes()? {
        rt.block_on(async {
            // Two tasks take turns through yield_now on a shared counter; each checks that
            // the other made progress between its own yields.
            let stop = Arc::new(AtomicBool::new(false));
            let other_ran = Arc::new(AtomicUsize::new(0));
            let (s, o) = (Arc::clone(&stop), Arc::clone(&other_ran));
            let spinner = c10k_runtime::spawn(async move {
                while !s.load(Ordering::SeqCst) {
                    task::yield_now().await;
                }
            });
            let watcher = c10k_runtime::spawn(async move {
                for _ in 0..100 {
                    o.fetch_add(1, Ordering::SeqCst);
                    task::yield_now().await;
                }
            });
            watcher.await.unwrap();
            stop.store(true, Ordering::SeqCst);
            spinner.await.unwrap();
            assert_eq!(other_ran.load(Ordering::SeqCst), 100, "{name}");
        });
    }
    Ok(())
}

#[test]
fn budget_makes_an_always_ready_loop_yield() -> io::Result<()> {
    // A socket with unread data is readable forever: a task looping on its readiness never
    // sees `Pending` from the socket itself. The budget must still make it yield, or the
    // sibling that sets the flag would never run on a current-thread runtime.
    use std::io::Write;
    use std::os::fd::AsRawFd;
    let rt = Runtime::builder().current_thread().build()?;
    rt.block_on(async {
        let (a, mut b) = std::os::unix::net::UnixStream::pair()?;
        a.set_nonblocking(true)?;
        b.write_all(b"x")?;
        let flag = Arc::new(AtomicBool::new(false));
        let f = Arc::clone(&flag);
        let hog = c10k_runtime::spawn(async move {
            let reg = c10k_runtime::driver::Registration::new(
                a.as_raw_fd(),
                c10k_runtime::driver::Interest::READABLE,
            )?;
            reg.ready(c10k_runtime::driver::Interest::READABLE).await?;
            // Only now, while the socket is known readable, queue the sibling behind us.
            let sibling = c10k_runtime::spawn(async move { f.store(true, Ordering::SeqCst) });
            let mut checks = 0u64;
            while !sibling.is_finished() && checks < 1_000_000 {
                reg.ready(c10k_runtime::driver::Interest::READABLE).await?;
                checks += 1;
            }
            drop(reg);
            drop(a);
            Ok::<_, io::Error>(checks)
        });
        let checks = hog.await.unwrap()?;
        assert!(flag.load(Ordering::SeqCst));
        assert!(checks < 1_000_000, "the hog never yielded");
        assert!(
            checks >= u64::from(task::coop::BUDGET),
            "yielded before spending its budget: {checks}"
        );
        Ok(())
    })
}

#[test]
fn spawn_blocking_grows_the_pool() -> io::Result<()> {
    // Four closures that can only finish together need four threads at once.
    let rt = Runtime::builder()
        .current_thread()
        .max_blocking_threads(4)
        .build()?;
    rt.block_on(async {
        let barrier = Arc::new(Barrier::new(4));
        let mut set = task::JoinSet::new();
        for i in 0..4 {
            let b = Arc::clone(&barrier);
            set.spawn_blocking(move || {
                b.wait();
                std::thread::current()
                    .name()
                    .map(str::to_owned)
                    .map(|n| (i, n))
            });
        }
        while let Some(r) = set.join_next().await {
            let (_, name) = r.unwrap().expect("blocking threads are named");
            assert!(name.contains("-blocking-"), "{name}");
        }
    });
    assert!(rt.handle().num_blocking_threads() <= 4);
    Ok(())
}

#[test]
fn spawn_blocking_respects_the_cap() -> io::Result<()> {
    let rt = Runtime::builder()
        .current_thread()
        .max_blocking_threads(2)
        .build()?;
    let running = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let mut set = task::JoinSet::new();
        for _ in 0..12 {
            let (r, m) = (Arc::clone(&running), Arc::clone(&max_seen));
            set.spawn_blocking(move || {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                for _ in 0..1000 {
                    std::thread::yield_now();
                }
                r.fetch_sub(1, Ordering::SeqCst);
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
    });
    assert!(
        max_seen.load(Ordering::SeqCst) <= 2,
        "cap exceeded: {}",
        max_seen.load(Ordering::SeqCst)
    );
    assert!(rt.handle().num_blocking_threads() <= 2);
    Ok(())
}

#[test]
fn spawn_blocking_panic_is_contained() -> io::Result<()> {
    for (name, rt) in util::runtimes()? {
        let err = rt
            .block_on(rt.handle().spawn_blocking(|| panic!("blocking boom")))
            .unwrap_err();
        assert!(err.is_panic(), "{name}");
    }
    Ok(())
}

#[test]
fn worker_threads_are_named() -> io::Result<()> {
    let rt = Runtime::builder()
        .multi_thread()
        .worker_threads(2)
        .thread_name("srv")
        .build()?;
    let name = rt
        .block_on(rt.spawn(async { std::thread::current().name().map(str::to_owned) }))
        .unwrap();
    assert!(
        name.as_deref().is_some_and(|n| n.starts_with("srv-")),
        "{name:?}"
    );
    Ok(())
}

#[test]
fn handle_current_inside_and_try_current_outside() -> io::Result<()> {
    assert!(c10k_runtime::Handle::try_current().is_err());
    let rt = Runtime::builder().current_thread().build()?;
    rt.block_on(async {
        let h = c10k_runtime::Handle::current();
        assert_eq!(h.spawn(async { 3 }).await.unwrap(), 3);
    });
    let _g = rt.enter();
    let h = c10k_runtime::spawn(async { 4 });
    drop(_g);
    assert_eq!(rt.block_on(h).unwrap(), 4);
    Ok(())
}

#[test]
#[should_panic(expected = "cannot start a runtime from within a runtime")]
fn nested_block_on_panics() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let rt2 = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async { rt2.block_on(async {}) });
}

#[test]
fn multi_thread_many_tasks_many_wakes() -> io::Result<()> {
    let rt = Runtime::builder()
        .multi_thread()
        .worker_threads(4)
        .build()?;
    let total = rt.block_on(async {
        let mut set = task::JoinSet::new();
        for i in 0..200u64 {
            set.spawn(async move {
                let mut inner = task::JoinSet::new();
                for j in 0..20u64 {
                    inner.spawn(async move {
                        task::yield_now().await;
                        i * j
                    });
                }
                let mut s = 0;
                while let Some(r) = inner.join_next().await {
                    s += r.unwrap();
                }
                s
            });
        }
        let mut total = 0;
        while let Some(r) = set.join_next().await {
            total += r.unwrap();
        }
        total
    });
    assert_eq!(total, (0..200u64).sum::<u64>() * (0..20u64).sum::<u64>());
    Ok(())
}

#[test]
fn idle_blocking_threads_expire() -> io::Result<()> {
    let rt = Runtime::builder()
        .current_thread()
        .thread_keep_alive(Duration::from_millis(20))
        .build()?;
    rt.block_on(rt.handle().spawn_blocking(|| ())).unwrap();
    // Wait (bounded) for the idle thread to exit on its own.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while rt.handle().num_blocking_threads() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "idle blocking thread never expired"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // And the pool grows again on demand.
    assert_eq!(rt.block_on(rt.handle().spawn_blocking(|| 9)).unwrap(), 9);
    Ok(())
}

#[test]
fn a_stuck_poll_is_reported_while_it_is_stuck() -> io::Result<()> {
    for flavor in ["current_thread", "multi_thread"] {
        // The task blocks inside its poll until the watchdog's report releases it: the report
        // must arrive while the poll is still running.
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_tx = Mutex::new(release_tx);
        let reports = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&reports);
        let b = Runtime::builder()
            .long_poll_threshold(Duration::from_millis(100))
            .long_poll_watchdog(true)
            .on_long_poll(move |r| {
                sink.lock().unwrap().push(r.clone());
                let _ = release_tx.lock().unwrap().send(());
            });
        let rt = if flavor == "current_thread" {
            b.current_thread().build()?
        } else {
            b.multi_thread().worker_threads(2).build()?
        };
        let id = rt.block_on(async move {
            let h = task::Builder::new().name("stuck").spawn(async move {
                // Blocking inside a poll is the behaviour under test.
                release_rx.recv().unwrap();
            });
            let id = h.id();
            h.await.unwrap();
            id
        });
        drop(rt);
        let reports = reports.lock().unwrap();
        assert_eq!(reports.len(), 1, "{flavor}: {reports:?}");
        let r = &reports[0];
        assert!(r.still_running, "{flavor}: {r:?}");
        assert_eq!(r.id, id);
        assert_eq!(r.name.as_deref(), Some("stuck"));
        assert!(r.duration >= Duration::from_millis(100));
        assert!(r.to_string().contains("still running"), "{r}");
    }
    Ok(())
}

#[test]
fn a_current_thread_runtime_reports_a_long_poll_when_it_returns_by_default() -> io::Result<()> {
    // No watchdog thread by default: the one report comes after the poll, not during it.
    let reports = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&reports);
    let rt = Runtime::builder()
        .current_thread()
        .long_poll_threshold(Duration::from_millis(20))
        .on_long_poll(move |r| sink.lock().unwrap().push(r.clone()))
        .build()?;
    rt.block_on(async {
        task::spawn(async {
            // Blocking inside a poll is the behaviour under test.
            std::thread::sleep(Duration::from_millis(200));
        })
        .await
        .unwrap();
    });
    drop(rt);
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(!reports[0].still_running, "{:?}", reports[0]);
    assert!(reports[0].duration >= Duration::from_millis(200));
    Ok(())
}

#[test]
fn two_threads_block_on_one_current_thread_runtime() -> io::Result<()> {
    // The second `block_on` waits for the first thread to give the core back (or for its own
    // future), and tasks keep running whichever thread drives them.
    let rt = Arc::new(Runtime::builder().current_thread().build()?);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let rt2 = Arc::clone(&rt);
    let other = std::thread::spawn(move || {
        rt2.block_on(async move {
            let h = c10k_runtime::spawn(async { 7 });
            tx.send(()).unwrap();
            h.await.unwrap()
        })
    });
    rx.recv().unwrap();
    let mine = rt.block_on(async { c10k_runtime::spawn(async { 5 }).await.unwrap() });
    assert_eq!(mine + other.join().unwrap(), 12);
    Ok(())
}

#[test]
fn long_polls_of_local_tasks_are_reported() -> io::Result<()> {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&reports);
    let rt = Runtime::builder()
        .current_thread()
        .long_poll_threshold(Duration::from_millis(100))
        .on_long_poll(move |r| sink.lock().unwrap().push(r.clone()))
        .build()?;
    let local = task::LocalSet::new();
    rt.block_on(local.run_until(async {
        let rc = std::rc::Rc::new(());
        task::Builder::new()
            .name("local-sleeper")
            .spawn_local(async move {
                let _rc = rc;
                // Blocking inside a poll is the behaviour under test.
                std::thread::sleep(Duration::from_millis(150));
            })
            .await
            .unwrap();
    }));
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].name.as_deref(), Some("local-sleeper"));
    Ok(())
}

#[test]
fn a_runtime_dropped_by_its_own_task_or_blocking_closure_does_not_deadlock() -> io::Result<()> {
    // From a worker thread.
    let rt = Runtime::builder()
        .multi_thread()
        .worker_threads(2)
        .build()?;
    let handle = rt.handle().clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let slot = Arc::new(Mutex::new(Some(rt)));
    let s2 = Arc::clone(&slot);
    drop(handle.spawn(async move {
        drop(s2.lock().unwrap().take());
        tx.send(()).unwrap();
    }));
    rx.recv().unwrap();
    // From a blocking thread.
    let rt = Runtime::builder().current_thread().build()?;
    let handle = rt.handle().clone();
    let (tx, rx) = std::sync::mpsc::channel();
    drop(handle.spawn_blocking(move || {
        drop(rt);
        tx.send(()).unwrap();
    }));
    rx.recv().unwrap();
    Ok(())
}
