//! Watching many futures at once: [`as_completed`] and [`wait`].
//!
//! Both take the futures by value (they become their owner for the duration) and give them
//! back. Each watched future's waiter is an entry of one shared group (`state::Group`): when
//! it completes, its index is queued in the group and the watcher (a thread or a task) is
//! woken. Nothing is allocated per future beyond its waiter entry, which is removed when the
//! future is handed back, so waiting repeatedly on the same pending futures (a `wait` loop
//! with a timeout) does not accumulate registrations.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;

use crate::future::{deadline, Group, PoolFuture};

/// Yields the futures in the order they complete: `concurrent.futures.as_completed` as an
/// [`Iterator`] (blocking) and, through [`into_stream`](AsCompleted::into_stream), a
/// [`Stream`] (async). Each yielded future is [`done`](PoolFuture::done).
///
/// Futures already done are yielded first, in the order given. Dropping the iterator drops
/// (detaches) the futures it still holds.
///
/// # Examples
///
/// ```
/// use c10k_pool::{as_completed, ThreadPool};
///
/// let pool = ThreadPool::new(2)?;
/// let futures: Vec<_> = (1..=5u64).map(|i| pool.submit(move || i * i)).collect();
/// let mut total = 0;
/// for fut in as_completed(futures) {
///     total += fut.result().unwrap();
/// }
/// assert_eq!(total, 55);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// As a stream, from a task:
///
/// ```
/// use c10k_pool::{as_completed, ThreadPool};
/// use futures_util::StreamExt;
///
/// let pool = ThreadPool::new(2)?;
/// let futures: Vec<_> = (0..4).map(|i| pool.submit(move || i)).collect();
/// let n = c10k_runtime::run(async {
///     let mut done = as_completed(futures).into_stream();
///     let mut n = 0;
///     while let Some(fut) = done.next().await {
///         n += fut.await.unwrap();
///     }
///     n
/// });
/// assert_eq!(n, 6);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn as_completed<T, I>(futures: I) -> AsCompleted<T>
where
    I: IntoIterator<Item = PoolFuture<T>>,
    T: Send + 'static,
{
    let group = Arc::new(Group::new());
    let mut slots = Vec::new();
    for (i, mut fut) in futures.into_iter().enumerate() {
        if !fut.register_group(&group, i) {
            group.push_ready(i);
        }
        slots.push(Some(fut));
    }
    AsCompleted {
        remaining: slots.len(),
        slots,
        group,
    }
}

/// The iterator of [`as_completed`].
pub struct AsCompleted<T> {
    slots: Vec<Option<PoolFuture<T>>>,
    remaining: usize,
    group: Arc<Group>,
}

impl<T> AsCompleted<T> {
    /// How many futures have not been yielded yet.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// The next future to complete, waiting at most `timeout` (the `timeout` of Python's
    /// `as_completed`). `Ok(None)`: all were yielded. `Err(Timeout)`: none completed in
    /// time; the iterator can be used again.
    ///
    /// # Errors
    ///
    /// [`Timeout`] if no future completed within `timeout`.
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<PoolFuture<T>>, Timeout> {
        if self.remaining == 0 {
            return Ok(None);
        }
        match self.group.next_blocking(Some(deadline(timeout))) {
            Some(i) => Ok(Some(self.yield_slot(i))),
            None => Err(Timeout),
        }
    }

    /// The same, as a [`Stream`] for tasks (a separate type, so that `StreamExt::next` and
    /// `Iterator::next` never compete for the name).
    pub fn into_stream(self) -> AsCompletedStream<T> {
        AsCompletedStream(self)
    }

    fn yield_slot(&mut self, i: usize) -> PoolFuture<T> {
        let mut fut = self.slots[i]
            .take()
            .expect("a group index is reported once");
        fut.deregister();
        self.remaining -= 1;
        fut
    }
}

impl<T> Iterator for AsCompleted<T> {
    type Item = PoolFuture<T>;

    fn next(&mut self) -> Option<PoolFuture<T>> {
        if self.remaining == 0 {
            return None;
        }
        let i = self.group.next_blocking(None)?;
        Some(self.yield_slot(i))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

/// The [`Stream`] of [`as_completed`]: [`AsCompleted::into_stream`].
pub struct AsCompletedStream<T>(AsCompleted<T>);

impl<T> Stream for AsCompletedStream<T> {
    type Item = PoolFuture<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<PoolFuture<T>>> {
        let this = &mut self.get_mut().0;
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        match this.group.poll_next(cx.waker()) {
            Some(i) => Poll::Ready(Some(this.yield_slot(i))),
            None => Poll::Pending,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.0.remaining, Some(self.0.remaining))
    }
}

impl<T> fmt::Debug for AsCompletedStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompletedStream")
            .field("remaining", &self.0.remaining)
            .finish()
    }
}

impl<T> Unpin for AsCompletedStream<T> {}

impl<T> fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("remaining", &self.remaining)
            .finish()
    }
}

/// A timed wait elapsed (from [`AsCompleted::next_timeout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout;

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out")
    }
}

impl std::error::Error for Timeout {}

/// When [`wait`] returns: `concurrent.futures`' `return_when`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReturnWhen {
    /// As soon as any future is done (or cancelled).
    FirstCompleted,
    /// As soon as any future fails with an error other than a cancellation
    /// ([`PoolError::is_exception`](crate::PoolError::is_exception)); if none does, when all
    /// are done.
    FirstException,
    /// When every future is done.
    AllCompleted,
}

/// What [`wait`] hands back: the futures split by whether they were done when it returned.
#[derive(Debug)]
pub struct Waited<T> {
    /// The futures that are done, in the order they were given.
    pub done: Vec<PoolFuture<T>>,
    /// The others, in the order they were given.
    pub not_done: Vec<PoolFuture<T>>,
}

/// Blocks until the condition `return_when` holds or `timeout` passes, then returns the
/// futures split into done and not done: `concurrent.futures.wait`.
///
/// With `timeout: None` it waits as long as it takes. A timeout is not an error: the
/// futures still pending are in [`Waited::not_done`].
///
/// # Examples
///
/// ```
/// use c10k_pool::{wait, ReturnWhen, ThreadPool};
/// use std::sync::mpsc;
///
/// let pool = ThreadPool::new(2)?;
/// let (release, gate) = mpsc::channel::<()>();
/// let slow = pool.submit(move || gate.recv().is_ok());
/// let quick = pool.submit(|| false);
/// let w = wait(vec![slow, quick], ReturnWhen::FirstCompleted, None);
/// assert_eq!(w.done.len(), 1);
/// assert_eq!(w.not_done.len(), 1);
/// release.send(()).unwrap();
/// let w = wait(w.not_done, ReturnWhen::AllCompleted, None);
/// assert!(w.not_done.is_empty());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn wait<T, I>(futures: I, return_when: ReturnWhen, timeout: Option<Duration>) -> Waited<T>
where
    I: IntoIterator<Item = PoolFuture<T>>,
    T: Send + 'static,
{
    let mut futures: Vec<PoolFuture<T>> = futures.into_iter().collect();
    let group = Arc::new(Group::new());
    let deadline = timeout.map(deadline);
    let mut done = 0usize;
    let mut failed = false;
    let met = |done: usize, failed: bool, n: usize| match return_when {
        ReturnWhen::FirstCompleted => done > 0 || n == 0,
        ReturnWhen::FirstException => failed || done == n,
        ReturnWhen::AllCompleted => done == n,
    };
    let n = futures.len();
    for (i, fut) in futures.iter_mut().enumerate() {
        if !fut.register_group(&group, i) {
            done += 1;
            failed |= is_exception(fut);
        }
    }
    while !met(done, failed, n) {
        let Some(i) = group.next_blocking(deadline) else {
            break; // timed out
        };
        done += 1;
        failed |= is_exception(&futures[i]);
        if deadline.is_some_and(|d| Instant::now() >= d) && !met(done, failed, n) {
            break;
        }
    }
    let mut waited = Waited {
        done: Vec::new(),
        not_done: Vec::new(),
    };
    for mut fut in futures {
        fut.deregister();
        if fut.done() {
            waited.done.push(fut);
        } else {
            waited.not_done.push(fut);
        }
    }
    waited
}

fn is_exception<T>(fut: &PoolFuture<T>) -> bool {
    matches!(fut.peek(), Some(Err(e)) if e.is_exception())
}
