//! Runtime-agnostic synchronization primitives and queues that threads and tasks share.
//!
//! Python has two families of primitives, `threading` and `asyncio`, that cannot be mixed.
//! Every type here has `async` methods for tasks **and** `_blocking` twins for threads (plus
//! `try_` forms, and `Duration` timeouts on the blocking forms), so one queue or lock can join
//! a thread and a task. Nothing depends on a particular executor: waiting tasks are woken
//! through their `Waker`, waiting threads through `Thread::unpark`.
//!
//! | Python | here |
//! |---|---|
//! | `Lock` | [`Mutex`] |
//! | `RLock` | [`ReentrantMutex`] |
//! | `Semaphore`, `BoundedSemaphore` | [`Semaphore`] (permits are guards) |
//!
//! # Shared design
//!
//! Every primitive is built on one FIFO waiter list (`src/wait.rs` explains the hand-over and
//! cancellation protocol). Consequences, guaranteed crate-wide:
//!
//! - **Fairness**: waiters are served in the order they started waiting. What is handed
//!   over (a lock, permits, a queued value) goes to the oldest waiter directly, so later
//!   arrivals cannot overtake it; `try_` forms fail rather than jump the queue.
//! - **Cancellation safety**: dropping any future of this crate before it completes removes
//!   its waiter; if something had already been handed to it, it is passed on to the next
//!   waiter (or put back). A value is never lost when a future is dropped.
//! - **Timeouts**: `async` methods take no timeout; wrap them in your runtime's timeout
//!   (`c10k::time::timeout`, `tokio::time::timeout`), which is cancellation-safe per the
//!   above. `_blocking` methods have `_timeout` variants taking a `Duration`.
//!
//! # Deadlock detection
//!
//! With the `deadlock-detection` feature, [`Mutex`], [`RwLock`] and [`ReentrantMutex`] feed a
//! global lock-order graph and panic, with both acquisition sites and thread names, on the
//! acquisition that makes a cycle possible, even if this run would not have deadlocked.
//! See the `deadlock` module docs (`src/deadlock.rs`) for the rules and limits.
#![deny(unsafe_code)]

mod deadlock;
mod loom;
mod wait;

pub mod barrier;
pub mod channel;
pub mod condvar;
pub mod event;
pub mod mutex;
pub mod notify;
pub mod queue;
pub mod reentrant;
pub mod rwlock;
pub mod semaphore;

pub use barrier::{Barrier, BarrierWaitResult};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use event::Event;
pub use mutex::{Mutex, MutexGuard, TryLockError};
pub use notify::Notify;
pub use queue::Queue;
pub use reentrant::{ReentrantMutex, ReentrantMutexGuard};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};
