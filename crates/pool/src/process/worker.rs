//! What travels between the pool and its worker processes, and the worker's loop.
//!
//! # The worker's protocol
//!
//! 1. The worker runs the initializer, if any. If it fails, the worker puts
//!    [`Done::InitFailed`] and exits with code 3, so the pool breaks (Python's
//!    `BrokenProcessPool` after a failed initializer) instead of starting it again.
//! 2. It takes a [`Job`] from the jobs queue, runs the named entry on each argument of the
//!    job (one for `submit`, a chunk for `map`), and puts [`Done::Ran`] with one outcome per
//!    argument. A panic is an outcome, not the worker's death.
//! 3. After `max_tasks` jobs (0: no limit) it returns (its outcome frame reaches the
//!    manager, exit code 0): the manager sees a clean exit and starts a replacement.
//! 4. When the jobs queue is closed and drained, it returns (exit code 0).

use c10k_process::{Bytes, Entry, GetError, PutError, Queue, Registered};
use serde::{Deserialize, Serialize};

/// One unit of work: the entry to run, by name, and its postcard-encoded arguments.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Job {
    pub(crate) id: u64,
    pub(crate) entry: String,
    pub(crate) args: Vec<Bytes>,
}

/// What the collector thread of the pool receives, in order.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Done {
    /// A job ran: one outcome per argument, the value's bytes or why there is none.
    Ran {
        id: u64,
        outcomes: Vec<Result<Bytes, String>>,
    },
    /// A worker's initializer failed (step 1).
    InitFailed { worker: u32, why: String },
    /// From the manager: a worker ended without being asked to, or could not start.
    Died { why: String },
    /// From the manager: every worker is gone; the collector ends.
    Stop,
}

/// The worker entry's argument.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WorkerArgs {
    pub(crate) jobs: Queue<Job>,
    pub(crate) done: Queue<Done>,
    pub(crate) index: u32,
    pub(crate) max_tasks: u64,
    pub(crate) init: Option<(String, Bytes)>,
}

/// The prefix [`c10k_process::run_registered`] puts before a panic message.
const PANICKED: &str = "panicked: ";

/// Splits a worker's error text back into a panic or another failure.
pub(crate) fn remote_error(why: String) -> crate::PoolError {
    match why.strip_prefix(PANICKED) {
        Some(msg) => crate::PoolError::Panicked(msg.to_owned()),
        None => crate::PoolError::Failed(why),
    }
}

/// Returns the number of jobs it ran: a worker that *returned* sent an outcome frame, which
/// tells the manager its exit was clean (a job that calls `exit(0)` sends none).
fn worker(args: WorkerArgs) -> u64 {
    let WorkerArgs {
        jobs,
        done,
        index,
        max_tasks,
        init,
    } = args;
    if let Some((name, bytes)) = init {
        if let Err(why) = c10k_process::run_registered(&name, &bytes) {
            let _ = done.put(Done::InitFailed { worker: index, why });
            std::process::exit(3);
        }
    }
    let mut ran = 0u64;
    loop {
        let job = match jobs.get() {
            Ok(job) => job,
            Err(GetError::Closed) => return ran,
            // A job that does not decode cannot be answered (its id is in it); the pool
            // wrote it, so this is a bug, reported loudly rather than hidden.
            Err(e) => {
                let _ = done.put(Done::InitFailed {
                    worker: index,
                    why: format!("a job did not decode: {e}"),
                });
                std::process::exit(3);
            }
        };
        let outcomes: Vec<Result<Bytes, String>> = job
            .args
            .iter()
            .map(|a| c10k_process::run_registered(&job.entry, a).map(Bytes::from))
            .collect();
        let n = outcomes.len();
        match done.put(Done::Ran {
            id: job.id,
            outcomes,
        }) {
            Ok(()) => {}
            Err(PutError::Invalid(_, e)) => {
                // The values are too large for the results ring: each gets the reason.
                let why = format!("the result cannot travel back: {e}");
                let outcomes = (0..n).map(|_| Err(why.clone())).collect();
                if done
                    .put(Done::Ran {
                        id: job.id,
                        outcomes,
                    })
                    .is_err()
                {
                    return ran;
                }
            }
            Err(_) => return ran, // closed: the pool is gone
        }
        ran += 1;
        if max_tasks != 0 && ran >= max_tasks {
            return ran;
        }
    }
}

static WORKER: Entry<WorkerArgs, u64> = Entry::new("c10k-pool-worker", worker);

/// The entry every [`ProcessPool`](crate::ProcessPool) worker runs: list it in
/// [`c10k_process::init`] with the program's own entries (first thing in `main`).
///
/// ```no_run
/// use c10k_process::Entry;
///
/// fn square(x: u64) -> u64 {
///     x * x
/// }
/// static SQUARE: Entry<u64, u64> = Entry::new("square", square);
///
/// fn main() {
///     c10k_process::init(&[c10k_pool::PROCESS_WORKER, &SQUARE]);
///     // ...
/// }
/// ```
pub static PROCESS_WORKER: &dyn Registered = &WORKER;

pub(crate) fn worker_entry() -> &'static Entry<WorkerArgs, u64> {
    &WORKER
}
