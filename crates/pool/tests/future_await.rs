//! `.await` on any executor, blocking results with timeouts, errors.

mod util;

use std::time::Duration;

use c10k_pool::{PoolError, ThreadPool};
use util::{block_on, gate, BOUND};

#[test]
fn awaited_on_c10k() -> std::io::Result<()> {
    let pool = ThreadPool::new(2)?;
    let v = c10k_runtime::run(async {
        let a = pool.submit(|| 20);
        let b = pool.submit(|| 22);
        a.await.unwrap() + b.await.unwrap()
    });
    assert_eq!(v, 42);
    Ok(())
}

#[test]
fn awaited_on_another_executor() -> std::io::Result<()> {
    let pool = ThreadPool::new(1)?;
    let (open, g) = gate();
    let fut = pool.submit(move || {
        g.pass();
        "woken"
    });
    // Pending at the first poll, then woken by the worker: `block_on` fails on a lost wake.
    let opener = std::thread::spawn(move || open.open());
    assert_eq!(block_on(fut), Ok("woken"));
    opener.join().unwrap();
    Ok(())
}

/// On a current-thread runtime, task A awaits a pool task that needs task B, spawned after A,
/// to run first. If awaiting blocked the scheduler thread, B could never run: the pool task
/// would give up after the bound and the test would fail.
#[test]
fn awaiting_never_blocks_the_scheduler() -> std::io::Result<()> {
    let pool = ThreadPool::new(1)?;
    let (tx, rx) = std::sync::mpsc::channel::<u32>();
    let out = c10k_runtime::run(async {
        let fut = pool.submit(move || rx.recv_timeout(BOUND).map_err(|_| "B never ran"));
        let a = c10k_runtime::spawn(fut);
        let b = c10k_runtime::spawn(async move { tx.send(5).unwrap() });
        b.await.unwrap();
        a.await.unwrap()
    });
    assert_eq!(out, Ok(Ok(5)));
    Ok(())
}

#[test]
fn awaited_from_a_multi_thread_runtime() -> std::io::Result<()> {
    let pool = ThreadPool::new(2)?;
    let rt = c10k_runtime::Runtime::builder().worker_threads(2).build()?;
    let total = rt.block_on(async {
        let mut handles = Vec::new();
        for i in 0..100u64 {
            let fut = pool.submit(move || i);
            handles.push(c10k_runtime::spawn(async move { fut.await.unwrap() }));
        }
        let mut total = 0;
        for h in handles {
            total += h.await.unwrap();
        }
        total
    });
    assert_eq!(total, 4950);
    Ok(())
}

#[test]
fn result_timeout_then_result() -> std::io::Result<()> {
    let pool = ThreadPool::new(1)?;
    let (open, g) = gate();
    let mut fut = pool.submit(move || {
        g.pass();
        1
    });
    assert_eq!(
        fut.result_timeout(Duration::from_millis(10)),
        Err(PoolError::Timeout)
    );
    assert!(!fut.wait_timeout(Duration::from_millis(1)));
    open.open();
    assert_eq!(fut.result_timeout(BOUND), Ok(1));
    Ok(())
}

#[test]
fn a_panic_is_that_futures_error() -> std::io::Result<()> {
    let pool = ThreadPool::new(1)?;
    let bad = pool.submit(|| -> u8 { panic!("boom (expected by the test)") });
    assert_eq!(
        bad.error(),
        Some(PoolError::Panicked("boom (expected by the test)".into()))
    );
    assert!(bad.result().is_err());
    let formatted = pool.submit(|| -> u8 { panic!("code {}", 7) });
    assert_eq!(
        formatted.result(),
        Err(PoolError::Panicked("code 7".into()))
    );
    let good = pool.submit(|| 2);
    assert_eq!(good.error(), None);
    assert_eq!(good.peek(), Some(Ok(&2)));
    assert_eq!(good.result(), Ok(2));
    assert_eq!(pool.threads(), 1, "the worker survived both panics");
    Ok(())
}

#[test]
fn dropping_an_awaited_future_leaves_the_task_running() -> std::io::Result<()> {
    let pool = ThreadPool::new(1)?;
    let (open, g) = gate();
    let (tx, rx) = std::sync::mpsc::channel();
    let fut = pool.submit(move || {
        g.pass();
        tx.send("still ran").unwrap();
    });
    // Poll once (registers a waker), then drop it.
    c10k_runtime::run(async {
        let mut fut = fut;
        let polled = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(std::pin::Pin::new(&mut fut).poll(cx).is_pending())
        })
        .await;
        assert!(polled);
    });
    open.open();
    assert_eq!(rx.recv_timeout(BOUND).unwrap(), "still ran");
    Ok(())
}

use std::future::Future;
