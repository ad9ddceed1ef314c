//! Memory per idle task: RSS after spawning 1M tasks that wait forever, c10k vs tokio, each
//! measured in a fresh child process (so one runtime's freed memory does not hide the other's).
//!
//! `cargo bench -p c10k-runtime --bench task_memory`

use std::process::Command;

const TASKS: usize = 1_000_000;

/// Resident set size in bytes, from `/proc/self/statm` (second field, in pages).
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("parse statm");
    pages * 4096
}

fn measure(which: &str) -> usize {
    match which {
        "c10k" => {
            let rt = c10k_runtime::Runtime::builder()
                .current_thread()
                .build()
                .unwrap();
            rt.block_on(async {
                // Warm up allocator arenas and the runtime's buffers.
                drop(c10k_runtime::spawn(std::future::pending::<()>()));
                let before = rss();
                for _ in 0..TASKS {
                    drop(c10k_runtime::spawn(std::future::pending::<()>()));
                }
                c10k_runtime::task::yield_now().await; // let every task be polled once
                rss() - before
            })
        }
        "tokio" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                drop(tokio::spawn(std::future::pending::<()>()));
                let before = rss();
                for _ in 0..TASKS {
                    drop(tokio::spawn(std::future::pending::<()>()));
                }
                tokio::task::yield_now().await;
                rss() - before
            })
        }
        _ => panic!("unknown runtime {which}"),
    }
}

fn main() {
    if let Ok(which) = std::env::var("C10K_TASK_MEMORY_CHILD") {
        println!("{}", measure(&which));
        return;
    }
    let exe = std::env::current_exe().expect("current exe");
    let mut results = Vec::new();
    for which in ["c10k", "tokio"] {
        let out = Command::new(&exe)
            .env("C10K_TASK_MEMORY_CHILD", which)
            .output()
            .expect("run child");
        assert!(
            out.status.success(),
            "{which}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes: usize = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("child output");
        results.push((which, bytes));
    }
    println!(
        "idle tasks: {TASKS} (current-thread runtime, `pending()` futures, JoinHandle dropped)"
    );
    for (which, bytes) in &results {
        println!(
            "{which:>6}: {:>8.1} MiB  {:>6.1} bytes/task",
            *bytes as f64 / (1 << 20) as f64,
            *bytes as f64 / TASKS as f64
        );
    }
    let ratio = results[1].1 as f64 / results[0].1 as f64;
    println!("ratio tokio/c10k: {ratio:.2} (>= 1.0: c10k uses less memory)");
}
