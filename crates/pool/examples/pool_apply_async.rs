//! The tutorial's `multiprocessing.Pool(5).apply_async(callback=)` (seed 001, 进程池):
//!
//! ```python
//! def Foo(i):
//!     time.sleep(2)
//!     return i + 100
//! def Bar(arg):
//!     print('-->exec done:', arg)
//! if __name__ == '__main__':
//!     pool = Pool(5)
//!     for i in range(10):
//!         pool.apply_async(func=Foo, args=(i,), callback=Bar)
//!     print('end')
//!     pool.close()
//!     pool.join()  # without it the program would end before the tasks
//! ```
//!
//! `apply_async` returns at once, so `end` prints first; five processes run the ten tasks
//! in two rounds, and `Bar` prints each value back in the main program as it arrives.
//! `join` waits for them; as in Python, `join` before `close` is an error (shown first).
//!
//! ```text
//! cargo run -p c10k-pool --example pool_apply_async
//! ```

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use c10k_pool::Pool;
use c10k_process::{Entry, Registered};

const TASK_TIME: Duration = Duration::from_millis(300);

/// Runs in a worker process.
fn foo(i: u32) -> u32 {
    std::thread::sleep(TASK_TIME);
    i + 100
}
static FOO: Entry<u32, u32> = Entry::new("pool_apply_async_foo", foo);

/// The entries this demo's workers run (the program adds [`c10k_pool::PROCESS_WORKER`]).
pub(crate) const ENTRIES: &[&dyn Registered] = &[&FOO];

/// Runs the demo (also from `tests/process_examples_run.rs`).
pub(crate) fn demo() -> std::io::Result<()> {
    let start = Instant::now();
    let pool = Pool::new(5)?;
    let done = Arc::new(AtomicU32::new(0));
    let sum = Arc::new(AtomicU32::new(0));
    for i in 0..10 {
        let (done, sum) = (done.clone(), sum.clone());
        // The returned future is Python's AsyncResult; this demo needs only the callback.
        drop(pool.apply_async(
            &FOO,
            i,
            move |arg| {
                println!("-->exec done: {arg}");
                sum.fetch_add(*arg, Ordering::SeqCst);
                done.fetch_add(1, Ordering::SeqCst);
            },
            |err| println!("-->failed: {err}"),
        ));
    }
    println!("end");
    if let Err(e) = pool.join() {
        println!("join before close: {e}");
    }
    pool.close();
    pool.join()?;
    println!(
        "joined after {:.2?}: {} callbacks (each task takes {TASK_TIME:?})",
        start.elapsed(),
        done.load(Ordering::SeqCst)
    );
    assert_eq!(
        done.load(Ordering::SeqCst),
        10,
        "every callback ran before join returned"
    );
    assert_eq!(sum.load(Ordering::SeqCst), (100..110).sum::<u32>());
    Ok(())
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    c10k_process::init(&[&[c10k_pool::PROCESS_WORKER], ENTRIES].concat());
    demo()
}
