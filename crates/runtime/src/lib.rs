//! The c10k runtime: tasks and `JoinHandle`s, current-thread and work-stealing schedulers,
//! the IO driver (readiness over `c10k-selector`, or completions over `c10k-uring`), timers,
//! and the blocking pool.
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
//! * [`driver`]: the IO driver, the base of the socket types: readiness on `c10k-selector`
//!   (select, poll, epoll) or completions on an io_uring ring (`c10k-uring`), chosen with
//!   [`Builder::backend`] from [`driver::Backend`] (the default is epoll on Linux;
//!   `Backend::auto()` prefers io_uring and falls back to epoll).
//!
//! # IO backends
//!
//! Every program runs unchanged on every backend: the socket types keep one API. On
//! `Backend::Uring`, stream reads are completions into the ring's provided buffers (an
//! idle connection holds none), writes are copied into a per-stream send buffer and leave
//! in one `send` per stream per scheduler turn, and all operations of a turn enter the
//! kernel in one `io_uring_enter`; the owned-buffer methods (`read_owned`,
//! `write_all_owned`) hand buffers to the kernel without lending slices across an await.
//! See the `driver` module docs for the protocol and `driver/uring` for the ring's.
//! * [`time`]: `sleep`, `timeout`, `interval`.
//! * [`race`](mod@race): racing futures (`select`).
//! * [`signal`], [`shutdown`]: Unix signals as events, and the one graceful-shutdown path of
//!   a server (Ctrl-C, drain with a deadline, a second Ctrl-C exits).
//! * [`task::dump`], [`Handle::dump`]: what every task is doing right now (name, spawn
//!   location, state, what it waits on), taken from any thread without stopping the
//!   runtime. With the `tracing` feature, the runtime emits task and poll spans and events
//!   for driver turns, long polls and the blocking pool's growth (`src/trace.rs`).
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
mod trace;

pub use executor::{
    run, Builder, EnterGuard, Handle, LongPoll, Runtime, TaskMeta, TryCurrentError,
};
pub use task::{spawn, spawn_blocking, spawn_local, JoinError, JoinHandle};
