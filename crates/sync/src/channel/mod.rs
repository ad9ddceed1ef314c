//! Channels: [`oneshot`], [`mpsc`], [`mpmc`], [`broadcast`] and [`watch`].
//!
//! Each has `async` methods for tasks, `_blocking` twins (with `_timeout` forms) for threads,
//! and `try_` forms, so a thread can feed a task and the other way round. Errors hand the value
//! back (`SendError(T)`, `TrySendError::Full(T)`), and every future is cancellation-safe: a
//! dropped `recv` never loses a message, a dropped `send` leaves nothing half-sent.
//!
//! | kind | Python / tokio | use |
//! |---|---|---|
//! | [`oneshot`] | `asyncio.Future`, `tokio::sync::oneshot` | one value, once |
//! | [`mpsc`] | `queue.Queue` between threads, `tokio::sync::mpsc` | many producers, one consumer |
//! | [`mpmc`] | a shared work queue, `crossbeam_channel` | many producers, many consumers (each message to one) |
//! | [`broadcast`] | `tokio::sync::broadcast` | every receiver sees every message (bounded history) |
//! | [`watch`] | `tokio::sync::watch` | the latest value, with change notification |

mod error;

pub mod broadcast;
pub mod mpmc;
pub mod mpsc;
pub mod oneshot;
mod subscriber;
pub mod watch;

pub use error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
