//! Multi-producer single-consumer channels, bounded (back-pressure) or unbounded.
//!
//! The same engine as [`mpmc`] with a receiver that cannot be cloned; see there
//! for the hand-over and closing rules. [`Receiver::close`] stops senders while keeping the
//! buffered messages receivable.
//!
//! # Batching
//!
//! Being the only receiver, a [`Receiver`] takes the oldest message and *every* other buffered
//! one in one lock acquisition into a private buffer, and serves the following receives from it
//! without locking; senders then find an empty store and do not contend with it. Order is
//! unchanged (FIFO), and so is cancellation safety: the private buffer belongs to the receiver,
//! so a dropped receive future leaves the messages there.
//!
//! A bounded channel keeps counting the batch against its capacity: each message taken from
//! the batch is reported with one atomic increment, and senders see room only for messages
//! reported consumed, so there are never more than `capacity` messages sent and not yet
//! received. When senders are parked waiting for room, the receiver locks after each report to
//! let the oldest one in (a `SeqCst` flag handshake, described on the engine's lock guard,
//! makes sure such a sender is never left asleep beside free room).

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;

use super::error::{RecvError, RecvTimeoutError, TryRecvError};
use super::mpmc;
use crate::queue::NoValue;

pub use super::mpmc::{SendFuture, Sender};

/// A bounded channel holding at most `capacity` messages; senders wait while it is full.
///
/// # Panics
///
/// If `capacity` is 0.
///
/// # Examples
///
/// A thread producing for a task, with back-pressure:
///
/// ```
/// let (tx, mut rx) = c10k_sync::channel::mpsc::bounded(8);
/// let producer = std::thread::spawn(move || {
///     for i in 0..32u32 {
///         tx.send_blocking(i).unwrap();
///     }
/// });
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let sum = rt.block_on(async {
///     let mut sum = 0;
///     while let Ok(v) = rx.recv().await {
///         sum += v;
///     }
///     sum
/// });
/// producer.join().unwrap();
/// assert_eq!(sum, (0..32).sum());
/// ```
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = mpmc::bounded(capacity);
    (
        tx,
        Receiver {
            inner: rx,
            local: VecDeque::new(),
        },
    )
}

/// An unbounded channel: sends never wait.
///
/// ```
/// let (tx, mut rx) = c10k_sync::channel::mpsc::unbounded();
/// for i in 0..3 {
///     tx.try_send(i).unwrap(); // never waits
/// }
/// drop(tx);
/// assert_eq!(rx.recv_blocking(), Ok(0)); // takes the three in one batch
/// assert_eq!(rx.len(), 2);
/// assert_eq!((rx.try_recv(), rx.try_recv()), (Ok(1), Ok(2)));
/// assert!(rx.recv_blocking().is_err());
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = mpmc::unbounded();
    (
        tx,
        Receiver {
            inner: rx,
            local: VecDeque::new(),
        },
    )
}

/// The single receiving half.
pub struct Receiver<T> {
    inner: mpmc::Receiver<T>,
    /// Messages taken in a batch and not yet returned (see the module docs on batching).
    local: VecDeque<T>,
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .finish()
    }
}

impl<T> Receiver<T> {
    /// The next message of the batch, reported consumed (which frees its slot of a bounded
    /// channel).
    fn pop_local(&mut self) -> Option<T> {
        let v = self.local.pop_front()?;
        self.inner.core.consumed_one();
        Some(v)
    }

    /// A message from the batch, or a new batch (or one message) from the channel.
    fn take(&mut self) -> Result<T, NoValue> {
        match self.pop_local() {
            Some(v) => Ok(v),
            None => self.inner.core.steal_all(&mut self.local),
        }
    }

    /// Receives, waiting for a message. Cancellation-safe: a dropped future loses nothing.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once every sender is gone and the channel is drained.
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv {
            rx: self,
            key: None,
        }
    }

    /// Receives without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] or [`TryRecvError::Disconnected`].
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.take().map_err(mpmc::no_value)
    }

    /// Receives, blocking the thread.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once every sender is gone and the channel is drained.
    pub fn recv_blocking(&mut self) -> Result<T, RecvError> {
        // With the batch used up, go straight to the blocking path: its first attempt takes
        // the next batch (one lock, not two).
        match self.pop_local() {
            Some(v) => Ok(v),
            None => self.take_blocking(None).map_err(|_| RecvError),
        }
    }

    /// Receives, blocking for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] or [`RecvTimeoutError::Disconnected`].
    pub fn recv_blocking_timeout(&mut self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        match self.take() {
            Ok(v) => Ok(v),
            Err(NoValue::Closed) => Err(RecvTimeoutError::Disconnected),
            Err(NoValue::Empty) => {
                self.take_blocking(Some(Instant::now() + timeout))
                    .map_err(|e| match e {
                        NoValue::Empty => RecvTimeoutError::Timeout,
                        NoValue::Closed => RecvTimeoutError::Disconnected,
                    })
            }
        }
    }

    /// Blocks for a message; while spinning before it parks, every attempt takes a whole
    /// batch (one lock for everything the sender managed to buffer meanwhile) instead of a
    /// single message.
    fn take_blocking(&mut self, deadline: Option<Instant>) -> Result<T, NoValue> {
        let local = &mut self.local;
        self.inner
            .core
            .get_blocking_with(deadline, |s, wakes| s.steal_all(local, wakes))
    }

    /// Stops further sends; buffered messages can still be received.
    pub fn close(&mut self) {
        self.inner.close();
    }

    /// Messages buffered now, including a batch taken by this receiver (a snapshot).
    pub fn len(&self) -> usize {
        self.local.len() + self.inner.len()
    }

    /// Whether nothing is buffered now (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Turns the receiver into a [`Stream`].
    pub fn into_stream(self) -> ReceiverStream<T> {
        ReceiverStream {
            rx: self,
            key: None,
        }
    }

    fn poll_take(&mut self, key: &mut Option<usize>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if key.is_none() {
            match self.take() {
                Ok(v) => return Poll::Ready(Some(v)),
                Err(NoValue::Closed) => return Poll::Ready(None),
                Err(NoValue::Empty) => {}
            }
        }
        self.inner.core.poll_get(key, cx).map(Result::ok)
    }
}

/// Future of [`Receiver::recv`].
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a, T> {
    rx: &'a mut Receiver<T>,
    key: Option<usize>,
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

impl<T> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.rx
            .poll_take(&mut this.key, cx)
            .map(|v| v.ok_or(RecvError))
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        self.rx.inner.core.cancel_get(&mut self.key);
    }
}

/// An mpsc [`Receiver`] as a [`Stream`]; ends when the channel is closed and drained.
pub struct ReceiverStream<T> {
    rx: Receiver<T>,
    key: Option<usize>,
}

impl<T> fmt::Debug for ReceiverStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverStream")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

impl<T> Unpin for ReceiverStream<T> {}

impl<T> Stream for ReceiverStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        this.rx.poll_take(&mut this.key, cx)
    }
}

impl<T> Drop for ReceiverStream<T> {
    fn drop(&mut self) {
        self.rx.inner.core.cancel_get(&mut self.key);
    }
}
