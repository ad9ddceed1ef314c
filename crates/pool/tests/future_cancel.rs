//! `cancel`, `cancelled`, `running`, `done`: before, during and after the task, and races.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use c10k_pool::{PoolError, ThreadPool};
use util::gate;

#[test]
fn cancel_before_start_drops_the_closure_unrun() -> std::io::Result<()> {
    let pool = ThreadPool::new(1)?;
    let (open, g) = gate();
    let (started_tx, started) = gate();
    let busy = pool.submit(move || {
        started_tx.open();
        g.pass();
    });
    started.pass();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let queued = pool.submit(move || {
        r.fetch_add(1, Ordering::SeqCst);
    });
    assert!(!queued.running());
    assert!(queued.cancel());
    assert!(queued.cancel(), "cancelling twice still says cancelled");
    assert!(queued.cancelled());
    assert!(queued.done());
    assert!(busy.running());
    assert!(!busy.cancel(), "a running task cannot be cancelled");
    open.open();
    busy.result().unwrap();
    assert_eq!(queued.result(), Err(PoolError::Cancelled));
    // The worker went past the cancelled task: the next one runs, the cancelled one never.
    pool.submit(|| ()).result().unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    Ok(())
}

#[test]
fn cancel_after_done_fails() -> std::io::Result<()> {
    let pool = ThreadPool::new(1)?;
    let fut = pool.submit(|| 1);
    fut.wait();
    assert!(!fut.cancel());
    assert!(!fut.cancelled());
    assert_eq!(fut.result(), Ok(1));
    Ok(())
}

/// Cancel races the worker starting the task: either the cancel wins (the closure never
/// runs, the result is `Cancelled`) or the start wins (it runs once, the result is its
/// value); never both, never neither.
#[test]
fn cancel_racing_start_is_all_or_nothing() -> std::io::Result<()> {
    let pool = ThreadPool::new(2)?;
    const N: usize = 20_000;
    let ran: Arc<Vec<AtomicUsize>> = Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect());
    let mut futures = Vec::with_capacity(N);
    for i in 0..N {
        let ran = ran.clone();
        let fut = pool.submit(move || {
            ran[i].fetch_add(1, Ordering::SeqCst);
            i
        });
        let cancelled = i % 2 == 0 && fut.cancel();
        futures.push((i, fut, cancelled));
    }
    let mut won = 0;
    for (i, fut, cancelled) in futures {
        let r = fut.result();
        if cancelled {
            won += 1;
            assert_eq!(r, Err(PoolError::Cancelled));
            assert_eq!(
                ran[i].load(Ordering::SeqCst),
                0,
                "task {i} ran though cancelled"
            );
        } else {
            assert_eq!(r, Ok(i));
            assert_eq!(ran[i].load(Ordering::SeqCst), 1, "task {i}");
        }
    }
    println!("{won} of {} cancels won the race", N / 2);
    Ok(())
}

#[test]
fn running_is_true_only_while_it_runs() -> std::io::Result<()> {
    let pool = ThreadPool::new(1)?;
    let (open, g) = gate();
    let (started_tx, started) = gate();
    let fut = pool.submit(move || {
        started_tx.open();
        g.pass();
    });
    started.pass();
    assert!(fut.running());
    assert!(!fut.done());
    open.open();
    fut.wait();
    assert!(!fut.running());
    assert!(fut.done());
    Ok(())
}

/// A task's closure is dropped exactly once, whether it ran, was cancelled before it
/// started, or was cancelled by a shutdown: what it captured is released in every case
/// (the task keeps the closure without an `Option`, and a state flag says who drops it).
#[test]
fn every_closure_is_dropped_once_run_or_cancelled() -> std::io::Result<()> {
    let captured = Arc::new(());
    let pool = ThreadPool::new(1)?;
    let (open, g) = gate();
    let (started_tx, started) = std::sync::mpsc::channel();
    let busy = {
        let c = captured.clone();
        pool.submit(move || {
            started_tx.send(()).unwrap();
            g.pass();
            Arc::strong_count(&c)
        })
    };
    started.recv_timeout(util::BOUND).unwrap(); // the only worker is busy now
    let cancelled = {
        let c = captured.clone();
        pool.submit(move || drop(c))
    };
    let shut_out = {
        let c = captured.clone();
        pool.submit(move || drop(c))
    };
    assert_eq!(Arc::strong_count(&captured), 4);
    assert!(cancelled.cancel());
    pool.shutdown(false, true); // cancels `shut_out`, still queued
    drop(shut_out);
    open.open();
    assert!(busy.result().unwrap() >= 2);
    assert_eq!(cancelled.result(), Err(PoolError::Cancelled));
    pool.shutdown(true, false);
    assert_eq!(Arc::strong_count(&captured), 1);
    Ok(())
}
