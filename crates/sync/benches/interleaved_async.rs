//! The async ends of mpsc, interleaved: c10k against tokio, for a machine too noisy for
//! criterion's one-after-the-other runs. A producer task sends 20 000 `u64`s with
//! `send().await` (or `send` when unbounded) and the `block_on` future receives them with
//! `recv().await`, on runtimes of 2 workers (and, for reference, current-thread ones). Each
//! round runs every line of a workload once, in turn, and the ratios are taken within the
//! round. The lines:
//!
//! - `c10k/c10k`: c10k-sync's channel on c10k's runtime (the whole c10k stack);
//! - `tokio/tokio`: tokio's channel on tokio's runtime (the reference);
//! - `c10k/tokio`: c10k-sync's channel on tokio's runtime (what `channel.rs`'s criterion
//!   groups `mpsc_async_*` measure: the channels alone, the runtime held equal);
//! - `tokio/c10k`: tokio's channel on c10k's runtime (the runtimes alone, the channel held
//!   equal).
//!
//! The pairs: the whole stacks (`c10k/c10k` vs `tokio/tokio`), the channels on tokio's
//! runtime (`c10k/tokio` vs `tokio/tokio`), the channels on c10k's runtime (`c10k/c10k` vs
//! `tokio/c10k`), and the runtimes with tokio's channel (`tokio/c10k` vs `tokio/tokio`).
//!
//! `cargo bench -p c10k-sync --bench interleaved_async -- [rounds] [iterations]` (default 10
//! and 10) prints, per workload and pair, the median ratio reference time ÷ c10k time
//! (> 1: c10k faster) with its full range, of wall-clock time and of the process's CPU time
//! (every thread's; on a machine shared with other work, the CPU time is the steadier), and
//! the median times of each line.
//! `C10K_BENCH_FLAVORS=mt` (or `ct`) runs one flavour only; `C10K_BENCH_LINE=c10k/c10k` runs
//! that line alone, bounded then unbounded, and prints its times (for a profiler or
//! `perf stat`).
#![allow(missing_docs)]

use std::future::Future;
use std::time::Instant;

const MSGS: u64 = 20_000;
const CAP: usize = 64;

/// The two runtimes behind one `block_on` + `spawn`.
enum Rt {
    C10k(c10k_runtime::Runtime),
    Tokio(tokio::runtime::Runtime),
}

impl Rt {
    fn c10k(workers: usize) -> Rt {
        let b = c10k_runtime::Runtime::builder();
        let mut b = if workers == 0 {
            b.current_thread()
        } else {
            b.multi_thread().worker_threads(workers)
        };
        Rt::C10k(b.build().expect("c10k runtime"))
    }

    fn tokio(workers: usize) -> Rt {
        let rt = if workers == 0 {
            tokio::runtime::Builder::new_current_thread().build()
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .build()
        };
        Rt::Tokio(rt.expect("tokio runtime"))
    }

    /// Spawns `producer`, awaits `consumer` in `block_on`, then joins the producer.
    fn run<P, C>(&self, producer: P, consumer: C) -> u64
    where
        P: Future<Output = ()> + Send + 'static,
        C: Future<Output = u64>,
    {
        match self {
            Rt::C10k(rt) => rt.block_on(async {
                let p = c10k_runtime::spawn(producer);
                let sum = consumer.await;
                p.await.expect("producer");
                sum
            }),
            Rt::Tokio(rt) => rt.block_on(async {
                let p = tokio::spawn(producer);
                let sum = consumer.await;
                p.await.expect("producer");
                sum
            }),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Chan {
    C10k,
    Tokio,
}

/// The process's CPU time (all threads), in milliseconds.
fn cpu_ms() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    t.tv_sec as f64 * 1e3 + t.tv_nsec as f64 / 1e6
}

/// Milliseconds per iteration of one line: `(wall-clock, process CPU)`.
fn line(rt: &Rt, chan: Chan, bounded: bool, iters: u64) -> (f64, f64) {
    let (start, cpu) = (Instant::now(), cpu_ms());
    for _ in 0..iters {
        let sum = match (chan, bounded) {
            (Chan::C10k, true) => {
                let (tx, mut rx) = c10k_sync::channel::mpsc::bounded(CAP);
                rt.run(
                    async move {
                        for i in 0..MSGS {
                            tx.send(i).await.unwrap();
                        }
                    },
                    async move {
                        let mut sum = 0;
                        while let Ok(v) = rx.recv().await {
                            sum += v;
                        }
                        sum
                    },
                )
            }
            (Chan::C10k, false) => {
                let (tx, mut rx) = c10k_sync::channel::mpsc::unbounded();
                rt.run(
                    async move {
                        for i in 0..MSGS {
                            tx.send(i).await.unwrap();
                        }
                    },
                    async move {
                        let mut sum = 0;
                        while let Ok(v) = rx.recv().await {
                            sum += v;
                        }
                        sum
                    },
                )
            }
            (Chan::Tokio, true) => {
                let (tx, mut rx) = tokio::sync::mpsc::channel(CAP);
                rt.run(
                    async move {
                        for i in 0..MSGS {
                            tx.send(i).await.unwrap();
                        }
                    },
                    async move {
                        let mut sum = 0;
                        while let Some(v) = rx.recv().await {
                            sum += v;
                        }
                        sum
                    },
                )
            }
            (Chan::Tokio, false) => {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                rt.run(
                    async move {
                        for i in 0..MSGS {
                            tx.send(i).unwrap();
                        }
                    },
                    async move {
                        let mut sum = 0;
                        while let Some(v) = rx.recv().await {
                            sum += v;
                        }
                        sum
                    },
                )
            }
        };
        assert_eq!(sum, MSGS * (MSGS - 1) / 2);
    }
    let n = iters as f64;
    (
        start.elapsed().as_secs_f64() * 1e3 / n,
        (cpu_ms() - cpu) / n,
    )
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; the numbers are ours.
    let mut nums = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(|a| a.parse::<u64>().expect("usage: [rounds] [iterations]"));
    let rounds = nums.next().unwrap_or(10).max(1);
    let iters = nums.next().unwrap_or(10).max(1);
    let flavors = std::env::var("C10K_BENCH_FLAVORS").unwrap_or_else(|_| "mt,ct".into());
    println!(
        "{rounds} rounds of {iters} iterations of {MSGS} messages; \
         ratio = reference time / c10k time (> 1: c10k faster)"
    );
    for (flavor, workers) in [("mt", 2), ("ct", 0)] {
        if !flavors.split(',').any(|f| f == flavor) {
            continue;
        }
        let (c10k, tokio) = (Rt::c10k(workers), Rt::tokio(workers));
        let lines = [
            ("c10k/c10k", &c10k, Chan::C10k),
            ("tokio/tokio", &tokio, Chan::Tokio),
            ("c10k/tokio", &tokio, Chan::C10k),
            ("tokio/c10k", &c10k, Chan::Tokio),
        ];
        if let Ok(only) = std::env::var("C10K_BENCH_LINE") {
            let (_, rt, chan) = lines
                .iter()
                .find(|l| l.0 == only)
                .expect("C10K_BENCH_LINE: c10k/c10k, tokio/tokio, c10k/tokio or tokio/c10k");
            for bounded in [true, false] {
                let (mut t, mut c): (Vec<f64>, Vec<f64>) =
                    (0..rounds).map(|_| line(rt, *chan, bounded, iters)).unzip();
                println!(
                    "{only} {flavor} bounded={bounded}: median {:.3} ms, CPU {:.3} ms",
                    median(&mut t),
                    median(&mut c)
                );
            }
            continue;
        }
        for bounded in [true, false] {
            let mut times = vec![Vec::new(); lines.len()];
            let mut cpus = vec![Vec::new(); lines.len()];
            for _ in 0..rounds {
                for (((_, rt, chan), t), c) in lines.iter().zip(&mut times).zip(&mut cpus) {
                    let (wall, cpu) = line(rt, *chan, bounded, iters);
                    t.push(wall);
                    c.push(cpu);
                }
            }
            let workload = format!(
                "mpsc {} {}",
                if bounded { "bounded 64" } else { "unbounded" },
                if workers == 0 {
                    "current-thread".to_string()
                } else {
                    format!("{workers} workers")
                }
            );
            println!("{workload}:");
            // (c10k line, reference line, what the pair compares)
            let pairs = [
                (0, 1, "whole stack: c10k/c10k vs tokio/tokio"),
                (
                    2,
                    1,
                    "channels on tokio's runtime: c10k/tokio vs tokio/tokio",
                ),
                (0, 3, "channels on c10k's runtime: c10k/c10k vs tokio/c10k"),
                (
                    3,
                    1,
                    "runtimes with tokio's channel: tokio/c10k vs tokio/tokio",
                ),
            ];
            for (c, r, what) in pairs {
                for (kind, v) in [("time", &times), ("CPU", &cpus)] {
                    let mut ratios: Vec<f64> =
                        (0..rounds as usize).map(|i| v[r][i] / v[c][i]).collect();
                    let m = median(&mut ratios);
                    println!(
                        "  {what}, {kind}: median {m:.2} [{:.2}-{:.2}]",
                        ratios[0],
                        ratios[ratios.len() - 1]
                    );
                }
            }
            for (((name, _, _), t), c) in lines.iter().zip(&mut times).zip(&mut cpus) {
                println!(
                    "  {name}: median {:.3} ms, CPU {:.3} ms",
                    median(t),
                    median(c)
                );
            }
        }
    }
}
