//! Timer benchmarks: 1M timers inserted and cancelled, c10k against tokio in the same run,
//! and the raw timing wheel against ordered-map and heap baselines.
//!
//! * `timers_1m/insert_cancel/{c10k,tokio}`: inside a current-thread runtime, create 1M sleep
//!   futures with deadlines spread from 1 ms to 10 s, poll each once with a no-op waker (this
//!   registers the timer), then drop them all (this cancels them). The time is per 1M.
//! * `timers_100k/fire/{c10k,tokio}`: 100k sleeps due 1 ms ahead awaited together: register,
//!   fire, wake and re-poll through each runtime.
//! * `wheel_1m/insert_cancel/{wheel,btreemap,binaryheap}`: the same pattern on the bare data
//!   structures, no runtime, no wakers. The heap cannot remove an arbitrary entry, so its
//!   "cancel" is the usual lazy deletion (a flag per timer, the heap cleared at the end).
//! * `wheel_1m/insert_fire/{wheel,btreemap,binaryheap}`: insert 1M timers, then advance time
//!   in 1 ms steps until every one has fired: this is where the wheel pays its cascades.
//!   `wheel_us_ticks` runs the same wheel on microsecond ticks, to price the nanosecond tick.
//!
//! Ratios are recorded in `src/time/BENCH.md`.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::collections::{BTreeMap, BinaryHeap};
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

// The pure wheel, compiled into the bench so its crate-private API stays private.
#[allow(dead_code, unreachable_pub, unused_imports)]
#[path = "../src/time/wheel.rs"]
mod wheel;

/// Timers per measured iteration.
const N: usize = 1_000_000;

/// `N` durations between 1 ms and 10 s, from a fixed xorshift sequence so every run and every
/// contender sees the same ones.
fn durations() -> Vec<Duration> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    (0..N)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Duration::from_micros(1_000 + x % 9_999_000)
        })
        .collect()
}

fn insert_cancel_runtimes(c: &mut Criterion) {
    let durations = durations();
    let mut group = c.benchmark_group("timers_1m");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));

    let c10k = c10k_runtime::Runtime::builder()
        .current_thread()
        .build()
        .expect("c10k runtime");
    group.bench_function("insert_cancel/c10k", |b| {
        b.iter_custom(|iters| {
            c10k.block_on(async {
                let mut cx = Context::from_waker(Waker::noop());
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let mut sleeps = Vec::with_capacity(N);
                    for &d in &durations {
                        sleeps.push(c10k_runtime::time::sleep(d));
                    }
                    for sleep in &mut sleeps {
                        assert!(Pin::new(sleep).poll(&mut cx).is_pending());
                    }
                    drop(sleeps);
                    total += start.elapsed();
                }
                total
            })
        })
    });

    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    group.bench_function("insert_cancel/tokio", |b| {
        b.iter_custom(|iters| {
            tokio.block_on(async {
                let mut cx = Context::from_waker(Waker::noop());
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let mut sleeps = Vec::with_capacity(N);
                    for &d in &durations {
                        sleeps.push(tokio::time::sleep(d));
                    }
                    for sleep in &mut sleeps {
                        // SAFETY: the vector is neither grown nor moved out of until it is
                        // dropped, which drops each `Sleep` in place: the pinned futures are
                        // never moved.
                        let sleep = unsafe { Pin::new_unchecked(sleep) };
                        assert!(sleep.poll(&mut cx).is_pending());
                    }
                    drop(sleeps);
                    total += start.elapsed();
                }
                total
            })
        })
    });
    group.finish();

    // Firing through the runtime: 100k sleeps due 1 ms from now, awaited together (one
    // task, `join_all`), so the time is the 1 ms wait plus registering, firing, waking and
    // re-polling 100k timers.
    let mut group = c.benchmark_group("timers_100k");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    const FIRE: usize = 100_000;
    group.bench_function("fire/c10k", |b| {
        b.iter(|| {
            c10k.block_on(async {
                let deadline = c10k_runtime::time::Instant::now() + Duration::from_millis(1);
                let sleeps = (0..FIRE).map(|_| c10k_runtime::time::sleep_until(deadline));
                futures_util::future::join_all(sleeps).await;
            })
        })
    });
    group.bench_function("fire/tokio", |b| {
        b.iter(|| {
            tokio.block_on(async {
                let deadline = tokio::time::Instant::now() + Duration::from_millis(1);
                let sleeps = (0..FIRE).map(|_| tokio::time::sleep_until(deadline));
                // c10k's `block_on` future runs outside any task budget; so must tokio's, or
                // its budget of 128 makes `join_all` over 100k sleeps quadratic (4 s).
                tokio::task::unconstrained(futures_util::future::join_all(sleeps)).await;
            })
        })
    });
    group.finish();
}

/// Deadlines in nanoseconds (c10k wheel ticks) for the raw structures.
fn deadlines() -> Vec<u64> {
    durations().iter().map(|d| d.as_nanos() as u64).collect()
}

fn raw_structures(c: &mut Criterion) {
    let deadlines = deadlines();
    let mut group = c.benchmark_group("wheel_1m");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));

    group.bench_function("insert_cancel/wheel", |b| {
        b.iter(|| {
            let mut wheel = wheel::Wheel::new();
            let keys: Vec<_> = deadlines
                .iter()
                .enumerate()
                .map(|(i, &d)| wheel.insert(d, i).unwrap())
                .collect();
            for key in keys {
                black_box(wheel.remove(key));
            }
        })
    });
    group.bench_function("insert_cancel/btreemap", |b| {
        b.iter(|| {
            let mut map = BTreeMap::new();
            for (i, &d) in deadlines.iter().enumerate() {
                map.insert((d, i), i);
            }
            for (i, &d) in deadlines.iter().enumerate() {
                black_box(map.remove(&(d, i)));
            }
        })
    });
    group.bench_function("insert_cancel/binaryheap", |b| {
        b.iter(|| {
            let mut heap = BinaryHeap::new();
            let mut cancelled = vec![false; deadlines.len()];
            for (i, &d) in deadlines.iter().enumerate() {
                heap.push(std::cmp::Reverse((d, i)));
            }
            // One flag write per cancel, as a real lazy deletion does (not a memset).
            for i in 0..deadlines.len() {
                cancelled[black_box(i)] = true;
            }
            heap.clear();
            black_box(cancelled);
        })
    });

    let step = 1_000_000; // advance 1 ms at a time
    let end = deadlines.iter().copied().max().unwrap_or(0) + step;
    group.bench_function("insert_fire/wheel", |b| {
        b.iter(|| {
            let mut wheel = wheel::Wheel::new();
            for (i, &d) in deadlines.iter().enumerate() {
                wheel.insert(d, i).unwrap();
            }
            let mut fired = 0;
            let mut now = 0;
            while now < end {
                now += step;
                while let Some(key) = wheel.poll(now) {
                    black_box(wheel.remove(key));
                    fired += 1;
                }
            }
            assert_eq!(fired, N);
        })
    });
    // The same wheel counting microseconds instead of nanoseconds: what the finer tick
    // costs in cascades (deadlines rounded up to whole microseconds).
    let micros: Vec<u64> = deadlines.iter().map(|d| d.div_ceil(1_000)).collect();
    let (step_us, end_us) = (step / 1_000, end / 1_000);
    group.bench_function("insert_fire/wheel_us_ticks", |b| {
        b.iter(|| {
            let mut wheel = wheel::Wheel::new();
            for (i, &d) in micros.iter().enumerate() {
                wheel.insert(d, i).unwrap();
            }
            let mut fired = 0;
            let mut now = 0;
            while now < end_us {
                now += step_us;
                while let Some(key) = wheel.poll(now) {
                    black_box(wheel.remove(key));
                    fired += 1;
                }
            }
            assert_eq!(fired, N);
        })
    });
    group.bench_function("insert_fire/btreemap", |b| {
        b.iter(|| {
            let mut map = BTreeMap::new();
            for (i, &d) in deadlines.iter().enumerate() {
                map.insert((d, i), i);
            }
            let mut fired = 0;
            let mut now = 0;
            while now < end {
                now += step;
                while let Some(entry) = map.first_entry() {
                    if entry.key().0 > now {
                        break;
                    }
                    black_box(entry.remove());
                    fired += 1;
                }
            }
            assert_eq!(fired, N);
        })
    });
    group.bench_function("insert_fire/binaryheap", |b| {
        b.iter(|| {
            let mut heap = BinaryHeap::new();
            for (i, &d) in deadlines.iter().enumerate() {
                heap.push(std::cmp::Reverse((d, i)));
            }
            let mut fired = 0;
            let mut now = 0;
            while now < end {
                now += step;
                while heap.peek().is_some_and(|top| top.0 .0 <= now) {
                    black_box(heap.pop());
                    fired += 1;
                }
            }
            assert_eq!(fired, N);
        })
    });
    group.finish();
}

/// Wheel memory per timer with `N` timers holding wakers, as in the runtime.
fn wheel_bytes_per_timer() -> usize {
    let mut wheel = wheel::Wheel::<Option<Waker>>::new();
    for i in 0..N as u64 {
        wheel.insert(i + 1, None).unwrap();
    }
    wheel.memory_bytes() / N
}

/// Prints the per-timer memory of each side once, next to the timings.
fn sizes(_: &mut Criterion) {
    println!(
        "size_of: c10k Sleep = {} B + {} B of wheel per timer, tokio Sleep = {} B (its entry)",
        std::mem::size_of::<c10k_runtime::time::Sleep>(),
        wheel_bytes_per_timer(),
        std::mem::size_of::<tokio::time::Sleep>(),
    );
}

criterion_group!(benches, sizes, insert_cancel_runtimes, raw_structures);
criterion_main!(benches);
