//! Graceful shutdown on Ctrl-C: one object that every server shares, async tasks and
//! hand-written blocking loops alike.
//!
//! A [`Shutdown`] ties three things together:
//!
//! - **the signals**: `SIGINT` and `SIGTERM`, blocked in every thread and read from a
//!   [`SignalFd`] (see [`signal`](crate::signal), "The signalfd path"), by a task on the
//!   runtime ([`Shutdown::listen`], no extra thread: a current-thread server stays a
//!   single-threaded process) or by a thread ([`Shutdown::listen_on_thread`], for programs
//!   whose loops are threads);
//! - **the request**: an in-memory flag with wakers for tasks ([`Shutdown::requested`]) and
//!   an `eventfd(2)` that becomes readable, and stays readable, when shutdown begins
//!   ([`AsFd`]), which hand-written loops put in their `poll`/`epoll` wait set next to their
//!   sockets instead of waking up on a timer to look at a flag;
//! - **the drain**: the grace period ([`Builder::grace`], default [`DEFAULT_GRACE`]), work
//!   counted in flight ([`Shutdown::in_flight`] guards, [`Shutdown::drained`]) and task sets
//!   ([`Shutdown::drain`] over a [`JoinSet`]), each waited for until the deadline at most.
//!
//! The same signalfd may carry a **dump signal** ([`Builder::dump_on`], `SIGQUIT` for the
//! `c10k` servers, Go's Ctrl-\ habit): the listener then writes a task dump of the runtime
//! ([`Handle::dump`](crate::Handle::dump)) to stderr and the program carries on, as if
//! nothing happened.
//!
//! # Protocol
//!
//! 1. **Install** ([`Shutdown::install`]) in the program's first thread, before it starts
//!    any other (the runtime's workers too): the signals are blocked there, and so in every
//!    thread started later. A signal that arrives from then on stays pending until it is
//!    read; none is lost, whenever it comes.
//! 2. **Listen**: one reader takes the signalfd ([`listen`](Shutdown::listen) or
//!    [`listen_on_thread`](Shutdown::listen_on_thread)).
//! 3. **First signal** (or [`trigger`](Shutdown::trigger)): the deadline is set to now plus
//!    the grace period, the flag is set, the announcement (if any) is written to stderr
//!    (so whoever reads it finds the flag set), the eventfd is written, and every waiter is
//!    woken. The servers stop accepting and let the work in flight finish.
//! 4. **Drain**: [`drained`](Shutdown::drained) / [`drained_blocking`](Shutdown::drained_blocking)
//!    return when no [`InFlight`] guard is left or at the deadline, whichever comes first;
//!    [`drain`](Shutdown::drain) does the same for a `JoinSet`, aborting what is left.
//! 5. **Second signal**: the process exits at once with [`Builder::exit_code`] (130 by
//!    default, the shell's code for "killed by SIGINT"), without draining.
//!
//! # Why no wake-up is lost
//!
//! The flag is set before the eventfd is written and before the wakers are taken, all under
//! the state lock; a task registers its waker under the same lock before it looks at the
//! flag. An in-flight guard that brings the count to zero takes the lock after its
//! decrement (when shutdown was requested), and a drainer reads the count under the lock
//! after registering: either the drainer sees zero, or the guard finds its waker. A loop
//! that checks [`is_requested`](Shutdown::is_requested) and then sleeps in `epoll_wait` on
//! the eventfd cannot miss the request between the two either: the eventfd stays readable.

use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::signal::{SignalFd, SignalKind};
use crate::task::{JoinHandle, JoinSet};

/// How long the work in flight may take to finish after the first Ctrl-C, unless
/// [`Builder::grace`] says otherwise: long enough for a response or a file in transit on a
/// local network, short enough that an operator does not reach for `kill -9`.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// Exit code of the second Ctrl-C: 128 + `SIGINT`, what shells report for a process that
/// Ctrl-C killed.
pub const DEFAULT_EXIT_CODE: i32 = 130;

/// Configures a [`Shutdown`] before installing it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use c10k_runtime::shutdown::Shutdown;
///
/// let shutdown = Shutdown::builder()
///     .grace(Duration::from_secs(2))
///     .announce("shutting down (Ctrl-C again to exit now)")
///     .install()?;
/// assert_eq!(shutdown.grace(), Duration::from_secs(2));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    grace: Duration,
    exit_code: i32,
    announce: Option<String>,
    signals: Vec<SignalKind>,
    dump: Option<SignalKind>,
}

impl Builder {
    /// How long in-flight work may take after the first signal ([`DEFAULT_GRACE`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = c10k_runtime::shutdown::Shutdown::builder().grace(Duration::ZERO);
    /// # let _ = b;
    /// ```
    #[must_use]
    pub fn grace(mut self, grace: Duration) -> Builder {
        self.grace = grace;
        self
    }

    /// The exit code of the second signal ([`DEFAULT_EXIT_CODE`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = c10k_runtime::shutdown::Shutdown::builder().exit_code(1);
    /// # let _ = b;
    /// ```
    #[must_use]
    pub fn exit_code(mut self, code: i32) -> Builder {
        self.exit_code = code;
        self
    }

    /// A line written to stderr when the first signal arrives (none by default).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = c10k_runtime::shutdown::Shutdown::builder().announce("bye soon");
    /// # let _ = b;
    /// ```
    #[must_use]
    pub fn announce(mut self, line: impl Into<String>) -> Builder {
        self.announce = Some(line.into());
        self
    }

    /// The signals that request shutdown (`SIGINT` and `SIGTERM` by default).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::signal::SignalKind;
    /// let b = c10k_runtime::shutdown::Shutdown::builder().signals(&[SignalKind::interrupt()]);
    /// # let _ = b;
    /// ```
    #[must_use]
    pub fn signals(mut self, kinds: &[SignalKind]) -> Builder {
        self.signals = kinds.to_vec();
        self
    }

    /// A signal that writes a task dump of the runtime to stderr instead of requesting
    /// shutdown (none by default; the `c10k` servers use `SIGQUIT`). The listener dumps
    /// the runtime it runs on ([`listen`](Shutdown::listen)) or the one entered when it
    /// was started ([`listen_on_thread`](Shutdown::listen_on_thread)); the dump never
    /// stops the runtime (see [`task::dump`](crate::task::dump)).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::signal::SignalKind;
    /// let b = c10k_runtime::shutdown::Shutdown::builder().dump_on(SignalKind::quit());
    /// # let _ = b;
    /// ```
    #[must_use]
    pub fn dump_on(mut self, kind: SignalKind) -> Builder {
        self.dump = Some(kind);
        self
    }

    /// Blocks the signals in the calling thread (and so in the threads it starts later),
    /// opens the signalfd and the eventfd (protocol step 1). Call it before starting any
    /// thread.
    ///
    /// # Errors
    ///
    /// Signal mask, `signalfd` or `eventfd` errors.
    ///
    /// # Examples
    ///
    /// See [`Shutdown`].
    pub fn install(self) -> io::Result<Shutdown> {
        let mut kinds = self.signals.clone();
        kinds.extend(self.dump);
        let signals = SignalFd::block(&kinds)?;
        let event = rustix::event::eventfd(
            0,
            rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
        )?;
        Ok(Shutdown {
            inner: Arc::new(Inner {
                requested: AtomicBool::new(false),
                in_flight: AtomicUsize::new(0),
                state: Mutex::new(State::default()),
                changed: Condvar::new(),
                event,
                signals: Mutex::new(Some(signals)),
                grace: self.grace,
                exit_code: self.exit_code,
                announce: self.announce,
                dump: self.dump,
            }),
        })
    }
}

/// The one shutdown path of a server (module docs): signals in, a request out to tasks and
/// loops, and a bounded drain. Cloning is cheap and every clone is the same shutdown.
///
/// # Examples
///
/// A server that accepts until Ctrl-C, then lets its connections finish. So that the example
/// ends by itself, it triggers the shutdown instead of waiting for Ctrl-C:
///
/// ```
/// use std::pin::pin;
/// use c10k_runtime::net::TcpListener;
/// use c10k_runtime::race::{select, Either};
/// use c10k_runtime::shutdown::Shutdown;
/// use c10k_runtime::task::JoinSet;
///
/// let shutdown = Shutdown::install()?; // first thing, before any thread
/// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// rt.block_on(async {
///     drop(shutdown.listen()?); // Ctrl-C is read by a (detached) task of this runtime
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let mut connections = JoinSet::new();
///     shutdown.trigger(); // in a real server: the user presses Ctrl-C
///     loop {
///         let accept = pin!(listener.accept());
///         match select(accept, shutdown.requested()).await {
///             Either::Left((accepted, _)) => {
///                 let (stream, _peer) = accepted?;
///                 connections.spawn(async move { drop(stream) });
///             }
///             Either::Right(_) => break,
///         }
///     }
///     drop(listener); // stop accepting
///     let aborted = shutdown.drain(&mut connections).await;
///     assert_eq!(aborted, 0);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

struct Inner {
    /// Set once, by the first signal or `trigger`, under `state`.
    requested: AtomicBool,
    /// Live [`InFlight`] guards.
    in_flight: AtomicUsize,
    state: Mutex<State>,
    /// Notified (under `state`) when shutdown is requested and when `in_flight` reaches zero.
    changed: Condvar,
    /// Readable once shutdown was requested; written once, never read.
    event: OwnedFd,
    /// Taken by the one listener.
    signals: Mutex<Option<SignalFd>>,
    grace: Duration,
    exit_code: i32,
    announce: Option<String>,
    /// The signal that asks for a task dump (`Builder::dump_on`).
    dump: Option<SignalKind>,
}

#[derive(Default)]
struct State {
    /// When the drain ends; set with `requested`.
    deadline: Option<Instant>,
    /// Tasks waiting for the request, or for the drain.
    waiters: Vec<Waker>,
}

impl Shutdown {
    /// A builder, to set the grace period, the announcement, the signals or the exit code.
    ///
    /// # Examples
    ///
    /// See [`Builder`].
    pub fn builder() -> Builder {
        Builder {
            grace: DEFAULT_GRACE,
            exit_code: DEFAULT_EXIT_CODE,
            announce: None,
            signals: vec![SignalKind::interrupt(), SignalKind::terminate()],
            dump: None,
        }
    }

    /// Installs the default shutdown: `SIGINT` and `SIGTERM`, [`DEFAULT_GRACE`], exit code
    /// [`DEFAULT_EXIT_CODE`] on the second signal.
    ///
    /// # Errors
    ///
    /// As [`Builder::install`].
    ///
    /// # Examples
    ///
    /// See [`Shutdown`].
    pub fn install() -> io::Result<Shutdown> {
        Shutdown::builder().install()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn take_signals(&self) -> io::Result<SignalFd> {
        self.inner
            .signals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .ok_or_else(|| io::Error::new(io::ErrorKind::AlreadyExists, "already listening"))
    }

    /// Reads the signals with a task on the current runtime (protocol steps 2, 3 and 5). The
    /// task ends after the first signal only if the process exits on the second one, so it is
    /// detached; its handle reports a failure to read the signalfd.
    ///
    /// # Errors
    ///
    /// `AlreadyExists` if a listener was started already.
    ///
    /// # Panics
    ///
    /// Outside a runtime (as [`spawn`](crate::spawn)).
    ///
    /// # Examples
    ///
    /// See [`Shutdown`].
    pub fn listen(&self) -> io::Result<JoinHandle<io::Result<()>>> {
        let mut signals = self.take_signals()?;
        let this = self.clone();
        let runtime = crate::Handle::try_current().ok();
        Ok(crate::task::Builder::new()
            .name("signals")
            .spawn(async move {
                loop {
                    let kind = signals.recv().await?;
                    this.on_signal(kind, runtime.as_ref());
                }
            }))
    }

    /// Reads the signals on a thread named `c10k-shutdown`, for programs whose loops are
    /// threads (protocol steps 2, 3 and 5).
    ///
    /// # Errors
    ///
    /// `AlreadyExists` if a listener was started already; thread creation errors.
    ///
    /// # Examples
    ///
    /// ```
    /// let shutdown = c10k_runtime::shutdown::Shutdown::install()?;
    /// let _thread = shutdown.listen_on_thread()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn listen_on_thread(&self) -> io::Result<std::thread::JoinHandle<io::Result<()>>> {
        let mut signals = self.take_signals()?;
        let this = self.clone();
        let runtime = crate::Handle::try_current().ok();
        std::thread::Builder::new()
            .name("c10k-shutdown".into())
            // Room for formatting a dump, when one is asked for.
            .stack_size(256 * 1024)
            .spawn(move || loop {
                if let Some(kind) = signals.recv_blocking(None)? {
                    this.on_signal(kind, runtime.as_ref());
                }
            })
    }

    fn on_signal(&self, kind: SignalKind, runtime: Option<&crate::Handle>) {
        if self.inner.dump == Some(kind) {
            // Written whole, in one call, so that lines of other threads do not interleave.
            let text = match runtime {
                Some(rt) => rt.dump().to_string(),
                None => "c10k: no runtime to dump\n".to_owned(),
            };
            let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), text.as_bytes());
            return;
        }
        if !self.trigger() {
            // The second one: "now".
            std::process::exit(self.inner.exit_code);
        }
    }

    /// Requests shutdown as the first signal would (protocol step 3); true if this call
    /// did, false if it was requested already.
    ///
    /// # Examples
    ///
    /// ```
    /// let shutdown = c10k_runtime::shutdown::Shutdown::install()?;
    /// assert!(!shutdown.is_requested());
    /// assert!(shutdown.trigger());
    /// assert!(shutdown.is_requested());
    /// assert!(!shutdown.trigger());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn trigger(&self) -> bool {
        let waiters = {
            let mut state = self.state();
            if self.inner.requested.load(Ordering::SeqCst) {
                return false;
            }
            state.deadline = Some(Instant::now() + self.inner.grace);
            // The flag first: whoever reads the announcement may rely on it being true.
            self.inner.requested.store(true, Ordering::SeqCst);
            if let Some(line) = &self.inner.announce {
                eprintln!("{line}");
            }
            // An eventfd write only fails when the counter would overflow: never from 0.
            let _ = rustix::io::write(&self.inner.event, &1u64.to_ne_bytes());
            self.inner.changed.notify_all();
            std::mem::take(&mut state.waiters)
        };
        for w in waiters {
            w.wake();
        }
        true
    }

    /// True once shutdown was requested.
    ///
    /// # Examples
    ///
    /// See [`trigger`](Self::trigger).
    pub fn is_requested(&self) -> bool {
        self.inner.requested.load(Ordering::SeqCst)
    }

    /// When the drain ends (`None` until shutdown is requested).
    ///
    /// # Examples
    ///
    /// ```
    /// let shutdown = c10k_runtime::shutdown::Shutdown::install()?;
    /// assert!(shutdown.deadline().is_none());
    /// shutdown.trigger();
    /// assert!(shutdown.deadline().is_some());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.state().deadline
    }

    /// The grace period.
    ///
    /// # Examples
    ///
    /// See [`Builder`].
    pub fn grace(&self) -> Duration {
        self.inner.grace
    }

    /// Waits until shutdown is requested.
    ///
    /// # Examples
    ///
    /// See [`Shutdown`].
    pub fn requested(&self) -> Requested<'_> {
        Requested {
            shutdown: self,
            drained: false,
        }
    }

    /// Counts a piece of work as in flight until the guard drops: the drain waits for it.
    ///
    /// # Examples
    ///
    /// ```
    /// let shutdown = c10k_runtime::shutdown::Shutdown::install()?;
    /// let work = shutdown.in_flight();
    /// assert_eq!(shutdown.in_flight_count(), 1);
    /// drop(work);
    /// shutdown.trigger();
    /// assert!(shutdown.drained_blocking()); // nothing left: at once
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn in_flight(&self) -> InFlight {
        self.inner.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight {
            shutdown: self.clone(),
        }
    }

    /// How many [`InFlight`] guards are alive.
    ///
    /// # Examples
    ///
    /// See [`in_flight`](Self::in_flight).
    pub fn in_flight_count(&self) -> usize {
        self.inner.in_flight.load(Ordering::SeqCst)
    }

    /// Waits until shutdown is requested and then until no work is in flight or the
    /// deadline passed (protocol step 4); true if everything finished in time.
    ///
    /// # Examples
    ///
    /// ```
    /// let shutdown = c10k_runtime::shutdown::Shutdown::install()?;
    /// c10k_runtime::run(async {
    ///     let work = shutdown.in_flight();
    ///     c10k_runtime::spawn(async move {
    ///         c10k_runtime::task::yield_now().await;
    ///         drop(work); // the response went out
    ///     });
    ///     shutdown.trigger();
    ///     assert!(shutdown.drained().await);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn drained(&self) -> bool {
        self.requested().await;
        let deadline = self.deadline().expect("set when requested");
        let drained = Requested {
            shutdown: self,
            drained: true,
        };
        crate::time::timeout_at(crate::time::Instant::from_std(deadline), drained)
            .await
            .is_ok()
    }

    /// The blocking twin of [`drained`](Self::drained), for threads.
    ///
    /// # Examples
    ///
    /// See [`in_flight`](Self::in_flight).
    pub fn drained_blocking(&self) -> bool {
        let mut state = self.state();
        loop {
            if let Some(deadline) = state.deadline {
                if self.inner.in_flight.load(Ordering::SeqCst) == 0 {
                    return true;
                }
                let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                    return false;
                };
                state = self
                    .inner
                    .changed
                    .wait_timeout(state, left)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0;
            } else {
                state = self
                    .inner
                    .changed
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        }
    }

    /// Waits until shutdown is requested, then for the tasks of `set` until the deadline;
    /// aborts those still running then and returns how many they were (protocol step 4).
    ///
    /// # Examples
    ///
    /// See [`Shutdown`].
    pub async fn drain<T: 'static>(&self, set: &mut JoinSet<T>) -> usize {
        self.requested().await;
        let deadline = self.deadline().expect("set when requested");
        let joined = crate::time::timeout_at(crate::time::Instant::from_std(deadline), async {
            while set.join_next().await.is_some() {}
        })
        .await;
        if joined.is_ok() {
            return 0;
        }
        let left = set.len();
        set.shutdown().await;
        left
    }

    /// Waits with `poll(2)` until shutdown is requested, at most `timeout` (`None`:
    /// forever); true if it was.
    ///
    /// # Errors
    ///
    /// `poll(2)` errors (`EINTR` is retried).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let shutdown = c10k_runtime::shutdown::Shutdown::install()?;
    /// assert!(!shutdown.wait_blocking(Some(Duration::from_millis(1)))?);
    /// shutdown.trigger();
    /// assert!(shutdown.wait_blocking(None)?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait_blocking(&self, timeout: Option<Duration>) -> io::Result<bool> {
        use rustix::event::{PollFd, PollFlags};
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if self.is_requested() {
                return Ok(true);
            }
            let left = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(crate::signal::timespec(left)),
                    _ => return Ok(false),
                },
                None => None,
            };
            let mut fds = [PollFd::new(&self.inner.event, PollFlags::IN)];
            match rustix::event::poll(&mut fds, left.as_ref()) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// The eventfd: readable (level-triggered, for good) once shutdown was requested. Put it in
/// a loop's wait set to wake up for the request; never read from it.
impl AsFd for Shutdown {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.event.as_fd()
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("requested", &self.is_requested())
            .field("in_flight", &self.in_flight_count())
            .field("grace", &self.inner.grace)
            .field("event_fd", &self.inner.event.as_raw_fd())
            .finish()
    }
}

/// Future of [`Shutdown::requested`] (and, internally, of the drain).
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Requested<'a> {
    shutdown: &'a Shutdown,
    /// Also wait for the in-flight count to reach zero.
    drained: bool,
}

impl Future for Requested<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let inner = &self.shutdown.inner;
        let drained = self.drained;
        let done = |inner: &Inner| {
            inner.requested.load(Ordering::SeqCst)
                && (!drained || inner.in_flight.load(Ordering::SeqCst) == 0)
        };
        if done(inner) {
            return Poll::Ready(());
        }
        let mut state = self.shutdown.state();
        // Registered before looking again, under the lock that `trigger` and the last
        // `InFlight` take (module docs, "Why no wake-up is lost").
        if done(inner) {
            return Poll::Ready(());
        }
        if !state.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            state.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// Work in flight ([`Shutdown::in_flight`]); the drain waits until every guard is dropped.
#[must_use = "the work counts as in flight only while the guard lives"]
pub struct InFlight {
    shutdown: Shutdown,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let inner = &self.shutdown.inner;
        if inner.in_flight.fetch_sub(1, Ordering::SeqCst) == 1
            && inner.requested.load(Ordering::SeqCst)
        {
            let waiters = {
                let mut state = self.shutdown.state();
                inner.changed.notify_all();
                std::mem::take(&mut state.waiters)
            };
            for w in waiters {
                w.wake();
            }
        }
    }
}

impl fmt::Debug for InFlight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlight").finish_non_exhaustive()
    }
}
