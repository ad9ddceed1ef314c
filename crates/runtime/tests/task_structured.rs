//! JoinSet and TaskGroup semantics, abort, and racing.

mod util;

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use c10k_runtime::task::{self, GroupError, JoinSet, TaskGroup};

/// Drops a counter when the future holding it is dropped (completed or cancelled).
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn join_set_returns_every_result() -> io::Result<()> {
    for (name, rt) in util::runtimes()? {
        rt.block_on(async {
            let mut set = JoinSet::new();
            for i in 0..100u32 {
                set.spawn(async move {
                    task::yield_now().await;
                    i
                });
            }
            assert_eq!(set.len(), 100);
            let mut seen = [false; 100];
            while let Some(r) = set.join_next().await {
                seen[r.unwrap() as usize] = true;
            }
            assert!(seen.iter().all(|&s| s), "{name}");
            assert!(set.is_empty());
            assert!(set.join_next().await.is_none());
        });
    }
    Ok(())
}

#[test]
fn join_set_abort_all_and_drop_cancel_tasks() -> io::Result<()> {
    for (name, rt) in util::runtimes()? {
        rt.block_on(async {
            let dropped = Arc::new(AtomicUsize::new(0));
            let mut set = JoinSet::new();
            for _ in 0..10 {
                let guard = DropCount(Arc::clone(&dropped));
                set.spawn(async move {
                    let _g = guard;
                    std::future::pending::<()>().await;
                });
            }
            set.abort_all();
            let mut cancelled = 0;
            while let Some(r) = set.join_next().await {
                assert!(r.unwrap_err().is_cancelled(), "{name}");
                cancelled += 1;
            }
            assert_eq!(cancelled, 10);
            assert_eq!(
                dropped.load(Ordering::SeqCst),
                10,
                "{name}: futures dropped"
            );

            // Dropping a set aborts its tasks.
            let dropped = Arc::new(AtomicUsize::new(0));
            let mut set = JoinSet::new();
            let mut aborts = Vec::new();
            for _ in 0..5 {
                let guard = DropCount(Arc::clone(&dropped));
                aborts.push(set.spawn(async move {
                    let _g = guard;
                    std::future::pending::<()>().await;
                }));
            }
            drop(set);
            while !aborts.iter().all(|a| a.is_finished()) {
                task::yield_now().await;
            }
            assert_eq!(dropped.load(Ordering::SeqCst), 5, "{name}");
        });
    }
    Ok(())
}

#[test]
fn task_group_returns_outputs_in_spawn_order() -> io::Result<()> {
    for (name, rt) in util::runtimes()? {
        let out = rt.block_on(async {
            let mut g = TaskGroup::<u32, io::Error>::new();
            for i in 0..20u32 {
                g.spawn(async move {
                    for _ in 0..(20 - i) {
                        task::yield_now().await;
                    }
                    Ok(i)
                });
            }
            g.join().await.unwrap()
        });
        assert_eq!(out, (0..20).collect::<Vec<_>>(), "{name}");
    }
    Ok(())
}

#[test]
fn task_group_first_error_cancels_siblings() -> io::Result<()> {
    for (name, rt) in util::runtimes()? {
        rt.block_on(async {
            let dropped = Arc::new(AtomicUsize::new(0));
            let mut g = TaskGroup::<(), String>::new();
            for _ in 0..4 {
                let guard = DropCount(Arc::clone(&dropped));
                g.spawn(async move {
                    let _g = guard;
                    std::future::pending::<Result<(), String>>().await
                });
            }
            g.spawn(async { Err("child failed".to_string()) });
            match g.join().await {
                Err(GroupError::Failed(e)) => assert_eq!(e, "child failed", "{name}"),
                other => panic!("{name}: {other:?}"),
            }
            assert_eq!(
                dropped.load(Ordering::SeqCst),
                4,
                "{name}: siblings cancelled"
            );
        });
    }
    Ok(())
}

#[test]
fn task_group_panic_is_a_failure() -> io::Result<()> {
    for (name, rt) in util::runtimes()? {
        rt.block_on(async {
            let mut g = TaskGroup::<(), ()>::new();
            g.spawn(std::future::pending());
            g.spawn(async { panic!("child panicked") });
            match g.join().await {
                Err(GroupError::Join(e)) => assert!(e.is_panic(), "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        });
    }
    Ok(())
}

#[test]
fn abort_before_first_poll_and_after_completion() -> io::Result<()> {
    for (name, rt) in util::runtimes()? {
        rt.block_on(async {
            let h = c10k_runtime::spawn(async { 1 });
            h.abort();
            // Either cancelled before it ran, or completed first: both are valid.
            match h.await {
                Ok(v) => assert_eq!(v, 1),
                Err(e) => assert!(e.is_cancelled(), "{name}"),
            }
            let h = c10k_runtime::spawn(async { 2 });
            while !h.is_finished() {
                task::yield_now().await;
            }
            h.abort(); // no effect after completion
            assert_eq!(h.await.unwrap(), 2, "{name}");
        });
    }
    Ok(())
}

#[test]
fn race_two_futures_with_select() {
    use c10k_runtime::race::{select, Either};
    util::run(async {
        let slow = Box::pin(std::future::pending::<u8>());
        let fast = Box::pin(async {
            task::yield_now().await;
            9u8
        });
        match select(slow, fast).await {
            Either::Right((v, _)) => assert_eq!(v, 9),
            Either::Left(_) => panic!("pending future won"),
        }
    });
}

#[test]
fn local_set_runs_non_send_tasks_and_cancels_on_drop() -> io::Result<()> {
    let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    let local = task::LocalSet::new();
    let dropped = Arc::new(AtomicUsize::new(0));
    let value = rt.block_on(local.run_until(async {
        let rc = std::rc::Rc::new(std::cell::Cell::new(0));
        let mut set = JoinSet::new();
        for _ in 0..10 {
            let rc = std::rc::Rc::clone(&rc);
            set.spawn_local(async move {
                task::yield_now().await;
                rc.set(rc.get() + 1);
            });
        }
        while set.join_next().await.is_some() {}
        rc.get()
    }));
    assert_eq!(value, 10);
    // A pending local task stays in the set until the set is dropped.
    let guard = DropCount(Arc::clone(&dropped));
    let _h = local.spawn_local(async move {
        let _g = guard;
        std::future::pending::<()>().await;
    });
    rt.block_on(local.run_until(task::yield_now()));
    assert_eq!(dropped.load(Ordering::SeqCst), 0);
    drop(local);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    Ok(())
}

#[test]
#[should_panic(expected = "outside a LocalSet")]
fn spawn_local_outside_a_local_set_panics() {
    let rt = c10k_runtime::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        drop(task::spawn_local(async {}));
    });
}
