//! [`ThreadPool::map`]: ordered results over chunks, with a bounded window in flight.
//!
//! The input is cut into chunks of `chunksize` items on the calling thread; each chunk is
//! one pool task that applies the function to its items in order, catching a panic per item
//! (a panic costs that item only). The iterator keeps at most `buffer` chunk futures in
//! flight, oldest first, and waits only for the oldest: results come out in input order
//! while later chunks already run.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use super::ThreadPool;
use crate::error::PoolError;
use crate::future::PoolFuture;

/// What one chunk task returns: the values of the items that succeeded, in order, and the
/// positions and errors of those that panicked (usually none, so no room is spent on a
/// `Result` per item).
struct Chunk<R> {
    values: Vec<R>,
    errors: Vec<(usize, PoolError)>,
}

fn run_chunk<T, R>(f: &(impl Fn(T) -> R + ?Sized), items: Vec<T>) -> Chunk<R> {
    let mut chunk = Chunk {
        values: Vec::with_capacity(items.len()),
        errors: Vec::new(),
    };
    for (i, item) in items.into_iter().enumerate() {
        match catch_unwind(AssertUnwindSafe(|| f(item))) {
            Ok(v) => chunk.values.push(v),
            Err(payload) => chunk.errors.push((i, PoolError::from_panic(payload))),
        }
    }
    chunk
}

/// The results of the chunk being handed out.
struct Ready<R> {
    values: std::vec::IntoIter<R>,
    errors: std::vec::IntoIter<(usize, PoolError)>,
    next_error: Option<(usize, PoolError)>,
    /// The whole chunk failed (cancelled, broken or shut pool): every item gets this.
    whole: Option<PoolError>,
    index: usize,
    len: usize,
}

impl<R> Ready<R> {
    fn empty() -> Ready<R> {
        Ready::failed(PoolError::Shutdown, 0)
    }

    fn failed(error: PoolError, len: usize) -> Ready<R> {
        Ready {
            values: Vec::new().into_iter(),
            errors: Vec::new().into_iter(),
            next_error: None,
            whole: Some(error),
            index: 0,
            len,
        }
    }

    fn of(chunk: Chunk<R>, len: usize) -> Ready<R> {
        let mut errors = chunk.errors.into_iter();
        Ready {
            next_error: errors.next(),
            values: chunk.values.into_iter(),
            errors,
            whole: None,
            index: 0,
            len,
        }
    }

    fn next(&mut self) -> Option<Result<R, PoolError>> {
        if self.index == self.len {
            return None;
        }
        let i = self.index;
        self.index += 1;
        if let Some(e) = &self.whole {
            return Some(Err(e.clone()));
        }
        if self.next_error.as_ref().is_some_and(|(at, _)| *at == i) {
            let (_, e) = self.next_error.take().expect("checked");
            self.next_error = self.errors.next();
            return Some(Err(e));
        }
        self.values.next().map(Ok)
    }
}

/// The iterator of [`ThreadPool::map`]: the function's results in input order.
#[must_use = "iterators are lazy: a map submits its first chunks, then waits to be consumed"]
pub struct Map<'p, I, F, R>
where
    I: Iterator,
{
    pool: &'p ThreadPool,
    f: Arc<F>,
    items: I,
    exhausted: bool,
    chunksize: usize,
    buffer: usize,
    in_flight: VecDeque<(usize, PoolFuture<Chunk<R>>)>,
    ready: Ready<R>,
}

impl<'p, I, F, R> Map<'p, I, F, R>
where
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    pub(super) fn new(
        pool: &'p ThreadPool,
        f: Arc<F>,
        items: I,
        chunksize: usize,
        buffer: usize,
    ) -> Self {
        let mut map = Map {
            pool,
            f,
            items,
            exhausted: false,
            chunksize,
            buffer,
            in_flight: VecDeque::with_capacity(buffer),
            ready: Ready::empty(),
        };
        map.fill();
        map
    }

    /// Submits chunks until `buffer` are in flight or the input ends.
    fn fill(&mut self) {
        while !self.exhausted && self.in_flight.len() < self.buffer {
            let chunk: Vec<I::Item> = self.items.by_ref().take(self.chunksize).collect();
            if chunk.len() < self.chunksize {
                self.exhausted = true;
            }
            if chunk.is_empty() {
                break;
            }
            let len = chunk.len();
            let f = Arc::clone(&self.f);
            let fut = self.pool.submit(move || run_chunk(&*f, chunk));
            self.in_flight.push_back((len, fut));
        }
    }
}

impl<I, F, R> Iterator for Map<'_, I, F, R>
where
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    type Item = Result<R, PoolError>;

    fn next(&mut self) -> Option<Result<R, PoolError>> {
        loop {
            if let Some(r) = self.ready.next() {
                return Some(r);
            }
            let (len, fut) = self.in_flight.pop_front()?;
            self.fill();
            self.ready = match fut.result() {
                Ok(chunk) => Ready::of(chunk, len),
                Err(e) => Ready::failed(e, len),
            };
        }
    }
}

impl<I, F, R> Drop for Map<'_, I, F, R>
where
    I: Iterator,
{
    /// Cancels the chunks that have not started (Python's generator `close`).
    fn drop(&mut self) {
        for (_, fut) in &self.in_flight {
            fut.cancel();
        }
    }
}

impl<I, F, R> fmt::Debug for Map<'_, I, F, R>
where
    I: Iterator,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("chunksize", &self.chunksize)
            .field("buffer", &self.buffer)
            .field("in_flight", &self.in_flight.len())
            .field("exhausted", &self.exhausted)
            .finish()
    }
}
