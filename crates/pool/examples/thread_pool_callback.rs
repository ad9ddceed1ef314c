//! The tutorial's asynchronous callback (`异步回调机制`):
//!
//! ```python
//! def call_back(res):
//!     print('call_back', res.result())
//! for i in range(6):
//!     pool.submit(task, i).add_done_callback(call_back)
//! ```
//!
//! Nobody waits on the futures: each result is handed to `call_back` by the worker thread
//! that produced it, as soon as it is ready. The main thread only waits for the pool at the
//! end. A task that panics reaches its callback as an error; the pool goes on.
//!
//! ```text
//! cargo run -p c10k-pool --example thread_pool_callback
//! ```

use std::time::Duration;

use c10k_pool::{PoolError, ThreadPool};

fn task(name: u32) -> u32 {
    std::thread::sleep(Duration::from_millis(100 * u64::from(6 - name))); // later ones finish first
    if name == 3 {
        panic!("task 3 failed");
    }
    name + 10
}

fn call_back(res: Result<&u32, &PoolError>) {
    let thread = std::thread::current();
    match res {
        Ok(v) => println!("call_back {v} (on {})", thread.name().unwrap_or("?")),
        Err(e) => println!("call_back error: {e} (on {})", thread.name().unwrap_or("?")),
    }
}

/// Runs the demo (also from `tests/examples_run.rs`).
pub(crate) fn main() -> std::io::Result<()> {
    // The panic message of task 3 would otherwise be printed by the default hook too.
    std::panic::set_hook(Box::new(|_| {}));
    let pool = ThreadPool::builder()
        .workers(3)
        .name_prefix("worker")
        .build()?;
    for i in 0..6 {
        pool.submit(move || task(i)).add_done_callback(call_back);
    }
    println!("main: submitted everything, not waiting on any future");
    drop(pool); // waits for the queued work, as leaving a `with` block does
    println!("main: pool closed");
    Ok(())
}
