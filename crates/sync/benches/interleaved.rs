//! Interleaved c10k / crossbeam-channel comparison, for a machine too noisy for criterion's
//! one-after-the-other runs: each round runs every workload once for c10k and once for
//! crossbeam, in turn, and the ratios are taken within a round. Workloads are those of
//! `channel.rs` and `queue.rs`: mpsc bounded 64 and unbounded with one producer and one
//! consumer, and a bounded-64 `Queue` with 2 producers and 2 consumers, 20 000 `u64`s.
//!
//! `cargo bench -p c10k-sync --bench interleaved -- [rounds] [iterations]` (default 15 and
//! 20) prints, per workload, the median ratio crossbeam time ÷ c10k time (> 1: c10k faster)
//! with its interquartile and full range.
#![allow(missing_docs)]

use std::time::Instant;

const MSGS: u64 = 20_000;
const CAP: usize = 64;

/// Milliseconds per iteration of one producer thread and one consumer (this thread).
fn one_to_one<S: Send, R>(
    iters: u64,
    make: impl Fn() -> (S, R),
    send: impl Fn(&S, u64) + Sync,
    recv: impl Fn(&mut R) -> u64,
) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        let (tx, mut rx) = make();
        std::thread::scope(|s| {
            let send = &send;
            s.spawn(move || {
                for i in 0..MSGS {
                    send(&tx, i);
                }
            });
            let sum: u64 = (0..MSGS).map(|_| recv(&mut rx)).sum();
            assert_eq!(sum, MSGS * (MSGS - 1) / 2);
        });
    }
    start.elapsed().as_secs_f64() * 1e3 / iters as f64
}

/// Milliseconds per iteration of two producer threads and two consumer threads.
fn two_to_two<Q: Sync>(
    iters: u64,
    make: impl Fn() -> Q,
    put: impl Fn(&Q, u64) + Sync,
    get: impl Fn(&Q) -> u64 + Sync,
) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        let q = make();
        let sum: u64 = std::thread::scope(|s| {
            for p in 0..2 {
                let (q, put) = (&q, &put);
                s.spawn(move || {
                    for i in (p..MSGS).step_by(2) {
                        put(q, i);
                    }
                });
            }
            let consumers: Vec<_> = (0..2)
                .map(|_| {
                    let (q, get) = (&q, &get);
                    s.spawn(move || (0..MSGS / 2).map(|_| get(q)).sum::<u64>())
                })
                .collect();
            consumers.into_iter().map(|c| c.join().unwrap()).sum()
        });
        assert_eq!(sum, MSGS * (MSGS - 1) / 2);
    }
    start.elapsed().as_secs_f64() * 1e3 / iters as f64
}

/// `(c10k ms, crossbeam ms)` of one workload, run in turn.
fn pair(workload: &str, iters: u64) -> (f64, f64) {
    match workload {
        "mpsc_bounded_64_1p1c" => (
            one_to_one(
                iters,
                || c10k_sync::channel::mpsc::bounded(CAP),
                |t, v| t.send_blocking(v).unwrap(),
                |r| r.recv_blocking().unwrap(),
            ),
            one_to_one(
                iters,
                || crossbeam_channel::bounded(CAP),
                |t, v| t.send(v).unwrap(),
                |r| r.recv().unwrap(),
            ),
        ),
        "mpsc_unbounded_1p1c" => (
            one_to_one(
                iters,
                c10k_sync::channel::mpsc::unbounded,
                |t, v| t.try_send(v).unwrap(),
                |r| r.recv_blocking().unwrap(),
            ),
            one_to_one(
                iters,
                crossbeam_channel::unbounded,
                |t, v| t.send(v).unwrap(),
                |r| r.recv().unwrap(),
            ),
        ),
        _ => (
            two_to_two(
                iters,
                || c10k_sync::Queue::bounded(CAP),
                |q, v| q.put_blocking(v).unwrap(),
                |q| q.get_blocking().unwrap(),
            ),
            two_to_two(
                iters,
                || crossbeam_channel::bounded(CAP),
                |q, v| q.0.send(v).unwrap(),
                |q| q.1.recv().unwrap(),
            ),
        ),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; the numbers are ours.
    let mut nums = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(|a| a.parse::<u64>().expect("usage: [rounds] [iterations]"));
    let rounds = nums.next().unwrap_or(15).max(1);
    let iters = nums.next().unwrap_or(20).max(1);
    let workloads = [
        "mpsc_bounded_64_1p1c",
        "mpsc_unbounded_1p1c",
        "queue_bounded_64_2p2c",
    ];
    let mut ratios = vec![Vec::new(); workloads.len()];
    for _ in 0..rounds {
        for (w, r) in workloads.iter().zip(&mut ratios) {
            let (c10k, crossbeam) = pair(w, iters);
            r.push(crossbeam / c10k);
        }
    }
    println!("{rounds} rounds of {iters} iterations; ratio = crossbeam time / c10k time");
    for (w, r) in workloads.iter().zip(&mut ratios) {
        r.sort_by(f64::total_cmp);
        let q = |f: f64| r[((r.len() - 1) as f64 * f).round() as usize];
        println!(
            "{w}: median {:.2}, quartiles {:.2}-{:.2}, range {:.2}-{:.2}",
            q(0.5),
            q(0.25),
            q(0.75),
            r[0],
            r[r.len() - 1]
        );
    }
}
