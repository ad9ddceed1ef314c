//! The GIL contrast (`001_*`, `002_*`): the tutorials say that Python threads do not speed up
//! a CPU-bound job, because only the thread holding the global interpreter lock runs Python
//! code, and that processes do. This demo measures it, in the same run, with the same job:
//! count the primes below N by trial division, split into equal ranges over 1, 2, ... threads.
//!
//! - Rust threads: no interpreter lock, so the speed-up follows the number of cores.
//! - Python threads and Python processes (`bench/gil/gil.py`, run by this demo with
//!   `python3`; skipped with a note when there is no `python3`).
//!
//! Run: `cargo run --release -p c10k --example gil` (options: `--n 300000`, `--threads 1,2,4`,
//! `--runs 3`). Each figure is the best of `--runs` wall times; the speed-up is the time on
//! one thread divided by the time on k.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// The job: the number of primes in `lo..hi`, by trial division (the same loop as the
/// Python script's).
fn count_primes(lo: u64, hi: u64) -> u64 {
    let mut count = 0;
    for n in lo.max(2)..hi {
        let mut d = 2;
        let mut prime = true;
        while d * d <= n {
            if n % d == 0 {
                prime = false;
                break;
            }
            d += 1;
        }
        count += u64::from(prime);
    }
    count
}

/// The ranges `0..n` split into `k` nearly equal parts (as the script splits them).
fn chunks(n: u64, k: u64) -> Vec<(u64, u64)> {
    let step = n.div_ceil(k);
    (0..n)
        .step_by(step as usize)
        .map(|lo| (lo, (lo + step).min(n)))
        .collect()
}

fn with_threads(n: u64, k: u64) -> u64 {
    std::thread::scope(|s| {
        let parts: Vec<_> = chunks(n, k)
            .into_iter()
            .map(|(lo, hi)| s.spawn(move || count_primes(lo, hi)))
            .collect();
        parts.into_iter().map(|p| p.join().expect("worker")).sum()
    })
}

/// One measurement: `(k, seconds, primes)`.
pub(crate) type Row = (u64, f64, u64);

/// Python's version and its rows for threads and for processes, or why there are none.
pub(crate) type PythonRows = Result<(String, Vec<Row>, Vec<Row>), String>;

/// The Rust rows: the best of `runs` wall times for each thread count.
pub(crate) fn rust_rows(n: u64, counts: &[u64], runs: u32) -> Vec<Row> {
    counts
        .iter()
        .map(|&k| {
            let mut best = f64::INFINITY;
            let mut primes = 0;
            for _ in 0..runs {
                let start = Instant::now();
                primes = with_threads(n, k);
                best = best.min(start.elapsed().as_secs_f64());
            }
            (k, best, primes)
        })
        .collect()
}

/// Python's rows (threads, processes) and its version, or why there are none.
pub(crate) fn python_rows(n: u64, counts: &[u64], runs: u32) -> PythonRows {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/gil/gil.py");
    let list = counts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let output = Command::new("python3")
        .arg(&script)
        .args([n.to_string(), list, runs.to_string()])
        .output()
        .map_err(|e| format!("python3 could not be started ({e})"))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed ({}): {}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let (mut version, mut threads, mut processes) = (String::new(), Vec::new(), Vec::new());
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let parse = || -> Option<Row> {
            Some((
                fields.get(1)?.parse().ok()?,
                fields.get(2)?.parse().ok()?,
                fields.get(3)?.parse().ok()?,
            ))
        };
        match fields.first() {
            Some(&"python") => version = fields.get(1).unwrap_or(&"?").to_string(),
            Some(&"threads") => threads.push(parse().ok_or(format!("bad line {line:?}"))?),
            Some(&"processes") => processes.push(parse().ok_or(format!("bad line {line:?}"))?),
            _ => return Err(format!("unexpected line from the script: {line:?}")),
        }
    }
    Ok((version, threads, processes))
}

/// Prints one table: time and speed-up against the first row (one thread).
fn print_rows(title: &str, unit: (&str, &str), rows: &[Row]) {
    println!("{title}");
    let one = rows.first().map_or(f64::NAN, |r| r.1);
    for &(k, secs, primes) in rows {
        println!(
            "  {k} {:<10} {:>9.1} ms  speed-up {:>4.2}x  ({primes} primes)",
            format!("{}:", if k == 1 { unit.0 } else { unit.1 }),
            secs * 1e3,
            one / secs
        );
    }
}

/// The whole demo; returns the rows for its test.
pub(crate) fn demo(n: u64, counts: &[u64], runs: u32) -> (Vec<Row>, PythonRows) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("count the primes below {n} on {counts:?} threads; this machine has {cores} CPU(s); best of {runs}");
    let rust = rust_rows(n, counts, runs);
    print_rows(
        "Rust threads (no interpreter lock):",
        ("thread", "threads"),
        &rust,
    );
    let python = python_rows(n, counts, runs);
    match &python {
        Ok((version, threads, processes)) => {
            print_rows(
                &format!("Python {version} threads (one GIL):"),
                ("thread", "threads"),
                threads,
            );
            print_rows(
                &format!("Python {version} processes (one GIL each):"),
                ("process", "processes"),
                processes,
            );
            if let (Some(r), Some(p)) = (rust.first(), threads.first()) {
                println!(
                    "one thread: Rust {:.1} ms, Python {:.1} ms ({:.0}x)",
                    r.1 * 1e3,
                    p.1 * 1e3,
                    p.1 / r.1
                );
            }
        }
        Err(why) => println!("Python skipped: {why}"),
    }
    (rust, python)
}

fn flag<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}: cannot parse {v:?}"))
        })
        .unwrap_or(default)
}

#[allow(dead_code)] // its test calls `demo`
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n = flag(&args, "--n", 300_000u64);
    let counts: String = flag(&args, "--threads", "1,2,4".to_string());
    let counts: Vec<u64> = counts
        .split(',')
        .map(|k| k.parse().expect("--threads: a list like 1,2,4"))
        .collect();
    let runs = flag(&args, "--runs", 3u32);
    let _ = demo(n, &counts, runs); // a missing python3 was printed: not an error here
}
