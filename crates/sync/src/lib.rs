//! Runtime-agnostic synchronization primitives and queues that threads and tasks share.
//!
//! Python has two families of primitives, `threading` and `asyncio`, that cannot be mixed.
//! Every type here has `async` methods for tasks **and** `_blocking` twins for threads (plus
//! `try_` forms, and `Duration` timeouts on the blocking forms), so one queue or lock can join
//! a thread and a task. Nothing depends on a particular executor: waiting tasks are woken
//! through their `Waker`, waiting threads through `Thread::unpark`.
//!
//! | Python (`threading` / `asyncio` / `queue`) | here |
//! |---|---|
//! | `Lock` | [`Mutex`] (`lock().await`, `lock_blocking()`, `try_lock()`) |
//! | `RLock` | [`ReentrantMutex`] (threads only: see its module for why) |
//! | (none; readers-writer) | [`RwLock`] (fair: no writer starvation) |
//! | `Semaphore`, `BoundedSemaphore` | [`Semaphore`] (permits are guards: over-release cannot happen) |
//! | `Event` | [`Event`] |
//! | `Condition` | [`Condvar`] with a [`MutexGuard`] |
//! | `Barrier` | [`Barrier`] (one leader per generation) |
//! | (tokio `Notify`) | [`Notify`] |
//! | `asyncio.Future` | [`channel::oneshot`] |
//! | `queue.Queue` between two parties | [`channel::mpsc`], [`channel::mpmc`] |
//! | (pub/sub, latest value) | [`channel::broadcast`], [`channel::watch`] |
//! | `Queue`, `LifoQueue`, `PriorityQueue`, `JoinableQueue` | [`Queue`] (`task_done`/`join`, `shutdown`) |
//!
//! # Shared design
//!
//! Every primitive is built on one FIFO waiter list (`src/wait.rs` explains the hand-over and
//! cancellation protocol). Consequences, guaranteed crate-wide:
//!
//! - **Fairness**: waiters are served in the order they started waiting. What is handed
//!   over (a lock, permits, a queued value) goes to the oldest waiter directly, so later
//!   arrivals cannot overtake it; `try_` forms fail rather than jump the queue. A `_blocking`
//!   call spins briefly (then yields) before it queues and parks its thread; so does, once,
//!   the async end of a FIFO channel or `Queue` that finds it full (empty) while both ends
//!   take turns on two threads (`engine.rs`, "Before an async end queues"). A spinning caller
//!   is not queued yet, and its retries fail while anyone is queued, so it never overtakes a
//!   waiter either.
//! - **Cancellation safety**: dropping any future of this crate before it completes removes
//!   its waiter; if something had already been handed to it, it is passed on to the next
//!   waiter (or put back). A value is never lost when a future is dropped. (A `put`/`send`
//!   whose value a receiver already moved in has happened, even if its future is dropped
//!   before it is polled again; see [`Queue::put`].)
//! - **Timeouts**: `async` methods take no timeout; wrap them in your runtime's timeout
//!   (`c10k::time::timeout`, `tokio::time::timeout`), which is cancellation-safe per the
//!   above. `_blocking` methods have `_timeout` variants taking a `Duration`.
//!
//! # Deadlock detection
//!
//! With the `deadlock-detection` feature, [`Mutex`], [`RwLock`] and [`ReentrantMutex`] feed a
//! global lock-order graph and panic, with both acquisition sites and thread names, on the
//! acquisition that makes a cycle possible, even if this run would not have deadlocked.
//! The panic message names every edge of the cycle: thread names and `file:line:col` of both
//! acquisitions of each edge, and where each lock was created. `async` acquisitions are
//! checked against the locks the polling thread holds but are not recorded as held (tasks
//! share threads, so per-thread bookkeeping would invent false cycles), unless the task is
//! wrapped in [`deadlock::track`], which gives it its own held-lock list and a name; see
//! [`deadlock`] for the rules and limits. The feature costs a global lock per acquisition: it
//! is meant for tests and debug runs.
//!
//! # `unsafe`
//!
//! The crate denies `unsafe_code` except where it must hand out `&mut T` from a shared lock
//! (`mutex.rs`, `rwlock.rs`), assert `Sync` (`reentrant.rs`), or move values through
//! lock-free slots (`ring.rs`, `list.rs`: the FIFO stores of the channels and `Queue`, each
//! slot an `UnsafeCell<MaybeUninit<T>>` owned by whoever claimed its position). Every
//! `unsafe` block carries its `SAFETY` argument: the locks' from "the guard holds the
//! permit", the stores' from their index protocols (documented at the top of each file and
//! model-checked). The waiter list, the semaphore engine and the channel engine's parking
//! hand-off (`engine.rs`) are safe code over a `std` (or, for models, `loom`) mutex and
//! atomics, except that a receive takes its value out of the store through a `MaybeUninit`
//! out-parameter (written exactly when the store says `Ok`; see `Ring::pop_to`).
//!
//! # How it is checked
//!
//! - `tests/loom_*.rs`: loom models (2–3 threads, preemption bound 2) of the hand-over with
//!   cancellation, Mutex, RwLock, ReentrantMutex, Semaphore, Event, Notify, Condvar, Barrier,
//!   mpsc, Queue, oneshot, watch and broadcast; of the lock-free stores' index protocol
//!   (`loom_ring.rs`: lap wrap-around, racing pushers and poppers, a pop meeting an
//!   unfinished push, close racing a push, drop with values inside; the list runs with
//!   one-slot blocks under loom so every operation crosses a block); and of the engine's
//!   parking hand-off (`loom_engine.rs`, which fails if a fence or the waiter's re-check is
//!   removed):
//!   `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom LOOM_MAX_PREEMPTIONS=2
//!   cargo test -p c10k-sync --release --test 'loom_*'`.
//! - `tests/channel_store.rs`: values left in a channel are dropped exactly once (after the
//!   ring wrapped, across list blocks), 4 producers × 4 consumers lose and duplicate
//!   nothing, and the fast paths never overtake a waiter.
//! - `tests/queue_proptest.rs`: with threads and tasks mixed and `get` futures cancelled at
//!   random, nothing put is lost or duplicated, `join` returns only after every `task_done`,
//!   FIFO/LIFO/priority orders match a model, and mpsc keeps per-producer order.
//! - `examples/` ports the tutorials (cooks and customers, ticket booth, parking lot, bus and
//!   passengers, traffic light, the deadlock and its re-entrant fix); `tests/examples_run.rs`
//!   runs them. `benches/` compares with `std`, tokio, crossbeam and flume (`BENCHMARKS.md`).
#![deny(unsafe_code)]

mod backoff;
pub mod deadlock;
mod engine;
mod list;
mod loom;
mod ring;
mod wait;
mod waiting;

pub mod barrier;
pub mod channel;
pub mod condvar;
pub mod event;
pub mod mutex;
pub mod notify;
pub mod park;
pub mod queue;
pub mod reentrant;
pub mod rwlock;
pub mod semaphore;

pub use barrier::{Barrier, BarrierWaitResult};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use event::Event;
pub use mutex::{Mutex, MutexGuard, OwnedMutexGuard, TryLockError};
pub use notify::Notify;
pub use queue::Queue;
pub use reentrant::{ReentrantMutex, ReentrantMutexGuard};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};
