//! Task-poll hooks (`Builder::on_before_task_poll` / `on_after_task_poll`) and the scheduler's
//! handling of a failing IO driver (`Handle::inject_park_failures`).

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use c10k_runtime::task::{self, Id};
use c10k_runtime::{Builder, Runtime};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Before(Id, Option<String>),
    After(Id, Option<String>),
}

fn flavors() -> [(&'static str, Builder); 2] {
    [
        ("current_thread", Runtime::builder().current_thread()),
        (
            "multi_thread",
            Runtime::builder().multi_thread().worker_threads(2),
        ),
    ]
}

fn hooked(b: Builder, log: &Arc<Mutex<Vec<Event>>>) -> io::Result<Runtime> {
    let (before, after) = (Arc::clone(log), Arc::clone(log));
    b.on_before_task_poll(move |m| {
        before
            .lock()
            .unwrap()
            .push(Event::Before(m.id(), m.name().map(String::from)))
    })
    .on_after_task_poll(move |m| {
        after
            .lock()
            .unwrap()
            .push(Event::After(m.id(), m.name().map(String::from)))
    })
    .build()
}

#[test]
fn every_poll_of_a_task_is_wrapped_by_the_hooks_with_its_id_and_name() -> io::Result<()> {
    for (flavor, b) in flavors() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let rt = hooked(b, &log)?;
        let id = rt.block_on(async {
            let h = task::Builder::new().name("twice").spawn(async {
                task::yield_now().await;
            });
            let id = h.id();
            h.await.unwrap();
            id
        });
        drop(rt);
        let name = Some("twice".to_string());
        let mine: Vec<Event> = log
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, Event::Before(i, _) | Event::After(i, _) if *i == id))
            .cloned()
            .collect();
        // Two polls (one yield), each bracketed, and the after-hook of the completing poll
        // still sees the name of a task that has just released itself.
        let expected = [
            Event::Before(id, name.clone()),
            Event::After(id, name.clone()),
            Event::Before(id, name.clone()),
            Event::After(id, name),
        ];
        if flavor == "current_thread" {
            assert_eq!(mine, expected, "{flavor}");
        } else {
            // The yield re-queues the task during its first poll: another worker may start
            // the second poll before the first worker's after-hook ran.
            let mut sorted = mine.clone();
            sorted.sort_by_key(|e| matches!(e, Event::After(..)));
            let mut want = expected.to_vec();
            want.sort_by_key(|e| matches!(e, Event::After(..)));
            assert_eq!(sorted, want, "{flavor}: {mine:?}");
            assert!(matches!(mine[0], Event::Before(..)), "{flavor}: {mine:?}");
        }
    }
    Ok(())
}

#[test]
fn the_hooks_run_on_the_thread_that_polls_the_task() -> io::Result<()> {
    for (flavor, b) in flavors() {
        let threads = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&threads);
        let rt = b
            .on_before_task_poll(move |_| sink.lock().unwrap().push(std::thread::current().id()))
            .build()?;
        let polled_on = rt.block_on(async {
            c10k_runtime::spawn(async { std::thread::current().id() })
                .await
                .unwrap()
        });
        drop(rt);
        assert_eq!(*threads.lock().unwrap(), [polled_on], "{flavor}");
    }
    Ok(())
}

#[test]
fn local_set_tasks_are_hooked_too() -> io::Result<()> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let rt = hooked(Runtime::builder().current_thread(), &log)?;
    let local = task::LocalSet::new();
    let id = rt.block_on(local.run_until(async {
        let rc = std::rc::Rc::new(1); // `!Send`: a local task
        let h = task::Builder::new()
            .name("local")
            .spawn_local(async move { *rc });
        let id = h.id();
        h.await.unwrap();
        id
    }));
    let log = log.lock().unwrap();
    let name = Some("local".to_string());
    assert!(log.contains(&Event::Before(id, name.clone())), "{log:?}");
    assert!(log.contains(&Event::After(id, name)), "{log:?}");
    Ok(())
}

/// Guards "errors surfaced": a park failure used to be discarded (`let _ = driver.park(..)`).
/// A few failures are retried with backoff and the runtime carries on: IO and timers work.
#[test]
fn a_few_park_failures_are_retried_and_the_runtime_carries_on() -> io::Result<()> {
    for (flavor, mut b) in flavors() {
        let rt = b.build()?;
        rt.handle().inject_park_failures(3);
        let v = rt.block_on(async {
            c10k_runtime::spawn(async {
                for _ in 0..5 {
                    c10k_runtime::time::sleep(Duration::from_millis(1)).await;
                }
                5
            })
            .await
            .unwrap()
        });
        assert_eq!(v, 5, "{flavor}");
    }
    Ok(())
}

/// Guards "reported once": a streak of failed parks is one line on stderr, not one per
/// failure. The runtime runs in a child process (this test again, with `C10K_PARK_CHILD`
/// set) whose stderr the parent reads.
#[test]
fn a_streak_of_park_failures_is_reported_once() -> io::Result<()> {
    if std::env::var_os("C10K_PARK_CHILD").is_some() {
        let rt = Runtime::builder().current_thread().build()?;
        rt.handle().inject_park_failures(5);
        rt.block_on(async {
            for _ in 0..5 {
                c10k_runtime::time::sleep(Duration::from_millis(1)).await;
            }
        });
        return Ok(());
    }
    let out = std::process::Command::new(std::env::current_exe()?)
        .args([
            "--exact",
            "a_streak_of_park_failures_is_reported_once",
            "--test-threads=1",
            "--nocapture",
        ])
        .env("C10K_PARK_CHILD", "1")
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {stderr}");
    let reports = stderr.matches("c10k: waiting for IO failed").count();
    assert_eq!(reports, 1, "{stderr}");
    assert!(stderr.contains("injected park failure"), "{stderr}");
    Ok(())
}

/// Guards "errors surfaced": a driver that fails on every park used to spin a core silently;
/// now `block_on` ends with a panic that carries the driver's error.
#[test]
fn a_persistently_failing_park_ends_block_on_with_the_error() -> io::Result<()> {
    for (flavor, mut b) in flavors() {
        let rt = b.build()?;
        rt.handle().inject_park_failures(u32::MAX);
        let res = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async {
                // Never ready: only the driver's failure can end this `block_on`.
                std::future::pending::<()>().await
            })
        }));
        let payload = res.expect_err("block_on returned although the driver kept failing");
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(
            msg.contains("cannot wait for IO") && msg.contains("injected park failure"),
            "{flavor}: {msg:?}"
        );
        drop(rt);
    }
    Ok(())
}
