//! A single value sent once (asyncio's `Future`, `tokio::sync::oneshot`).
//!
//! The [`Receiver`] is itself a future. Dropping the [`Sender`] without sending completes the
//! receiver with [`RecvError`]; dropping the receiver makes `send` hand the value back.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::error::{RecvError, RecvTimeoutError, TryRecvError};
use crate::loom::{self, Mutex};
use crate::wait::Wakeup;

struct State<T> {
    value: Option<T>,
    tx_alive: bool,
    rx_alive: bool,
    rx_wakeup: Wakeup,
}

struct Inner<T> {
    state: Mutex<State<T>>,
}

/// Creates a one-shot channel.
///
/// # Examples
///
/// ```
/// let (tx, rx) = c10k_sync::channel::oneshot::channel();
/// std::thread::spawn(move || tx.send(42).unwrap());
/// assert_eq!(rx.recv_blocking(), Ok(42));
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            value: None,
            tx_alive: true,
            rx_alive: true,
            rx_wakeup: Wakeup::Nobody,
        }),
    });
    (
        Sender {
            inner: Some(inner.clone()),
        },
        Receiver { inner },
    )
}

/// Sends the one value.
pub struct Sender<T> {
    inner: Option<Arc<Inner<T>>>,
}

/// Receives the one value; `.await` it, or use the `_blocking` and `try_` forms.
///
/// Cancellation safety: dropping the receiver drops a value that was sent to it; there is
/// nobody else to pass it to.
pub struct Receiver<T> {
    inner: Arc<Inner<T>>,
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver").finish_non_exhaustive()
    }
}

impl<T> Sender<T> {
    /// Sends the value and wakes the receiver.
    ///
    /// # Errors
    ///
    /// The value back if the receiver is gone.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("sender used once");
        let wake = {
            let mut s = loom::lock(&inner.state);
            // The sender is consumed either way: the receiver must not wait for it.
            s.tx_alive = false;
            if !s.rx_alive {
                return Err(value);
            }
            s.value = Some(value);
            std::mem::replace(&mut s.rx_wakeup, Wakeup::Nobody)
        };
        wake.wake();
        Ok(())
    }

    /// Whether the receiver is gone (a snapshot).
    pub fn is_closed(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(|i| !loom::lock(&i.state).rx_alive)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            let wake = {
                let mut s = loom::lock(&inner.state);
                s.tx_alive = false;
                std::mem::replace(&mut s.rx_wakeup, Wakeup::Nobody)
            };
            wake.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// Takes the value if it was sent.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if not yet sent, [`TryRecvError::Disconnected`] if the sender
    /// is gone without sending (or the value was already taken).
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut s = loom::lock(&self.inner.state);
        match s.value.take() {
            Some(v) => Ok(v),
            None if s.tx_alive => Err(TryRecvError::Empty),
            None => Err(TryRecvError::Disconnected),
        }
    }

    /// Blocks the thread until the value arrives.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender is gone without sending.
    pub fn recv_blocking(mut self) -> Result<T, RecvError> {
        self.blocking(None).map_err(|_| RecvError)
    }

    /// Blocks for at most `timeout`; the receiver stays usable after a timeout.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] or [`RecvTimeoutError::Disconnected`].
    pub fn recv_blocking_timeout(&mut self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.blocking(Some(Instant::now() + timeout))
    }

    fn blocking(&mut self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        loop {
            {
                let mut s = loom::lock(&self.inner.state);
                if let Some(v) = s.value.take() {
                    return Ok(v);
                }
                if !s.tx_alive {
                    return Err(RecvTimeoutError::Disconnected);
                }
                s.rx_wakeup = Wakeup::thread();
            }
            match deadline {
                None => loom::park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        loom::lock(&self.inner.state).rx_wakeup = Wakeup::Nobody;
                        return Err(RecvTimeoutError::Timeout);
                    }
                    loom::park_timeout(d - now);
                }
            }
        }
    }

    /// Makes later `send`s fail (the value comes back to the sender); a value already sent
    /// can still be received.
    pub fn close(&mut self) {
        loom::lock(&self.inner.state).rx_alive = false;
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let p = Self::unrecorded_poll(self, cx);
        crate::waiting::channel(
            cx,
            &p,
            crate::waiting::ChannelKind::Oneshot,
            crate::waiting::ChannelOp::Recv,
        );
        p
    }
}

impl<T> Receiver<T> {
    /// The poll itself; `poll` records what it waits on for task dumps (`waiting.rs`).
    #[inline]
    fn unrecorded_poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<<Self as Future>::Output> {
        let mut s = loom::lock(&self.inner.state);
        if let Some(v) = s.value.take() {
            return Poll::Ready(Ok(v));
        }
        if !s.tx_alive {
            return Poll::Ready(Err(RecvError));
        }
        match &s.rx_wakeup {
            Wakeup::Task(w) if w.will_wake(cx.waker()) => {}
            _ => s.rx_wakeup = Wakeup::Task(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let value = {
            let mut s = loom::lock(&self.inner.state);
            s.rx_alive = false;
            s.value.take()
        };
        drop(value);
    }
}
