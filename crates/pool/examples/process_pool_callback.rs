//! The tutorial's `ProcessPoolExecutor` with a done-callback (seed 002, `异步回调机制`):
//!
//! ```python
//! pool = ProcessPoolExecutor(3)
//! def task(name):
//!     print(name, os.getpid())
//!     time.sleep(3)
//!     return name + 10
//! def call_back(res):
//!     print('call_back', res.result())
//! for i in range(6):
//!     pool.submit(task, i).add_done_callback(call_back)
//! ```
//!
//! Each task prints the pid of the worker process that runs it: three pids, none of them the
//! main program's. The callbacks run back in the main program (on the pool's collector
//! thread, as Python runs them on its queue-management thread), as each result arrives;
//! nobody waits on a future. Six tasks on three processes take two rounds.
//!
//! ```text
//! cargo run -p c10k-pool --example process_pool_callback
//! ```

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use c10k_pool::{PoolError, ProcessPool};
use c10k_process::{Entry, Registered};

const TASK_TIME: Duration = Duration::from_millis(300);

/// Runs in a worker process.
fn task(name: u32) -> (u32, u32) {
    let pid = std::process::id();
    println!("{name} {pid}");
    std::thread::sleep(TASK_TIME);
    (name + 10, pid)
}
static TASK: Entry<u32, (u32, u32)> = Entry::new("process_pool_callback_task", task);

/// The entries this demo's workers run (the program adds [`c10k_pool::PROCESS_WORKER`]).
pub(crate) const ENTRIES: &[&dyn Registered] = &[&TASK];

/// Runs the demo (also from `tests/process_examples_run.rs`).
pub(crate) fn demo() -> std::io::Result<()> {
    let me = std::process::id();
    println!("main program: pid {me}");
    let start = Instant::now();
    let pool = ProcessPool::builder()
        .workers(3)
        .name_prefix("worker")
        .build()?;
    let seen = Arc::new(Mutex::new(Vec::new()));
    for i in 0..6 {
        let seen = seen.clone();
        pool.submit(&TASK, i)
            .add_done_callback(move |res: Result<&(u32, u32), &PoolError>| match res {
                Ok((value, worker)) => {
                    println!(
                        "call_back {value} (from pid {worker}, in pid {})",
                        std::process::id()
                    );
                    seen.lock()
                        .unwrap()
                        .push((*value, *worker, std::process::id()));
                }
                Err(e) => println!("call_back error: {e}"),
            });
    }
    println!("main: submitted everything, not waiting on any future");
    drop(pool); // waits for the queued work, as leaving a `with` block does
    let elapsed = start.elapsed();
    println!("main: pool closed after {elapsed:.2?} (each task takes {TASK_TIME:?})");
    let seen = seen.lock().unwrap();
    let values: HashSet<u32> = seen.iter().map(|(v, _, _)| *v).collect();
    assert_eq!(values, (10..16).collect(), "each callback ran once");
    assert_eq!(seen.len(), 6, "each callback ran once");
    let workers: HashSet<u32> = seen.iter().map(|(_, w, _)| *w).collect();
    assert!(!workers.contains(&me), "tasks run in other processes");
    assert!(
        workers.len() <= 3,
        "three worker processes at most: {workers:?}"
    );
    assert!(
        seen.iter().all(|(_, _, cb)| *cb == me),
        "callbacks run in the main program"
    );
    Ok(())
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    c10k_process::init(&[&[c10k_pool::PROCESS_WORKER], ENTRIES].concat());
    demo()
}
