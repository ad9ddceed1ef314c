//! Why a [`PoolFuture`](crate::PoolFuture) holds no value.

use std::any::Any;
use std::fmt;

/// Why a pool task produced no value: `concurrent.futures`' exceptions as one enum.
///
/// | Python | here |
/// |---|---|
/// | `CancelledError` | [`Cancelled`](PoolError::Cancelled) |
/// | an exception raised by the task | [`Panicked`](PoolError::Panicked) (a task that can fail returns a `Result`: its `Err` is a value) |
/// | `BrokenThreadPool`, `BrokenProcessPool` | [`BrokenPool`](PoolError::BrokenPool) |
/// | `RuntimeError('cannot schedule new futures after shutdown')` | [`Shutdown`](PoolError::Shutdown) |
/// | `TimeoutError` from `result(timeout=)` | [`Timeout`](PoolError::Timeout) |
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PoolError {
    /// The future was cancelled before its task started ([`PoolFuture::cancel`], or a
    /// shutdown with `cancel_futures`).
    ///
    /// [`PoolFuture::cancel`]: crate::PoolFuture::cancel
    Cancelled,
    /// The task panicked; the panic's message (or `"<non-string panic payload>"`). The pool
    /// and its worker survive.
    Panicked(String),
    /// The pool broke before the task could finish: its initializer failed, or a worker
    /// process died abruptly. Every pending future of the pool gets this error, and the pool
    /// refuses new work; the text says what happened.
    BrokenPool(String),
    /// The task was submitted after the pool began to shut down, or the pool (or runtime)
    /// running it shut down before it started without cancelling it explicitly.
    Shutdown,
    /// A process pool's task could not run or its value could not travel: the entry is
    /// not registered in the worker, or the arguments or the value did not (de)serialize.
    Failed(String),
    /// A timed wait ([`PoolFuture::result_timeout`](crate::PoolFuture::result_timeout))
    /// elapsed first; the future itself is still pending and usable.
    Timeout,
}

impl PoolError {
    /// The error for a caught panic payload, keeping its message when it has one.
    pub(crate) fn from_panic(payload: Box<dyn Any + Send>) -> PoolError {
        let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "<non-string panic payload>".to_owned()
        };
        PoolError::Panicked(message)
    }

    /// Whether this is an "exception" in `concurrent.futures.wait`'s `FIRST_EXCEPTION` sense:
    /// anything but a cancellation (a timed-out wait is not a task outcome at all).
    pub fn is_exception(&self) -> bool {
        !matches!(self, PoolError::Cancelled | PoolError::Timeout)
    }
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Cancelled => f.write_str("the task was cancelled"),
            PoolError::Panicked(msg) => write!(f, "the task panicked: {msg}"),
            PoolError::BrokenPool(why) => write!(f, "the pool is broken: {why}"),
            PoolError::Shutdown => f.write_str("the pool is shut down"),
            PoolError::Failed(why) => write!(f, "the task failed: {why}"),
            PoolError::Timeout => f.write_str("timed out waiting for the task"),
        }
    }
}

impl std::error::Error for PoolError {}

impl From<PoolError> for std::io::Error {
    /// `Timeout` becomes [`TimedOut`](std::io::ErrorKind::TimedOut), `Cancelled`
    /// [`Interrupted`](std::io::ErrorKind::Interrupted), the others
    /// [`Other`](std::io::ErrorKind::Other); the message is kept.
    fn from(e: PoolError) -> std::io::Error {
        let kind = match e {
            PoolError::Timeout => std::io::ErrorKind::TimedOut,
            PoolError::Cancelled => std::io::ErrorKind::Interrupted,
            _ => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, e)
    }
}
