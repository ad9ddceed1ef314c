//! The tutorial's `ThreadPoolExecutor` with `submit` and `result`:
//!
//! ```python
//! pool = ThreadPoolExecutor(3)
//! def task(name):
//!     print(name, os.getpid())
//!     time.sleep(3)
//!     return name + 10
//! futures = [pool.submit(task, i) for i in range(6)]
//! pool.shutdown()
//! for f in futures:
//!     print(f.result())
//! ```
//!
//! Six tasks on three threads take two rounds: the output shows which thread ran each task
//! and that the total is about two task lengths, not six. `submit` returns at once; the
//! results are read in submission order, whatever order the tasks finished in.
//!
//! ```text
//! cargo run -p c10k-pool --example thread_pool_submit
//! ```

use std::time::{Duration, Instant};

use c10k_pool::ThreadPool;

const TASK_TIME: Duration = Duration::from_millis(300);

fn task(name: u32) -> u32 {
    let thread = std::thread::current();
    println!(
        "task {name} on {} (pid {})",
        thread.name().unwrap_or("?"),
        std::process::id()
    );
    std::thread::sleep(TASK_TIME); // stands for blocking IO
    name + 10
}

/// Runs the demo (also from `tests/examples_run.rs`).
pub(crate) fn main() -> std::io::Result<()> {
    let start = Instant::now();
    let pool = ThreadPool::builder()
        .workers(3)
        .name_prefix("tutorial")
        .build()?;
    let futures: Vec<_> = (0..6).map(|i| pool.submit(move || task(i))).collect();
    println!("submitted 6 tasks in {:?}", start.elapsed());
    pool.shutdown(true, false); // like leaving `with ThreadPoolExecutor(3) as pool:`
    for f in futures {
        println!("result: {}", f.result().expect("task panicked"));
    }
    let took = start.elapsed();
    println!("6 tasks of {TASK_TIME:?} on 3 threads took {took:?} (about 2 rounds, not 6)");
    Ok(())
}
