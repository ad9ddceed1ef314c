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

/// Applies `f` to every item of `items`, in order.
///
/// The loop runs inside one `catch_unwind` per chunk, not one per item (which keeps the
/// function out of line for every call and made a chunk of cheap items several times slower).
/// A panic ends that `catch_unwind` with its item consumed: every item before it is counted
/// in `values` or `errors`, so its position is their total; it is recorded as failed and the
/// loop resumes, in a fresh `catch_unwind`, with the next item. So a panic still costs that
/// item only.
fn run_chunk<T, R>(f: &(impl Fn(T) -> R + ?Sized), items: Vec<T>) -> Chunk<R> {
    let mut chunk = Chunk {
        values: Vec::with_capacity(items.len()),
        errors: Vec::new(),
    };
    let mut items = items.into_iter();
    loop {
        let run = catch_unwind(AssertUnwindSafe(|| {
            chunk.values.extend(items.by_ref().map(f));
        }));
        match run {
            Ok(()) => return chunk,
            Err(payload) => {
                let at = chunk.values.len() + chunk.errors.len();
                chunk.errors.push((at, PoolError::from_panic(payload)));
            }
        }
    }
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
    /// Items before this index are plain values (the next error's position, or `len`;
    /// 0 for a chunk that failed whole): the per-item fast path checks only this.
    clean_until: usize,
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
            clean_until: 0,
        }
    }

    fn of(chunk: Chunk<R>, len: usize) -> Ready<R> {
        let mut errors = chunk.errors.into_iter();
        let next_error = errors.next();
        Ready {
            clean_until: next_error.as_ref().map_or(len, |(at, _)| *at),
            next_error,
            values: chunk.values.into_iter(),
            errors,
            whole: None,
            index: 0,
            len,
        }
    }

    #[inline]
    fn next(&mut self) -> Option<Result<R, PoolError>> {
        if self.index < self.clean_until {
            self.index += 1;
            return self.values.next().map(Ok);
        }
        self.next_slow()
    }

    /// The end of the chunk, a failed item, or an item of a chunk that failed whole.
    #[cold]
    fn next_slow(&mut self) -> Option<Result<R, PoolError>> {
        if self.index == self.len {
            return None;
        }
        self.index += 1;
        if let Some(e) = &self.whole {
            return Some(Err(e.clone()));
        }
        // Not `whole` and not clean: `index - 1` is the next error's position.
        let (_, e) = self.next_error.take().expect("an error at clean_until");
        self.next_error = self.errors.next();
        self.clean_until = self.next_error.as_ref().map_or(self.len, |(at, _)| *at);
        Some(Err(e))
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

    /// The current chunk is used up: waits for the oldest in flight (after topping the
    /// window up, so the workers stay busy meanwhile) and hands out its first result.
    #[cold]
    fn next_chunk(&mut self) -> Option<Result<R, PoolError>> {
        loop {
            let (len, fut) = self.in_flight.pop_front()?;
            self.fill();
            self.ready = match fut.result() {
                Ok(chunk) => Ready::of(chunk, len),
                Err(e) => Ready::failed(e, len),
            };
            if let Some(r) = self.ready.next() {
                return Some(r);
            }
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

    #[inline]
    fn next(&mut self) -> Option<Result<R, PoolError>> {
        if let Some(r) = self.ready.next() {
            return Some(r);
        }
        self.next_chunk()
    }

    /// Exact when the input's is: what is left of the chunk being handed out, the chunks in
    /// flight, and the input not read yet (so that `collect` allocates once).
    fn size_hint(&self) -> (usize, Option<usize>) {
        let known = self.ready.len - self.ready.index
            + self.in_flight.iter().map(|(len, _)| len).sum::<usize>();
        let (lower, upper) = if self.exhausted {
            (0, Some(0))
        } else {
            self.items.size_hint()
        };
        (
            known.saturating_add(lower),
            upper.and_then(|u| u.checked_add(known)),
        )
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
