//! The manager thread: starts the workers, watches them die, replaces the retired ones.
//!
//! It sleeps in one `poll(2)` over an eventfd (requests from the pool's handle and its
//! collector) and every worker's exit descriptor ([`Process::exit_fd`]), so a death is seen
//! at once, with no timer. When a worker ends:
//!
//! - its entry returned (`max_tasks_per_child` reached, or the jobs queue closed):
//!   while the jobs queue is open, a new worker takes its place;
//! - anything else: `Done::Died` goes into the results queue, behind the results the worker
//!   sent before dying, and the collector breaks the pool.
//!
//! When no worker is left and none will be started, it puts `Done::Stop` and returns.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use c10k_process::{Bytes, Process, StartMethod};
use rustix::event::{eventfd, poll, EventfdFlags, PollFd, PollFlags};

use super::worker::{worker_entry, Done, WorkerArgs};
use super::{lock, Shared};

/// What the pool asks of its manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    /// SIGTERM every worker.
    Terminate,
    /// SIGKILL every worker.
    Kill,
}

/// The way into the manager thread: requests and the eventfd that wakes it.
pub(crate) struct Control {
    efd: OwnedFd,
    requests: Mutex<Vec<Request>>,
    pids: Mutex<Vec<u32>>,
}

impl Control {
    pub(crate) fn new() -> io::Result<Control> {
        let efd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        Ok(Control {
            efd,
            requests: Mutex::new(Vec::new()),
            pids: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn request(&self, r: Request) {
        lock(&self.requests).push(r);
        // A full counter (2^64 - 2 wakes pending) cannot happen; the wake is there already.
        let _ = rustix::io::write(&self.efd, &1u64.to_ne_bytes());
    }

    pub(crate) fn pids(&self) -> Vec<u32> {
        lock(&self.pids).clone()
    }
}

/// How the workers are made.
pub(crate) struct Config {
    pub(crate) workers: usize,
    pub(crate) method: StartMethod,
    pub(crate) name_prefix: String,
    pub(crate) max_tasks: u64,
    pub(crate) init: Option<(String, Bytes)>,
}

/// Starts the manager thread, which starts the first workers; returns once they started
/// (or with the error that stopped the first one).
pub(crate) fn start(shared: Arc<Shared>, config: Config) -> io::Result<JoinHandle<()>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::Builder::new()
        .name("c10k-ppool-manager".into())
        .spawn(move || {
            let mut workers = Vec::with_capacity(config.workers);
            for i in 0..config.workers {
                match start_worker(&shared, &config, i as u32) {
                    Ok(p) => workers.push(Some(p)),
                    Err(e) => {
                        for p in workers.iter().flatten() {
                            let _ = Process::kill(p);
                        }
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
            let _ = tx.send(Ok(()));
            drop(tx);
            run(&shared, &config, workers);
        })?;
    match rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(e)
        }
        Err(_) => {
            let _ = handle.join();
            Err(io::Error::other(
                "the pool's manager thread ended while starting the workers",
            ))
        }
    }
}

fn start_worker(shared: &Shared, config: &Config, index: u32) -> io::Result<Process<u64>> {
    let args = WorkerArgs {
        jobs: shared.jobs.clone(),
        done: shared.done.clone(),
        index,
        max_tasks: config.max_tasks,
        init: config.init.clone(),
    };
    let mut p = Process::new(worker_entry(), args)?
        .name(format!("{}-{index}", config.name_prefix))
        .daemon(true)
        .start_method(config.method);
    p.start()?;
    Ok(p)
}

fn run(shared: &Shared, config: &Config, mut workers: Vec<Option<Process<u64>>>) {
    let mut signalled: Option<Request> = None;
    loop {
        *lock(&shared.ctl.pids) = workers.iter().flatten().filter_map(|p| p.pid()).collect();
        // Requests first: a worker that ends because of one is not a surprise.
        let requests = std::mem::take(&mut *lock(&shared.ctl.requests));
        for r in requests {
            signalled = Some(match (signalled, r) {
                (Some(Request::Kill), _) | (_, Request::Kill) => Request::Kill,
                _ => Request::Terminate,
            });
            for p in workers.iter().flatten() {
                let _ = match r {
                    Request::Terminate => p.terminate(),
                    Request::Kill => p.kill(),
                };
            }
        }
        for (i, slot) in workers.iter_mut().enumerate() {
            let Some(status) = slot.as_ref().and_then(|p| p.status()) else {
                continue;
            };
            let Some(mut p) = slot.take() else { continue };
            // Clean only if the worker's entry returned (its value arrived), not if a job
            // called `exit(0)`.
            if p.join_value().is_ok() {
                if !shared.jobs.is_closed() && signalled.is_none() {
                    match start_worker(shared, config, i as u32) {
                        Ok(p) => *slot = Some(p),
                        Err(e) => {
                            let _ = shared.done.put(Done::Died {
                                why: format!("cannot start a worker to replace a retired one: {e}"),
                            });
                        }
                    }
                }
            } else {
                let after = match signalled {
                    Some(Request::Terminate) => " after terminate_workers",
                    Some(Request::Kill) => " after kill_workers",
                    None => "",
                };
                let why = format!(
                    "worker {i} (pid {}) ended abruptly: {status}{after}",
                    p.pid().unwrap_or(0)
                );
                let _ = shared.done.put(Done::Died { why });
            }
        }
        if workers.iter().all(Option::is_none) {
            lock(&shared.ctl.pids).clear();
            let _ = shared.done.put(Done::Stop);
            return;
        }
        let mut fds = Vec::with_capacity(workers.len() + 1);
        fds.push(PollFd::new(&shared.ctl.efd, PollFlags::IN));
        for p in workers.iter().flatten() {
            if let Some(fd) = p.exit_fd() {
                fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
            }
        }
        match poll(&mut fds, None) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                // poll on valid descriptors does not fail; if it does, the pool cannot watch
                // its workers any more: say so on every future rather than hang.
                let _ = shared.done.put(Done::Died {
                    why: format!("the pool cannot watch its workers: poll failed: {e}"),
                });
                for p in workers.iter().flatten() {
                    let _ = p.kill();
                }
            }
        }
        let mut b = [0u8; 8];
        let _ = rustix::io::read(shared.ctl.efd.as_fd(), &mut b);
    }
}
