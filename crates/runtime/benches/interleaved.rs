//! The trivial-poll benches of `runtime.rs` (yield many, ping-pong), interleaved: c10k
//! against tokio, for a machine too noisy for criterion's one-after-the-other runs. Each
//! round runs every line of a workload once, in turn, and the ratios are taken within the
//! round. Lines, for a current-thread runtime and a 2-worker one: `c10k` (long-poll detection
//! off, the default), `c10k-long-poll` (`long_poll_threshold(100 ms)`) and `tokio`.
//!
//! `cargo bench -p c10k-runtime --bench interleaved -- [rounds] [iterations]` (default 10
//! and 5) prints, per workload, the median ratio c10k time ÷ tokio time (< 1: c10k faster)
//! with its full range, for detection off and on, of wall-clock time and of the process's
//! CPU time (every thread's; on a machine shared with other work, the CPU time is the
//! steadier), and each line's median times.
//! `C10K_BENCH_FLAVORS=mt` (or `ct`) runs one flavour only, `C10K_BENCH_WORKLOADS=ping-pong`
//! (or `yield many`) one workload only.
#![allow(missing_docs)]

use std::future::Future;
use std::time::{Duration, Instant};

mod util;
use util::{yield_once, Slot};

const YIELD_TASKS: usize = 200;
const YIELD_EACH: usize = 500;
const PING_PONGS: u64 = 10_000;

enum Rt {
    C10k(c10k_runtime::Runtime),
    Tokio(tokio::runtime::Runtime),
}

impl Rt {
    fn c10k(multi: bool, long_poll: bool) -> Rt {
        let b = c10k_runtime::Runtime::builder();
        let mut b = if multi {
            b.multi_thread().worker_threads(2)
        } else {
            b.current_thread()
        };
        if long_poll {
            b = b.long_poll_threshold(Duration::from_millis(100));
        }
        Rt::C10k(b.build().expect("c10k runtime"))
    }

    fn tokio(multi: bool) -> Rt {
        let rt = if multi {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
        } else {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        };
        Rt::Tokio(rt.expect("tokio runtime"))
    }

    /// Runs `make`'s futures as spawned tasks and waits for all of them in `block_on`.
    fn run<F>(&self, make: impl Fn() -> Vec<F>)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match self {
            Rt::C10k(rt) => rt.block_on(async {
                let hs: Vec<_> = make().into_iter().map(c10k_runtime::spawn).collect();
                for h in hs {
                    h.await.expect("task");
                }
            }),
            Rt::Tokio(rt) => rt.block_on(async {
                let hs: Vec<_> = make().into_iter().map(tokio::spawn).collect();
                for h in hs {
                    h.await.expect("task");
                }
            }),
        }
    }
}

type Task = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;
/// A workload: its name, and what makes its tasks.
type Workload = (&'static str, fn() -> Vec<Task>);

fn yield_many() -> Vec<Task> {
    (0..YIELD_TASKS)
        .map(|_| {
            Box::pin(async {
                for _ in 0..YIELD_EACH {
                    yield_once().await;
                }
            }) as Task
        })
        .collect()
}

fn ping_pong() -> Vec<Task> {
    let (ping, pong) = (Slot::new(), Slot::new());
    let (p2, q2) = (ping.clone(), pong.clone());
    let echo = Box::pin(async move {
        for _ in 0..PING_PONGS {
            let v = p2.take().await;
            q2.put(v + 1);
        }
    }) as Task;
    let driver = Box::pin(async move {
        let mut v = 0;
        for _ in 0..PING_PONGS {
            ping.put(v);
            v = pong.take().await;
        }
        assert_eq!(v, PING_PONGS);
    }) as Task;
    vec![echo, driver]
}

/// The process's CPU time (all threads), in milliseconds.
fn cpu_ms() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    t.tv_sec as f64 * 1e3 + t.tv_nsec as f64 / 1e6
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
    let rounds = nums.next().unwrap_or(10).max(1) as usize;
    let iters = nums.next().unwrap_or(5).max(1);
    println!(
        "{rounds} rounds of {iters} iterations; ratio = c10k time / tokio time (< 1: c10k faster)"
    );
    let workloads: [Workload; 2] = [("yield many", yield_many), ("ping-pong", ping_pong)];
    let only = |var: &str, name: &str| std::env::var(var).map_or(true, |v| v == name);
    for multi in [false, true] {
        if !only("C10K_BENCH_FLAVORS", if multi { "mt" } else { "ct" }) {
            continue;
        }
        let lines = [
            ("c10k", Rt::c10k(multi, false)),
            ("c10k-long-poll", Rt::c10k(multi, true)),
            ("tokio", Rt::tokio(multi)),
        ];
        let flavor = if multi { "2 workers" } else { "current-thread" };
        for (name, make) in workloads {
            if !only("C10K_BENCH_WORKLOADS", name) {
                continue;
            }
            let mut times = vec![Vec::new(); lines.len()];
            let mut cpus = vec![Vec::new(); lines.len()];
            for _ in 0..rounds {
                for (((_, rt), t), c) in lines.iter().zip(&mut times).zip(&mut cpus) {
                    let (start, cpu) = (Instant::now(), cpu_ms());
                    for _ in 0..iters {
                        rt.run(make);
                    }
                    t.push(start.elapsed().as_secs_f64() * 1e3 / iters as f64);
                    c.push((cpu_ms() - cpu) / iters as f64);
                }
            }
            println!("{name}, {flavor}:");
            for (c, label) in [(0, "detection off"), (1, "detection on")] {
                for (kind, v) in [("time", &times), ("CPU", &cpus)] {
                    let mut r: Vec<f64> = (0..rounds).map(|i| v[c][i] / v[2][i]).collect();
                    let m = median(&mut r);
                    println!(
                        "  c10k ({label}) / tokio, {kind}: median {m:.2} [{:.2}-{:.2}]",
                        r[0],
                        r[rounds - 1]
                    );
                }
            }
            for (((label, _), t), c) in lines.iter().zip(&mut times).zip(&mut cpus) {
                println!(
                    "  {label}: median {:.3} ms, CPU {:.3} ms",
                    median(t),
                    median(c)
                );
            }
        }
    }
}
