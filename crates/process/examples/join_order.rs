//! `start()` several processes, then `join()` them: they run at the same time, so the
//! whole takes about as long as the slowest, not the sum; `join` returns in the order it
//! is called, whatever order the children finish in.
//!
//! `cargo run -p c10k-process --example join_order`

use std::time::{Duration, Instant};

use c10k_process::{Entry, Process, Registered};

/// The tutorials' `time.sleep(n)`: a task that takes `ms` of wall time.
fn task(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    println!("  the {ms} ms task is done");
    ms
}
static TASK: Entry<u64, u64> = Entry::new("join_order_task", task);

pub(crate) const ENTRIES: &[&dyn Registered] = &[&TASK];

pub(crate) fn demo() -> std::io::Result<()> {
    let start = Instant::now();
    let mut ps = Vec::new();
    for ms in [300, 200, 100] {
        ps.push(Process::spawn(&TASK, ms)?);
    }
    for p in &mut ps {
        let ms = p.join_value().expect("the task ran");
        println!("joined the {ms} ms task at {:?}", start.elapsed());
    }
    let total = start.elapsed();
    println!("3 tasks of 300 + 200 + 100 ms took {total:?} together (in parallel, not 600 ms)");
    Ok(())
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    c10k_process::init(ENTRIES);
    demo()
}
