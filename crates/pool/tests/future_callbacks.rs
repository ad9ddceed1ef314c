//! `add_done_callback`: exactly once, before or after completion, on cancel, under races.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use c10k_pool::{PoolError, ThreadPool};
use util::{gate, BOUND};

#[test]
fn callback_added_before_completion_runs_once_with_the_value() -> std::io::Result<()> {
    let pool = ThreadPool::new(1)?;
    let (open, g) = gate();
    let fut = pool.submit(move || {
        g.pass();
        7
    });
    let (tx, rx) = mpsc::channel();
    fut.add_done_callback(move |r| tx.send(r.copied().map_err(Clone::clone)).unwrap());
    assert!(!fut.done());
    open.open();
    assert_eq!(rx.recv_timeout(BOUND).unwrap(), Ok(7));
    assert!(rx
        .recv_timeout(std::time::Duration::from_millis(1))
        .is_err());
    assert_eq!(fut.result(), Ok(7));
    Ok(())
}

#[test]
fn callback_added_after_completion_runs_inline_on_the_caller() -> std::io::Result<()> {
    let pool = ThreadPool::new(1)?;
    let fut = pool.submit(|| "x");
    fut.wait();
    let me = std::thread::current().id();
    let ran_on = Arc::new(std::sync::Mutex::new(None));
    let r2 = ran_on.clone();
    fut.add_done_callback(move |r| {
        assert_eq!(r, Ok(&"x"));
        *r2.lock().unwrap() = Some(std::thread::current().id());
    });
    // Inline: it has run by the time add_done_callback returns.
    assert_eq!(*ran_on.lock().unwrap(), Some(me));
    Ok(())
}

#[test]
fn callbacks_run_in_order_and_before_done() -> std::io::Result<()> {
    let pool = ThreadPool::new(1)?;
    let (open, g) = gate();
    let fut = pool.submit(move || g.pass());
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    for i in 0..5 {
        let log = log.clone();
        fut.add_done_callback(move |_| log.lock().unwrap().push(i));
    }
    open.open();
    fut.wait();
    // `done()` implies every callback added before completion has returned.
    assert_eq!(*log.lock().unwrap(), [0, 1, 2, 3, 4]);
    Ok(())
}

#[test]
fn callback_sees_cancellation() -> std::io::Result<()> {
    let pool = ThreadPool::new(1)?;
    let (open, g) = gate();
    let busy = pool.submit(move || g.pass());
    let queued = pool.submit(|| 1);
    let (tx, rx) = mpsc::channel();
    queued.add_done_callback(move |r| tx.send(r.err().cloned()).unwrap());
    assert!(queued.cancel());
    assert_eq!(rx.recv_timeout(BOUND).unwrap(), Some(PoolError::Cancelled));
    open.open();
    busy.result().unwrap();
    Ok(())
}

#[test]
fn a_panicking_callback_does_not_stop_the_others_or_the_worker() -> std::io::Result<()> {
    let pool = ThreadPool::new(1)?;
    let (open, g) = gate();
    let fut = pool.submit(move || g.pass());
    let count = Arc::new(AtomicUsize::new(0));
    fut.add_done_callback(|_| panic!("callback panics (expected by the test)"));
    let c = count.clone();
    fut.add_done_callback(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
    });
    open.open();
    fut.result().unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert_eq!(pool.submit(|| 5).result(), Ok(5));
    Ok(())
}

/// Regression guard for protocol 2 of `state.rs`: a callback added while the task is
/// completing is run exactly once, by the completer or inline, never both, never neither.
#[test]
fn callbacks_racing_completion_run_exactly_once() -> std::io::Result<()> {
    let pool = ThreadPool::new(2)?;
    const N: usize = 20_000;
    let runs: Arc<Vec<AtomicUsize>> = Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect());
    let mut futures = Vec::with_capacity(N);
    for i in 0..N {
        let fut = pool.submit(move || i);
        let runs = runs.clone();
        fut.add_done_callback(move |r| {
            assert_eq!(r, Ok(&i));
            runs[i].fetch_add(1, Ordering::SeqCst);
        });
        futures.push(fut);
    }
    for f in futures {
        f.wait();
    }
    for (i, r) in runs.iter().enumerate() {
        assert_eq!(r.load(Ordering::SeqCst), 1, "callback {i}");
    }
    Ok(())
}

#[test]
fn callbacks_from_several_threads_on_a_shared_future() -> std::io::Result<()> {
    let pool = ThreadPool::new(1)?;
    let (open, g) = gate();
    let fut = pool.submit(move || {
        g.pass();
        3u32
    });
    let sum = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|s| {
        for _ in 0..4 {
            let sum = sum.clone();
            let fut = &fut;
            s.spawn(move || {
                for _ in 0..100 {
                    let sum = sum.clone();
                    fut.add_done_callback(move |r| {
                        sum.fetch_add(*r.unwrap() as usize, Ordering::SeqCst);
                    });
                }
            });
        }
        open.open();
    });
    fut.wait();
    assert_eq!(sum.load(Ordering::SeqCst), 3 * 400);
    Ok(())
}

#[test]
fn a_detached_future_still_runs_its_callbacks() -> std::io::Result<()> {
    let pool = ThreadPool::new(1)?;
    let (tx, rx) = mpsc::channel();
    pool.submit(|| 11)
        .add_done_callback(move |r| tx.send(*r.unwrap()).unwrap());
    assert_eq!(rx.recv_timeout(BOUND).unwrap(), 11);
    Ok(())
}
