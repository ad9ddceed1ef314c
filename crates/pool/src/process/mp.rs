//! [`Pool`]: `multiprocessing.Pool`'s spellings, a thin layer over [`ProcessPool`].

use std::io;

use c10k_process::{Entry, Registered};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{ProcessMap, ProcessPool};
use crate::error::PoolError;
use crate::future::PoolFuture;
use crate::wait::as_completed;

/// Python's `multiprocessing.Pool`, on the same core as [`ProcessPool`].
///
/// | Python | here |
/// |---|---|
/// | `Pool(5)`, `Pool(processes, initializer, initargs, maxtasksperchild)` | [`Pool::new`], [`Pool::from`] a [`ProcessPool`] built with [`ProcessPool::builder`] |
/// | `apply(f, args)` | [`apply`](Self::apply) |
/// | `apply_async(f, args, callback=, error_callback=)` → `AsyncResult` | [`apply_async`](Self::apply_async) → [`PoolFuture`] (`get()` is [`PoolFuture::result`]) |
/// | `map(f, iterable, chunksize)` | [`map`](Self::map) (a `Vec`) |
/// | `imap`, `imap_unordered` | [`imap`](Self::imap), [`imap_unordered`](Self::imap_unordered) |
/// | `starmap(f, [(a, b), ...])` | [`starmap`](Self::starmap): an entry's argument is one serde value, so a tuple *is* the star-args |
/// | `close()`, `join()`, `terminate()` | [`close`](Self::close), [`join`](Self::join), [`terminate`](Self::terminate) |
///
/// # Examples
///
/// ```no_run
/// use c10k_pool::Pool;
/// use c10k_process::Entry;
///
/// fn task(name: u32) -> u32 {
///     name + 10
/// }
/// static TASK: Entry<u32, u32> = Entry::new("task", task);
///
/// fn main() -> std::io::Result<()> {
///     c10k_process::init(&[c10k_pool::PROCESS_WORKER, &TASK]);
///     let pool = Pool::new(5)?;
///     for i in 0..5 {
///         let _ = pool.apply_async(&TASK, i, |v| println!("call_back {v}"), |e| eprintln!("{e}"));
///     }
///     pool.close();
///     pool.join()?;
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct Pool {
    inner: ProcessPool,
}

impl From<ProcessPool> for Pool {
    fn from(inner: ProcessPool) -> Pool {
        Pool { inner }
    }
}

impl Pool {
    /// `Pool(processes)`.
    ///
    /// # Errors
    ///
    /// As [`ProcessPool::new`].
    pub fn new(processes: usize) -> io::Result<Pool> {
        Ok(Pool {
            inner: ProcessPool::new(processes)?,
        })
    }

    /// The [`ProcessPool`] underneath (for `submit`, `as_completed`, ...).
    pub fn executor(&self) -> &ProcessPool {
        &self.inner
    }

    /// Runs `entry(args)` in a worker and waits for its value.
    ///
    /// # Errors
    ///
    /// The task's [`PoolError`].
    pub fn apply<A, R>(&self, entry: &'static Entry<A, R>, args: A) -> Result<R, PoolError>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
        Entry<A, R>: Registered,
    {
        self.inner.submit(entry, args).result()
    }

    /// Runs `entry(args)` in a worker; `callback` gets the value, or `error_callback` the
    /// error, exactly once, on the pool's collector thread (as Python's result-handler thread
    /// runs them). Keep callbacks short.
    pub fn apply_async<A, R, C, E>(
        &self,
        entry: &'static Entry<A, R>,
        args: A,
        callback: C,
        error_callback: E,
    ) -> PoolFuture<R>
    where
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
        Entry<A, R>: Registered,
        C: FnOnce(&R) + Send + 'static,
        E: FnOnce(&PoolError) + Send + 'static,
    {
        let fut = self.inner.submit(entry, args);
        fut.add_done_callback(move |r| match r {
            Ok(v) => callback(v),
            Err(e) => error_callback(e),
        });
        fut
    }

    /// `entry` over `items`, every value in order, or the first error.
    ///
    /// # Errors
    ///
    /// The first failed item's [`PoolError`] (Python raises the first exception).
    pub fn map<A, R, I>(
        &self,
        entry: &'static Entry<A, R>,
        items: I,
        chunksize: usize,
    ) -> Result<Vec<R>, PoolError>
    where
        I: IntoIterator<Item = A>,
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
        Entry<A, R>: Registered,
    {
        self.inner.map(entry, items, chunksize).collect()
    }

    /// [`map`](Self::map) for an entry whose argument is a tuple (Python's `starmap`).
    ///
    /// # Errors
    ///
    /// As [`map`](Self::map).
    pub fn starmap<A, R, I>(
        &self,
        entry: &'static Entry<A, R>,
        items: I,
        chunksize: usize,
    ) -> Result<Vec<R>, PoolError>
    where
        I: IntoIterator<Item = A>,
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
        Entry<A, R>: Registered,
    {
        self.map(entry, items, chunksize)
    }

    /// Values in order, lazily (`imap`).
    pub fn imap<A, R, I>(
        &self,
        entry: &'static Entry<A, R>,
        items: I,
        chunksize: usize,
    ) -> ProcessMap<'_, I::IntoIter, A, R>
    where
        I: IntoIterator<Item = A>,
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
        Entry<A, R>: Registered,
    {
        self.inner.map(entry, items, chunksize)
    }

    /// Values as they complete (`imap_unordered`); every chunk is submitted at once.
    pub fn imap_unordered<A, R, I>(
        &self,
        entry: &'static Entry<A, R>,
        items: I,
        chunksize: usize,
    ) -> impl Iterator<Item = Result<R, PoolError>>
    where
        I: IntoIterator<Item = A>,
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
        Entry<A, R>: Registered,
    {
        let chunksize = chunksize.max(1);
        let mut items = items.into_iter();
        let mut futures = Vec::new();
        loop {
            let chunk: Vec<A> = items.by_ref().take(chunksize).collect();
            if chunk.is_empty() {
                break;
            }
            futures.push(self.inner.submit_chunk(entry, chunk));
        }
        // A chunk's future carries one outcome per item, errors included (see `Chunk`).
        as_completed(futures).flat_map(|fut| match fut.result() {
            Ok(values) => values,
            Err(e) => vec![Err(e)],
        })
    }

    /// No more tasks (`close`); the workers exit once the queued work is done.
    pub fn close(&self) {
        self.inner.shutdown(false, false);
    }

    /// Waits for the workers to exit (`join`), after [`close`](Self::close) or
    /// [`terminate`](Self::terminate).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the pool is still open, as Python raises `ValueError('Pool is
    /// still running')`: joining an open pool would wait for work that may never stop
    /// coming, so the caller says first that no more will.
    pub fn join(&self) -> io::Result<()> {
        if !self.inner.is_shutdown() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the pool is still running: call close() or terminate() before join()",
            ));
        }
        self.inner.shutdown(true, false);
        Ok(())
    }

    /// Stops the workers now (`terminate`): SIGTERM; pending tasks fail with
    /// [`PoolError::BrokenPool`].
    pub fn terminate(&self) {
        self.inner.terminate_workers();
    }
}
