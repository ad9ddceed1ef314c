//! `Queue` against a textbook `std::sync::Mutex<VecDeque>` + two `Condvar`s and against
//! crossbeam-channel, in the same run: 2 producer threads and 2 consumer threads move `ITEMS`
//! integers through a queue bounded to 64.
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const ITEMS: u64 = 20_000;
const CAP: usize = 64;

/// The reference: what one writes with `std` alone.
struct StdQueue {
    items: Mutex<VecDeque<u64>>,
    not_empty: Condvar,
    not_full: Condvar,
}

impl StdQueue {
    fn put(&self, v: u64) {
        let mut q = self
            .not_full
            .wait_while(self.items.lock().unwrap(), |q| q.len() >= CAP)
            .unwrap();
        q.push_back(v);
        drop(q);
        self.not_empty.notify_one();
    }

    fn get(&self) -> u64 {
        let mut q = self
            .not_empty
            .wait_while(self.items.lock().unwrap(), |q| q.is_empty())
            .unwrap();
        let v = q.pop_front().unwrap();
        drop(q);
        self.not_full.notify_one();
        v
    }
}

fn run<Q: Sync>(
    iters: u64,
    make: impl Fn() -> Q,
    put: impl Fn(&Q, u64) + Sync,
    get: impl Fn(&Q) -> u64 + Sync,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let q = make();
        let start = Instant::now();
        let sum: u64 = std::thread::scope(|s| {
            for p in 0..2 {
                let (q, put) = (&q, &put);
                s.spawn(move || {
                    for i in (p..ITEMS).step_by(2) {
                        put(q, i);
                    }
                });
            }
            let cs: Vec<_> = (0..2)
                .map(|_| {
                    let (q, get) = (&q, &get);
                    s.spawn(move || (0..ITEMS / 2).map(|_| get(q)).sum::<u64>())
                })
                .collect();
            cs.into_iter().map(|c| c.join().unwrap()).sum()
        });
        total += start.elapsed();
        assert_eq!(sum, ITEMS * (ITEMS - 1) / 2);
    }
    total
}

fn queue(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue_bounded_64_2p2c");
    g.throughput(Throughput::Elements(ITEMS));
    g.bench_function(BenchmarkId::new("c10k Queue", ITEMS), |b| {
        b.iter_custom(|it| {
            run(
                it,
                || c10k_sync::Queue::bounded(CAP),
                |q, v| q.put_blocking(v).unwrap(),
                |q| q.get_blocking().unwrap(),
            )
        })
    });
    g.bench_function(
        BenchmarkId::new("std Mutex<VecDeque>+Condvar", ITEMS),
        |b| {
            b.iter_custom(|it| {
                run(
                    it,
                    || StdQueue {
                        items: Mutex::new(VecDeque::new()),
                        not_empty: Condvar::new(),
                        not_full: Condvar::new(),
                    },
                    StdQueue::put,
                    StdQueue::get,
                )
            })
        },
    );
    g.bench_function(BenchmarkId::new("crossbeam bounded", ITEMS), |b| {
        b.iter_custom(|it| {
            run(
                it,
                || crossbeam_channel::bounded(CAP),
                |q, v| q.0.send(v).unwrap(),
                |q| q.1.recv().unwrap(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, queue);
criterion_main!(benches);
