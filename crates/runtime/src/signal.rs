//! Unix signals as async events: [`ctrl_c`] and [`signal`] (asyncio's
//! `loop.add_signal_handler`).
//!
//! # Design: a self-pipe, not `signalfd`
//!
//! `signalfd(2)` only receives signals that are *blocked* in every thread of the process;
//! a runtime cannot guarantee that (threads spawned by other libraries, or before the
//! runtime, keep the default mask), and a signal that is not blocked everywhere is delivered
//! the classic way and never shows up on the descriptor. So c10k uses the classic, robust
//! *self-pipe trick*:
//!
//! 1. **Install** (once per signal number, on the first [`signal`] call for it): a
//!    `sigaction` handler, with `SA_RESTART` so that blocking system calls elsewhere in the
//!    program are not interrupted with `EINTR`.
//! 2. **Deliver**: the handler does only async-signal-safe things: it bumps the signal's
//!    pending counter (an atomic) and writes one byte to a process-wide non-blocking pipe
//!    (a full pipe is fine: the counter already recorded the signal), saving and restoring
//!    `errno`.
//! 3. **Wake**: every [`Signal`] owns a duplicate of the pipe's read end, registered with
//!    its runtime's IO driver (a duplicate, so that several listeners may share one
//!    selector, and several runtimes the pipe). The pipe becoming readable wakes them.
//! 4. **Dispatch**: a polled `Signal` drains the pipe, turns the pending counters into
//!    per-signal *delivery counts*, and wakes every listener of each signal that arrived (they
//!    wait in a per-signal waker list, so a listener whose pipe readiness was consumed by
//!    another listener's drain is still woken). A listener is ready when the delivery count
//!    passed the count it last saw.
//!
//! Signals arriving in a burst may coalesce into one event (as with every Unix signal API):
//! a `Signal` reports "at least one since you last looked".
//!
//! # The signalfd path: [`SignalFd`]
//!
//! A program that controls every thread it starts can do better than a handler: block the
//! signals in its first thread *before any other thread exists* (every thread inherits the
//! mask) and read them from a `signalfd(2)` ([`SignalFd::block`]). No handler runs, nothing is
//! interrupted, and no thread is needed: the descriptor is read on the runtime like a socket
//! ([`SignalFd::recv`]) or waited on with `poll(2)` ([`SignalFd::recv_blocking`]). A
//! current-thread server then stays a single-threaded process, which the kernel serves on
//! cheaper paths (an unshared descriptor table). Signals that arrive before the descriptor
//! is read stay pending (blocked), so none is lost between the mask and the first read.
//! [`crate::shutdown`] is built on it.
//!
//! # Caveats
//!
//! Once a handler is installed it stays installed for the life of the process, even after
//! every `Signal` is dropped: after `ctrl_c()` was called, Ctrl-C no longer kills the program
//! by default; the program decides. A previous handler for the signal (installed by another
//! library) is replaced, not chained. `SIGKILL`, `SIGSTOP` and the fault signals (`SIGSEGV`,
//! `SIGBUS`, `SIGFPE`, `SIGILL`) cannot be listened to.

use std::fmt;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_core::Stream;

use crate::driver::{Interest, Registration};

/// Signal numbers are below this on Linux (`SIGRTMAX` is 64).
const NSIG: usize = 65;

/// A kind of signal to listen for; the constructors name the usual ones.
///
/// # Examples
///
/// ```
/// use c10k_runtime::signal::SignalKind;
/// assert_eq!(SignalKind::terminate().as_raw(), libc::SIGTERM);
/// assert_eq!(SignalKind::from_raw(libc::SIGUSR1), SignalKind::user_defined1());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(i32);

impl SignalKind {
    /// `SIGINT`: Ctrl-C in the terminal.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::signal::SignalKind;
    /// assert_eq!(SignalKind::interrupt().as_raw(), libc::SIGINT);
    /// ```
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }
    /// `SIGTERM`: the polite "please exit" of `kill` and service managers.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::signal::SignalKind;
    /// assert_eq!(SignalKind::terminate().as_raw(), libc::SIGTERM);
    /// ```
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }
    /// `SIGHUP`: the terminal went away; daemons often reload their configuration.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::signal::SignalKind;
    /// assert_eq!(SignalKind::hangup().as_raw(), libc::SIGHUP);
    /// ```
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }
    /// `SIGQUIT`: Ctrl-\ in the terminal.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::signal::SignalKind;
    /// assert_eq!(SignalKind::quit().as_raw(), libc::SIGQUIT);
    /// ```
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }
    /// `SIGUSR1`.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::signal::SignalKind;
    /// assert_eq!(SignalKind::user_defined1().as_raw(), libc::SIGUSR1);
    /// ```
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }
    /// `SIGUSR2`.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::signal::SignalKind;
    /// assert_eq!(SignalKind::user_defined2().as_raw(), libc::SIGUSR2);
    /// ```
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }
    /// `SIGCHLD`: a child process changed state.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::signal::SignalKind;
    /// assert_eq!(SignalKind::child().as_raw(), libc::SIGCHLD);
    /// ```
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }
    /// `SIGWINCH`: the terminal was resized.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::signal::SignalKind;
    /// assert_eq!(SignalKind::window_change().as_raw(), libc::SIGWINCH);
    /// ```
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }
    /// `SIGPIPE`: a write to a closed pipe or socket (Rust programs ignore it by default).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::signal::SignalKind;
    /// assert_eq!(SignalKind::pipe().as_raw(), libc::SIGPIPE);
    /// ```
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }
    /// `SIGALRM`.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::signal::SignalKind;
    /// assert_eq!(SignalKind::alarm().as_raw(), libc::SIGALRM);
    /// ```
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }
    /// Any signal by number (checked when listening).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::signal::SignalKind;
    /// assert_eq!(SignalKind::from_raw(libc::SIGHUP), SignalKind::hangup());
    /// ```
    pub const fn from_raw(signum: i32) -> SignalKind {
        SignalKind(signum)
    }
    /// The signal number.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::signal::SignalKind;
    /// assert_eq!(SignalKind::from_raw(10).as_raw(), 10);
    /// ```
    pub const fn as_raw(self) -> i32 {
        self.0
    }
}

impl fmt::Debug for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            libc::SIGINT => "SIGINT",
            libc::SIGTERM => "SIGTERM",
            libc::SIGHUP => "SIGHUP",
            libc::SIGQUIT => "SIGQUIT",
            libc::SIGUSR1 => "SIGUSR1",
            libc::SIGUSR2 => "SIGUSR2",
            libc::SIGCHLD => "SIGCHLD",
            libc::SIGWINCH => "SIGWINCH",
            libc::SIGPIPE => "SIGPIPE",
            libc::SIGALRM => "SIGALRM",
            n => return write!(f, "SignalKind({n})"),
        };
        f.write_str(name)
    }
}

/// Per-signal state of the listeners (the handler's counter is in `PENDING`).
struct Slot {
    /// Deliveries observed by drains so far. Listeners compare it with what they saw.
    delivered: AtomicU64,
    /// Listeners waiting for this signal: `(listener id, waker)`.
    waiters: Mutex<Vec<(u64, Waker)>>,
    installed: AtomicBool,
}

struct Globals {
    /// The read end (non-blocking); each `Signal` registers a `dup` of it.
    read: OwnedFd,
    /// Kept open for the life of the process; its number is in `WRITE_FD`.
    _write: OwnedFd,
    slots: Vec<Slot>,
    /// Serialises `sigaction` calls.
    install: Mutex<()>,
    next_id: AtomicU64,
}

/// The pipe's write end for the handler (-1 until created). The handler may not touch
/// `Globals` through `OnceLock` (not async-signal-safe in general), only atomics.
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);
/// Per-signal pending counters, read by the handler.
static PENDING: [AtomicUsize; NSIG] = [const { AtomicUsize::new(0) }; NSIG];
static GLOBALS: OnceLock<Globals> = OnceLock::new();
/// Serialises the creation of `GLOBALS`, so that a failed attempt (e.g. `EMFILE`) is retried
/// by the next call instead of being remembered forever.
static INIT: Mutex<()> = Mutex::new(());

fn globals() -> io::Result<&'static Globals> {
    if let Some(g) = GLOBALS.get() {
        return Ok(g);
    }
    let _init = crate::loom::lock(&INIT);
    if let Some(g) = GLOBALS.get() {
        return Ok(g);
    }
    let (read, write) = rustix::pipe::pipe_with(
        rustix::pipe::PipeFlags::NONBLOCK | rustix::pipe::PipeFlags::CLOEXEC,
    )
    .map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("cannot create the signal pipe: {e}"),
        )
    })?;
    WRITE_FD.store(write.as_raw_fd(), Ordering::Release);
    let g = Globals {
        read,
        _write: write,
        slots: (0..NSIG)
            .map(|_| Slot {
                delivered: AtomicU64::new(0),
                waiters: Mutex::new(Vec::new()),
                installed: AtomicBool::new(false),
            })
            .collect(),
        install: Mutex::new(()),
        next_id: AtomicU64::new(1),
    };
    Ok(GLOBALS.get_or_init(|| g))
}

extern "C" fn handler(signum: libc::c_int) {
    // Async-signal-safe only: atomics and write(2). errno is preserved for the code the
    // signal interrupted.
    // SAFETY: `__errno_location` returns the calling thread's errno slot, always valid.
    let saved = unsafe { *libc::__errno_location() };
    if let Some(p) = PENDING.get(signum as usize) {
        p.fetch_add(1, Ordering::Release);
    }
    let fd = WRITE_FD.load(Ordering::Acquire);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: `fd` is the pipe's write end, open for the life of the process (owned by
        // the never-dropped `GLOBALS`); the buffer is one valid byte. A failed write (full
        // pipe) is harmless: `PENDING` already recorded the signal.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved };
}

fn check_signum(signum: i32) -> io::Result<usize> {
    let forbidden = [
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGFPE,
        libc::SIGILL,
    ];
    if signum <= 0 || signum as usize >= NSIG || forbidden.contains(&signum) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("cannot listen for signal {signum}"),
        ));
    }
    Ok(signum as usize)
}

fn install(g: &Globals, signum: usize) -> io::Result<()> {
    let slot = &g.slots[signum];
    if slot.installed.load(Ordering::Acquire) {
        return Ok(());
    }
    let _guard = crate::loom::lock(&g.install);
    if slot.installed.load(Ordering::Acquire) {
        return Ok(());
    }
    // SAFETY: an all-zero `sigaction` is a valid value (empty mask, no flags) that is then
    // filled in.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as extern "C" fn(libc::c_int) as libc::sighandler_t;
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: `action.sa_mask` is a valid `sigset_t` owned by us.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: `signum` was checked to be a catchable signal; `action` is fully initialised
    // and its handler only performs async-signal-safe operations (see `handler`); a null
    // old-action pointer is allowed.
    let rc = unsafe { libc::sigaction(signum as libc::c_int, &action, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    slot.installed.store(true, Ordering::Release);
    Ok(())
}

/// Empties the pipe and publishes pending signals as deliveries, waking their listeners.
fn drain(g: &Globals) {
    let mut buf = [0u8; 128];
    loop {
        match rustix::io::read(&g.read, &mut buf) {
            Ok(n) if n == buf.len() => continue,
            _ => break,
        }
    }
    for (signum, slot) in g.slots.iter().enumerate() {
        if !slot.installed.load(Ordering::Acquire) {
            continue;
        }
        if PENDING[signum].swap(0, Ordering::AcqRel) == 0 {
            continue;
        }
        slot.delivered.fetch_add(1, Ordering::AcqRel);
        let waiters = std::mem::take(&mut *crate::loom::lock(&slot.waiters));
        for (_, w) in waiters {
            w.wake();
        }
    }
}

/// A listener for one kind of signal: a [`Stream`] of `()` (one item per delivery, bursts
/// coalesced), also usable with [`recv`](Self::recv).
///
/// # Examples
///
/// ```
/// use c10k_runtime::signal::{signal, SignalKind};
///
/// c10k_runtime::run(async {
///     let mut usr1 = signal(SignalKind::user_defined1())?;
///     rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::USR1)?;
///     usr1.recv().await;
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Signal {
    kind: SignalKind,
    slot: &'static Slot,
    id: u64,
    /// `delivered` when this listener last reported.
    seen: u64,
    reg: Registration,
    /// A `dup` of the pipe's read end, registered in `reg`; declared after it so that it
    /// closes after deregistration.
    _fd: OwnedFd,
}

/// Starts listening for `kind`, installing the process-wide handler on first use (see the
/// module docs). Deliveries before this call are not reported.
///
/// # Errors
///
/// `InvalidInput` for signals that cannot be caught; pipe, `dup`, `sigaction` or
/// registration errors (e.g. outside a runtime).
///
/// # Examples
///
/// Two listeners of one signal both see a delivery (the process signals itself):
///
/// ```
/// use c10k_runtime::signal::{signal, SignalKind};
/// use rustix::process::{getpid, kill_process, Signal};
/// c10k_runtime::run(async {
///     let mut a = signal(SignalKind::user_defined2())?;
///     let mut b = signal(SignalKind::user_defined2())?;
///     kill_process(getpid(), Signal::USR2)?;
///     assert_eq!(a.recv().await, Some(()));
///     assert_eq!(b.recv().await, Some(()));
///     // SIGKILL cannot be caught.
///     let err = signal(SignalKind::from_raw(libc::SIGKILL)).unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let signum = check_signum(kind.0)?;
    let g = globals()?;
    install(g, signum)?;
    let fd = rustix::io::fcntl_dupfd_cloexec(&g.read, 0)?;
    let reg = Registration::new(fd.as_raw_fd(), Interest::READABLE)?;
    let slot = &g.slots[signum];
    // Publish deliveries that are already in the pipe, so `seen` starts after them.
    drain(g);
    Ok(Signal {
        kind,
        slot,
        id: g.next_id.fetch_add(1, Ordering::Relaxed),
        seen: slot.delivered.load(Ordering::Acquire),
        reg,
        _fd: fd,
    })
}

impl Signal {
    /// The kind this listener receives.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::signal::{signal, SignalKind};
    /// c10k_runtime::run(async {
    ///     let hup = signal(SignalKind::hangup())?;
    ///     assert_eq!(hup.kind(), SignalKind::hangup());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn kind(&self) -> SignalKind {
        self.kind
    }

    /// Waits for the next delivery. Returns `None` only if the runtime shut down.
    ///
    /// Deliveries that arrive before `recv` is called are not lost, but several deliveries between
    /// two calls are coalesced into one.
    ///
    /// # Examples
    ///
    /// A reload loop, bounded here to one round:
    ///
    /// ```
    /// use c10k_runtime::signal::{signal, SignalKind};
    /// use rustix::process::{getpid, kill_process, Signal};
    /// c10k_runtime::run(async {
    ///     let mut hup = signal(SignalKind::hangup())?;
    ///     kill_process(getpid(), Signal::HUP)?;
    ///     let mut reloads = 0;
    ///     while reloads < 1 {
    ///         if hup.recv().await.is_none() {
    ///             break; // runtime shut down
    ///         }
    ///         reloads += 1; // reload the configuration here
    ///     }
    ///     assert_eq!(reloads, 1);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv(&mut self) -> Option<()> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next delivery (stores the waker when none is pending).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::signal::{signal, SignalKind};
    /// use rustix::process::{getpid, kill_process, Signal};
    /// c10k_runtime::run(async {
    ///     let mut usr1 = signal(SignalKind::user_defined1())?;
    ///     kill_process(getpid(), Signal::USR1)?;
    ///     let got = std::future::poll_fn(|cx| usr1.poll_recv(cx)).await;
    ///     assert_eq!(got, Some(()));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let g = match globals() {
            Ok(g) => g,
            Err(_) => return Poll::Ready(None),
        };
        // 1. Be findable by a drain in another task before looking (no lost wakeup).
        {
            let mut w = crate::loom::lock(&self.slot.waiters);
            match w.iter_mut().find(|(id, _)| *id == self.id) {
                Some((_, old)) if old.will_wake(cx.waker()) => {}
                Some((_, old)) => *old = cx.waker().clone(),
                None => w.push((self.id, cx.waker().clone())),
            }
        }
        loop {
            // 2. Drain: publishes what arrived, wakes the other listeners.
            drain(g);
            // 3. Report.
            let delivered = self.slot.delivered.load(Ordering::Acquire);
            if delivered != self.seen {
                self.seen = delivered;
                self.remove_waiter();
                return Poll::Ready(Some(()));
            }
            // 4. Wait for the pipe. Readiness seen here was consumed by the drain above
            //    (ours or another listener's): forget it and go round once more. A byte
            //    written after that drain raises a new event (new tick), which
            //    `clear_readiness` does not erase, so nothing is lost.
            match self.reg.poll_read_ready(cx) {
                Poll::Ready(Ok(ev)) => self.reg.clear_readiness(ev),
                Poll::Ready(Err(_)) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn remove_waiter(&self) {
        crate::loom::lock(&self.slot.waiters).retain(|(id, _)| *id != self.id);
    }
}

impl Stream for Signal {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx)
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        self.remove_waiter();
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("kind", &self.kind)
            .field("seen", &self.seen)
            .finish()
    }
}

/// Waits for Ctrl-C (`SIGINT`), asyncio's `loop.add_signal_handler(SIGINT, ...)`: the
/// usual start of a graceful shutdown.
///
/// The handler is installed when this future is first polled; from then on `SIGINT` no
/// longer terminates the process by default (see the module docs).
///
/// # Errors
///
/// As [`signal`]; an error of kind `Other` if the runtime shut down while waiting.
///
/// # Examples
///
/// ```no_run
/// c10k_runtime::run(async {
///     println!("serving; press Ctrl-C to stop");
///     c10k_runtime::signal::ctrl_c().await?;
///     println!("shutting down");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let mut sig = signal(SignalKind::interrupt())?;
    sig.recv()
        .await
        .ok_or_else(|| io::Error::other("the runtime shut down while waiting for Ctrl-C"))
}

/// A `sigset_t` holding `kinds` (each checked to be catchable).
fn sigset(kinds: &[SignalKind]) -> io::Result<libc::sigset_t> {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `sigemptyset` initialises the set it is given a valid pointer to.
    if unsafe { libc::sigemptyset(set.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    for kind in kinds {
        check_signum(kind.0)?;
        // SAFETY: `set` was initialised by `sigemptyset`; the number was checked above.
        if unsafe { libc::sigaddset(set.as_mut_ptr(), kind.0) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    // SAFETY: initialised by `sigemptyset` above.
    Ok(unsafe { set.assume_init() })
}

/// Signals blocked in every thread and read from a `signalfd(2)` (the module docs, "The
/// signalfd path"): no handler, no thread, no `EINTR`.
///
/// Create it with [`block`](Self::block) in the program's first thread before it starts any
/// other (a runtime's workers, the blocking pool): threads inherit the mask, and a signal that
/// some thread does not block is delivered to that thread the classic way (by default,
/// `SIGINT` kills the process) instead of showing up here.
///
/// # Examples
///
/// ```
/// use c10k_runtime::signal::{SignalFd, SignalKind};
///
/// // In a program: first thing in `main`. Here the signal is sent to this thread only.
/// let mut usr1 = SignalFd::block(&[SignalKind::user_defined1()])?;
/// // SAFETY: `raise` has no preconditions; USR1 is blocked, so it just becomes pending.
/// unsafe { libc::raise(libc::SIGUSR1) };
/// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
/// let got = rt.block_on(usr1.recv())?;
/// assert_eq!(got, SignalKind::user_defined1());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct SignalFd {
    fd: OwnedFd,
}

impl SignalFd {
    /// Blocks `kinds` in the calling thread (and so in every thread it starts afterwards) and
    /// opens a non-blocking signalfd that receives them.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for signals that cannot be caught; `pthread_sigmask` or `signalfd`
    /// errors (e.g. out of descriptors).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::signal::{SignalFd, SignalKind};
    /// let hup = SignalFd::block(&[SignalKind::hangup()])?;
    /// assert_eq!(hup.try_recv()?, None); // nothing pending
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn block(kinds: &[SignalKind]) -> io::Result<SignalFd> {
        let set = sigset(kinds)?;
        // SAFETY: `set` is a valid, initialised signal set; a null old-set pointer is allowed.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        // SAFETY: `set` is initialised; -1 asks for a new descriptor.
        let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `signalfd` just returned this descriptor and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(SignalFd { fd })
    }

    /// Takes one pending signal, if any, without waiting.
    ///
    /// # Errors
    ///
    /// `read(2)` errors other than `EAGAIN` (retried on `EINTR`).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::signal::{SignalFd, SignalKind};
    /// let usr2 = SignalFd::block(&[SignalKind::user_defined2()])?;
    /// // SAFETY: `raise` has no preconditions; USR2 is blocked, so it just becomes pending.
    /// unsafe { libc::raise(libc::SIGUSR2) };
    /// assert_eq!(usr2.try_recv()?, Some(SignalKind::user_defined2()));
    /// assert_eq!(usr2.try_recv()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_recv(&self) -> io::Result<Option<SignalKind>> {
        let mut info = MaybeUninit::<libc::signalfd_siginfo>::uninit();
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        loop {
            // SAFETY: `info` is writable storage of exactly `size` bytes.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), info.as_mut_ptr().cast(), size) };
            if n == size as isize {
                // SAFETY: the kernel wrote one whole record.
                let info = unsafe { info.assume_init() };
                return Ok(Some(SignalKind(info.ssi_signo as i32)));
            }
            let e = if n < 0 {
                io::Error::last_os_error()
            } else {
                io::Error::new(io::ErrorKind::UnexpectedEof, "short read from a signalfd")
            };
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => return Ok(None),
                _ => return Err(e),
            }
        }
    }

    /// Waits on the current runtime for the next signal.
    ///
    /// # Errors
    ///
    /// Outside a runtime, or if the descriptor cannot be registered or read.
    ///
    /// # Examples
    ///
    /// See the type's example.
    pub async fn recv(&mut self) -> io::Result<SignalKind> {
        // Registered for the duration of this wait only: a program reads signals rarely,
        // and `&mut self` makes sure one registration exists at a time.
        let reg = Registration::new(self.fd.as_raw_fd(), Interest::READABLE)?;
        std::future::poll_fn(|cx| {
            reg.poll_read_io(cx, || {
                self.try_recv()?
                    .ok_or_else(|| io::ErrorKind::WouldBlock.into())
            })
        })
        .await
    }

    /// Waits with `poll(2)` for the next signal, at most `timeout` (`None`: forever); `None`
    /// when the time ran out.
    ///
    /// # Errors
    ///
    /// `poll(2)` or `read(2)` errors (`EINTR` is retried).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use c10k_runtime::signal::{SignalFd, SignalKind};
    /// let mut alarm = SignalFd::block(&[SignalKind::alarm()])?;
    /// assert_eq!(alarm.recv_blocking(Some(Duration::from_millis(1)))?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_blocking(&mut self, timeout: Option<Duration>) -> io::Result<Option<SignalKind>> {
        use rustix::event::{PollFd, PollFlags};
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            if let Some(kind) = self.try_recv()? {
                return Ok(Some(kind));
            }
            let left = match deadline {
                Some(d) => match d.checked_duration_since(std::time::Instant::now()) {
                    Some(left) if !left.is_zero() => Some(timespec(left)),
                    _ => return Ok(None),
                },
                None => None,
            };
            let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
            match rustix::event::poll(&mut fds, left.as_ref()) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// A `poll(2)` timeout, rounded up to the next millisecond so that a wait never ends early.
pub(crate) fn timespec(d: Duration) -> rustix::time::Timespec {
    let d = d.checked_add(Duration::from_nanos(999_999)).unwrap_or(d);
    let ms = Duration::from_millis(d.as_millis().min(u128::from(u32::MAX)) as u64);
    rustix::time::Timespec {
        tv_sec: ms.as_secs() as _,
        tv_nsec: ms.subsec_nanos() as _,
    }
}

impl AsFd for SignalFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl fmt::Debug for SignalFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalFd")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}
