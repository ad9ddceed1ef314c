//! Memory per idle green thread against an idle async task, same process, same run.
//!
//! Spawns `N` green threads that each touch a little stack and park on a `c10k-sync` `Event`
//! (the shape of an idle connection's green thread: a few frames and a parked wait), and
//! reads the process's RSS before and after; then does the same with `N` async tasks on the
//! c10k runtime parked on the same kind of `Event`. Prints KiB per green thread, KiB per
//! task, and their ratio.
//!
//! Each green stack is two memory mappings, so `N` green threads need
//! `vm.max_map_count >= 2N` plus the process's own (the default 65 530 allows about 32 000);
//! the example checks and says so. `bench/green-idle.sh` raises it and runs N = 100 000.
//!
//! `cargo run --release -p c10k-green --example idle_rss -- 100000`

use std::io;
use std::sync::Arc;

use c10k_green::{self as green, Hub};
use c10k_sync::Event;

fn rss_kib() -> io::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other("unreadable /proc/self/statm"))?;
    Ok(pages * 4)
}

/// What an idle connection's green thread does before it waits: a few frames, a small
/// buffer on the stack.
#[inline(never)]
fn park_like_a_connection(gate: &Event) -> u8 {
    let buf = std::hint::black_box([1u8; 512]);
    gate.wait_blocking();
    buf[0]
}

fn main() -> io::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().map_err(|e| io::Error::other(format!("N: {e}"))))
        .transpose()?
        .unwrap_or(10_000);
    let max_maps: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")?
        .trim()
        .parse()
        .map_err(io::Error::other)?;
    if max_maps < 2 * n + 1024 {
        return Err(io::Error::other(format!(
            "{n} green threads need vm.max_map_count >= {} (it is {max_maps}): \
             sysctl -w vm.max_map_count={}",
            2 * n + 1024,
            (2 * n + 1024).next_power_of_two()
        )));
    }

    let gate = Arc::new(Event::new());
    let g = Arc::clone(&gate);
    let (green_kib, base) = green::run_with(Hub::builder().stack_size(64 * 1024), move || {
        let base = rss_kib()?;
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let g = Arc::clone(&g);
                green::spawn(move || park_like_a_connection(&g))
            })
            .collect();
        // Let every green thread run to its wait.
        green::sleep(std::time::Duration::ZERO);
        let parked = rss_kib()?;
        g.set();
        let total: u64 = handles
            .into_iter()
            .map(|h| u64::from(h.join().unwrap_or(0)))
            .sum();
        assert_eq!(total, n as u64);
        Ok::<_, io::Error>((parked.saturating_sub(base), base))
    })??;

    let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    let task_kib = rt.block_on(async move {
        let gate = Arc::new(Event::new());
        let base = rss_kib()?;
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let g = Arc::clone(&gate);
                c10k_runtime::spawn(async move {
                    let buf = std::hint::black_box([1u8; 512]);
                    g.wait().await;
                    buf[0]
                })
            })
            .collect();
        c10k_runtime::task::yield_now().await;
        let parked = rss_kib()?;
        gate.set();
        for h in handles {
            h.await.map_err(io::Error::other)?;
        }
        Ok::<_, io::Error>(parked.saturating_sub(base))
    })?;

    let per_green = green_kib as f64 / n as f64;
    let per_task = task_kib as f64 / n as f64;
    println!("idle green threads: {n}, process RSS before them {base} KiB");
    println!(
        "green: {green_kib} KiB for {n} = {per_green:.2} KiB each ({:.0} MiB per 100 000)",
        per_green * 100_000.0 / 1024.0
    );
    println!("async task: {task_kib} KiB for {n} = {per_task:.2} KiB each");
    println!(
        "ratio green / task: {:.1}",
        per_green / per_task.max(f64::MIN_POSITIVE)
    );
    Ok(())
}
