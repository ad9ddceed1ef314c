//! The one place where the crate picks the atomics of its wake protocol.
//!
//! Under `--cfg loom` they are loom's model-checked twins, so that the model
//! in `waker/tests/loom_pending.rs` explores the interleavings of the real
//! coalescing protocol; otherwise they are `std`'s. Run the model with its
//! own target directory (the flag would otherwise rebuild the shared one):
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test -p c10k-uring --lib --release loom
//! ```

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, Ordering};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, Ordering};
