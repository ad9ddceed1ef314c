//! Stackful coroutines for c10k: generators and gevent-style green threads.
//!
//! (The module map and the Python correspondences are written in the facade, `c10k::green`.)

pub mod generator;
mod handle;
mod hub;
pub mod net;
pub mod stack;

pub use handle::{joinall, GreenError, GreenHandle};
pub use hub::{
    block_on, in_green_thread, run, run_with, sleep, spawn, switch, yield_now, Builder, Hub,
    HubFuture, BUDGET, STACK_POOL,
};

/// Locks a mutex, ignoring poisoning: our critical sections call no user code.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
