//! The one place where the ring's index protocol picks its atomics: loom's model-checked
//! twins under `--cfg loom` (for `queue/loom_ring.rs`), `std`'s otherwise.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The store-buffering handshake of the waiting protocol (`queue/ring.rs`) relies on
/// `SeqCst` accesses being totally ordered; loom models `SeqCst` accesses as
/// acquire/release only, so under loom a `SeqCst` fence stands between each side's
/// `SeqCst` write and its `SeqCst` read, giving the model the guarantee the real code
/// gets from `SeqCst`. Outside loom it compiles to nothing.
#[inline]
pub(crate) fn seq_cst_pair_fence() {
    #[cfg(loom)]
    loom::sync::atomic::fence(Ordering::SeqCst);
}
