//! Spawning and joining on both schedulers: outputs, panics, ids, names, detach on drop.

mod util;

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use c10k_runtime::task;

#[test]
fn spawn_and_join_many() -> io::Result<()> {
    for (name, rt) in util::runtimes()? {
        let sum = rt.block_on(async {
            let handles: Vec<_> = (0..1000u64)
                .map(|i| c10k_runtime::spawn(async move { i }))
                .collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, 999 * 1000 / 2, "{name}");
    }
    Ok(())
}

#[test]
fn nested_spawn_chain() -> io::Result<()> {
    fn chain(n: u32) -> task::JoinHandle<u32> {
        c10k_runtime::spawn(async move {
            if n == 0 {
                0
            } else {
                chain(n - 1).await.unwrap() + 1
            }
        })
    }
    for (name, rt) in util::runtimes()? {
        assert_eq!(
            rt.block_on(async { chain(200).await.unwrap() }),
            200,
            "{name}"
        );
    }
    Ok(())
}

#[test]
fn panic_is_contained_in_join_error() -> io::Result<()> {
    for (name, rt) in util::runtimes()? {
        rt.block_on(async {
            let h = c10k_runtime::spawn(async {
                panic!("task exploded");
            });
            let id = h.id();
            let err: c10k_runtime::JoinError = h.await.unwrap_err();
            assert!(err.is_panic() && !err.is_cancelled(), "{name}");
            assert_eq!(err.id(), id);
            assert!(err.to_string().contains("task exploded"), "{name}: {err}");
            let payload = err.into_panic();
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"task exploded"));
            // The runtime still works.
            assert_eq!(c10k_runtime::spawn(async { 7 }).await.unwrap(), 7);
        });
    }
    Ok(())
}

#[test]
fn dropping_the_join_handle_detaches() -> io::Result<()> {
    for (name, rt) in util::runtimes()? {
        let done = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let d = Arc::clone(&done);
            drop(c10k_runtime::spawn(async move {
                task::yield_now().await;
                d.fetch_add(1, Ordering::SeqCst);
                tx.send(()).unwrap();
            }));
            // Wait for the detached task through a second task that polls the channel.
            loop {
                if rx.try_recv().is_ok() {
                    break;
                }
                task::yield_now().await;
            }
        });
        assert_eq!(done.load(Ordering::SeqCst), 1, "{name}");
    }
    Ok(())
}

#[test]
fn ids_and_names() -> io::Result<()> {
    for (name, rt) in util::runtimes()? {
        rt.block_on(async {
            assert!(task::try_id().is_none(), "block_on's future is not a task");
            let h = task::Builder::new()
                .name("worker-7")
                .spawn(async { task::id() });
            let id = h.id();
            assert_eq!(h.await.unwrap(), id, "{name}");
            let a = c10k_runtime::spawn(async {});
            let b = c10k_runtime::spawn(async {});
            assert_ne!(a.id(), b.id());
        });
    }
    Ok(())
}

#[test]
fn is_finished_after_completion() -> io::Result<()> {
    for (name, rt) in util::runtimes()? {
        rt.block_on(async {
            let h = c10k_runtime::spawn(async { 1 });
            while !h.is_finished() {
                task::yield_now().await;
            }
            assert_eq!(h.await.unwrap(), 1, "{name}");
        });
    }
    Ok(())
}

#[test]
fn spawn_from_outside_through_handle() -> io::Result<()> {
    for (name, rt) in util::runtimes()? {
        let handle = rt.handle().clone();
        let h = std::thread::spawn(move || handle.spawn(async { 5 }))
            .join()
            .unwrap();
        assert_eq!(rt.block_on(h).unwrap(), 5, "{name}");
    }
    Ok(())
}

#[test]
#[should_panic(expected = "called outside a runtime")]
fn spawn_outside_runtime_panics() {
    drop(c10k_runtime::spawn(async {}));
}

#[test]
fn run_supports_spawn_local() {
    let v = util::run(async {
        let rc = std::rc::Rc::new(3);
        let r = std::rc::Rc::clone(&rc);
        task::spawn_local(async move { *r + 1 }).await.unwrap()
    });
    assert_eq!(v, 4);
}
