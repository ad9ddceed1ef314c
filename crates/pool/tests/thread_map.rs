//! `ThreadPool::map`: order, chunking, laziness, per-item panics, cancel on drop.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use c10k_pool::{PoolError, ThreadPool};

#[test]
fn results_come_in_input_order_for_any_chunksize() -> std::io::Result<()> {
    let pool = ThreadPool::new(2)?;
    for chunksize in [1, 3, 7, 64, 1000, 5000] {
        let out: Vec<u64> = pool
            .map(|x: u64| x * 3, 0..2000u64, chunksize)
            .map(Result::unwrap)
            .collect();
        let expected: Vec<u64> = (0..2000).map(|x| x * 3).collect();
        assert_eq!(out, expected, "chunksize {chunksize}");
    }
    // Chunks finishing out of order (uneven work) still come out in order.
    let out: Vec<u64> = pool
        .map(
            |x: u64| {
                if x % 10 == 0 {
                    std::thread::yield_now();
                }
                x
            },
            0..500u64,
            5,
        )
        .map(Result::unwrap)
        .collect();
    assert_eq!(out, (0..500).collect::<Vec<_>>());
    let empty: Vec<_> = pool.map(|x: u8| x, Vec::new(), 4).collect();
    assert!(empty.is_empty());
    Ok(())
}

#[test]
fn a_panicking_item_fails_alone() -> std::io::Result<()> {
    let pool = ThreadPool::new(2)?;
    let out: Vec<Result<u32, PoolError>> = pool
        .map(
            |x: u32| {
                if x == 5 || x == 6 {
                    panic!("item {x} (expected by the test)");
                }
                x
            },
            0..10u32,
            4,
        )
        .collect();
    for (i, r) in out.iter().enumerate() {
        match i {
            5 | 6 => assert_eq!(
                r,
                &Err(PoolError::Panicked(format!(
                    "item {i} (expected by the test)"
                )))
            ),
            _ => assert_eq!(r, &Ok(i as u32)),
        }
    }
    Ok(())
}

#[test]
fn input_is_read_lazily_within_the_buffer() -> std::io::Result<()> {
    let pool = ThreadPool::new(2)?;
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = pulled.clone();
    let input = (0..1_000_000u64).inspect(move |_| {
        p.fetch_add(1, Ordering::SeqCst);
    });
    let mut results = pool.map_buffered(|x: u64| x + 1, input, 10, 3);
    // Three chunks of ten were submitted up front; nothing more.
    assert_eq!(pulled.load(Ordering::SeqCst), 30);
    assert_eq!(results.next(), Some(Ok(1)));
    // Taking the first chunk submitted one more.
    assert_eq!(pulled.load(Ordering::SeqCst), 40);
    let first_100: Vec<u64> = results.by_ref().take(99).map(Result::unwrap).collect();
    assert_eq!(first_100[98], 100);
    assert!(pulled.load(Ordering::SeqCst) <= 100 + 30);
    Ok(())
}

#[test]
fn dropping_the_map_cancels_chunks_not_started() -> std::io::Result<()> {
    let pool = ThreadPool::new(1)?;
    let (open, g) = util::gate();
    let (started_tx, started) = util::gate();
    let busy = pool.submit(move || {
        started_tx.open();
        g.pass();
    });
    started.pass();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let map = pool.map_buffered(
        move |_: u8| {
            r.fetch_add(1, Ordering::SeqCst);
        },
        0..100u8,
        10,
        5,
    );
    drop(map); // five chunks queued behind `busy`: all cancelled
    open.open();
    busy.result().unwrap();
    pool.shutdown(true, false);
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    Ok(())
}

#[test]
fn map_after_shutdown_yields_shutdown_errors() -> std::io::Result<()> {
    let pool = ThreadPool::new(1)?;
    pool.shutdown(true, false);
    let out: Vec<_> = pool.map(|x: u8| x, 0..3u8, 2).collect();
    assert_eq!(out, vec![Err(PoolError::Shutdown); 3]);
    Ok(())
}

/// Guards `Map::size_hint`: exact for an exact input (so `collect` allocates once) while
/// chunks are in flight, handed out and done.
#[test]
fn size_hint_is_exact_for_an_exact_input() -> std::io::Result<()> {
    let pool = ThreadPool::new(2)?;
    let mut results = pool.map_buffered(|x: u32| x, 0..100u32, 7, 3);
    assert_eq!(results.size_hint(), (100, Some(100)));
    for taken in 1..=100 {
        assert!(results.next().is_some());
        assert_eq!(results.size_hint(), (100 - taken, Some(100 - taken)));
    }
    assert!(results.next().is_none());
    Ok(())
}

/// Guards the chunk loop's resume after a panic: several panics in one chunk, at its start
/// and end, each cost their own item only.
#[test]
fn panics_at_a_chunks_edges_fail_alone() -> std::io::Result<()> {
    let pool = ThreadPool::new(2)?;
    let bad = |x: u32| x % 8 == 0 || x % 8 == 7;
    let out: Vec<Result<u32, PoolError>> = pool
        .map(
            move |x: u32| {
                if bad(x) {
                    panic!("item {x} (expected by the test)");
                }
                x
            },
            0..64u32,
            8,
        )
        .collect();
    assert_eq!(out.len(), 64);
    for (i, r) in out.iter().enumerate() {
        if bad(i as u32) {
            assert!(matches!(r, Err(PoolError::Panicked(_))), "item {i}: {r:?}");
        } else {
            assert_eq!(r, &Ok(i as u32));
        }
    }
    Ok(())
}
