//! Multi-producer multi-consumer channels, bounded (back-pressure) or unbounded.
//!
//! Built on the same engine as [`Queue`](crate::Queue) (`engine.rs` has the protocol): the
//! messages live in a lock-free store (a ring of `capacity` slots when bounded, a linked list
//! of blocks when unbounded), so that sends and receives that find room or a message, with
//! nobody waiting, take no lock. A value sent while receivers wait is handed to the oldest
//! waiting receiver; a sender waiting on a full channel is released, oldest first, as
//! receivers make room. Each message goes to exactly one receiver. When the last [`Sender`] is dropped, receivers drain what is buffered and then see
//! [`RecvError`]; when the last [`Receiver`] is dropped, buffered messages are dropped and
//! sends fail with the value handed back.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;

use super::error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use crate::engine::{Core, NoValue, PutSlot, Rejected};

/// A bounded channel holding at most `capacity` messages; senders wait while it is full.
///
/// # Panics
///
/// If `capacity` is 0 (rendezvous channels are not offered).
///
/// # Memory
///
/// While `capacity` slots of `T` fit in a page (4 KiB), the channel is a ring whose slots
/// are allocated here, up front (as crossbeam's are). A larger bound uses a linked list of
/// 31-slot blocks allocated as messages arrive, so a large, mostly empty channel (a queue per
/// connection) costs one block, not `capacity` slots.
///
/// # Examples
///
/// ```
/// let (tx, rx) = c10k_sync::channel::mpmc::bounded(4);
/// let rx2 = rx.clone();
/// std::thread::scope(|s| {
///     s.spawn(move || for i in 0..100 { tx.send_blocking(i).unwrap() });
///     let a = s.spawn(move || rx.iter_blocking().count());
///     let b = s.spawn(move || rx2.iter_blocking().count());
///     assert_eq!(a.join().unwrap() + b.join().unwrap(), 100);
/// });
/// ```
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "channel capacity must be at least 1");
    let core = Arc::new(Core::channel(Some(capacity)));
    (Sender { core: core.clone() }, Receiver { core })
}

/// An unbounded channel: sends never wait (memory is the only limit).
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    pair(Core::channel(None))
}

/// The two ends over `core`.
pub(super) fn pair<T>(core: Core<T>) -> (Sender<T>, Receiver<T>) {
    let core = Arc::new(core);
    (Sender { core: core.clone() }, Receiver { core })
}

/// The sending half; clone it for more producers.
pub struct Sender<T> {
    core: Arc<Core<T>>,
}

/// The receiving half; clone it for more consumers (each message goes to one of them).
pub struct Receiver<T> {
    pub(crate) core: Arc<Core<T>>,
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.core.len())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.core.len())
            .finish()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.core.add_sender();
        Sender {
            core: self.core.clone(),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.core.add_receiver();
        Receiver {
            core: self.core.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.core.drop_sender();
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.core.drop_receiver();
    }
}

impl<T> Sender<T> {
    /// Sends, waiting for room if the channel is bounded and full.
    ///
    /// Cancellation safety: nothing is lost or duplicated. While the future waits for room, a
    /// receive that frees a slot moves the waiting message in and wakes the future: the send
    /// has then happened even if the future is dropped before it is polled again. Otherwise
    /// the message was not sent and is dropped with the future; senders behind it move up.
    /// (tokio's `send` instead reserves a slot and writes on its last poll, so a dropped send
    /// never sent; ours trades that for one less hand-over step per message.)
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if every receiver is gone.
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            core: &self.core,
            slot: PutSlot {
                value: Some(value),
                key: None,
            },
        }
    }

    /// Sends without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Disconnected`], with the value.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.core.try_put(value).map_err(|e| match e {
            Rejected::Full(v) => TrySendError::Full(v),
            Rejected::Closed(v) => TrySendError::Disconnected(v),
        })
    }

    /// Sends, blocking the thread while the channel is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if every receiver is gone.
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        self.core.put_blocking(value, None).map_err(|e| match e {
            Rejected::Full(v) | Rejected::Closed(v) => SendError(v),
        })
    }

    /// Sends, blocking for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] or [`SendTimeoutError::Disconnected`], with the value.
    pub fn send_blocking_timeout(
        &self,
        value: T,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<T>> {
        self.core
            .put_blocking(value, Some(Instant::now() + timeout))
            .map_err(|e| match e {
                Rejected::Full(v) => SendTimeoutError::Timeout(v),
                Rejected::Closed(v) => SendTimeoutError::Disconnected(v),
            })
    }

    /// Whether sends fail now (every receiver gone or closed). A snapshot.
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }

    /// Messages buffered now (a snapshot).
    pub fn len(&self) -> usize {
        self.core.len()
    }

    /// Whether nothing is buffered now (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Receiver<T> {
    /// Receives, waiting for a message.
    ///
    /// Cancellation safety: a dropped future never loses a message; one handed to it goes to
    /// the next waiting receiver or back to the head of the channel.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once every sender is gone and the channel is drained.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = c10k_sync::channel::mpmc::unbounded();
    /// std::thread::spawn(move || tx.try_send(7).unwrap());
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// assert_eq!(rt.block_on(rx.recv()), Ok(7));
    /// assert!(rt.block_on(rx.recv()).is_err()); // the sender is gone and nothing is left
    /// ```
    pub fn recv(&self) -> RecvFuture<'_, T> {
        RecvFuture {
            core: &self.core,
            key: None,
        }
    }

    /// Receives without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] or [`TryRecvError::Disconnected`].
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.core.try_get().map_err(no_value)
    }

    /// Receives, blocking the thread.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once every sender is gone and the channel is drained.
    pub fn recv_blocking(&self) -> Result<T, RecvError> {
        self.core.get_blocking(None).map_err(|_| RecvError)
    }

    /// Receives, blocking for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] or [`RecvTimeoutError::Disconnected`].
    pub fn recv_blocking_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.core
            .get_blocking(Some(Instant::now() + timeout))
            .map_err(|e| match e {
                NoValue::Empty => RecvTimeoutError::Timeout,
                NoValue::Closed => RecvTimeoutError::Disconnected,
            })
    }

    /// A blocking iterator that ends when the channel is closed and drained.
    pub fn iter_blocking(&self) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(move || self.recv_blocking().ok())
    }

    /// Stops further sends (waiting senders get their values back); what is buffered can
    /// still be received.
    pub fn close(&self) {
        self.core.close(false);
    }

    /// Messages buffered now (a snapshot).
    pub fn len(&self) -> usize {
        self.core.len()
    }

    /// Whether nothing is buffered now (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Turns the receiver into a [`Stream`] (also cancellation-safe).
    pub fn into_stream(self) -> RecvStream<T> {
        RecvStream {
            rx: self,
            key: None,
        }
    }
}

pub(crate) fn no_value(e: NoValue) -> TryRecvError {
    match e {
        NoValue::Empty => TryRecvError::Empty,
        NoValue::Closed => TryRecvError::Disconnected,
    }
}

/// Future of [`Sender::send`].
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T> {
    core: &'a Core<T>,
    slot: PutSlot<T>,
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture")
            .field("waiting", &self.slot.key.is_some())
            .finish()
    }
}

impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let p = Self::unrecorded_poll(self, cx);
        crate::waiting::channel(
            cx,
            &p,
            crate::waiting::ChannelKind::Mpmc,
            crate::waiting::ChannelOp::Send,
        );
        p
    }
}

impl<T> SendFuture<'_, T> {
    /// The poll itself; `poll` records what it waits on for task dumps (`waiting.rs`).
    #[inline]
    fn unrecorded_poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<<Self as Future>::Output> {
        let this = self.get_mut();
        this.core
            .poll_put(&mut this.slot, cx)
            .map(|r| r.map_err(SendError))
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        self.core.cancel_put(&mut self.slot);
    }
}

/// Future of [`Receiver::recv`].
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T> {
    core: &'a Core<T>,
    key: Option<usize>,
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let p = Self::unrecorded_poll(self, cx);
        crate::waiting::channel(
            cx,
            &p,
            crate::waiting::ChannelKind::Mpmc,
            crate::waiting::ChannelOp::Recv,
        );
        p
    }
}

impl<T> RecvFuture<'_, T> {
    /// The poll itself; `poll` records what it waits on for task dumps (`waiting.rs`).
    #[inline]
    fn unrecorded_poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<<Self as Future>::Output> {
        let this = self.get_mut();
        this.core
            .poll_get(&mut this.key, cx)
            .map(|r| r.map_err(|_| RecvError))
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        self.core.cancel_get(&mut self.key);
    }
}

/// A [`Receiver`] as a [`Stream`]; ends when the channel is closed and drained.
pub struct RecvStream<T> {
    rx: Receiver<T>,
    key: Option<usize>,
}

impl<T> fmt::Debug for RecvStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvStream")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

impl<T> Unpin for RecvStream<T> {}

impl<T> Stream for RecvStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let p = Self::unrecorded_poll_next(self, cx);
        crate::waiting::channel(
            cx,
            &p,
            crate::waiting::ChannelKind::Mpmc,
            crate::waiting::ChannelOp::Recv,
        );
        p
    }
}

impl<T> RecvStream<T> {
    /// The poll itself; `poll_next` records what it waits on for task dumps (`waiting.rs`).
    #[inline]
    fn unrecorded_poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        this.rx.core.poll_get(&mut this.key, cx).map(Result::ok)
    }
}

impl<T> Drop for RecvStream<T> {
    fn drop(&mut self) {
        self.rx.core.cancel_get(&mut self.key);
    }
}
