//! A CPU-bound job (counting primes) split four ways, on processes and on threads. In
//! CPython threads take turns under the GIL and only processes scale; Rust has no GIL, so
//! both scale with the cores (this prints the speed-up of each over one worker).
//!
//! `cargo run --release -p c10k-process --example cpu_bound [-- LIMIT]`

use std::time::Instant;

use c10k_process::{Entry, Process, Registered};

fn count_primes((from, to): (u64, u64)) -> u64 {
    (from..to)
        .filter(|&n| n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0))
        .count() as u64
}
static COUNT_PRIMES: Entry<(u64, u64), u64> = Entry::new("cpu_count_primes", count_primes);

pub(crate) const ENTRIES: &[&dyn Registered] = &[&COUNT_PRIMES];

fn ranges(limit: u64, parts: u64) -> Vec<(u64, u64)> {
    (0..parts)
        .map(|i| (limit * i / parts, limit * (i + 1) / parts))
        .collect()
}

pub(crate) fn demo_with(limit: u64) -> std::io::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t = Instant::now();
    let one = count_primes((0, limit));
    let serial = t.elapsed();
    println!("1 worker:    {one} primes below {limit} in {serial:?}");

    let t = Instant::now();
    let mut ps: Vec<_> = ranges(limit, 4)
        .into_iter()
        .map(|r| Process::spawn(&COUNT_PRIMES, r))
        .collect::<std::io::Result<_>>()?;
    let by_processes: u64 = ps.iter_mut().map(|p| p.join_value().unwrap()).sum();
    let processes = t.elapsed();

    let t = Instant::now();
    let hs: Vec<_> = ranges(limit, 4)
        .into_iter()
        .map(|r| std::thread::spawn(move || count_primes(r)))
        .collect();
    let by_threads: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
    let threads = t.elapsed();

    assert_eq!((by_processes, by_threads), (one, one));
    let speedup = |d: std::time::Duration| serial.as_secs_f64() / d.as_secs_f64();
    println!(
        "4 processes: {by_processes} primes in {processes:?} ({:.2}x)",
        speedup(processes)
    );
    println!(
        "4 threads:   {by_threads} primes in {threads:?} ({:.2}x)",
        speedup(threads)
    );
    println!("({cores} cores here: both can scale up to {cores}x; processes pay for their start)");
    Ok(())
}

#[allow(dead_code)]
pub(crate) fn demo() -> std::io::Result<()> {
    demo_with(200_000)
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    c10k_process::init(ENTRIES);
    let limit = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    demo_with(limit)
}
