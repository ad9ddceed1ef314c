//! The thread pool against rayon and the `threadpool` crate, interleaved in one process.
//!
//! ```text
//! cargo bench -p c10k-pool --bench thread_pool            # 7 rounds
//! POOL_BENCH_ROUNDS=3 POOL_BENCH_TASKS=100000 cargo bench -p c10k-pool --bench thread_pool
//! POOL_BENCH_ONLY=result cargo bench -p c10k-pool --bench thread_pool   # for a profiler
//! ```
//!
//! `POOL_BENCH_ONLY=<text>` runs only the contenders whose name contains `<text>` (the
//! references too are left out unless they match: the ratios then mean nothing, but a
//! profile shows one contender alone).
//!
//! Each round runs every contender once, in turn, so a noisy neighbour (this machine has 2
//! vCPUs shared with other jobs) slows all of them alike; the table reports each one's
//! median over the rounds and its ratio to the best reference's median (time ratio: lower
//! is better for c10k).
//!
//! - `submit`: 1 000 000 trivial tasks (`move || i`) submitted to a 2-worker pool and their
//!   results collected. c10k: `submit` → `PoolFuture`, then `result()` of each (and, as a
//!   second line, `.await` of each from a c10k task). rayon: `ThreadPool::spawn` of a closure
//!   that sends `i` on a `std::sync::mpsc` channel, then 1 000 000 receives; `threadpool`:
//!   `execute` with the same channel.
//! - `map`: 1 000 000 `u64` items through a cheap function into a `Vec`, on 2 threads.
//!   c10k: `ThreadPool::map` with a chunksize; rayon: `par_iter().map().collect()` inside a
//!   2-thread pool.

use std::hint::black_box;
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

type Contender<'a> = (&'static str, bool, Box<dyn FnMut() -> Duration + 'a>);

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs `rounds` interleaved rounds; prints medians and ratios to the best reference
/// (contenders flagged `true` are references).
fn compare(title: &str, items: usize, rounds: usize, mut contenders: Vec<Contender<'_>>) {
    if let Ok(only) = std::env::var("POOL_BENCH_ONLY") {
        contenders.retain(|(name, _, _)| name.contains(only.as_str()));
        if contenders.is_empty() {
            return;
        }
        // The best reference below is the best of what is left.
        contenders[0].1 = true;
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); contenders.len()];
    // One warm-up round, not recorded (thread start, page faults of the first allocations).
    for (_, _, run) in &mut contenders {
        run();
    }
    for _ in 0..rounds {
        for (i, (_, _, run)) in contenders.iter_mut().enumerate() {
            times[i].push(run());
        }
    }
    let medians: Vec<Duration> = times.iter().cloned().map(median).collect();
    let best_ref = contenders
        .iter()
        .zip(&medians)
        .filter(|((_, is_ref, _), _)| *is_ref)
        .map(|(_, m)| *m)
        .min()
        .expect("at least one reference");
    println!("\n{title} ({items} items, {rounds} rounds, medians)");
    println!(
        "{:<34} {:>10} {:>12} {:>10} {:>22}",
        "contender", "median ms", "items/s", "÷ best ref", "min–max ms"
    );
    for (i, (name, _, _)) in contenders.iter().enumerate() {
        let m = medians[i];
        let min = times[i].iter().min().expect("rounds > 0");
        let max = times[i].iter().max().expect("rounds > 0");
        println!(
            "{:<34} {:>10.1} {:>12.0} {:>10.2} {:>10.1}–{:.1}",
            name,
            m.as_secs_f64() * 1e3,
            items as f64 / m.as_secs_f64(),
            m.as_secs_f64() / best_ref.as_secs_f64(),
            min.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: keep that quick.
    let quick =
        std::env::args().any(|a| a == "--test") || !std::env::args().any(|a| a == "--bench");
    let rounds = env_usize("POOL_BENCH_ROUNDS", if quick { 1 } else { 7 });
    let n = env_usize("POOL_BENCH_TASKS", if quick { 10_000 } else { 1_000_000 });
    let workers = 2;

    let c10k = c10k_pool::ThreadPool::builder()
        .workers(workers)
        .name_prefix("c10k")
        .build()
        .expect("c10k pool");
    let rayon = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .build()
        .expect("rayon pool");
    let tp = threadpool::ThreadPool::new(workers);

    compare(
        "submit + collect, 2 workers",
        n,
        rounds,
        vec![
            (
                "c10k submit → result()",
                false,
                Box::new(|| {
                    let t = Instant::now();
                    let futures: Vec<_> = (0..n).map(|i| c10k.submit(move || i)).collect();
                    let sum: usize = futures.into_iter().map(|f| f.result().unwrap()).sum();
                    black_box(sum);
                    t.elapsed()
                }),
            ),
            (
                "c10k submit → .await (c10k task)",
                false,
                Box::new(|| {
                    let t = Instant::now();
                    let futures: Vec<_> = (0..n).map(|i| c10k.submit(move || i)).collect();
                    let sum = c10k_runtime::run(async move {
                        let mut sum = 0usize;
                        for f in futures {
                            sum += f.await.unwrap();
                        }
                        sum
                    });
                    black_box(sum);
                    t.elapsed()
                }),
            ),
            (
                "rayon spawn + mpsc",
                true,
                Box::new(|| {
                    let t = Instant::now();
                    let (tx, rx) = mpsc::channel();
                    for i in 0..n {
                        let tx = tx.clone();
                        rayon.spawn(move || tx.send(i).unwrap());
                    }
                    drop(tx);
                    let sum: usize = rx.iter().take(n).sum();
                    black_box(sum);
                    t.elapsed()
                }),
            ),
            (
                "threadpool execute + mpsc",
                true,
                Box::new(|| {
                    let t = Instant::now();
                    let (tx, rx) = mpsc::channel();
                    for i in 0..n {
                        let tx = tx.clone();
                        tp.execute(move || tx.send(i).unwrap());
                    }
                    drop(tx);
                    let sum: usize = rx.iter().take(n).sum();
                    black_box(sum);
                    t.elapsed()
                }),
            ),
        ],
    );

    let f = |x: u64| x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
    let m = n as u64;
    compare(
        "map into a Vec, 2 workers",
        n,
        rounds,
        vec![
            (
                "c10k map, chunksize 1024",
                false,
                Box::new(|| {
                    let t = Instant::now();
                    let v: Vec<u64> = c10k.map(f, 0..m, 1024).map(Result::unwrap).collect();
                    black_box(v);
                    t.elapsed()
                }),
            ),
            (
                "c10k map, chunksize 16384",
                false,
                Box::new(|| {
                    let t = Instant::now();
                    let v: Vec<u64> = c10k.map(f, 0..m, 16384).map(Result::unwrap).collect();
                    black_box(v);
                    t.elapsed()
                }),
            ),
            (
                "rayon par_iter().map().collect()",
                true,
                Box::new(|| {
                    use rayon::prelude::*;
                    let t = Instant::now();
                    let v: Vec<u64> = rayon.install(|| (0..m).into_par_iter().map(f).collect());
                    black_box(v);
                    t.elapsed()
                }),
            ),
        ],
    );
}
