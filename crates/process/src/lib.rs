//! Processes for c10k: Python's `multiprocessing`, built for Rust and for speed.
//!
//! - [`Process`]: run a registered [`Entry`] in a child process; `start`, `join` (blocking,
//!   with a timeout, or `.await`), `terminate`, `kill`, `is_alive`, `pid`, `exit_code`,
//!   daemon children, the entry's return value or its panic message.
//! - [`Pipe`]/[`Connection`]: serde values between two processes.
//! - [`Queue`]/[`JoinableQueue`]: bounded FIFO queues on a shared-memory ring.
//! - [`Lock`], [`RLock`], [`Semaphore`], [`Event`], [`Condition`], [`Barrier`],
//!   [`Value`], [`Array`]: synchronization and plain data in shared memory, on futexes
//!   and robust mutexes.
//! - [`Manager`]: a server process holding dicts and lists of serde values, with proxies.
//!
//! # Entries and `init`
//!
//! A child runs a function of this same program, chosen by name: declare it as an
//! [`Entry`] and list it in [`init`], which must be **the first thing in `main`**. In the
//! parent `init` records the list and returns; in a child it runs the entry and exits, so
//! nothing after it in `main` runs in children.
//!
//! ```no_run
//! use c10k_process::{Entry, Process, Queue};
//!
//! fn produce(q: Queue<String>) {
//!     q.put(format!("hello from {}", std::process::id())).unwrap();
//! }
//! static PRODUCE: Entry<Queue<String>, ()> = Entry::new("produce", produce);
//!
//! fn main() -> std::io::Result<()> {
//!     c10k_process::init(&[&PRODUCE]);
//!     let q = Queue::new()?;
//!     let mut p = Process::spawn(&PRODUCE, q.clone())?;
//!     println!("{}", q.get().unwrap());
//!     p.join()?;
//!     Ok(())
//! }
//! ```
//!
//! Test targets need the same: libtest's generated `main` cannot call `init` first, so a
//! test that starts processes lives in a target with `harness = false` and a `main` of
//! its own (this crate's `tests/` show the pattern: `init`, then each test function in
//! turn, reporting `N passed, 0 failed`).
//!
//! Arguments and return values travel as [postcard](https://docs.rs/postcard) bytes
//! (any `serde` type). The IPC objects of this crate are serde types too: passed as
//! arguments, their descriptors travel with the boot message (`SCM_RIGHTS`), and the child
//! maps the same shared memory.
//!
//! # Start methods
//!
//! The contract every start method fulfils: the child is a process of this same binary in
//! which no thread of the parent exists and no Rust code ran between a `fork` of a
//! multi-threaded process and an `exec`; it receives its boot frame (entry name,
//! arguments, descriptors) on a socket, runs the entry, sends its outcome on the same
//! socket, and exits; the parent holds a pidfd of it.
//!
//! | method | how | spawn + join of a trivial entry, measured (BENCHMARKS.md) |
//! |---|---|---|
//! | [`StartMethod::Spawn`] (default) | `posix_spawn(/proc/self/exe)` with `C10K_PROCESS_CHILD` naming the inherited bootstrap socket; `init` in the child's `main` sees it | 1.4–4 ms (one exec: the loader, relocations, `main` up to `init`); Python's spawn: 52–75 ms |
//! | [`StartMethod::Forkserver`] | a fork server, itself started with the spawn method on first use and single-threaded by construction, `fork`s each child and reaps it, sending its status back on a per-child socket | 0.4–2.5 ms (one `fork` of a small process, plus two messages); Python's forkserver: 10–16 ms, its fork: 1.9–3.7 ms |
//!
//! There is no `fork` method: forking a multi-threaded program and running Rust in the
//! child can deadlock on any lock another thread held (malloc's, stdout's).
//!
//! # For pools (a `ProcessPool` on this crate)
//!
//! How a pool should start workers and move values:
//!
//! 1. **Workers.** The pool's crate declares one worker [`Entry`] (say
//!    `Entry<(Queue<Job>, Queue<Done>), ()>`) and exports it in a list the program passes
//!    to [`init`] together with its own entries (`init` takes a slice: concatenate). Start
//!    each worker with `Process::new(&WORKER, (jobs.clone(), done.clone()))?.daemon(true)`
//!    then `.start()` (or `.start_method(StartMethod::Forkserver)` for cheaper starts);
//!    daemon workers die with the pool's process, even if it is killed.
//! 2. **Jobs.** A job names its function by the name of a registered [`Entry`] and
//!    carries the argument as postcard bytes ([`encode`], wrapped in [`Bytes`] so that it
//!    travels as one `memcpy`): e.g. `struct Job { id: u64, entry: String, args: Bytes }`.
//!    The worker runs it with [`run_registered`], which returns the entry's value as bytes
//!    or the panic message (a panicking job does not kill the worker), and puts
//!    `Done { id, outcome: Result<Bytes, String> }`; the pool decodes the value with
//!    [`decode`] into the type of the entry it submitted.
//! 3. **Failures.** A worker that dies (killed, `exit` in a job) shows as
//!    [`Process::is_alive`] `false` or a finished [`Process::join_async`]; the job it held
//!    is lost with it (the queue guarantees it is not duplicated), so the pool fails that
//!    job's future and starts a new worker.
//! 4. **Shutdown.** [`Queue::close`] the job queue: workers get [`GetError::Closed`] once
//!    it is drained and return; then `join` them.
//!
//! The public API above (`Process`, `Entry`, `init`, `Queue`, `Bytes`, `encode`,
//! `decode`, `run_registered`) is stable for that use.
#![warn(missing_docs)]

// Under `--cfg loom` only the ring's protocols compile, for their model
// (`queue/ring/loom_ring.rs`); everything else needs real futexes and shared memory.
macro_rules! not_loom {
    ($($item:item)*) => { $( #[cfg(not(loom))] $item )* };
}

mod loom;
#[cfg(loom)]
mod queue {
    pub(crate) mod ring;
}

not_loom! {
mod bytes;
mod entry;
mod forkserver;
mod futex;
mod manager;
mod mutex;
mod pipe;
mod process;
mod queue;
mod shm;
mod sync;
mod sys;
mod wire;

pub use bytes::Bytes;
pub use entry::{init, Entry, Registered};
pub use manager::{DictProxy, ListProxy, Manager};
pub use pipe::{Connection, Pipe};
pub use process::{active_children, current_process, parent_pid, CurrentProcess, ExitStatus, Process, ProcessError};
pub use queue::{GetError, JoinableQueue, PutError, Queue, QueueBuilder, DEFAULT_BUFFER_BYTES, DEFAULT_CAPACITY};
pub use sync::barrier::{Barrier, BarrierError};
pub use sync::condition::{CondGuard, Condition};
pub use sync::event::Event;
pub use sync::lock::{Lock, LockGuard, LockResult, OwnerDied, RLock, RLockGuard};
pub use sync::semaphore::Semaphore;
pub use sync::value::{Array, ArrayGuard, Plain, Value, ValueGuard};
}

use std::sync::atomic::{AtomicU8, Ordering};

/// How a child process is started (see the crate docs for the contract and the costs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StartMethod {
    /// Execute this binary again (`posix_spawn` of `/proc/self/exe`).
    Spawn,
    /// Fork from a single-threaded fork server started (with `Spawn`) on first use.
    Forkserver,
}

impl StartMethod {
    /// Every start method, in the order of the docs.
    pub const ALL: [StartMethod; 2] = [StartMethod::Spawn, StartMethod::Forkserver];

    /// The name Python uses for it (`"spawn"`, `"forkserver"`).
    pub const fn name(self) -> &'static str {
        match self {
            StartMethod::Spawn => "spawn",
            StartMethod::Forkserver => "forkserver",
        }
    }
}

impl std::fmt::Display for StartMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for StartMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<StartMethod, String> {
        StartMethod::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = StartMethod::ALL.iter().map(|m| m.name()).collect();
                format!(
                    "unknown start method `{s}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

static DEFAULT_METHOD: AtomicU8 = AtomicU8::new(0);

/// Sets the start method of processes made from now on without
/// [`Process::start_method`] (Python's `set_start_method`).
pub fn set_start_method(method: StartMethod) {
    DEFAULT_METHOD.store(method as u8, Ordering::Relaxed);
}

/// The start method processes get by default.
pub fn default_start_method() -> StartMethod {
    StartMethod::ALL[DEFAULT_METHOD.load(Ordering::Relaxed) as usize]
}

#[cfg(not(loom))]
/// The entries this crate itself runs in children (the fork server, the manager).
pub(crate) fn builtin_entries() -> [&'static dyn Registered; 2] {
    [&forkserver::FORKSERVER, &manager::MANAGER]
}

#[cfg(not(loom))]
/// `value` as postcard bytes, the form in which arguments and results travel (for pools
/// that carry jobs through a [`Queue`] of bytes).
///
/// # Errors
///
/// `InvalidInput` if it does not serialize (an IPC object holding a descriptor refuses).
pub fn encode<T: serde::Serialize + ?Sized>(value: &T) -> std::io::Result<Vec<u8>> {
    wire::encode(value)
}

#[cfg(not(loom))]
/// Decodes postcard bytes made by [`encode`] or returned by [`run_registered`].
///
/// # Errors
///
/// `InvalidData` if the bytes are not a `T`.
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> std::io::Result<T> {
    wire::decode(bytes)
}

#[cfg(not(loom))]
/// Runs the registered entry named `name` in this process on postcard-encoded `args`
/// (see "For pools" in the crate docs): `Ok(bytes)` of its return value, or `Err` with the
/// panic message, the unknown name, or the decoding error.
///
/// # Errors
///
/// As described: the entry panicked, is not registered, or the arguments did not decode.
pub fn run_registered(name: &str, args: &[u8]) -> Result<Vec<u8>, String> {
    let entry = entry::lookup(name)
        .ok_or_else(|| format!("entry `{name}` is not registered in c10k_process::init"))?;
    match entry.__run(args, Vec::new()) {
        entry::Outcome::Returned(b) => Ok(b),
        entry::Outcome::Panicked(m) => Err(format!("panicked: {m}")),
        entry::Outcome::Failed(m) => Err(m),
    }
}
