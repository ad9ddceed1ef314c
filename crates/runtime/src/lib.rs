//! The c10k runtime: tasks and `JoinHandle`s, current-thread and work-stealing schedulers,
//! the IO driver over `c10k-selector`, a timing wheel, async sockets, and asyncio's callback
//! event loop, all on one driver.
//!
//! It will hold `driver/`, `task/`, `executor/`, `time/`, `net/`, `blocking/` and
//! `event_loop` (issue 3).
#![forbid(unsafe_code)]
