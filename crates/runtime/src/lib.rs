//! The c10k runtime: tasks and `JoinHandle`s, current-thread and work-stealing schedulers,
//! the IO driver over `c10k-selector`, timers, and the blocking pool.
//!
//! ```
//! let total = c10k_runtime::run(async {
//!     let mut set = c10k_runtime::task::JoinSet::new();
//!     for i in 1..=10u64 {
//!         set.spawn(async move { i });
//!     }
//!     let mut total = 0;
//!     while let Some(r) = set.join_next().await {
//!         total += r.unwrap();
//!     }
//!     total
//! });
//! assert_eq!(total, 55);
//! ```
//!
//! # Map
//!
//! * [`task`]: spawning, `JoinHandle`, `JoinSet`, `TaskGroup`, `LocalSet`, `yield_now`, the
//!   cooperative budget, and (internally) the one-allocation task cell.
//! * [`Runtime`], [`Builder`], [`Handle`]: the schedulers ([`executor`] module docs explain
//!   both and how IO is split between workers).
//! * [`driver`]: IO readiness on `c10k-selector`, the base of the socket types.
//! * [`time`]: `sleep`, `timeout`, `interval`.
//! * [`race`](mod@race): racing futures (`select`).
//! * [`signal`], [`shutdown`]: Unix signals as events, and the one graceful-shutdown path of
//!   a server (Ctrl-C, drain with a deadline, a second Ctrl-C exits).
//!
//! # Racing futures
//!
//! See [`race`](mod@race): `select!` and `select` from `futures-util`, re-exported and
//! documented here.

pub mod driver;
pub mod event_loop;
pub mod executor;
pub mod net;
pub mod race;
pub mod shutdown;
pub mod signal;
pub mod task;
pub mod time;

mod blocking;
mod context;
mod loom;

pub use executor::{
    run, Builder, EnterGuard, Handle, LongPoll, Runtime, TaskMeta, TryCurrentError,
};
pub use task::{spawn, spawn_blocking, spawn_local, JoinError, JoinHandle};
