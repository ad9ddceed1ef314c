//! Readiness IO multiplexing: one `Selector` API over `select(2)`, `poll(2)` and `epoll(7)`.
//!
//! Synchronous, no futures. Filled in by the foundation work (issue 2).
