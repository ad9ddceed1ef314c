//! [`ProcessMap`]: the ordered, lazy iterator of [`ProcessPool::map`].

use std::collections::VecDeque;
use std::fmt;

use c10k_process::Entry;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::ProcessPool;
use crate::error::PoolError;
use crate::future::PoolFuture;

/// The results of [`ProcessPool::map`], in the order of the items.
///
/// It keeps `window` chunks in flight: each `next` that empties the current chunk submits
/// one more and waits for the oldest. Dropping it cancels the chunks not started yet (the
/// others run to completion, their values are discarded).
pub struct ProcessMap<'p, I, A: 'static, R: 'static> {
    pool: &'p ProcessPool,
    entry: &'static Entry<A, R>,
    items: I,
    chunksize: usize,
    window: usize,
    in_flight: VecDeque<PoolFuture<Vec<Result<R, PoolError>>>>,
    current: std::vec::IntoIter<Result<R, PoolError>>,
    expected: VecDeque<usize>,
    exhausted: bool,
}

impl<'p, I, A, R> ProcessMap<'p, I, A, R>
where
    A: 'static,
    I: Iterator<Item = A>,
    A: Serialize,
    R: DeserializeOwned + Send + 'static,
{
    pub(crate) fn new(
        pool: &'p ProcessPool,
        entry: &'static Entry<A, R>,
        items: I,
        chunksize: usize,
        window: usize,
    ) -> Self {
        let mut m = ProcessMap {
            pool,
            entry,
            items,
            chunksize,
            window: window.max(1),
            in_flight: VecDeque::new(),
            current: Vec::new().into_iter(),
            expected: VecDeque::new(),
            exhausted: false,
        };
        m.fill();
        m
    }

    fn fill(&mut self) {
        while !self.exhausted && self.in_flight.len() < self.window {
            let chunk: Vec<A> = self.items.by_ref().take(self.chunksize).collect();
            if chunk.is_empty() {
                self.exhausted = true;
                break;
            }
            self.expected.push_back(chunk.len());
            self.in_flight
                .push_back(self.pool.submit_chunk(self.entry, chunk));
        }
    }
}

impl<I, A, R> Iterator for ProcessMap<'_, I, A, R>
where
    A: 'static,
    I: Iterator<Item = A>,
    A: Serialize,
    R: DeserializeOwned + Send + 'static,
{
    type Item = Result<R, PoolError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.current.next() {
                return Some(r);
            }
            let fut = self.in_flight.pop_front()?;
            let n = self.expected.pop_front().unwrap_or(0);
            self.fill();
            self.current = match fut.result() {
                Ok(values) => values.into_iter(),
                // The whole chunk failed (broken pool, shutdown): each item says so.
                Err(e) => super::errors(&e, n).into_iter(),
            };
        }
    }
}

impl<I, A: 'static, R: 'static> Drop for ProcessMap<'_, I, A, R> {
    fn drop(&mut self) {
        for f in &self.in_flight {
            f.cancel();
        }
    }
}

impl<I, A: 'static, R: 'static> fmt::Debug for ProcessMap<'_, I, A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessMap")
            .field("entry", &self.entry.name())
            .field("chunksize", &self.chunksize)
            .field("in_flight", &self.in_flight.len())
            .finish()
    }
}
