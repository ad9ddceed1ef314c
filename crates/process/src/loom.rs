//! The one place where the ring's index protocol picks its atomics: loom's model-checked
//! twins under `--cfg loom` (for `queue/loom_ring.rs`), `std`'s otherwise.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
