//! Queue: orders, bounds, hand-over, cancellation, task_done/join, shutdown.

mod util;

use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use c10k_sync::queue::{GetError, PutError, TaskDoneError, TryGetError, TryPutError};
use c10k_sync::Queue;
use util::{block_on, poll_once, CountWaker};

fn drain<T>(q: &Queue<T>) -> Vec<T> {
    std::iter::from_fn(|| q.try_get().ok()).collect()
}

#[test]
fn fifo_lifo_priority_orders() {
    let fifo = Queue::new();
    let lifo = Queue::lifo(None);
    let prio = Queue::priority();
    for x in [3, 1, 2] {
        fifo.try_put(x).unwrap();
        lifo.try_put(x).unwrap();
        prio.try_put(x).unwrap();
    }
    assert_eq!(drain(&fifo), [3, 1, 2]);
    assert_eq!(drain(&lifo), [2, 1, 3]);
    assert_eq!(drain(&prio), [1, 2, 3]);
}

#[test]
fn priority_by_key_keeps_fifo_among_equal_keys() {
    let q = Queue::priority_by_key(None, |x: &(u8, u32)| x.0);
    for (i, p) in [2u8, 1, 2, 1, 0, 2].into_iter().enumerate() {
        q.try_put((p, i as u32)).unwrap();
    }
    assert_eq!(drain(&q), [(0, 4), (1, 1), (1, 3), (2, 0), (2, 2), (2, 5)]);
}

#[test]
fn bounded_queue_rejects_and_hands_value_back() {
    let q = Queue::bounded(1);
    q.try_put(1).unwrap();
    assert!(q.is_full());
    assert_eq!(q.try_put(2), Err(TryPutError::Full(2)));
    match q.put_blocking_timeout(3, Duration::from_millis(5)) {
        Err(PutError::Timeout(3)) => {}
        other => panic!("expected timeout with the value back, got {other:?}"),
    }
    assert_eq!(q.get_blocking_timeout(Duration::from_secs(5)), Ok(1));
    assert_eq!(
        q.get_blocking_timeout(Duration::from_millis(5)),
        Err(GetError::Timeout)
    );
}

#[test]
fn waiting_putter_enters_when_room_is_made() {
    let q = Queue::bounded(1);
    q.try_put(1).unwrap();
    let (_c, w) = CountWaker::new();
    let mut p = q.put(2);
    assert!(poll_once(&mut p, &w).is_pending());
    assert_eq!(q.try_get(), Ok(1));
    // The waiting putter's value moved in during the get.
    assert_eq!(q.len(), 1);
    assert!(matches!(poll_once(&mut p, &w), Poll::Ready(Ok(()))));
    assert_eq!(q.try_get(), Ok(2));
}

#[test]
fn dropped_getter_does_not_lose_a_handed_value() {
    let q = Queue::new();
    let (_c, w) = CountWaker::new();
    let mut a = q.get();
    let mut b = q.get();
    assert!(poll_once(&mut a, &w).is_pending());
    assert!(poll_once(&mut b, &w).is_pending());
    q.try_put("x").unwrap(); // handed to a
    drop(a); // passes it to b
    assert!(matches!(poll_once(&mut b, &w), Poll::Ready(Ok("x"))));

    let mut c = q.get();
    assert!(poll_once(&mut c, &w).is_pending());
    q.try_put("y").unwrap();
    q.try_put("z").unwrap();
    drop(c); // nobody waits: "y" goes back to the head, before "z"
    assert_eq!(drain(&q), ["y", "z"]);
}

#[test]
fn join_returns_after_every_task_done() {
    let q = Arc::new(Queue::new());
    for i in 0..10 {
        q.try_put(i).unwrap();
    }
    let (c, w) = CountWaker::new();
    let mut join = q.join();
    assert!(poll_once(&mut join, &w).is_pending());
    for _ in 0..10 {
        q.try_get().unwrap();
        assert!(poll_once(&mut join, &w).is_pending());
        q.task_done().unwrap();
    }
    assert_eq!(c.count(), 1);
    assert!(poll_once(&mut join, &w).is_ready());
    assert_eq!(q.task_done(), Err(TaskDoneError));
    assert!(q.join_blocking_timeout(Duration::from_millis(1)));
}

#[test]
fn shutdown_drains_then_errors() {
    let q = Queue::bounded(2);
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    let (_c, w) = CountWaker::new();
    let mut waiting_put = q.put(3);
    assert!(poll_once(&mut waiting_put, &w).is_pending());
    q.shutdown(false);
    assert!(matches!(
        poll_once(&mut waiting_put, &w),
        Poll::Ready(Err(PutError::Closed(3)))
    ));
    assert_eq!(q.try_put(4), Err(TryPutError::Closed(4)));
    assert_eq!(q.try_get(), Ok(1));
    assert_eq!(block_on(q.get()), Ok(2));
    assert_eq!(q.try_get(), Err(TryGetError::Closed));
    assert_eq!(q.get_blocking(), Err(GetError::Closed));
}

#[test]
fn shutdown_wakes_blocked_getters_and_immediate_discards() {
    let q = Arc::new(Queue::<u32>::new());
    let getters: Vec<_> = (0..2)
        .map(|_| {
            let q = q.clone();
            std::thread::spawn(move || q.get_blocking())
        })
        .collect();
    q.shutdown(false);
    for g in getters {
        assert_eq!(g.join().unwrap(), Err(GetError::Closed));
    }

    let q = Queue::new();
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    q.shutdown(true);
    assert_eq!(q.try_get(), Err(TryGetError::Closed));
    assert_eq!(q.unfinished_tasks(), 0);
    assert!(q.join_blocking_timeout(Duration::from_secs(5)));
}

#[test]
fn tasks_and_threads_share_one_queue() {
    let q = Arc::new(Queue::bounded(4));
    let rt = util::tokio_rt();
    let consumer = {
        let q = q.clone();
        rt.spawn(async move {
            let mut got = Vec::new();
            while let Ok(v) = q.get().await {
                got.push(v);
                q.task_done().unwrap();
            }
            got
        })
    };
    std::thread::scope(|s| {
        for t in 0..3u32 {
            let q = &q;
            s.spawn(move || {
                for i in 0..100 {
                    q.put_blocking(t * 1000 + i).unwrap();
                }
            });
        }
    });
    q.join_blocking();
    q.shutdown(false);
    let mut got = rt.block_on(consumer).unwrap();
    got.sort_unstable();
    let mut want: Vec<u32> = (0..3)
        .flat_map(|t| (0..100).map(move |i| t * 1000 + i))
        .collect();
    want.sort_unstable();
    assert_eq!(got, want);
}
