//! The lock-free stores behind the FIFO channels and `Queue`: values dropped exactly once,
//! nothing lost or duplicated under many producers and consumers, and the fast paths never
//! overtake a waiter.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;

use c10k_sync::channel::{mpmc, mpsc, TryRecvError, TrySendError};
use c10k_sync::Queue;
use util::{poll_once, CountWaker};

/// Counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Sends `n`, receives `taken`, drops both ends: every value dropped exactly once.
fn drops_each_once(tx: mpmc::Sender<Counted>, rx: mpmc::Receiver<Counted>, n: usize, taken: usize) {
    let drops = Arc::new(AtomicUsize::new(0));
    for _ in 0..n {
        assert!(tx.try_send(Counted(drops.clone())).is_ok());
    }
    for _ in 0..taken {
        assert!(rx.try_recv().is_ok(), "a value");
    }
    assert_eq!(drops.load(Ordering::SeqCst), taken);
    drop(tx);
    drop(rx);
    assert_eq!(drops.load(Ordering::SeqCst), n);
}

#[test]
fn ring_drops_values_left_inside_once_after_wrapping() {
    // Wrap the ring a few laps first, so that the values left straddle the end.
    let (tx, rx) = mpmc::bounded(5);
    let drops = Arc::new(AtomicUsize::new(0));
    for _ in 0..13 {
        tx.try_send(Counted(drops.clone())).ok().unwrap();
        drop(rx.try_recv().ok().unwrap());
    }
    assert_eq!(drops.load(Ordering::SeqCst), 13);
    drops_each_once(tx, rx, 5, 2);
}

#[test]
fn list_drops_values_left_inside_once_across_blocks() {
    // 31 slots per block: 200 values span seven blocks; 70 are taken, freeing two.
    let (tx, rx) = mpmc::unbounded();
    drops_each_once(tx, rx, 200, 70);
}

#[test]
fn last_receiver_gone_drops_buffered_values_at_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpmc::unbounded();
    for _ in 0..40 {
        tx.try_send(Counted(drops.clone())).ok().unwrap();
    }
    drop(rx);
    assert_eq!(drops.load(Ordering::SeqCst), 40);
    match tx.try_send(Counted(drops.clone())) {
        Err(TrySendError::Disconnected(v)) => drop(v),
        _ => panic!("send after the receiver left must fail"),
    }
    assert_eq!(drops.load(Ordering::SeqCst), 41);
}

/// `producers` threads × `per` messages through the channel to `consumers` threads: every
/// message arrives exactly once and each producer's messages arrive in order per consumer.
fn many_to_many(tx: mpmc::Sender<u64>, rx: mpmc::Receiver<u64>, producers: u64, consumers: usize) {
    const PER: u64 = 20_000;
    let got: Vec<Vec<u64>> = std::thread::scope(|s| {
        for p in 0..producers {
            let tx = tx.clone();
            s.spawn(move || {
                for i in 0..PER {
                    tx.send_blocking(p * PER + i).unwrap();
                }
            });
        }
        drop(tx);
        let hs: Vec<_> = (0..consumers)
            .map(|_| {
                let rx = rx.clone();
                s.spawn(move || rx.iter_blocking().collect::<Vec<u64>>())
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for per_consumer in &got {
        let mut last = vec![None; producers as usize];
        for &v in per_consumer {
            let p = (v / PER) as usize;
            assert!(last[p] < Some(v), "producer {p}'s order broken");
            last[p] = Some(v);
        }
    }
    let mut all: Vec<u64> = got.into_iter().flatten().collect();
    all.sort_unstable();
    assert_eq!(all, (0..producers * PER).collect::<Vec<_>>());
}

#[test]
fn ring_4p4c_each_message_once_in_producer_order() {
    let (tx, rx) = mpmc::bounded(8);
    many_to_many(tx, rx, 4, 4);
}

#[test]
fn list_4p4c_each_message_once_in_producer_order() {
    let (tx, rx) = mpmc::unbounded();
    many_to_many(tx, rx, 4, 4);
}

#[test]
fn ring_capacity_1_2p2c_each_message_once() {
    let (tx, rx) = mpmc::bounded(1);
    many_to_many(tx, rx, 2, 2);
}

/// Fairness guard: a value sent while a receiver waits goes to that receiver; a `try_recv`
/// arriving later finds nothing rather than taking it.
#[test]
fn try_recv_does_not_overtake_a_waiting_receiver() {
    let (tx, rx) = mpmc::unbounded();
    let (c, w) = CountWaker::new();
    let mut waiting = rx.recv();
    assert!(poll_once(&mut waiting, &w).is_pending());
    tx.try_send(1).unwrap();
    assert_eq!(c.count(), 1, "the waiting receiver is woken");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(matches!(poll_once(&mut waiting, &w), Poll::Ready(Ok(1))));
}

/// Fairness guard: room made while a sender waits goes to that sender; a `try_send`
/// arriving later finds the channel full.
#[test]
fn try_send_does_not_overtake_a_waiting_sender() {
    let (tx, mut rx) = mpsc::bounded(1);
    tx.try_send(1).unwrap();
    let (_c, w) = CountWaker::new();
    let mut waiting = tx.send(2);
    assert!(poll_once(&mut waiting, &w).is_pending());
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
    assert!(matches!(poll_once(&mut waiting, &w), Poll::Ready(Ok(()))));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn dropped_waiting_send_drops_its_value_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpmc::bounded(1);
    tx.try_send(Counted(drops.clone())).ok().unwrap();
    let (_c, w) = CountWaker::new();
    let mut waiting = tx.send(Counted(drops.clone()));
    assert!(poll_once(&mut waiting, &w).is_pending());
    drop(waiting);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    drop((tx, rx));
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn fifo_queue_2p2c_join_after_every_task_done() {
    let q = Queue::bounded(4);
    let sum: u64 = std::thread::scope(|s| {
        let ps: Vec<_> = (0..2u64)
            .map(|p| {
                let q = &q;
                s.spawn(move || {
                    for i in 0..5_000 {
                        q.put_blocking(p * 5_000 + i).unwrap();
                    }
                })
            })
            .collect();
        let cs: Vec<_> = (0..2)
            .map(|_| {
                let q = &q;
                s.spawn(move || {
                    let mut sum = 0;
                    while let Ok(v) = q.get_blocking() {
                        sum += v;
                        q.task_done().unwrap();
                    }
                    sum
                })
            })
            .collect();
        for p in ps {
            p.join().unwrap();
        }
        q.join_blocking();
        assert_eq!(q.unfinished_tasks(), 0);
        q.shutdown(false);
        cs.into_iter().map(|c| c.join().unwrap()).sum()
    });
    assert_eq!(sum, (0..10_000).sum());
}

// A bounded channel whose ring would take more than a page up front (16-byte slots × 300)
// keeps its values in the block list with a counted bound instead.

#[test]
fn large_bound_is_exact_and_hands_the_value_back() {
    let (tx, rx) = mpmc::bounded::<u64>(300);
    for i in 0..300 {
        tx.try_send(i).unwrap();
    }
    assert!(matches!(tx.try_send(300), Err(TrySendError::Full(300))));
    assert_eq!(rx.len(), 300);
    assert_eq!(rx.try_recv(), Ok(0));
    tx.try_send(300).unwrap();
    assert!(matches!(tx.try_send(301), Err(TrySendError::Full(301))));
    let rest: Vec<u64> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert_eq!(rest, (1..=300).collect::<Vec<_>>());
}

#[test]
fn large_bound_4p4c_each_message_once_in_producer_order() {
    let (tx, rx) = mpmc::bounded(300);
    many_to_many(tx, rx, 4, 4);
}

#[test]
fn large_bound_drops_values_left_inside_once() {
    let (tx, rx) = mpmc::bounded(300);
    drops_each_once(tx, rx, 300, 100);
}

/// The async ends on two threads (a worker's task and the `block_on` thread), a bound small
/// enough that both ends keep finding the ring full or empty, so that they spin and yield
/// before queuing (engine docs, "Before an async end queues"): every message arrives once, in
/// order, and a sender left waiting when the receiver goes gets its value back.
#[test]
fn async_ends_on_two_threads_keep_order_and_close() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    for cap in [1, 2, 8] {
        let (tx, mut rx) = mpsc::bounded::<u64>(cap);
        let got = rt.block_on(async move {
            let producer = tokio::spawn(async move {
                for i in 0..20_000 {
                    tx.send(i).await.unwrap();
                }
            });
            let mut got = Vec::new();
            while let Ok(v) = rx.recv().await {
                got.push(v);
            }
            producer.await.unwrap();
            got
        });
        assert!(got.iter().copied().eq(0..20_000), "capacity {cap}");
    }
    // The receiver goes while the sender waits on a full channel (or spins before queuing).
    for _ in 0..200 {
        let (tx, mut rx) = mpsc::bounded::<u64>(1);
        let back = rt.block_on(async move {
            let producer = tokio::spawn(async move {
                let mut i = 0;
                loop {
                    if let Err(e) = tx.send(i).await {
                        return (i, e.0);
                    }
                    i += 1;
                }
            });
            assert_eq!(rx.recv().await, Ok(0));
            drop(rx);
            producer.await.unwrap()
        });
        assert_eq!(back.0, back.1, "the failed send hands its own value back");
        assert!(back.0 >= 1);
    }
}
