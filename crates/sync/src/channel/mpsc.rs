//! Multi-producer single-consumer channels, bounded (back-pressure) or unbounded.
//!
//! The same engine as [`mpmc`] with a receiver that cannot be cloned; see there
//! for the hand-over and closing rules. [`Receiver::close`] stops senders while keeping the
//! buffered messages receivable.
//!
//! The store is lock-free (a ring of `capacity` slots, or a linked list of blocks when
//! unbounded), so a send that finds room and a receive that finds a message take no lock
//! while nobody waits; the receiver and the senders work on different ends (`head` and
//! `tail`, on separate cache lines) and do not contend with each other.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;

use super::error::{RecvError, RecvTimeoutError, TryRecvError};
use super::mpmc;
use crate::engine::Core;

pub use super::mpmc::{SendFuture, Sender};

/// A bounded channel holding at most `capacity` messages; senders wait while it is full.
/// Memory: see [`mpmc::bounded`] (a ring up to a page of slots, a list of blocks beyond).
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
///
/// ```
/// let (tx, mut rx) = c10k_sync::channel::mpsc::unbounded();
/// for i in 0..3 {
///     tx.try_send(i).unwrap(); // never waits
/// }
/// drop(tx);
/// assert_eq!(rx.recv_blocking(), Ok(0));
/// assert_eq!(rx.len(), 2);
/// assert_eq!((rx.try_recv(), rx.try_recv()), (Ok(1), Ok(2)));
/// assert!(rx.recv_blocking().is_err());
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    // The receiver is never cloned, and every receive takes `&mut self`: the store may use
    // its single-consumer protocol.
    let (tx, rx) = mpmc::pair(Core::channel_single_consumer(None));
    (tx, Receiver { inner: rx })
}

/// The single receiving half.
pub struct Receiver<T> {
    inner: mpmc::Receiver<T>,
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .finish()
    }
}

impl<T> Receiver<T> {
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
        let p = self.inner.core.poll_get(key, cx).map(Result::ok);
        crate::waiting::channel(
            cx,
            &p,
            crate::waiting::ChannelKind::Mpsc,
            crate::waiting::ChannelOp::Recv,
        );
        p
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
