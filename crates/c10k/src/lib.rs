//! c10k: serve and drive many concurrent connections on one machine.
//!
//! This facade re-exports the layers:
//!
//! - [`selector`]: readiness IO multiplexing over `select`, `poll` and `epoll`;
//! - [`runtime`]: tasks, schedulers, timers and async sockets (in progress);
//! - [`sync`]: locks, signals, channels and queues for threads and tasks (in progress).
#![forbid(unsafe_code)]

pub use c10k_runtime as runtime;
pub use c10k_selector as selector;
pub use c10k_sync as sync;
