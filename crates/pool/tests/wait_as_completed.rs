//! `as_completed` (iterator and stream) and `wait` with each `ReturnWhen`.

mod util;

use std::time::Duration;

use c10k_pool::{as_completed, wait, PoolError, ReturnWhen, ThreadPool};
use futures_util::StreamExt;
use util::{gate, Opener};

/// Three tasks blocked on gates; returns their futures and the openers.
fn gated(pool: &ThreadPool, n: usize) -> (Vec<c10k_pool::PoolFuture<usize>>, Vec<Opener>) {
    let mut futures = Vec::new();
    let mut openers = Vec::new();
    for i in 0..n {
        let (open, g) = gate();
        futures.push(pool.submit(move || {
            g.pass();
            i
        }));
        openers.push(open);
    }
    (futures, openers)
}

#[test]
fn as_completed_yields_in_completion_order() -> std::io::Result<()> {
    let pool = ThreadPool::new(3)?;
    let (futures, openers) = gated(&pool, 3);
    let mut it = as_completed(futures);
    assert_eq!(it.remaining(), 3);
    for i in [2, 0, 1] {
        openers[i].open();
        let fut = it.next().unwrap();
        assert!(fut.done());
        assert_eq!(fut.result(), Ok(i));
    }
    assert!(it.next().is_none());
    Ok(())
}

#[test]
fn as_completed_yields_done_futures_first() -> std::io::Result<()> {
    let pool = ThreadPool::new(2)?;
    let done = pool.submit(|| 9usize);
    done.wait();
    let (mut pending, openers) = gated(&pool, 1);
    pending.insert(0, done);
    let mut it = as_completed(pending);
    assert_eq!(it.next().unwrap().result(), Ok(9));
    openers[0].open();
    assert_eq!(it.next().unwrap().result(), Ok(0));
    Ok(())
}

#[test]
fn as_completed_next_timeout() -> std::io::Result<()> {
    let pool = ThreadPool::new(1)?;
    let (futures, openers) = gated(&pool, 1);
    let mut it = as_completed(futures);
    assert!(it.next_timeout(Duration::from_millis(10)).is_err());
    openers[0].open();
    let fut = it.next_timeout(util::BOUND).unwrap().unwrap();
    assert_eq!(fut.result(), Ok(0));
    assert!(matches!(it.next_timeout(Duration::ZERO), Ok(None)));
    Ok(())
}

#[test]
fn as_completed_as_a_stream_on_two_executors() -> std::io::Result<()> {
    let pool = ThreadPool::new(2)?;
    let futures: Vec<_> = (0..50usize).map(|i| pool.submit(move || i)).collect();
    let sum = c10k_runtime::run(async {
        let mut s = as_completed(futures).into_stream();
        let mut sum = 0;
        while let Some(f) = s.next().await {
            sum += f.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, 1225);

    let (futures, openers) = gated(&pool, 2);
    let opener = std::thread::spawn(move || {
        for o in openers.iter().rev() {
            o.open();
        }
    });
    let order = util::block_on(async {
        let mut s = as_completed(futures).into_stream();
        let mut order = Vec::new();
        while let Some(f) = s.next().await {
            order.push(f.result().unwrap());
        }
        order
    });
    opener.join().unwrap();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(sorted, [0, 1]);
    Ok(())
}

#[test]
fn wait_first_completed() -> std::io::Result<()> {
    let pool = ThreadPool::new(3)?;
    let (futures, openers) = gated(&pool, 3);
    openers[1].open();
    let w = wait(futures, ReturnWhen::FirstCompleted, None);
    assert!(!w.done.is_empty());
    assert_eq!(w.done.len() + w.not_done.len(), 3);
    assert!(w.done.iter().all(|f| f.done()));
    for o in &openers {
        o.open();
    }
    let w = wait(w.not_done, ReturnWhen::AllCompleted, None);
    assert!(w.not_done.is_empty());
    Ok(())
}

#[test]
fn wait_first_exception_returns_on_a_failure_but_not_on_a_cancel() -> std::io::Result<()> {
    let pool = ThreadPool::new(2)?;
    let (open, g) = gate();
    let slow = pool.submit(move || {
        g.pass();
        0usize
    });
    let (open_bad, g_bad) = gate();
    let bad = pool.submit(move || -> usize {
        g_bad.pass();
        panic!("fails (expected by the test)")
    });
    let cancelled = pool.submit(|| 1usize); // queued behind the two blocked workers
    assert!(cancelled.cancel());
    open_bad.open();
    let w = wait(vec![slow, bad, cancelled], ReturnWhen::FirstException, None);
    // Returned on the panic, while `slow` is still blocked.
    assert_eq!(w.not_done.len(), 1);
    assert_eq!(w.done.len(), 2);
    assert!(w
        .done
        .iter()
        .any(|f| matches!(f.peek(), Some(Err(PoolError::Panicked(_))))));
    open.open();
    // With no failure at all, FirstException waits for all.
    let ok: Vec<_> = (0..5usize).map(|i| pool.submit(move || i)).collect();
    let w = wait(ok, ReturnWhen::FirstException, None);
    assert_eq!(w.done.len(), 5);
    Ok(())
}

#[test]
fn wait_times_out_with_the_pending_ones_in_not_done() -> std::io::Result<()> {
    let pool = ThreadPool::new(2)?;
    let (futures, openers) = gated(&pool, 2);
    openers[0].open();
    futures[0].wait();
    let w = wait(
        futures,
        ReturnWhen::AllCompleted,
        Some(Duration::from_millis(20)),
    );
    assert_eq!(w.done.len(), 1);
    assert_eq!(w.not_done.len(), 1);
    // Waiting again on the same pending future (a loop with a timeout) works each time.
    let mut not_done = w.not_done;
    for _ in 0..3 {
        let w = wait(
            not_done,
            ReturnWhen::AllCompleted,
            Some(Duration::from_millis(1)),
        );
        assert_eq!(w.not_done.len(), 1);
        not_done = w.not_done;
    }
    openers[1].open();
    let w = wait(not_done, ReturnWhen::AllCompleted, Some(util::BOUND));
    assert_eq!(w.done.len(), 1);
    // The future registered with `wait` can still be awaited afterwards.
    let fut = w.done.into_iter().next().unwrap();
    assert_eq!(util::block_on(fut), Ok(1));
    Ok(())
}

#[test]
fn wait_on_nothing_returns_at_once() {
    let w = wait(
        Vec::<c10k_pool::PoolFuture<()>>::new(),
        ReturnWhen::FirstCompleted,
        None,
    );
    assert!(w.done.is_empty() && w.not_done.is_empty());
}
