//! Where blocking work runs, chosen by the caller: asyncio's `loop.run_in_executor(executor,
//! f)`.
//!
//! [`Executor`] is implemented by a [`ThreadPool`] and by the runtime's own blocking pool
//! (through its [`Handle`]), so code can take "somewhere to run blocking calls" as a
//! parameter and its caller decides: the runtime's shared pool, or a pool of their own, sized
//! and named for the job (a pool of 4 for a slow disk, 32 for DNS lookups). Either way the
//! result is a [`PoolFuture`]: awaiting it from a task registers the task's waker and returns,
//! so the scheduler thread is never blocked; the same future can be waited on from a plain
//! thread, cancelled before it starts, and given done-callbacks.
//!
//! A closure cannot cross into another process, so a process pool is not an `Executor`:
//! [`ProcessExecutor`] is its counterpart, implemented by a [`ProcessPool`](crate::ProcessPool)
//! and a [`Pool`](crate::Pool), and [`run_in_process`] its `run_in_executor`: the job is a
//! registered [`Entry`](c10k_process::Entry) and its serde argument, the result the same
//! awaitable [`PoolFuture`].

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

#[cfg(not(loom))]
use c10k_process::{Entry, Registered};
use c10k_runtime::Handle;
#[cfg(not(loom))]
use serde::{de::DeserializeOwned, Serialize};

use crate::error::PoolError;
use crate::future::{Inner, PoolFuture};
use crate::thread::ThreadPool;

/// Something that runs blocking closures and hands back their [`PoolFuture`].
///
/// # Examples
///
/// A function that lets its caller choose where its blocking call runs:
///
/// ```
/// use c10k_pool::{run_in_executor, Executor, ThreadPool};
///
/// async fn file_len(executor: &impl Executor, path: &'static str) -> std::io::Result<u64> {
///     run_in_executor(executor, move || std::fs::metadata(path).map(|m| m.len())).await?
/// }
///
/// let pool = ThreadPool::builder().workers(2).name_prefix("disk").build()?;
/// c10k_runtime::run(async {
///     // On the user's pool ...
///     assert!(file_len(&pool, "Cargo.toml").await? > 0);
///     // ... or on the runtime's own blocking pool.
///     assert!(file_len(&c10k_runtime::Handle::current(), "Cargo.toml").await? > 0);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait Executor {
    /// Runs `f` somewhere else; its value (or panic) arrives through the future.
    fn execute<F, T>(&self, f: F) -> PoolFuture<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;
}

impl Executor for ThreadPool {
    fn execute<F, T>(&self, f: F) -> PoolFuture<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit(f)
    }
}

/// The runtime's blocking pool ([`Handle::spawn_blocking`]). The future can be cancelled
/// until the closure starts; if the runtime shuts down first, the closure is dropped and the
/// future fails with [`PoolError::Shutdown`].
impl Executor for Handle {
    fn execute<F, T>(&self, f: F) -> PoolFuture<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (inner, fut) = PoolFuture::pending();
        let mut guard = Unrun(Some(inner));
        // The join handle is dropped: the future is the only way to the result.
        drop(self.spawn_blocking(move || {
            let inner = guard.0.take().expect("runs once");
            if inner.set_running() {
                let outcome = catch_unwind(AssertUnwindSafe(f)).map_err(PoolError::from_panic);
                inner.complete(outcome);
            }
        }));
        fut
    }
}

/// Fails the future if the runtime drops the closure without running it.
struct Unrun<T>(Option<Arc<Inner<T>>>);

impl<T> Drop for Unrun<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.0.take() {
            inner.complete(Err(PoolError::Shutdown));
        }
    }
}

impl<E: Executor + ?Sized> Executor for &E {
    fn execute<F, T>(&self, f: F) -> PoolFuture<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        (**self).execute(f)
    }
}

impl<E: Executor + ?Sized> Executor for Arc<E> {
    fn execute<F, T>(&self, f: F) -> PoolFuture<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        (**self).execute(f)
    }
}

/// Runs the blocking `f` on `executor` and returns its future: `loop.run_in_executor`.
///
/// Pass `&Handle::current()` for the runtime's blocking pool (Python's `None`), or a
/// [`ThreadPool`] of your own. Awaiting the future never blocks the awaiting task's thread.
///
/// # Examples
///
/// ```
/// use c10k_pool::{run_in_executor, ThreadPool};
///
/// let pool = ThreadPool::new(2)?;
/// let n = c10k_runtime::run(async {
///     let a = run_in_executor(&pool, || (1..=10u32).sum::<u32>());
///     let b = run_in_executor(&c10k_runtime::Handle::current(), || 2u32);
///     a.await.unwrap() * b.await.unwrap()
/// });
/// assert_eq!(n, 110);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn run_in_executor<E, F, T>(executor: &E, f: F) -> PoolFuture<T>
where
    E: Executor + ?Sized,
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    executor.execute(f)
}

/// Something that runs registered functions in other processes and hands back their
/// [`PoolFuture`]: the process side of [`Executor`].
///
/// # Examples
///
/// A function that lets its caller choose the process pool its CPU-bound work runs on:
///
/// ```no_run
/// use c10k_pool::{run_in_process, ProcessExecutor, ProcessPool};
/// use c10k_process::Entry;
///
/// fn checksum(data: Vec<u8>) -> u32 {
///     data.iter().map(|&b| u32::from(b)).sum()
/// }
/// static CHECKSUM: Entry<Vec<u8>, u32> = Entry::new("checksum", checksum);
///
/// async fn verify(executor: &impl ProcessExecutor, data: Vec<u8>, sum: u32) -> bool {
///     run_in_process(executor, &CHECKSUM, data).await == Ok(sum)
/// }
///
/// fn main() -> std::io::Result<()> {
///     c10k_process::init(&[c10k_pool::PROCESS_WORKER, &CHECKSUM]);
///     let pool = ProcessPool::new(2)?;
///     assert!(c10k_runtime::run(verify(&pool, vec![1, 2, 3], 6)));
///     Ok(())
/// }
/// ```
#[cfg(not(loom))]
pub trait ProcessExecutor {
    /// Runs `entry(args)` in a worker process; its value (or panic) arrives through the
    /// future.
    fn execute_entry<A, R>(&self, entry: &'static Entry<A, R>, args: A) -> PoolFuture<R>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
        Entry<A, R>: Registered;
}

#[cfg(not(loom))]
impl ProcessExecutor for crate::ProcessPool {
    fn execute_entry<A, R>(&self, entry: &'static Entry<A, R>, args: A) -> PoolFuture<R>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
        Entry<A, R>: Registered,
    {
        self.submit(entry, args)
    }
}

#[cfg(not(loom))]
impl ProcessExecutor for crate::Pool {
    fn execute_entry<A, R>(&self, entry: &'static Entry<A, R>, args: A) -> PoolFuture<R>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
        Entry<A, R>: Registered,
    {
        self.executor().submit(entry, args)
    }
}

#[cfg(not(loom))]
impl<E: ProcessExecutor + ?Sized> ProcessExecutor for &E {
    fn execute_entry<A, R>(&self, entry: &'static Entry<A, R>, args: A) -> PoolFuture<R>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
        Entry<A, R>: Registered,
    {
        (**self).execute_entry(entry, args)
    }
}

#[cfg(not(loom))]
impl<E: ProcessExecutor + ?Sized> ProcessExecutor for Arc<E> {
    fn execute_entry<A, R>(&self, entry: &'static Entry<A, R>, args: A) -> PoolFuture<R>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
        Entry<A, R>: Registered,
    {
        (**self).execute_entry(entry, args)
    }
}

/// Runs `entry(args)` on a process pool and returns its future: `loop.run_in_executor(
/// process_pool_executor, fn, arg)`.
///
/// The function is a registered [`Entry`] (listed in [`c10k_process::init`] with
/// [`PROCESS_WORKER`](crate::PROCESS_WORKER)) and its argument a serde value: they are what
/// can travel to another process. Awaiting the future from a task registers the task's waker
/// and returns, so the scheduler thread is never blocked; a plain thread can call
/// [`PoolFuture::result`] instead. See [`ProcessExecutor`] for an example.
#[cfg(not(loom))]
pub fn run_in_process<E, A, R>(executor: &E, entry: &'static Entry<A, R>, args: A) -> PoolFuture<R>
where
    E: ProcessExecutor + ?Sized,
    A: Serialize,
    R: DeserializeOwned + Send + 'static,
    Entry<A, R>: Registered,
{
    executor.execute_entry(entry, args)
}
