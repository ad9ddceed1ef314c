//! Racing futures: wait for the first of several to complete, asyncio's
//! `wait(..., return_when=FIRST_COMPLETED)`.
//!
//! c10k does not reinvent these: `futures-util` has them, and they work with any runtime.
//!
//! * [`select()`] (a function) races two futures and returns the winner's output with the
//!   loser, which may be awaited further or dropped (dropping cancels it).
//! * [`select!`] (a macro) races several branches with patterns, `complete =>` and
//!   `default =>` arms. Its futures must be fused ([`FutureExt::fuse`]) and pinned.
//! * [`join!`] / [`try_join!`] await several futures concurrently in one task.
//!
//! To race *tasks* rather than futures, put them in a [`JoinSet`](crate::task::JoinSet) and
//! take the first `join_next`; the set cancels the rest when dropped.
//!
//! # Examples
//!
//! ```
//! use c10k_runtime::race::{select, Either};
//! use std::future::{pending, ready};
//!
//! c10k_runtime::run(async {
//!     match select(Box::pin(ready(1)), Box::pin(pending::<()>())).await {
//!         Either::Left((n, _still_pending)) => assert_eq!(n, 1),
//!         Either::Right(_) => unreachable!(),
//!     }
//! });
//! ```
//!
//! With the macro:
//!
//! ```
//! use c10k_runtime::race::{select, FutureExt};
//!
//! c10k_runtime::run(async {
//!     let mut fast = Box::pin(async { "fast" }.fuse());
//!     let mut slow = Box::pin(std::future::pending::<&str>().fuse());
//!     let winner = c10k_runtime::race::select! {
//!         s = fast => s,
//!         s = slow => s,
//!     };
//!     assert_eq!(winner, "fast");
//! });
//! ```

pub use futures_util::future::{select, Either, FutureExt};
pub use futures_util::{join, select, select_biased, try_join};
