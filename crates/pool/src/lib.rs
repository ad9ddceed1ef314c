//! Thread and process pools with futures: `concurrent.futures` for Rust, usable from threads
//! and tasks.
//!
//! | Python | here |
//! |---|---|
//! | `ThreadPoolExecutor(max_workers, thread_name_prefix, initializer)` | [`ThreadPool::new`], [`ThreadPool::builder`] (fixed or growing) |
//! | `executor.submit(fn, *args)` | [`ThreadPool::submit`] (a closure) → [`PoolFuture`] |
//! | `executor.map(fn, iterable, chunksize=)` | [`ThreadPool::map`] (ordered, lazy, bounded window) |
//! | `executor.shutdown(wait, cancel_futures)`, `with executor:` | [`ThreadPool::shutdown`], `Drop` |
//! | `future.result(timeout)`, `exception()`, `done()`, `running()`, `cancel()`, `cancelled()` | [`PoolFuture::result`], [`result_timeout`](PoolFuture::result_timeout), [`error`](PoolFuture::error), [`done`](PoolFuture::done), … |
//! | `future.add_done_callback(fn)` | [`PoolFuture::add_done_callback`] (exactly once, also when added late) |
//! | `await asyncio.wrap_future(future)` | `future.await` (a [`Future`](std::future::Future) on any executor) |
//! | `as_completed(fs)`, `wait(fs, return_when=)` | [`as_completed`] (iterator and `Stream`), [`wait`] with [`ReturnWhen`] |
//! | `loop.run_in_executor(executor, fn)` | [`run_in_executor`] over an [`Executor`]: a [`ThreadPool`] or the runtime's `Handle` |
//! | `loop.run_in_executor(process_executor, fn, arg)` | [`run_in_process`] over a [`ProcessExecutor`]: a [`ProcessPool`] or a [`Pool`], with a registered entry |
//! | `ProcessPoolExecutor(max_workers, mp_context, initializer, initargs, max_tasks_per_child)` | [`ProcessPool::new`], [`ProcessPool::builder`] |
//! | `process_executor.submit(fn, arg)`, `map`, `terminate_workers()`, `kill_workers()` | [`ProcessPool::submit`] (a registered [`c10k_process::Entry`]), [`ProcessPool::map`], [`ProcessPool::terminate_workers`], [`ProcessPool::kill_workers`] |
//! | `multiprocessing.Pool`: `apply`, `apply_async(callback, error_callback)`, `map`, `imap`, `imap_unordered`, `starmap`, `close`, `join`, `terminate` | [`Pool`] |
//! | `BrokenThreadPool`, `BrokenProcessPool`, `CancelledError`, an exception in the task | [`PoolError`] |
//!
//! # Example: the tutorial's pool with a done-callback
//!
//! ```
//! use c10k_pool::ThreadPool;
//!
//! fn task(name: u32) -> u32 {
//!     name + 10
//! }
//!
//! let pool = ThreadPool::builder().workers(3).name_prefix("tutorial").build()?;
//! for i in 0..5 {
//!     pool.submit(move || task(i))
//!         .add_done_callback(|res| println!("call_back {}", res.unwrap()));
//! }
//! pool.shutdown(true, false); // like leaving a `with` block: wait for the work
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # How the future works
//!
//! One atomic word and a mutex for the rare paths (`future/state.rs`, with its diagram and a
//! loom model): a task that completes before anyone waits on it costs no lock; a waiter or
//! callback registered concurrently with completion is never lost, and a callback never runs
//! twice, whichever of completion, cancellation and registration comes first.
#![warn(missing_docs)]

mod error;
mod executor;
mod future;
mod loom;
// c10k-process leaves its process API out of loom builds (`--cfg loom`), and so does this
// crate: the loom models here cover the future's state machine, which the pools share.
#[cfg(not(loom))]
mod process;
mod thread;
mod wait;

pub use error::PoolError;
pub use executor::{run_in_executor, Executor};
#[cfg(not(loom))]
pub use executor::{run_in_process, ProcessExecutor};
pub use future::PoolFuture;
#[cfg(not(loom))]
pub use process::{
    Builder as ProcessPoolBuilder, Pool, ProcessMap, ProcessPool, DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_QUEUE_DEPTH_PER_WORKER, PROCESS_WORKER,
};
pub use thread::{Builder, Map, ThreadPool, DEFAULT_KEEP_ALIVE, MAP_ITEMS_IN_FLIGHT};
pub use wait::{as_completed, wait, AsCompleted, AsCompletedStream, ReturnWhen, Timeout, Waited};

#[cfg(all(test, not(loom)))]
mod auto_traits {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}

    #[test]
    fn auto_traits() {
        assert_send_sync::<ThreadPool>();
        assert_send_sync::<ProcessPool>();
        assert_send_sync::<Pool>();
        assert_send_sync::<PoolFuture<u8>>();
        assert_send::<PoolFuture<std::cell::Cell<u8>>>();
        assert_send::<AsCompleted<u8>>();
        assert_send_sync::<PoolError>();
    }
}
