use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use super::hooks::{PollHook, TaskMeta};
use super::runtime::{Runtime, Scheduler};
use super::{current_thread, multi_thread, scheduler, Handle, LongPoll, LongPollConfig};
use crate::blocking;
use crate::driver::uring::UringConfig;
use crate::driver::{Backend, Driver};
use crate::time::TimeDriver;

/// Configures and builds a [`Runtime`].
///
/// | knob | default |
/// |---|---|
/// | flavor | multi-thread (`current_thread()` for asyncio's single-threaded loop) |
/// | [`worker_threads`](Self::worker_threads) | the number of CPUs |
/// | [`backend`](Self::backend) | `Backend::best()` (epoll on Linux; `Backend::auto()` prefers io_uring) |
/// | [`uring_entries`](Self::uring_entries) | 4096 submission queue entries per ring |
/// | [`uring_buffers`](Self::uring_buffers) | at most 4096 provided receive buffers of 2 KiB per ring |
/// | [`uring_initial_buffers`](Self::uring_initial_buffers) | 64 of them at start-up (the group grows when it runs dry) |
/// | [`uring_stream_buffers`](Self::uring_stream_buffers) | 16 received buffers held unread per stream |
/// | [`uring_send_limit`](Self::uring_send_limit) | 64 KiB written and not yet sent per stream |
/// | [`uring_accept_queue`](Self::uring_accept_queue) | 1024 accepted connections queued per listener |
/// | [`uring_single_issuer`](Self::uring_single_issuer) | on |
/// | [`uring_linger`](Self::uring_linger) | 10 s of sending after a stream with unsent bytes is dropped |
/// | [`thread_name`](Self::thread_name) | `"c10k-worker"` (threads are `c10k-worker-0`, …, `c10k-worker-blocking-3`) |
/// | [`long_poll_threshold`](Self::long_poll_threshold) | off (no long-poll detection) |
/// | [`long_poll_watchdog`](Self::long_poll_watchdog) | on for multi-thread, off for current-thread (with a threshold) |
/// | [`on_before_task_poll`](Self::on_before_task_poll), [`on_after_task_poll`](Self::on_after_task_poll) | none |
/// | [`max_blocking_threads`](Self::max_blocking_threads) | 512 |
/// | [`thread_keep_alive`](Self::thread_keep_alive) | 10 s |
///
/// # Examples
///
/// ```
/// use c10k_runtime::Runtime;
/// use c10k_runtime::driver::Backend;
///
/// let rt = Runtime::builder()
///     .multi_thread()
///     .worker_threads(2)
///     .backend(Backend::Poll)
///     .thread_name("server")
///     .build()?;
/// assert_eq!(rt.block_on(async { c10k_runtime::spawn(async { 1 + 1 }).await.unwrap() }), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder {
    kind: Kind,
    config: Config,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    CurrentThread,
    MultiThread,
}

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) worker_threads: usize,
    pub(crate) backend: Option<Backend>,
    pub(crate) thread_name: String,
    pub(crate) stack_size: usize,
    pub(crate) long_poll: LongPollConfig,
    pub(crate) before_poll: Option<PollHook>,
    pub(crate) after_poll: Option<PollHook>,
    pub(crate) max_blocking_threads: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) uring: UringConfig,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// A builder with the defaults of the table above.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Builder::new().build()?; // same as Runtime::builder()
    /// assert_eq!(rt.block_on(async { 3 }), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> Builder {
        Builder {
            kind: Kind::MultiThread,
            config: Config {
                worker_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
                backend: None,
                thread_name: "c10k-worker".into(),
                stack_size: 2 << 20,
                long_poll: LongPollConfig {
                    threshold: None,
                    hook: None,
                    watchdog: None,
                },
                before_poll: None,
                after_poll: None,
                max_blocking_threads: 512,
                keep_alive: Duration::from_secs(10),
                uring: UringConfig::default(),
            },
        }
    }

    /// Every task runs on the thread that calls [`Runtime::block_on`] (asyncio's model).
    /// The runtime creates no thread except for the blocking pool.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// let caller = std::thread::current().id();
    /// let ran_on = rt.block_on(async {
    ///     c10k_runtime::spawn(async { std::thread::current().id() }).await.unwrap()
    /// });
    /// assert_eq!(ran_on, caller);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn current_thread(mut self) -> Builder {
        self.kind = Kind::CurrentThread;
        self
    }

    /// Tasks run on a pool of worker threads that steal work from each other.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().multi_thread().worker_threads(2).build()?;
    /// let caller = std::thread::current().id();
    /// let ran_on = rt.block_on(async {
    ///     c10k_runtime::spawn(async { std::thread::current().id() }).await.unwrap()
    /// });
    /// assert_ne!(ran_on, caller); // tasks run on the workers
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn multi_thread(mut self) -> Builder {
        self.kind = Kind::MultiThread;
        self
    }

    /// The number of worker threads of a multi-thread runtime (at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().worker_threads(1).build()?;
    /// assert_eq!(rt.block_on(async { c10k_runtime::spawn(async { 5 }).await.unwrap() }), 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn worker_threads(mut self, n: usize) -> Builder {
        self.config.worker_threads = n.max(1);
        self
    }

    /// The IO backend of the driver(s): a [`Backend`] (or a `c10k_selector::Backend`).
    ///
    /// # Errors
    ///
    /// [`build`](Self::build) fails if the backend is unavailable: for
    /// [`Backend::Uring`], where io_uring is missing (`ENOSYS`), forbidden (`EPERM`, a
    /// seccomp profile, `kernel.io_uring_disabled`) or disabled with
    /// `C10K_URING_DISABLE=1`. [`Backend::auto()`] picks io_uring only where it works.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::driver::Backend;
    /// let rt = c10k_runtime::Runtime::builder()
    ///     .current_thread()
    ///     .backend(Backend::Select)
    ///     .build()?;
    /// assert_eq!(rt.handle().backend(), Backend::Select);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn backend(mut self, backend: impl Into<Backend>) -> Builder {
        self.config.backend = Some(backend.into());
        self
    }

    /// Submission queue entries of each io_uring (the completion queue gets twice as many);
    /// more are needed only if one turn queues more operations than this, which then costs
    /// an extra `io_uring_enter` to flush. Only for [`Backend::Uring`].
    ///
    /// # Examples
    ///
    /// ```
    /// let b = c10k_runtime::Runtime::builder().uring_entries(1024);
    /// # drop(b);
    /// ```
    pub fn uring_entries(mut self, entries: u32) -> Builder {
        self.config.uring.entries = entries.max(8);
        self
    }

    /// The provided receive buffers of each io_uring: at most `count` buffers of `size`
    /// bytes (it starts with [`uring_initial_buffers`](Self::uring_initial_buffers)),
    /// shared by every stream of the ring and held only while received data waits to be
    /// read. When all are in use, streams read with `recv(2)` into the reader's buffer
    /// instead (see `driver`'s `uring` docs). Only for [`Backend::Uring`].
    ///
    /// # Examples
    ///
    /// ```
    /// let b = c10k_runtime::Runtime::builder().uring_buffers(1024, 16 * 1024);
    /// # drop(b);
    /// ```
    pub fn uring_buffers(mut self, count: u16, size: u32) -> Builder {
        self.config.uring.buffers = count.max(1);
        self.config.uring.buffer_size = size.max(1);
        self
    }

    /// Provided receive buffers registered when each io_uring is built (default 64, at
    /// most the `count` of [`uring_buffers`](Self::uring_buffers)). When a receive finds
    /// them all in use, the group doubles, up to that `count`. The buffers' memory is not
    /// written at allocation, so only pages that received data are resident. Only for
    /// [`Backend::Uring`].
    ///
    /// # Examples
    ///
    /// ```
    /// let b = c10k_runtime::Runtime::builder().uring_initial_buffers(64);
    /// # drop(b);
    /// ```
    pub fn uring_initial_buffers(mut self, n: u16) -> Builder {
        self.config.uring.initial_buffers = n.max(1);
        self
    }

    /// Received buffers one stream may hold unread before its receive pauses (the data
    /// then waits in the socket, and TCP flow control slows the peer). Only for
    /// [`Backend::Uring`].
    ///
    /// # Examples
    ///
    /// ```
    /// let b = c10k_runtime::Runtime::builder().uring_stream_buffers(4);
    /// # drop(b);
    /// ```
    pub fn uring_stream_buffers(mut self, n: usize) -> Builder {
        self.config.uring.stream_buffers = n.max(1);
        self
    }

    /// Bytes one stream may have written and not yet sent before writes wait. Only for
    /// [`Backend::Uring`] (on the readiness backends, the kernel's socket buffer is the
    /// limit).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = c10k_runtime::Runtime::builder().uring_send_limit(256 * 1024);
    /// # drop(b);
    /// ```
    pub fn uring_send_limit(mut self, bytes: usize) -> Builder {
        self.config.uring.send_limit = bytes.max(1);
        self
    }

    /// Accepted connections one listener may queue before its accept pauses (they then
    /// wait in the kernel's backlog). Only for [`Backend::Uring`].
    ///
    /// # Examples
    ///
    /// ```
    /// let b = c10k_runtime::Runtime::builder().uring_accept_queue(128);
    /// # drop(b);
    /// ```
    pub fn uring_accept_queue(mut self, n: usize) -> Builder {
        self.config.uring.accept_queue = n.max(1);
        self
    }

    /// How long a stream dropped with bytes still unsent keeps sending them (default
    /// 10 s), like `SO_LINGER`: then its send is cancelled, the connection is reset and its
    /// descriptor closed. This bounds what a peer that stopped reading can hold. Only for
    /// [`Backend::Uring`] (on the readiness backends, unsent bytes are the kernel's after
    /// the close).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = c10k_runtime::Runtime::builder().uring_linger(std::time::Duration::from_secs(2));
    /// # drop(b);
    /// ```
    pub fn uring_linger(mut self, linger: std::time::Duration) -> Builder {
        self.config.uring.linger = linger;
        self
    }

    /// How long a blocking wait on an io_uring may hold the completions that arrived for the
    /// rest of its batch (default 100 µs; zero turns batch waits off). Under load the driver
    /// asks the kernel to wake it for a batch of completions rather than for each one: the
    /// batch grows while waits find twice what they asked for and shrinks when they find
    /// less, up to 64 and to one per four operations in flight (so a ring serving a few
    /// connections never batches). A completion, a cross-thread wake-up included, then waits
    /// at most this long for the rest of its batch; timers still fire on time. Needs Linux
    /// 6.12 (`IORING_FEAT_MIN_TIMEOUT`); older kernels wait for one completion. See
    /// `driver/uring/mod.rs`, "Batch waits". Only for [`Backend::Uring`].
    ///
    /// # Examples
    ///
    /// ```
    /// let b = c10k_runtime::Runtime::builder()
    ///     .uring_batch_wait(std::time::Duration::from_micros(50));
    /// # drop(b);
    /// ```
    pub fn uring_batch_wait(mut self, wait: std::time::Duration) -> Builder {
        self.config.uring.batch_wait = wait;
        self
    }

    /// Whether each io_uring is built with `IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN`
    /// (default on: the kernel runs completions only when the ring is entered, in the
    /// driving thread, which is cheaper). Such a ring is bound to the first thread that
    /// drives it: a current-thread runtime must then always run `block_on` on the same
    /// thread (another thread panics, saying so). Turn it off to drive a current-thread
    /// runtime from several threads in turn. Only for [`Backend::Uring`].
    ///
    /// # Examples
    ///
    /// ```
    /// let b = c10k_runtime::Runtime::builder().uring_single_issuer(false);
    /// # drop(b);
    /// ```
    pub fn uring_single_issuer(mut self, on: bool) -> Builder {
        self.config.uring.single_issuer = on;
        self
    }

    /// The prefix of the runtime's thread names.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder()
    ///     .worker_threads(1)
    ///     .thread_name("edge")
    ///     .build()?;
    /// let name = rt.block_on(async {
    ///     c10k_runtime::spawn(async { std::thread::current().name().map(String::from) })
    ///         .await
    ///         .unwrap()
    /// });
    /// assert!(name.unwrap().starts_with("edge"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        self.config.thread_name = name.into();
        self
    }

    /// The stack size of worker and blocking threads (default 2 MiB).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder()
    ///     .worker_threads(1)
    ///     .thread_stack_size(4 << 20) // deep recursion in tasks
    ///     .build()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn thread_stack_size(mut self, bytes: usize) -> Builder {
        self.config.stack_size = bytes;
        self
    }

    /// Reports a task whose single poll holds its thread for longer than `threshold`, once per
    /// task (see [`LongPoll`]). Off by default.
    ///
    /// How it is measured (details in the [`executor`](crate::executor) docs, "Long polls"):
    /// with the [watchdog](Self::long_poll_watchdog) (the multi-thread default), a thread that
    /// looks every `threshold / 8` reports a poll *while* it runs, once it has seen it run for
    /// the threshold (so a poll is surely reported once it lasts `threshold * 5 / 4`); without
    /// it (the current-thread default, and the tasks of a [`LocalSet`](crate::task::LocalSet)),
    /// a poll is reported when it returns, if it took the threshold or more. Both count wall
    /// time, so a task blocked in a system call is found, but not the time the process was
    /// stopped (`SIGSTOP`, Ctrl-Z, a debugger): a stopped-then-continued server reports
    /// nothing. For that, building the runtime installs a `SIGCONT` handler once per process
    /// (with `SA_RESTART`; it chains to the handler it replaces; a later
    /// [`signal`](crate::signal::signal) for `SIGCONT` replaces it and brings back reports
    /// of polls a stop interrupted).
    ///
    /// Cost: a hook around every task poll, a few nanoseconds (`BENCH-core.md`).
    ///
    /// # Examples
    ///
    /// A task that blocks its thread for 10 ms is reported against a 1 ms threshold:
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    /// let reports = Arc::new(Mutex::new(Vec::new()));
    /// let sink = Arc::clone(&reports);
    /// let rt = c10k_runtime::Runtime::builder()
    ///     .current_thread()
    ///     .long_poll_threshold(Duration::from_millis(1))
    ///     .on_long_poll(move |r| sink.lock().unwrap().push(r.clone()))
    ///     .build()?;
    /// rt.block_on(async {
    ///     c10k_runtime::task::Builder::new()
    ///         .name("blocker")
    ///         .spawn(async { std::thread::sleep(Duration::from_millis(10)) })
    ///         .await
    ///         .unwrap();
    /// });
    /// let reports = reports.lock().unwrap();
    /// assert_eq!(reports[0].name.as_deref(), Some("blocker"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn long_poll_threshold(mut self, threshold: Duration) -> Builder {
        self.config.long_poll.threshold = Some(threshold);
        self
    }

    /// No long-poll detection (the default): undoes
    /// [`long_poll_threshold`](Self::long_poll_threshold).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = c10k_runtime::Runtime::builder()
    ///     .current_thread()
    ///     .long_poll_threshold(Duration::from_millis(100))
    ///     .disable_long_poll_report()
    ///     .build()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn disable_long_poll_report(mut self) -> Builder {
        self.config.long_poll.threshold = None;
        self
    }

    /// Whether a watchdog thread measures long polls and reports a poll that is *still*
    /// running past the threshold (a task stuck for good), instead of measuring each poll
    /// when it returns. Only with a [threshold](Self::long_poll_threshold). On by default for
    /// the multi-thread scheduler; off for the current-thread one, which then starts no
    /// thread at all (see the [`executor`](crate::executor) docs, "Long polls", for why a
    /// single-threaded process is cheaper).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    /// let (tx, rx) = mpsc::channel();
    /// let tx = std::sync::Mutex::new(tx);
    /// let rt = c10k_runtime::Runtime::builder()
    ///     .current_thread()
    ///     .long_poll_threshold(Duration::from_millis(20))
    ///     .long_poll_watchdog(true)
    ///     .on_long_poll(move |r| tx.lock().unwrap().send(r.still_running).unwrap())
    ///     .build()?;
    /// let still_running = rt.block_on(rt.handle().spawn(async move {
    ///     // A task blocking its thread until the watchdog has reported it.
    ///     rx.recv().unwrap()
    /// }));
    /// assert!(still_running.unwrap());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn long_poll_watchdog(mut self, enabled: bool) -> Builder {
        self.config.long_poll.watchdog = Some(enabled);
        self
    }

    /// Where long-poll reports go, instead of stderr. Called on the thread that ran the poll,
    /// or on the runtime's watchdog thread for a poll that is still running. Reports are made
    /// only with a [threshold](Self::long_poll_threshold).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let sink = Arc::clone(&seen);
    /// let rt = c10k_runtime::Runtime::builder()
    ///     .current_thread()
    ///     .long_poll_threshold(std::time::Duration::from_millis(100))
    ///     .on_long_poll(move |report| sink.lock().unwrap().push(report.id))
    ///     .build()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_long_poll(mut self, hook: impl Fn(&LongPoll) + Send + Sync + 'static) -> Builder {
        self.config.long_poll.hook = Some(Arc::new(hook));
        self
    }

    /// Calls `f` right before each poll of a task, on the thread that polls it, with the
    /// task's id and name ([`TaskMeta`]), like tokio's `on_before_task_poll`.
    ///
    /// It is called for the tasks of the runtime and of the [`LocalSet`](crate::task::LocalSet)s
    /// it drives, not for [`spawn_blocking`](crate::spawn_blocking) closures nor for the
    /// future given to `block_on` (which is not a task). It runs on the scheduler's hot path,
    /// once per poll: keep it short, and never let it panic (a panic unwinds out of the
    /// scheduler: `block_on` or the worker thread). Installing any poll hook adds a reference
    /// count increment and decrement per poll (`BENCH-core.md`); without hooks a poll costs
    /// nothing extra.
    ///
    /// # Examples
    ///
    /// Counting polls per task, the beginnings of a task dump:
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use std::sync::{Arc, Mutex};
    /// let polls = Arc::new(Mutex::new(HashMap::new()));
    /// let sink = Arc::clone(&polls);
    /// let rt = c10k_runtime::Runtime::builder()
    ///     .current_thread()
    ///     .on_before_task_poll(move |meta| *sink.lock().unwrap().entry(meta.id()).or_insert(0) += 1)
    ///     .build()?;
    /// let id = rt.block_on(async {
    ///     let h = c10k_runtime::spawn(async {
    ///         c10k_runtime::task::yield_now().await; // a second poll
    ///     });
    ///     let id = h.id();
    ///     h.await.unwrap();
    ///     id
    /// });
    /// assert_eq!(polls.lock().unwrap()[&id], 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_before_task_poll(
        mut self,
        f: impl Fn(&TaskMeta<'_>) + Send + Sync + 'static,
    ) -> Builder {
        self.config.before_poll = Some(Arc::new(f));
        self
    }

    /// Calls `f` right after each poll of a task (when the poll returned, whether the task
    /// completed or not), on the thread that polled it; the counterpart of
    /// [`on_before_task_poll`](Self::on_before_task_poll), with the same rules, like tokio's
    /// `on_after_task_poll`.
    ///
    /// # Examples
    ///
    /// Tracking which task each thread is polling (what a task dump prints):
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// let current = Arc::new(Mutex::new(None::<String>));
    /// let (set, clear) = (Arc::clone(&current), Arc::clone(&current));
    /// let rt = c10k_runtime::Runtime::builder()
    ///     .current_thread()
    ///     .on_before_task_poll(move |m| *set.lock().unwrap() = m.name().map(String::from))
    ///     .on_after_task_poll(move |_| *clear.lock().unwrap() = None)
    ///     .build()?;
    /// let seen = Arc::clone(&current);
    /// let inside = rt.block_on(async move {
    ///     c10k_runtime::task::Builder::new()
    ///         .name("handler")
    ///         .spawn(async move { seen.lock().unwrap().clone() })
    ///         .await
    ///         .unwrap()
    /// });
    /// assert_eq!(inside.as_deref(), Some("handler"));
    /// assert!(current.lock().unwrap().is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_after_task_poll(
        mut self,
        f: impl Fn(&TaskMeta<'_>) + Send + Sync + 'static,
    ) -> Builder {
        self.config.after_poll = Some(Arc::new(f));
        self
    }

    /// The most threads the blocking pool may run at once (at least 1). Further
    /// `spawn_blocking` calls queue until a thread is free.
    ///
    /// # Examples
    ///
    /// With one blocking thread, blocking closures run one at a time:
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder()
    ///     .current_thread()
    ///     .max_blocking_threads(1)
    ///     .build()?;
    /// rt.block_on(async {
    ///     let a = c10k_runtime::spawn_blocking(|| 1);
    ///     let b = c10k_runtime::spawn_blocking(|| 2);
    ///     assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
    ///     assert!(c10k_runtime::Handle::current().num_blocking_threads() <= 1);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        self.config.max_blocking_threads = n.max(1);
        self
    }

    /// How long an idle blocking thread waits for work before it exits.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = c10k_runtime::Runtime::builder()
    ///     .current_thread()
    ///     .thread_keep_alive(Duration::from_secs(1))
    ///     .build()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn thread_keep_alive(mut self, d: Duration) -> Builder {
        self.config.keep_alive = d;
        self
    }

    /// Creates the runtime: its selector(s), and for a multi-thread runtime its workers.
    ///
    /// # Errors
    ///
    /// The selector could not be created (e.g. the backend is unavailable, or out of
    /// descriptors), or a thread could not be spawned.
    ///
    /// # Examples
    ///
    /// A builder can build several runtimes:
    ///
    /// ```
    /// let mut builder = c10k_runtime::Runtime::builder();
    /// builder = builder.current_thread();
    /// let a = builder.build()?;
    /// let b = builder.build()?;
    /// assert_eq!(a.block_on(async { 1 }) + b.block_on(async { 1 }), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build(&mut self) -> io::Result<Runtime> {
        crate::task::register_wait_executor();
        let config = self.config.clone();
        let time = Arc::new(TimeDriver::new());
        let pool = blocking::Pool::new(&config);
        match self.kind {
            Kind::CurrentThread => {
                let driver = Arc::new(Driver::new(config.backend, &config.uring)?);
                let h = current_thread::Handle::new(driver, time, pool.spawner(), &config)?;
                let handle = Handle {
                    inner: scheduler::Handle::CurrentThread(Arc::clone(&h)),
                };
                Ok(Runtime::new(handle, Scheduler::CurrentThread(h), pool))
            }
            Kind::MultiThread => {
                let h = multi_thread::start(&config, time, pool.spawner())?;
                let handle = Handle {
                    inner: scheduler::Handle::MultiThread(Arc::clone(&h)),
                };
                Ok(Runtime::new(handle, Scheduler::MultiThread(h), pool))
            }
        }
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("kind", &self.kind)
            .field("worker_threads", &self.config.worker_threads)
            .field("backend", &self.config.backend)
            .field("thread_name", &self.config.thread_name)
            .field("long_poll", &self.config.long_poll)
            .field("before_poll", &self.config.before_poll.is_some())
            .field("after_poll", &self.config.after_poll.is_some())
            .field("max_blocking_threads", &self.config.max_blocking_threads)
            .field("keep_alive", &self.config.keep_alive)
            .finish()
    }
}
