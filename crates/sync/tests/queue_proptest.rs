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

/// Attempts of one put that a task producer makes with a timeout before it waits for good.
const MAX_ATTEMPT: u32 = 0xfff;

/// The value of producer `p`'s item `i`, attempt `attempt`: unique per attempt.
fn value(p: usize, i: u32, attempt: u32) -> u32 {
    ((p as u32 * 1000 + i) << 12) | attempt
}

/// `(producer, item, attempt)` of a value made by [`value`].
fn split(v: u32) -> (usize, u32, u32) {
    let key = v >> 12;
    ((key / 1000) as usize, key % 1000, v & MAX_ATTEMPT)
}

/// Shuts the queue down (immediately) when dropped, also during a panic.
struct ShutdownOnDrop<'a>(&'a Queue<u32>);

impl Drop for ShutdownOnDrop<'_> {
    fn drop(&mut self) {
        self.0.shutdown(true);
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
                let mut completed = Vec::new();
                for i in 0..per_producer {
                    // A short timeout drops `put` futures while they wait for room. A dropped
                    // put may still have happened (a getter can move the waiting value in
                    // between `timeout`'s two polls; see `Queue::put`, "Cancellation safety"),
                    // so every attempt carries its own value: the completed attempt must arrive,
                    // a cancelled one may, and no value may arrive twice.
                    let mut attempt = 0;
                    loop {
                        let v = value(p, i, attempt);
                        if attempt == MAX_ATTEMPT {
                            q.put(v).await.unwrap();
                        } else if tokio::time::timeout(Duration::from_micros(50), q.put(v)).await.is_err() {
                            attempt += 1;
                            continue;
                        }
                        completed.push(v);
                        break;
                    }
                }
                completed
            }));
        }
        let mut completed: Vec<u32> = Vec::new();
        let (mut got, done_at_join): (Vec<u32>, usize) = std::thread::scope(|s| {
            // A panic in this scope must release the consumer threads parked in
            // `get_blocking`, or the scope would wait for them forever.
            let _release = ShutdownOnDrop(&q);
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
                            q.put_blocking(value(task_producers + p, i, 0)).unwrap();
                        }
                    })
                })
                .collect();
            for t in producer_tasks {
                completed.extend(rt().block_on(t).unwrap());
            }
            for (p, h) in thread_producer_handles.into_iter().enumerate() {
                h.join().unwrap();
                completed.extend((0..per_producer).map(|i| value(task_producers + p, i, 0)));
            }
            q.join_blocking();
            // Every producer has finished, so nothing is put after this point: `join` has
            // returned only if every value received (counted below) was marked done.
            let done_at_join = done.load(Ordering::SeqCst);
            q.shutdown(false);
            (consumers.into_iter().flat_map(|c| c.join().unwrap()).collect(), done_at_join)
        });
        for t in consumer_tasks {
            got.extend(rt().block_on(t).unwrap());
        }
        prop_assert_eq!(done_at_join, got.len(), "join returned before every task_done");
        got.sort_unstable();
        let received = got.len();
        got.dedup();
        prop_assert_eq!(got.len(), received, "a value was received twice");
        prop_assert_eq!(completed.len(), total);
        for v in &completed {
            prop_assert!(got.binary_search(v).is_ok(), "completed put {:#x} was lost", v);
        }
        // What else arrived can only be cancelled attempts of task producers (a thread
        // producer's puts are never cancelled).
        for v in &got {
            let (p, _i, attempt) = split(*v);
            prop_assert!(p < producers);
            prop_assert!(attempt == 0 || p < task_producers, "unknown value {:#x}", v);
        }
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
