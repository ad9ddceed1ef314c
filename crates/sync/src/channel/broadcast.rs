//! Every receiver sees every message, within a bounded history.
//!
//! # Algorithm
//!
//! A ring of the last `capacity` messages, numbered by a global sequence. Each receiver keeps
//! the number of the next message it wants. A send never waits: when the ring is full the
//! oldest message is overwritten, and a receiver that had not read it yet learns, on its next
//! receive, how many it missed ([`RecvError::Lagged`]) and continues with the oldest message
//! still kept. Waiting receivers are all woken by each send; receiving is a clone.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::error::SendError;
use super::subscriber::{Subscribed, Subscriber};
use crate::loom::{self, Mutex};
use crate::wait::{NotifyAll, WaitList, WakeList};

struct State<T> {
    buf: VecDeque<T>,
    /// Sequence number of `buf[0]`.
    head: u64,
    capacity: usize,
    senders: usize,
    receivers: usize,
    waiters: WaitList<()>,
}

impl<T> State<T> {
    fn tail(&self) -> u64 {
        self.head + self.buf.len() as u64
    }
}

impl<T> NotifyAll for State<T> {
    fn waiters(&mut self) -> &mut WaitList<()> {
        &mut self.waiters
    }
}

impl<T> Subscribed for State<T> {
    fn receivers(&mut self) -> &mut usize {
        &mut self.receivers
    }
}

/// Why a broadcast receive failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecvError {
    /// Every sender is gone and this receiver has seen everything.
    Closed,
    /// The receiver fell behind and this many messages were overwritten before it read them;
    /// the next receive returns the oldest message still kept.
    Lagged(u64),
}

/// Why a broadcast `try_recv` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryRecvError {
    /// Nothing new right now.
    Empty,
    /// Every sender is gone and this receiver has seen everything.
    Closed,
    /// As [`RecvError::Lagged`].
    Lagged(u64),
}

/// Why a broadcast `recv_blocking_timeout` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecvTimeoutError {
    /// Nothing new before the deadline.
    Timeout,
    /// Every sender is gone and this receiver has seen everything.
    Closed,
    /// As [`RecvError::Lagged`].
    Lagged(u64),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => f.write_str("broadcast channel closed"),
            RecvError::Lagged(n) => write!(f, "receiver lagged behind and missed {n} messages"),
        }
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("no new message"),
            TryRecvError::Closed => f.write_str("broadcast channel closed"),
            TryRecvError::Lagged(n) => write!(f, "receiver lagged behind and missed {n} messages"),
        }
    }
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvTimeoutError::Timeout => f.write_str("timed out waiting for a message"),
            RecvTimeoutError::Closed => f.write_str("broadcast channel closed"),
            RecvTimeoutError::Lagged(n) => {
                write!(f, "receiver lagged behind and missed {n} messages")
            }
        }
    }
}

impl std::error::Error for RecvError {}
impl std::error::Error for TryRecvError {}
impl std::error::Error for RecvTimeoutError {}

/// Creates a broadcast channel keeping the last `capacity` messages.
///
/// # Panics
///
/// If `capacity` is 0.
///
/// # Examples
///
/// ```
/// use c10k_sync::channel::broadcast::{self, TryRecvError};
///
/// let (tx, mut slow) = broadcast::channel(2);
/// let mut fast = tx.subscribe();
/// for i in 0..4 {
///     tx.send(i).unwrap();
///     assert_eq!(fast.try_recv(), Ok(i));
/// }
/// assert_eq!(slow.try_recv(), Err(TryRecvError::Lagged(2))); // 0 and 1 were overwritten
/// assert_eq!(slow.try_recv(), Ok(2));
/// ```
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "broadcast capacity must be at least 1");
    let state = Arc::new(Mutex::new(State {
        buf: VecDeque::with_capacity(capacity),
        head: 0,
        capacity,
        senders: 1,
        receivers: 1,
        waiters: WaitList::new(),
    }));
    (
        Sender {
            state: state.clone(),
        },
        Receiver {
            sub: Subscriber::counted(state),
            next: 0,
        },
    )
}

/// The sending half; clone it for more senders.
pub struct Sender<T> {
    state: Arc<Mutex<State<T>>>,
}

/// A receiving half with its own position; clones start at the same position.
pub struct Receiver<T> {
    sub: Subscriber<State<T>>,
    /// Sequence number of the next message to receive.
    next: u64,
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver")
            .field("next", &self.next)
            .finish()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        loom::lock(&self.state).senders += 1;
        Sender {
            state: self.state.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut wakes = WakeList::new();
        {
            let mut s = loom::lock(&self.state);
            s.senders -= 1;
            if s.senders == 0 {
                s.waiters.notify_all(&mut wakes);
            }
        }
        wakes.wake_all();
    }
}

impl<T: Clone> Sender<T> {
    /// Sends to every current receiver without waiting; returns how many receivers there are.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if there is no receiver.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut wakes = WakeList::new();
        let (n, evicted) = {
            let mut s = loom::lock(&self.state);
            if s.receivers == 0 {
                return Err(SendError(value));
            }
            s.buf.push_back(value);
            let evicted = if s.buf.len() > s.capacity {
                s.head += 1;
                s.buf.pop_front()
            } else {
                None
            };
            s.waiters.notify_all(&mut wakes);
            (s.receivers, evicted)
        };
        wakes.wake_all();
        drop(evicted);
        Ok(n)
    }

    /// A new receiver that sees messages sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut s = loom::lock(&self.state);
        s.receivers += 1;
        Receiver {
            sub: Subscriber::counted(self.state.clone()),
            next: s.tail(),
        }
    }

    /// Receivers now (a snapshot).
    pub fn receiver_count(&self) -> usize {
        loom::lock(&self.state).receivers
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver {
            sub: self.sub.clone(),
            next: self.next,
        }
    }
}

/// Takes the message numbered `*next` (advancing `next`), or says why there is none.
fn take<T: Clone>(next: &mut u64, s: &State<T>) -> Result<T, TryRecvError> {
    if *next < s.head {
        let missed = s.head - *next;
        *next = s.head;
        return Err(TryRecvError::Lagged(missed));
    }
    match s.buf.get((*next - s.head) as usize) {
        Some(v) => {
            *next += 1;
            Ok(v.clone())
        }
        None if s.senders == 0 => Err(TryRecvError::Closed),
        None => Err(TryRecvError::Empty),
    }
}

impl<T: Clone> Receiver<T> {
    /// Receives the next message without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`], [`TryRecvError::Lagged`] or [`TryRecvError::Closed`].
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        take(&mut self.next, &self.sub.lock())
    }

    /// Waits for the next message.
    ///
    /// Cancellation safety: nothing is consumed until the future completes, so dropping it
    /// loses nothing; the next `recv` returns the same message.
    ///
    /// # Errors
    ///
    /// [`RecvError::Lagged`] or [`RecvError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = c10k_sync::channel::broadcast::channel(8);
    /// let mut rx2 = tx.subscribe();
    /// std::thread::spawn(move || tx.send("news").unwrap());
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// assert_eq!(rt.block_on(rx.recv()), Ok("news"));
    /// assert_eq!(rx2.recv_blocking(), Ok("news")); // every receiver gets its copy
    /// ```
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv { rx: self }
    }

    /// Blocks the thread for the next message.
    ///
    /// # Errors
    ///
    /// [`RecvError::Lagged`] or [`RecvError::Closed`].
    pub fn recv_blocking(&mut self) -> Result<T, RecvError> {
        self.blocking(None).map_err(|e| match e {
            RecvTimeoutError::Lagged(n) => RecvError::Lagged(n),
            _ => RecvError::Closed,
        })
    }

    /// Blocks for at most `timeout` for the next message.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`], [`RecvTimeoutError::Lagged`] or [`RecvTimeoutError::Closed`].
    pub fn recv_blocking_timeout(&mut self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.blocking(Some(Instant::now() + timeout))
    }

    fn blocking(&mut self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let next = &mut self.next;
        let got = self.sub.block(deadline, |s| match take(next, s) {
            Err(TryRecvError::Empty) => None,
            r => Some(r),
        });
        match got {
            Some(Ok(v)) => Ok(v),
            Some(Err(TryRecvError::Lagged(n))) => Err(RecvTimeoutError::Lagged(n)),
            Some(Err(_)) => Err(RecvTimeoutError::Closed),
            None => Err(RecvTimeoutError::Timeout),
        }
    }
}

/// Future of [`Receiver::recv`].
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a, T> {
    rx: &'a mut Receiver<T>,
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Receiver { sub, next } = &mut *self.get_mut().rx;
        sub.poll(cx, crate::waiting::ChannelKind::Broadcast, |s| {
            match take(next, s) {
                Ok(v) => Some(Ok(v)),
                Err(TryRecvError::Lagged(n)) => Some(Err(RecvError::Lagged(n))),
                Err(TryRecvError::Closed) => Some(Err(RecvError::Closed)),
                Err(TryRecvError::Empty) => None,
            }
        })
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        self.rx.sub.cancel();
    }
}
