//! Property tests: under contention from mixed threads and tasks nothing put is lost or
//! duplicated, dropped (timed-out) `get` futures lose nothing, `join` returns only after every
//! `task_done`, and FIFO / LIFO / priority orders match a model.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use c10k_sync::channel::mpsc;
use c10k_sync::Queue;
use proptest::prelude::*;

fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(util::tokio_rt)
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Fifo,
    Lifo,
    Priority,
}

fn make(kind: Kind, maxsize: usize) -> Queue<u32> {
    let m = (maxsize > 0).then_some(maxsize);
    match kind {
        Kind::Fifo => Queue::bounded(maxsize),
        Kind::Lifo => Queue::lifo(m),
        Kind::Priority => Queue::priority_with(m, |a: &u32, b: &u32| a.cmp(b)),
    }
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Fifo), Just(Kind::Lifo), Just(Kind::Priority)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn nothing_lost_or_duplicated_and_join_waits_for_task_done(
        kind in kind(),
        maxsize in 0usize..4,
        thread_producers in 0usize..3,
        task_producers in 0usize..3,
        per_producer in 0u32..60,
        thread_consumers in 1usize..3,
        task_consumers in 0usize..3,
    ) {
        let q = Arc::new(make(kind, maxsize));
        let done = Arc::new(AtomicUsize::new(0));
        let producers = thread_producers + task_producers;
        let total = producers * per_producer as usize;

        let mut consumer_tasks = Vec::new();
        for _ in 0..task_consumers {
            let (q, done) = (q.clone(), done.clone());
            consumer_tasks.push(rt().spawn(async move {
                let mut got = Vec::new();
                loop {
                    // A short timeout drops `get` futures at random points, some of them after
                    // a value was handed over: the value must reach someone else.
                    match tokio::time::timeout(Duration::from_micros(50), q.get()).await {
                        Ok(Ok(v)) => {
                            got.push(v);
                            done.fetch_add(1, Ordering::SeqCst);
                            q.task_done().unwrap();
                        }
                        Ok(Err(_closed)) => return got,
                        Err(_elapsed) => {}
                    }
                }
            }));
        }
        let mut producer_tasks = Vec::new();
        for p in 0..task_producers {
            let q = q.clone();
            producer_tasks.push(rt().spawn(async move {
                for i in 0..per_producer {
                    // A short timeout drops `put` futures while they wait for room: a dropped
                    // put has not happened (its value is dropped with it), so retry until one
                    // completes. Each value must then arrive exactly once.
                    let v = p as u32 * 1000 + i;
                    while tokio::time::timeout(Duration::from_micros(50), q.put(v)).await.is_err() {}
                }
            }));
        }
        let mut got: Vec<u32> = std::thread::scope(|s| {
            let consumers: Vec<_> = (0..thread_consumers)
                .map(|_| {
                    let (q, done) = (&q, &done);
                    s.spawn(move || {
                        let mut got = Vec::new();
                        while let Ok(v) = q.get_blocking() {
                            got.push(v);
                            done.fetch_add(1, Ordering::SeqCst);
                            q.task_done().unwrap();
                        }
                        got
                    })
                })
                .collect();
            let thread_producer_handles: Vec<_> = (0..thread_producers)
                .map(|p| {
                    let q = &q;
                    s.spawn(move || {
                        for i in 0..per_producer {
                            q.put_blocking((task_producers + p) as u32 * 1000 + i).unwrap();
                        }
                    })
                })
                .collect();
            for t in producer_tasks {
                rt().block_on(t).unwrap();
            }
            for h in thread_producer_handles {
                h.join().unwrap();
            }
            q.join_blocking();
            assert_eq!(done.load(Ordering::SeqCst), total, "join returned before every task_done");
            q.shutdown(false);
            consumers.into_iter().flat_map(|c| c.join().unwrap()).collect()
        });
        for t in consumer_tasks {
            got.extend(rt().block_on(t).unwrap());
        }
        got.sort_unstable();
        let mut want: Vec<u32> = (0..producers as u32).flat_map(|p| (0..per_producer).map(move |i| p * 1000 + i)).collect();
        want.sort_unstable();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn orders_match_the_model(kind in kind(), ops in proptest::collection::vec(prop_oneof![(0u32..20).prop_map(Some), Just(None)], 0..200)) {
        let q = make(kind, 0);
        // The model: (value, arrival) pairs; each kind picks which one leaves next.
        let mut model: Vec<(u32, usize)> = Vec::new();
        for (seq, op) in ops.into_iter().enumerate() {
            match op {
                Some(v) => {
                    q.try_put(v).unwrap();
                    model.push((v, seq));
                }
                None => {
                    let next = match kind {
                        Kind::Fifo => (!model.is_empty()).then_some(0),
                        Kind::Lifo => model.len().checked_sub(1),
                        Kind::Priority => (0..model.len()).min_by_key(|&i| model[i]),
                    };
                    let want = next.map(|i| model.remove(i).0);
                    prop_assert_eq!(q.try_get().ok(), want);
                }
            }
            prop_assert_eq!(q.len(), model.len());
        }
    }

    #[test]
    fn mpsc_delivers_everything_once_in_per_producer_order(
        cap in 0usize..4,
        thread_producers in 1usize..3,
        task_producers in 0usize..3,
        per_producer in 0u32..80,
    ) {
        let (tx, mut rx) = if cap == 0 { mpsc::unbounded() } else { mpsc::bounded(cap) };
        let mut tasks = Vec::new();
        for p in 0..task_producers {
            let tx = tx.clone();
            tasks.push(rt().spawn(async move {
                for i in 0..per_producer {
                    tx.send(p as u32 * 1000 + i).await.unwrap();
                }
            }));
        }
        let got = std::thread::scope(|s| {
            for p in 0..thread_producers {
                let tx = tx.clone();
                s.spawn(move || {
                    for i in 0..per_producer {
                        tx.send_blocking((task_producers + p) as u32 * 1000 + i).unwrap();
                    }
                });
            }
            drop(tx);
            let mut got = Vec::new();
            while let Ok(v) = rx.recv_blocking() {
                got.push(v);
            }
            got
        });
        for t in tasks {
            rt().block_on(t).unwrap();
        }
        let producers = (thread_producers + task_producers) as u32;
        for p in 0..producers {
            let mine: Vec<u32> = got.iter().copied().filter(|v| v / 1000 == p).collect();
            let want: Vec<u32> = (0..per_producer).map(|i| p * 1000 + i).collect();
            prop_assert_eq!(mine, want);
        }
        prop_assert_eq!(got.len(), producers as usize * per_producer as usize);
    }
}
