//! Task dumps: what every live task of a runtime is doing, right now.
//!
//! [`Handle::dump`](crate::Handle::dump) returns a [`Dump`]: for each task its id, name,
//! spawn location, state (idle, scheduled, running and for how long), the time since its
//! last poll, and what it waits on. It is Go's `SIGQUIT` goroutine dump for c10k: the
//! servers of the `c10k` binary print one on `SIGQUIT` and keep serving.
//!
//! # Where each field comes from
//!
//! * **The list of tasks** is the scheduler's owned-tasks list (`list.rs`), which exists
//!   anyway so that shutdown can cancel every task: the dump walks it shard by shard, each
//!   shard's lock held only while its tasks' headers are copied (no system call, no wait
//!   under it), then formats outside the locks. The blocking pool's tasks are listed too,
//!   and those of every `LocalSet` the runtime has driven (each set's own list; the sets
//!   are remembered by the runtime that first polls their `run_until`, `local.rs`).
//! * **Id, name, spawn location**: the header (`header.rs`). The location is captured by the
//!   `#[track_caller]` spawn functions and shares one word with the name (`Info`).
//! * **State**: the task's state word (`state.rs`): `RUNNING`, else `SCHEDULED`, else idle.
//! * **Times**: before each poll the scheduler stamps the task's header with the time of
//!   its current turn (`begin_poll`, called from `executor/hooks.rs::run`, the one place
//!   both schedulers and the `LocalSet` poll through). The turn's time is a global coarse
//!   clock (`CLOCK_MONOTONIC_COARSE`, a few milliseconds of resolution) read once per
//!   scheduler turn (`tick`, from the park path every turn goes through, `executor/park.rs`),
//!   so a poll costs two relaxed stores and no clock read. A running task's duration and an
//!   idle task's time since its last poll are therefore accurate to the coarse clock's
//!   resolution plus the length of the scheduler turn before the poll began (at most
//!   `EVENT_INTERVAL` polls): good for "stuck for 3 s", not for microbenchmarks.
//! * **What it waits on** is recorded by the leaf futures themselves, into the
//!   runtime-agnostic `c10k_wait` slot that the header carries, which a leaf reaches through
//!   the waker it is polled with (the runtime registers its task wakers' vtable and the
//!   slot's offset, `task/waker.rs`; nothing is done per poll but clearing the slot):
//!   sockets (read, write, accept; the fd, whose peer the dump asks the kernel for), timers
//!   (the deadline), join handles (the other task), and `c10k-sync`'s locks and channels
//!   (the kind, and a lock's holder). The first leaf that returns `Pending` in a poll wins
//!   (in `select(read, shutdown)` or `timeout(d, read)`, the read). Nothing is recorded
//!   unless a leaf returns `Pending`, and nothing is formatted until a dump.
//!
//! # Never stopping the runtime
//!
//! The dump reads only atomics and immutable fields of the headers; it never polls, never
//! waits for a worker and never takes a scheduler's core, so it works while a worker is
//! stuck in a long poll (that task shows as running, with its duration) and from any
//! thread, including a signal-handling task on the runtime itself.
//!
//! The figures (10 000 tasks, and the cost of the bookkeeping on the runtime benches) are
//! in `BENCHMARKS.md`, § Task dump.

use std::fmt;
use std::net::SocketAddr;
use std::os::fd::{BorrowedFd, RawFd};
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant as StdInstant};

pub use c10k_wait::{ChannelKind, ChannelOp, SyncKind};

use super::header::Header;
use super::state::{CLOSED, COMPLETE, RUNNING, SCHEDULED};
use super::Id;

/// The coarse time of the latest scheduler turn, in nanoseconds of `CLOCK_MONOTONIC_COARSE`
/// (0 until the first turn). Process-wide: every runtime's turns keep it fresh.
static TURN: AtomicU64 = AtomicU64::new(0);

/// `CLOCK_MONOTONIC_COARSE` in nanoseconds. Through glibc rather than rustix: both read the
/// vDSO, but rustix's own vDSO lookup faults under valgrind, which the dump's cost
/// measurement (`bench/dump-ab.sh -m instr`) runs the runtime benches in.
fn coarse_clock() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable `timespec`; `CLOCK_MONOTONIC_COARSE` exists on every
    // Linux this runtime supports, so the call cannot fail (and `t` stays 0 if it did).
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut t) };
    (t.tv_sec as u64) * 1_000_000_000 + t.tv_nsec as u64
}

/// A scheduler turn begins (or a parked thread woke): refresh the coarse clock.
#[inline]
pub(crate) fn tick() {
    TURN.store(coarse_clock(), Ordering::Relaxed);
}

/// A poll of the task `header` begins: stamp its time and forget what it waited on. The
/// clock was set when the first runtime (or `LocalSet`) was built (`register`), so it is
/// never 0 here.
#[inline]
pub(crate) fn begin_poll(header: &Header) {
    header
        .trace
        .polled_at
        .store(TURN.load(Ordering::Relaxed), Ordering::Relaxed);
    header.trace.wait.clear();
}

/// The origin of timer deadlines in wait records (microseconds since it).
fn epoch() -> StdInstant {
    static EPOCH: OnceLock<StdInstant> = OnceLock::new();
    *EPOCH.get_or_init(StdInstant::now)
}

/// Records that the polling task waits for a timer due at `deadline` (`time/sleep.rs`).
#[inline]
pub(crate) fn record_timer(cx: &std::task::Context<'_>, deadline: StdInstant) {
    let micros = deadline.saturating_duration_since(epoch()).as_micros();
    c10k_wait::record(
        cx,
        c10k_wait::Reason::Timer {
            deadline: micros.min(u64::MAX as u128) as u64,
        },
    );
}

/// A snapshot of every live task of a runtime, from [`Handle::dump`](crate::Handle::dump).
///
/// `Display` prints one block per task, oldest first, in the style of Go's goroutine dump.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// rt.block_on(async {
///     let sleeper = c10k_runtime::task::Builder::new()
///         .name("sleeper")
///         .spawn(c10k_runtime::time::sleep(Duration::from_secs(60)));
///     c10k_runtime::task::yield_now().await; // let it reach its timer
///     let dump = c10k_runtime::Handle::current().dump();
///     let task = dump.tasks().iter().find(|t| t.id() == sleeper.id()).unwrap();
///     assert_eq!(task.name(), Some("sleeper"));
///     assert!(matches!(task.waiting_on(), Some(c10k_runtime::task::dump::WaitOn::Timer { .. })));
///     println!("{dump}");
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Dump {
    tasks: Vec<TaskDump>,
    took: Duration,
}

impl Dump {
    /// The tasks, in id order (oldest first).
    ///
    /// # Examples
    ///
    /// See [`Dump`].
    pub fn tasks(&self) -> &[TaskDump] {
        &self.tasks
    }

    /// How long taking the dump took (walking the task lists and asking the kernel for
    /// socket peers).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// assert!(rt.handle().dump().took() < std::time::Duration::from_secs(1));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn took(&self) -> Duration {
        self.took
    }
}

/// One task of a [`Dump`].
#[derive(Debug, Clone)]
pub struct TaskDump {
    id: Id,
    name: Option<String>,
    location: &'static Location<'static>,
    state: TaskState,
    since_poll: Option<Duration>,
    wait: Option<WaitOn>,
    blocking: bool,
}

impl TaskDump {
    /// The task's id.
    ///
    /// # Examples
    ///
    /// See [`Dump`].
    pub fn id(&self) -> Id {
        self.id
    }

    /// The task's name, if it was spawned with [`Builder::name`](super::Builder::name).
    ///
    /// # Examples
    ///
    /// See [`Dump`].
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where the task was spawned (the caller of `spawn`, `Builder::spawn`, `JoinSet::spawn`,
    /// `spawn_blocking`...).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// let h = rt.spawn(std::future::pending::<()>());
    /// let dump = rt.handle().dump();
    /// assert_eq!(dump.tasks()[0].location().line(), line!() - 2);
    /// # drop(h);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// Idle, scheduled or running.
    ///
    /// # Examples
    ///
    /// See [`TaskState`].
    pub fn state(&self) -> TaskState {
        self.state
    }

    /// The time since the task's last poll began (while it runs: since the current poll
    /// began), or `None` if it was never polled. Accurate to a few milliseconds (see the
    /// module docs).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// let h = rt.spawn(std::future::pending::<()>());
    /// // Spawned but never polled yet: the runtime has not run.
    /// assert_eq!(rt.handle().dump().tasks()[0].since_last_poll(), None);
    /// # drop(h);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn since_last_poll(&self) -> Option<Duration> {
        self.since_poll
    }

    /// What the task's last poll waited on, as the leaf future that returned `Pending`
    /// recorded it, or `None` if it recorded nothing (a future that is not one of the
    /// runtime's or `c10k-sync`'s, or a task never polled).
    ///
    /// # Examples
    ///
    /// See [`Dump`] and [`WaitOn`].
    pub fn waiting_on(&self) -> Option<&WaitOn> {
        self.wait.as_ref()
    }

    /// Whether this is a task of the blocking pool (`spawn_blocking`).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let h = rt.handle().spawn_blocking(move || rx.recv());
    /// let dump = rt.handle().dump();
    /// assert!(dump.tasks().iter().any(|t| t.id() == h.id() && t.is_blocking()));
    /// drop(tx);
    /// rt.block_on(h).unwrap().unwrap_err();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_blocking(&self) -> bool {
        self.blocking
    }
}

/// What a task is doing when the dump is taken.
///
/// # Examples
///
/// ```
/// use c10k_runtime::task::dump::TaskState;
/// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// let h = rt.spawn(std::future::pending::<()>());
/// // Spawned, not polled yet: it waits in the run queue.
/// assert_eq!(rt.handle().dump().tasks()[0].state(), TaskState::Scheduled);
/// rt.block_on(c10k_runtime::task::yield_now());
/// assert_eq!(rt.handle().dump().tasks()[0].state(), TaskState::Idle);
/// # drop(h);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// Not running and not queued: waiting to be woken.
    Idle,
    /// Woken (or new), waiting in a run queue.
    Scheduled,
    /// Being polled by a worker (or, for a blocking task, running on a pool thread).
    Running {
        /// For how long the current poll has been running (see the module docs for the
        /// accuracy).
        for_: Duration,
    },
    /// Aborted, waiting for its scheduler to drop it.
    Cancelling,
}

/// What a task waits on, from the leaf future that made it wait.
///
/// # Examples
///
/// ```
/// use c10k_runtime::task::dump::WaitOn;
/// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// rt.block_on(async {
///     let listener = c10k_runtime::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let acceptor = c10k_runtime::spawn(async move { listener.accept().await.map(|_| ()) });
///     c10k_runtime::task::yield_now().await;
///     let dump = c10k_runtime::Handle::current().dump();
///     let t = dump.tasks().iter().find(|t| t.id() == acceptor.id()).unwrap();
///     assert!(matches!(t.waiting_on(), Some(WaitOn::Accept { local: Some(a), .. }) if *a == addr));
///     acceptor.abort();
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitOn {
    /// Data on a socket (readiness, or a completion-based receive).
    Read {
        /// The socket.
        fd: RawFd,
        /// Its peer, as `getpeername` reports it at the time of the dump (`None` for a
        /// socket without an IP peer).
        peer: Option<SocketAddr>,
    },
    /// Room on a socket (or a send to complete).
    Write {
        /// The socket.
        fd: RawFd,
        /// Its peer, as for `Read`.
        peer: Option<SocketAddr>,
    },
    /// A connection on a listener.
    Accept {
        /// The listening socket.
        fd: RawFd,
        /// The address it listens on.
        local: Option<SocketAddr>,
    },
    /// A timer.
    Timer {
        /// The deadline (on the runtime's clock, which tests may pause).
        deadline: crate::time::Instant,
        /// The time left until it, at the time of the dump (zero if it is due).
        remaining: Duration,
    },
    /// Another task, through its `JoinHandle`.
    Join {
        /// The task joined.
        task: Id,
    },
    /// A `c10k-sync` lock, semaphore, event, condition variable or barrier.
    Sync {
        /// Which primitive.
        kind: SyncKind,
        /// For a lock: the task that held it when the waiter last looked (`None`: a
        /// thread, or not known).
        holder: Option<Id>,
    },
    /// A `c10k-sync` channel or queue.
    Channel {
        /// Which channel.
        kind: ChannelKind,
        /// Receiving (it is empty) or sending (it is full).
        op: ChannelOp,
    },
}

/// What is copied of a task under its list's lock.
pub(crate) struct Raw {
    id: Id,
    name: Option<String>,
    location: &'static Location<'static>,
    state: usize,
    polled_at: u64,
    wait: Option<c10k_wait::Reason>,
    blocking: bool,
}

impl Raw {
    /// Copies a task's header (called with the task's list shard locked, so it is alive).
    pub(crate) fn of(header: &Header, blocking: bool) -> Raw {
        Raw {
            id: header.id,
            name: header.name().map(str::to_owned),
            location: header.info.location(),
            state: header.state.load().0,
            polled_at: header.trace.polled_at.load(Ordering::Relaxed),
            wait: header.trace.wait.load(),
            blocking,
        }
    }
}

/// Turns the copies into a [`Dump`]: states, durations, and the kernel's view of the
/// sockets. `clock_now` is the runtime clock (for timer deadlines).
pub(crate) fn finish(mut raws: Vec<Raw>, clock_now: StdInstant, started: StdInstant) -> Dump {
    raws.sort_by_key(|r| r.id);
    let now = coarse_clock();
    let since = |at: u64| Duration::from_nanos(now.saturating_sub(at));
    let tasks = raws
        .into_iter()
        .filter(|r| r.state & COMPLETE == 0)
        .map(|r| {
            let state = if r.state & RUNNING != 0 {
                TaskState::Running {
                    for_: if r.polled_at == 0 {
                        Duration::ZERO
                    } else {
                        since(r.polled_at)
                    },
                }
            } else if r.state & CLOSED != 0 {
                TaskState::Cancelling
            } else if r.state & SCHEDULED != 0 {
                TaskState::Scheduled
            } else {
                TaskState::Idle
            };
            TaskDump {
                id: r.id,
                name: r.name,
                location: r.location,
                state,
                since_poll: (r.polled_at != 0).then(|| since(r.polled_at)),
                wait: r.wait.and_then(|w| resolve(w, clock_now)),
                blocking: r.blocking,
            }
        })
        .collect();
    Dump {
        tasks,
        took: started.elapsed(),
    }
}

fn resolve(reason: c10k_wait::Reason, clock_now: StdInstant) -> Option<WaitOn> {
    use c10k_wait::Reason;
    Some(match reason {
        Reason::Read { fd } => WaitOn::Read { fd, peer: peer(fd) },
        Reason::Write { fd } => WaitOn::Write { fd, peer: peer(fd) },
        Reason::Accept { fd } => WaitOn::Accept {
            fd,
            local: local(fd),
        },
        Reason::Timer { deadline } => {
            let at = epoch() + Duration::from_micros(deadline);
            WaitOn::Timer {
                deadline: crate::time::Instant::from_std(at),
                remaining: at.saturating_duration_since(clock_now),
            }
        }
        Reason::Join { task } => WaitOn::Join {
            task: Id::from_u64(task)?,
        },
        Reason::Sync { kind, holder } => WaitOn::Sync {
            kind,
            holder: holder.and_then(Id::from_u64),
        },
        Reason::Channel { kind, op } => WaitOn::Channel { kind, op },
        _ => return None,
    })
}

/// The fd as the dump sees it: it may have been closed (and its number reused) since the
/// task recorded it, in which case the kernel's answer concerns whatever holds the number
/// now, or is an error (`None`). `getpeername`/`getsockname` have no side effects.
fn borrowed(fd: RawFd) -> Option<BorrowedFd<'static>> {
    // SAFETY: the fd is only passed to `getpeername`/`getsockname`, which neither close it
    // nor keep it; if it was closed meanwhile they fail with `EBADF` or describe whatever
    // file now has the number, which is the documented staleness of a dump.
    (fd >= 0).then(|| unsafe { BorrowedFd::borrow_raw(fd) })
}

fn peer(fd: RawFd) -> Option<SocketAddr> {
    inet(rustix::net::getpeername(borrowed(fd)?).ok()??)
}

fn local(fd: RawFd) -> Option<SocketAddr> {
    inet(rustix::net::getsockname(borrowed(fd)?).ok()?)
}

fn inet(addr: rustix::net::SocketAddrAny) -> Option<SocketAddr> {
    SocketAddr::try_from(addr).ok()
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "c10k task dump: {} task{} (taken in {:.2?})",
            self.tasks.len(),
            if self.tasks.len() == 1 { "" } else { "s" },
            self.took
        )?;
        for t in &self.tasks {
            writeln!(f)?;
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

impl fmt::Display for TaskDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.id)?;
        if let Some(n) = &self.name {
            write!(f, " {n:?}")?;
        }
        if self.blocking {
            f.write_str(" (blocking)")?;
        }
        write!(f, " [{}]", self.state)?;
        if let Some(d) = self.since_poll {
            if !matches!(self.state, TaskState::Running { .. }) {
                write!(f, ", last polled {} ago", Secs(d))?;
            }
        }
        writeln!(f)?;
        writeln!(f, "    spawned at {}", self.location)?;
        if let Some(w) = &self.wait {
            writeln!(f, "    waiting on {w}")?;
        }
        Ok(())
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskState::Idle => f.write_str("idle"),
            TaskState::Scheduled => f.write_str("scheduled"),
            TaskState::Running { for_ } => write!(f, "running for {}", Secs(*for_)),
            TaskState::Cancelling => f.write_str("cancelling"),
        }
    }
}

impl fmt::Display for WaitOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addr = |a: &Option<SocketAddr>| a.map_or_else(|| "?".to_owned(), |a| a.to_string());
        match self {
            WaitOn::Read { fd, peer } => write!(f, "read of fd {fd} (peer {})", addr(peer)),
            WaitOn::Write { fd, peer } => write!(f, "write to fd {fd} (peer {})", addr(peer)),
            WaitOn::Accept { fd, local } => {
                write!(f, "accept on fd {fd} (listening on {})", addr(local))
            }
            WaitOn::Timer { remaining, .. } => write!(f, "timer due in {}", Secs(*remaining)),
            WaitOn::Join { task } => write!(f, "join of task {task}"),
            WaitOn::Sync { kind, holder } => {
                write!(f, "{kind}")?;
                match holder {
                    Some(h) => write!(f, " held by task {h}"),
                    None => Ok(()),
                }
            }
            WaitOn::Channel { kind, op } => match op {
                ChannelOp::Recv => write!(f, "{kind} channel receive (empty)"),
                ChannelOp::Send => write!(f, "{kind} channel send (full)"),
                _ => write!(f, "{kind} channel"),
            },
        }
    }
}

/// A duration in seconds with millisecond precision, as a dump prints it.
struct Secs(Duration);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}s", self.0.as_secs_f64())
    }
}
