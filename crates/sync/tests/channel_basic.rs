//! Channels: mpsc, mpmc, oneshot, broadcast, watch.

mod util;

use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use c10k_sync::channel::{broadcast, mpmc, mpsc, oneshot, watch};
use c10k_sync::channel::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};
use futures_util::StreamExt;
use util::{block_on, poll_once, CountWaker};

#[test]
fn bounded_mpsc_back_pressure_and_value_back() {
    let (tx, mut rx) = mpsc::bounded(1);
    tx.try_send(1).unwrap();
    assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    let (_c, w) = CountWaker::new();
    let mut s = tx.send(3);
    assert!(poll_once(&mut s, &w).is_pending());
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(matches!(poll_once(&mut s, &w), Poll::Ready(Ok(()))));
    drop(s);
    assert_eq!(rx.try_recv(), Ok(3));
    drop(rx);
    assert_eq!(tx.send_blocking(4), Err(SendError(4)));
}

#[test]
fn receivers_drain_after_senders_leave() {
    let (tx, mut rx) = mpsc::unbounded();
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    tx2.try_send(2).unwrap();
    drop(tx);
    drop(tx2);
    assert_eq!(rx.recv_blocking(), Ok(1));
    assert_eq!(block_on(rx.recv()), Ok(2));
    assert_eq!(rx.recv_blocking(), Err(RecvError));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn recv_timeout_and_close() {
    let (tx, mut rx) = mpsc::bounded::<u8>(2);
    assert_eq!(
        rx.recv_blocking_timeout(Duration::from_millis(5)),
        Err(RecvTimeoutError::Timeout)
    );
    tx.try_send(1).unwrap();
    rx.close();
    assert!(tx.is_closed());
    assert!(matches!(tx.try_send(2), Err(TrySendError::Disconnected(2))));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn mpmc_threads_and_tasks_each_message_once() {
    let (tx, rx) = mpmc::bounded(8);
    let rt = util::tokio_rt();
    let task_rx = rx.clone();
    let task = rt.spawn(async move {
        let mut got = Vec::new();
        while let Ok(v) = task_rx.recv().await {
            got.push(v);
        }
        got
    });
    let mut got = std::thread::scope(|s| {
        let h = s.spawn(|| rx.iter_blocking().collect::<Vec<u32>>());
        for p in 0..2u32 {
            let tx = tx.clone();
            s.spawn(move || {
                for i in 0..200 {
                    tx.send_blocking(p * 1000 + i).unwrap();
                }
            });
        }
        drop(tx);
        h.join().unwrap()
    });
    drop(rx);
    got.extend(rt.block_on(task).unwrap());
    got.sort_unstable();
    let want: Vec<u32> = (0..2)
        .flat_map(|p| (0..200).map(move |i| p * 1000 + i))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn receiver_stream_ends_when_senders_leave() {
    let (tx, rx) = mpsc::unbounded();
    for i in 0..5 {
        tx.try_send(i).unwrap();
    }
    drop(tx);
    let all: Vec<i32> = block_on(rx.into_stream().collect());
    assert_eq!(all, [0, 1, 2, 3, 4]);
}

#[test]
fn oneshot_send_recv_and_dropped_sender() {
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || tx.send("done").unwrap());
    assert_eq!(block_on(rx), Ok("done"));

    let (tx, rx) = oneshot::channel::<u8>();
    drop(tx);
    assert_eq!(rx.recv_blocking(), Err(RecvError));

    let (tx, rx) = oneshot::channel();
    drop(rx);
    assert_eq!(tx.send(5), Err(5));

    let (_tx, mut rx) = oneshot::channel::<u8>();
    assert_eq!(
        rx.recv_blocking_timeout(Duration::from_millis(2)),
        Err(RecvTimeoutError::Timeout)
    );
}

#[test]
fn broadcast_every_receiver_sees_everything_and_lag_is_counted() {
    let (tx, mut a) = broadcast::channel(4);
    let mut b = tx.subscribe();
    let t = std::thread::spawn(move || {
        let mut got = Vec::new();
        loop {
            match b.recv_blocking() {
                Ok(v) => got.push(v),
                Err(broadcast::RecvError::Lagged(n)) => got.push(-(n as i64)),
                Err(_closed) => return got,
            }
        }
    });
    for i in 0..3 {
        tx.send(i).unwrap();
        assert_eq!(a.try_recv(), Ok(i));
    }
    for i in 3..10 {
        tx.send(i).unwrap();
    }
    drop(tx);
    // `a` missed 3..6 (overwritten): it learns how many, then reads the last 4.
    assert_eq!(a.try_recv(), Err(broadcast::TryRecvError::Lagged(3)));
    assert_eq!(block_on(a.recv()), Ok(6));
    let total: i64 = t
        .join()
        .unwrap()
        .iter()
        .map(|v| if *v < 0 { -v } else { 1 })
        .sum();
    assert_eq!(
        total, 10,
        "every message was either received or counted as missed"
    );
}

#[test]
fn watch_latest_value_and_changes() {
    let (tx, mut rx) = watch::channel(0);
    let mut rx2 = rx.clone();
    assert_eq!(rx.has_changed(), Ok(false));
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    block_on(rx.changed()).unwrap();
    assert_eq!(*rx.borrow_and_update(), 2);
    assert_eq!(rx.has_changed(), Ok(false));
    let rt = util::tokio_rt();
    let h = rt.spawn(async move {
        rx2.changed().await.unwrap();
        let v = *rx2.borrow_and_update();
        v
    });
    assert_eq!(rt.block_on(h).unwrap(), 2);
    let tx = Arc::new(tx);
    let tx2 = tx.clone();
    std::thread::spawn(move || tx2.send_modify(|v| *v += 40))
        .join()
        .unwrap();
    rx.changed_blocking().unwrap();
    assert_eq!(*rx.borrow(), 42);
    drop(tx);
    assert_eq!(rx.changed_blocking(), Err(RecvError));
}

#[test]
fn unbounded_mpsc_batches_without_losing_order_or_messages() {
    let (tx, mut rx) = mpsc::unbounded();
    let (_c, w) = CountWaker::new();
    {
        let mut pending = rx.recv();
        assert!(poll_once(&mut pending, &w).is_pending());
        tx.try_send(0).unwrap(); // handed to the pending receive ...
    } // ... which is dropped: 0 goes back to the head of the channel
    for i in 1..5 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(rx.recv_blocking(), Ok(0)); // takes 0..5 as one batch
    assert_eq!(rx.len(), 4);
    tx.try_send(5).unwrap();
    let rest: Vec<i32> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert_eq!(rest, [1, 2, 3, 4, 5]);
    drop(tx);
    assert_eq!(block_on(rx.recv()), Err(RecvError));
}
