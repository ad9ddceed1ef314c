//! `ThreadPool`: names, initializer, growth, shutdown with pending work, drop, broken pool.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use c10k_pool::{PoolError, ThreadPool};
use util::{gate, BOUND};

#[test]
fn threads_carry_the_name_prefix() -> std::io::Result<()> {
    let pool = ThreadPool::builder()
        .workers(2)
        .name_prefix("crawler")
        .build()?;
    let name = pool
        .submit(|| std::thread::current().name().map(str::to_owned))
        .result()
        .unwrap()
        .unwrap();
    assert!(name.starts_with("crawler-"), "{name}");
    Ok(())
}

#[test]
fn the_initializer_runs_once_per_thread_before_work() -> std::io::Result<()> {
    let inits = Arc::new(Mutex::new(Vec::new()));
    let i2 = inits.clone();
    let pool = ThreadPool::builder()
        .workers(3)
        .initializer(move || i2.lock().unwrap().push(std::thread::current().id()))
        .build()?;
    let ids: Vec<_> = (0..30)
        .map(|_| pool.submit(|| std::thread::current().id()))
        .collect();
    let ran_on: Vec<_> = ids.into_iter().map(|f| f.result().unwrap()).collect();
    pool.shutdown(true, false);
    let inits = inits.lock().unwrap();
    assert_eq!(inits.len(), 3);
    assert!(ran_on.iter().all(|id| inits.contains(id)));
    Ok(())
}

#[test]
fn a_panicking_initializer_breaks_the_pool() -> std::io::Result<()> {
    let (open, g) = gate();
    let g = Mutex::new(g);
    let pool = ThreadPool::builder()
        .workers(1)
        .initializer(move || {
            g.lock().unwrap().pass(); // hold the worker until the test queued work
            panic!("no database (expected by the test)");
        })
        .build()?;
    let pending: Vec<_> = (0..5).map(|i| pool.submit(move || i)).collect();
    open.open();
    for f in pending {
        match f.result() {
            Err(PoolError::BrokenPool(why)) => assert!(why.contains("no database"), "{why}"),
            other => panic!("expected BrokenPool, got {other:?}"),
        }
    }
    assert!(pool.is_broken());
    assert!(matches!(
        pool.submit(|| 0).result(),
        Err(PoolError::BrokenPool(_))
    ));
    Ok(())
}

#[test]
fn shutdown_wait_runs_the_pending_work() -> std::io::Result<()> {
    let pool = ThreadPool::new(2)?;
    let (open, g) = gate();
    let g = Arc::new(Mutex::new(g));
    let first = {
        let g = g.clone();
        pool.submit(move || g.lock().unwrap().pass())
    };
    let pending: Vec<_> = (0..100).map(|i| pool.submit(move || i)).collect();
    std::thread::scope(|s| {
        s.spawn(|| pool.shutdown(true, false));
        open.open();
    });
    // shutdown(wait) returned: everything submitted before it has run.
    first.result().unwrap();
    for (i, f) in pending.into_iter().enumerate() {
        assert!(f.done());
        assert_eq!(f.result(), Ok(i));
    }
    assert_eq!(pool.threads(), 0);
    assert_eq!(pool.submit(|| 1).result(), Err(PoolError::Shutdown));
    Ok(())
}

#[test]
fn shutdown_cancel_futures_cancels_what_has_not_started() -> std::io::Result<()> {
    let pool = ThreadPool::new(1)?;
    let (open, g) = gate();
    let (started_tx, started) = gate();
    let running = pool.submit(move || {
        started_tx.open();
        g.pass();
        "finished"
    });
    started.pass();
    let pending: Vec<_> = (0..10).map(|i| pool.submit(move || i)).collect();
    pool.shutdown(false, true);
    for f in &pending {
        assert!(f.cancelled());
    }
    open.open();
    assert_eq!(running.result(), Ok("finished"));
    for f in pending {
        assert_eq!(f.result(), Err(PoolError::Cancelled));
    }
    Ok(())
}

#[test]
fn drop_waits_for_queued_work() -> std::io::Result<()> {
    let count = Arc::new(AtomicUsize::new(0));
    {
        let pool = ThreadPool::new(2)?;
        for _ in 0..1000 {
            let c = count.clone();
            drop(pool.submit(move || c.fetch_add(1, Ordering::SeqCst)));
        }
    }
    assert_eq!(count.load(Ordering::SeqCst), 1000);
    Ok(())
}

#[test]
fn shutdown_from_inside_a_task_does_not_deadlock() -> std::io::Result<()> {
    let pool = Arc::new(ThreadPool::new(2)?);
    let p = pool.clone();
    let fut = pool.submit(move || {
        p.shutdown(true, false);
        "shut from inside"
    });
    assert_eq!(fut.result(), Ok("shut from inside"));
    assert!(pool.is_shutdown());
    Ok(())
}

#[test]
fn dropping_the_last_handle_inside_a_task_does_not_deadlock() -> std::io::Result<()> {
    let pool = Arc::new(ThreadPool::new(1)?);
    let (tx, rx) = std::sync::mpsc::channel();
    let p = pool.clone();
    drop(pool.submit(move || {
        // The test's handle is gone by the time this runs: this drop is the pool's last.
        let _ = rx.recv_timeout(BOUND);
        drop(p);
    }));
    drop(pool);
    tx.send(()).unwrap();
    Ok(())
}

/// Polls `cond` until it holds, at most [`BOUND`] (a bounded wait for a state the pool
/// reaches by itself, such as threads exiting after their keep-alive).
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + BOUND;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}

#[test]
fn a_growing_pool_grows_to_its_bound_and_shrinks_back() -> std::io::Result<()> {
    let pool = ThreadPool::builder()
        .workers(1)
        .max_workers(4)
        .keep_alive(Duration::from_millis(50))
        .build()?;
    assert_eq!(pool.threads(), 1);
    let (open, g) = gate();
    let g = Arc::new(Mutex::new(g));
    let started = Arc::new(AtomicUsize::new(0));
    let blocked: Vec<_> = (0..6)
        .map(|_| {
            let started = started.clone();
            let g = g.clone();
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let fut = pool.submit(move || {
                started.fetch_add(1, Ordering::SeqCst);
                let _ = rx.recv_timeout(BOUND);
                drop(g);
            });
            (fut, tx)
        })
        .collect();
    assert!(eventually(|| started.load(Ordering::SeqCst) == 4));
    assert_eq!(pool.threads(), 4, "grew to max_workers, not beyond");
    for (_, tx) in &blocked {
        let _ = tx.send(());
    }
    open.open();
    for (f, _) in blocked {
        f.result().unwrap();
    }
    assert!(
        eventually(|| pool.threads() == 1),
        "idle threads beyond `workers` exit after keep_alive"
    );
    assert_eq!(pool.submit(|| 3).result(), Ok(3));
    Ok(())
}

#[test]
fn a_growing_pool_from_zero_serves_every_submit() -> std::io::Result<()> {
    // Threads come and go (keep_alive of 1 ms) while tasks arrive in bursts: no task may be
    // stranded in the queue with no thread to run it.
    let pool = ThreadPool::builder()
        .workers(0)
        .max_workers(2)
        .keep_alive(Duration::from_millis(1))
        .build()?;
    assert_eq!(pool.threads(), 0);
    for burst in 0..200 {
        let futures: Vec<_> = (0..(burst % 5) + 1)
            .map(|i| pool.submit(move || i))
            .collect();
        for (i, f) in futures.into_iter().enumerate() {
            let mut f = f;
            assert_eq!(f.result_timeout(BOUND), Ok(i), "burst {burst}");
        }
        if burst % 50 == 0 {
            std::thread::sleep(Duration::from_millis(3)); // let threads expire
        }
    }
    Ok(())
}

#[test]
fn bad_sizes_are_clear_errors() {
    let e = ThreadPool::new(0).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    let e = ThreadPool::builder()
        .workers(3)
        .max_workers(2)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("max_workers"), "{e}");
    assert!(ThreadPool::builder().max_workers(0).build().is_err());
}
