//! The process pool against Python's `ProcessPoolExecutor`, interleaved in one run.
//!
//! ```text
//! cargo bench -p c10k-pool --bench process_pool                 # 5 rounds
//! cargo bench -p c10k-pool --bench process_pool -- --rounds 3 --no-python
//! ```
//!
//! A bench binary rather than criterion: workers re-execute this binary, so its `main` calls
//! `c10k_process::init` first; the reference is `bench/process_pool.py`, started once per
//! round between c10k's rounds, so a noisy neighbour (2 vCPUs shared with other jobs) weighs
//! on both alike. Each round measures, on a fresh 2-worker pool warmed up by 200 tasks:
//!
//! - `rtt`: `submit(inc, i)` then `result()`, one task at a time ([`RTT_N`] of them): the
//!   p50 and p99 of one round trip to a worker process and back.
//! - `tasks/s`: [`TASKS`] trivial tasks submitted at once, then every `result()` read, timed
//!   from the first submit to the last result (Python: [`PY_TASKS`], as it is ~20× slower).
//!
//! It prints each round, then the medians [min–max] over the rounds and the ratios, paired
//! round by round: c10k ÷ Python of the round trip's time (lower is better) and of tasks/s
//! (higher is better).
//!
//! `--rounds N`, `--rtt N`, `--tasks N` change the counts; `--no-python` skips the reference.

use std::process::Command;
use std::time::{Duration, Instant};

use c10k_pool::ProcessPool;
use c10k_process::Entry;

const RTT_N: usize = 5_000;
const TASKS: usize = 200_000;
const PY_RTT_N: usize = 2_000;
const PY_TASKS: usize = 20_000;

fn inc(x: u64) -> u64 {
    x + 1
}
static INC: Entry<u64, u64> = Entry::new("bench_inc", inc);

fn pool() -> ProcessPool {
    let mut b = ProcessPool::builder().workers(2);
    // `PP_DEPTH=N`: the shared queue's depth (`Builder::queue_depth`), to compare depths.
    if let Some(d) = std::env::var("PP_DEPTH").ok().and_then(|v| v.parse().ok()) {
        b = b.queue_depth(d);
    }
    let pool = b.build().expect("a 2-worker pool");
    let warm: Vec<_> = (0..200).map(|i| pool.submit(&INC, i)).collect();
    for f in warm {
        f.result().expect("warm-up");
    }
    pool
}

/// (p50, p99) of `n` one-at-a-time round trips.
fn rtt(pool: &ProcessPool, n: usize) -> (Duration, Duration) {
    let mut samples: Vec<Duration> = (0..n as u64)
        .map(|i| {
            let t0 = Instant::now();
            let v = pool.submit(&INC, i).result().expect("a round trip");
            let dt = t0.elapsed();
            assert_eq!(v, i + 1);
            dt
        })
        .collect();
    samples.sort();
    (samples[n / 2], samples[n * 99 / 100])
}

/// Tasks per second for `n` tasks submitted at once, then collected.
fn throughput(pool: &ProcessPool, n: usize) -> f64 {
    let t0 = Instant::now();
    let futures: Vec<_> = (0..n as u64).map(|i| pool.submit(&INC, i)).collect();
    let mut total = 0u64;
    for f in futures {
        total += f.result().expect("a task");
    }
    let dt = t0.elapsed();
    let n64 = n as u64;
    assert_eq!(total, n64 * (n64 + 1) / 2);
    n as f64 / dt.as_secs_f64()
}

#[derive(Debug, Clone, Copy)]
struct Round {
    p50_us: f64,
    p99_us: f64,
    tasks_per_s: f64,
}

fn c10k_round(rtt_n: usize, tasks: usize) -> Round {
    let pool = pool();
    let (p50, p99) = rtt(&pool, rtt_n);
    let tasks_per_s = throughput(&pool, tasks);
    Round {
        p50_us: p50.as_secs_f64() * 1e6,
        p99_us: p99.as_secs_f64() * 1e6,
        tasks_per_s,
    }
}

fn python_round(rtt_n: usize, tasks: usize) -> Option<Round> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/process_pool.py");
    let out = Command::new("python3")
        .arg(script)
        .args(["--rtt", &rtt_n.to_string(), "--tasks", &tasks.to_string()])
        .output();
    match out {
        Ok(out) if out.status.success() => {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            Some(Round {
                p50_us: v["rtt_p50_us"].as_f64()?,
                p99_us: v["rtt_p99_us"].as_f64()?,
                tasks_per_s: v["tasks_per_s"].as_f64()?,
            })
        }
        Ok(out) => {
            eprintln!(
                "python reference failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            None
        }
        Err(e) => {
            eprintln!("python3 not available ({e}): no reference ratios");
            None
        }
    }
}

/// median [min–max]
fn spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn show(name: &str, v: Vec<f64>) {
    let (m, lo, hi) = spread(v);
    println!("{name:<44} {m:>10.2} [{lo:.2}–{hi:.2}]");
}

fn main() {
    c10k_process::init(&[c10k_pool::PROCESS_WORKER, &INC]);
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --benches` runs this too: keep that quick.
    let quick = !args.iter().any(|a| a == "--bench");
    let with_python = !quick && !args.iter().any(|a| a == "--no-python");
    let num = |flag: &str, default: usize| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1)?.parse().ok())
            .unwrap_or(default)
    };
    let rtt_n = num("--rtt", if quick { 200 } else { RTT_N });
    let tasks = num("--tasks", if quick { 2_000 } else { TASKS });
    let rounds = num("--rounds", if quick { 1 } else { 5 });

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for round in 1..=rounds {
        let c = c10k_round(rtt_n, tasks);
        println!(
            "round {round} c10k:   p50 {:>8.1} µs  p99 {:>8.1} µs  {:>10.0} tasks/s",
            c.p50_us, c.p99_us, c.tasks_per_s
        );
        ours.push(c);
        if with_python {
            if let Some(p) = python_round(PY_RTT_N, PY_TASKS) {
                println!(
                    "round {round} python: p50 {:>8.1} µs  p99 {:>8.1} µs  {:>10.0} tasks/s",
                    p.p50_us, p.p99_us, p.tasks_per_s
                );
                theirs.push(p);
            }
        }
    }
    let col = |v: &[Round], f: fn(&Round) -> f64| v.iter().map(f).collect::<Vec<f64>>();
    println!("\nmedian [min–max] over {rounds} rounds, 2 workers");
    show("c10k round trip p50, µs", col(&ours, |r| r.p50_us));
    show("c10k round trip p99, µs", col(&ours, |r| r.p99_us));
    show("c10k tasks/s", col(&ours, |r| r.tasks_per_s));
    if theirs.len() == ours.len() {
        show("python round trip p50, µs", col(&theirs, |r| r.p50_us));
        show("python round trip p99, µs", col(&theirs, |r| r.p99_us));
        show("python tasks/s", col(&theirs, |r| r.tasks_per_s));
        // Paired ratios, round by round.
        let pairs = ours.iter().zip(&theirs);
        show(
            "round trip p50, c10k ÷ python (lower: faster)",
            pairs.clone().map(|(o, t)| o.p50_us / t.p50_us).collect(),
        );
        show(
            "tasks/s, c10k ÷ python (higher: faster)",
            pairs.map(|(o, t)| o.tasks_per_s / t.tasks_per_s).collect(),
        );
    }
}
