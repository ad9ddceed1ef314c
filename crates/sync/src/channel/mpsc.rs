//! Multi-producer single-consumer channels, bounded (back-pressure) or unbounded.
//!
//! The same engine as [`mpmc`] with a receiver that cannot be cloned; see there
//! for the hand-over and closing rules. [`Receiver::close`] stops senders while keeping the
//! buffered messages receivable.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;

use super::error::{RecvError, RecvTimeoutError, TryRecvError};
use super::mpmc;

pub use super::mpmc::{RecvFuture, SendFuture, Sender};

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
    (tx, Receiver { inner: rx })
}

/// An unbounded channel: sends never wait.
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = mpmc::unbounded();
    (tx, Receiver { inner: rx })
}

/// The single receiving half.
pub struct Receiver<T> {
    inner: mpmc::Receiver<T>,
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.inner.len())
            .finish()
    }
}

impl<T> Receiver<T> {
    /// Receives, waiting for a message. Cancellation-safe: a dropped future loses nothing.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once every sender is gone and the channel is drained.
    pub fn recv(&mut self) -> RecvFuture<'_, T> {
        self.inner.recv()
    }

    /// Receives without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] or [`TryRecvError::Disconnected`].
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.inner.try_recv()
    }

    /// Receives, blocking the thread.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once every sender is gone and the channel is drained.
    pub fn recv_blocking(&mut self) -> Result<T, RecvError> {
        self.inner.recv_blocking()
    }

    /// Receives, blocking for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] or [`RecvTimeoutError::Disconnected`].
    pub fn recv_blocking_timeout(&mut self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.inner.recv_blocking_timeout(timeout)
    }

    /// Stops further sends; buffered messages can still be received.
    pub fn close(&mut self) {
        self.inner.close();
    }

    /// Messages buffered now (a snapshot).
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether nothing is buffered now (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Turns the receiver into a [`Stream`].
    pub fn into_stream(self) -> ReceiverStream<T> {
        ReceiverStream {
            inner: self.inner.into_stream(),
        }
    }
}

/// An mpsc [`Receiver`] as a [`Stream`].
#[derive(Debug)]
pub struct ReceiverStream<T> {
    inner: mpmc::RecvStream<T>,
}

impl<T> Stream for ReceiverStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        Pin::new(&mut self.get_mut().inner).poll_next(cx)
    }
}
