//! [`Process`]: a child running a registered entry, and what this process knows of itself.
//!
//! # Reaping (no zombies)
//!
//! Every child started here is in one list (`CHILDREN`) until it is reaped. A child is
//! reaped, through its pidfd (`waitid(P_PIDFD)`, Linux 5.4), by whichever comes first:
//! its [`Process`]'s `join`/`is_alive`/`exit_code`, the sweep that every `start` and
//! [`active_children`] runs over children whose `Process` was dropped, or the exit
//! handler. Children started by the fork server are its own children: it reaps them and
//! sends their status down a per-child socket, which takes the pidfd's place.
//!
//! # Exit
//!
//! The first `start` installs an `atexit` handler, run when `main` returns or
//! `std::process::exit` is called: it sends SIGTERM to daemon children still running and
//! then waits for every child, daemon or not (Python's `multiprocessing` does the same).
//! Daemon children also carry `PR_SET_PDEATHSIG = SIGKILL`, so they die with the parent
//! even when it is killed and runs no handler. (Linux ties that signal to the *thread* that
//! started the child: a daemon child started from a thread that exits dies with the
//! thread.)

use std::io::{self, Read};
use std::marker::PhantomData;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::entry::{Boot, Entry, Outcome, Registered, CHILD_ENV};
use crate::{sys, wire, StartMethod};

/// How a child process ended: the exit code it chose, or the signal that killed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus {
    code: Option<i32>,
    signal: Option<i32>,
}

impl ExitStatus {
    /// The exit code, if the child exited (0 after its entry returned, 1 after a panic, 2
    /// when it could not run the entry).
    pub fn code(&self) -> Option<i32> {
        self.code
    }

    /// The signal that ended the child, if one did (15 after `terminate`, 9 after `kill`).
    pub fn signal(&self) -> Option<i32> {
        self.signal
    }

    /// Whether the child exited with code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Python's `Process.exitcode`: the exit code, or minus the signal number.
    pub fn exitcode(&self) -> i32 {
        match (self.code, self.signal) {
            (Some(c), _) => c,
            (None, Some(s)) => -s,
            (None, None) => 0,
        }
    }
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.code, self.signal) {
            (Some(c), _) => write!(f, "exit code {c}"),
            (None, Some(s)) => write!(f, "killed by signal {s}"),
            (None, None) => f.write_str("unknown status"),
        }
    }
}

/// Why a child's entry produced no value.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProcessError {
    /// The entry panicked; the panic message.
    Panicked(String),
    /// The child ended by a signal before reporting (SIGTERM from `terminate`, …).
    Signaled(i32),
    /// The child exited with this code before reporting (it called `exit` in the entry).
    Exited(i32),
    /// The child could not run the entry (a bootstrap failure, arguments that did not
    /// decode), or its value did not decode in the parent.
    Failed(String),
    /// A system call failed while starting or waiting.
    Io(io::Error),
}

impl std::fmt::Display for ProcessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProcessError::Panicked(m) => write!(f, "the child panicked: {m}"),
            ProcessError::Signaled(s) => write!(f, "the child was killed by signal {s}"),
            ProcessError::Exited(c) => write!(f, "the child exited with code {c} without a value"),
            ProcessError::Failed(m) => write!(f, "the child failed: {m}"),
            ProcessError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ProcessError {}

impl From<io::Error> for ProcessError {
    fn from(e: io::Error) -> ProcessError {
        ProcessError::Io(e)
    }
}

/// Where a child's exit status comes from.
#[derive(Debug)]
pub(crate) enum Reaper {
    /// Our own child: `waitid` on its pidfd.
    Own,
    /// A child of the fork server, which sends the status (two little-endian `i32`: code
    /// or -1, signal or 0) on this socket when it reaped the child.
    Forkserver(UnixStream),
}

/// One started child, shared by its `Process` and the list of children.
#[derive(Debug)]
pub(crate) struct Child {
    pid: u32,
    pidfd: OwnedFd,
    daemon: bool,
    reaper: Reaper,
    /// The parent's end of the bootstrap socket (non-blocking): the outcome arrives here.
    sock: UnixStream,
    state: Mutex<ChildState>,
}

#[derive(Debug, Default)]
struct ChildState {
    buf: Vec<u8>,
    eof: bool,
    status: Option<ExitStatus>,
}

impl Child {
    pub(crate) fn new(pid: u32, pidfd: OwnedFd, daemon: bool, reaper: Reaper, sock: UnixStream) -> io::Result<Child> {
        sock.set_nonblocking(true)?;
        if let Reaper::Forkserver(s) = &reaper {
            s.set_nonblocking(true)?;
        }
        Ok(Child { pid, pidfd, daemon, reaper, sock, state: Mutex::new(ChildState::default()) })
    }

    fn state(&self) -> MutexGuard<'_, ChildState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drains the bootstrap socket, then reaps the child if it ended. Never blocks.
    fn poll_status(&self) -> io::Result<Option<ExitStatus>> {
        let mut st = self.state();
        if st.status.is_some() {
            return Ok(st.status);
        }
        self.drain(&mut st)?;
        let status = match &self.reaper {
            Reaper::Own => {
                let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG;
                match rustix::process::waitid(WaitId::PidFd(self.pidfd.as_fd()), options) {
                    Ok(Some(s)) => Some(ExitStatus { code: s.exit_status(), signal: s.terminating_signal() }),
                    Ok(None) => None,
                    Err(rustix::io::Errno::CHILD) => {
                        // Reaped by someone else (a SIGCHLD handler of the program, or
                        // `waitpid(-1)`): the status is lost.
                        Some(ExitStatus { code: None, signal: None })
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Reaper::Forkserver(s) => {
                let mut b = [0u8; 8];
                match (&*s).read(&mut b) {
                    Ok(8) => {
                        let code = i32::from_le_bytes(b[..4].try_into().expect("4"));
                        let sig = i32::from_le_bytes(b[4..].try_into().expect("4"));
                        Some(ExitStatus { code: (code >= 0).then_some(code), signal: (sig > 0).then_some(sig) })
                    }
                    Ok(0) => Some(ExitStatus { code: None, signal: None }), // the fork server died
                    Ok(_) => return Err(io::Error::new(io::ErrorKind::InvalidData, "short status from the fork server")),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
                    Err(e) => return Err(e),
                }
            }
        };
        if let Some(s) = status {
            // The child is gone, so everything it wrote is in the socket already.
            self.drain(&mut st)?;
            st.status = Some(s);
        }
        Ok(st.status)
    }

    fn drain(&self, st: &mut ChildState) -> io::Result<()> {
        let mut chunk = [0u8; 4096];
        while !st.eof {
            match (&self.sock).read(&mut chunk) {
                Ok(0) => st.eof = true,
                Ok(n) => {
                    if st.buf.len() + n > wire::MAX_FRAME + 4 {
                        return Err(wire::too_large(st.buf.len() + n));
                    }
                    st.buf.extend_from_slice(&chunk[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // The child's end vanished uncleanly (it was killed): nothing more to read.
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => st.eof = true,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The descriptor that becomes readable when the child ended.
    fn exit_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match &self.reaper {
            Reaper::Own => self.pidfd.as_fd(),
            Reaper::Forkserver(s) => s.as_fd(),
        }
    }

    /// Waits until the child ended (reaping it) or `deadline` passes.
    fn wait(&self, deadline: Option<Instant>) -> io::Result<Option<ExitStatus>> {
        loop {
            if let Some(s) = self.poll_status()? {
                return Ok(Some(s));
            }
            let eof = self.state().eof;
            let mut fds = vec![PollFd::from_borrowed_fd(self.exit_fd(), PollFlags::IN)];
            if !eof {
                fds.push(PollFd::from_borrowed_fd(self.sock.as_fd(), PollFlags::IN));
            }
            if !sys::poll_until(&mut fds, deadline)? {
                return self.poll_status();
            }
        }
    }

    fn signal(&self, sig: Signal) -> io::Result<()> {
        if self.state().status.is_some() {
            return Ok(()); // reaped: the pid may belong to someone else now, the pidfd not
        }
        match rustix::process::pidfd_send_signal(self.pidfd.as_fd(), sig) {
            Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn outcome(&self) -> Option<Result<Outcome, String>> {
        let st = self.state();
        let len = match wire::frame_len(&st.buf) {
            Ok(Some(len)) if st.buf.len() >= 4 + len => len,
            Ok(_) => return None,
            Err(e) => return Some(Err(e.to_string())),
        };
        Some(wire::decode::<Outcome>(&st.buf[4..4 + len]).map_err(|e| e.to_string()))
    }
}

/// Every child not reaped yet.
static CHILDREN: Mutex<Vec<Arc<Child>>> = Mutex::new(Vec::new());
static AT_EXIT: Once = Once::new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn children() -> MutexGuard<'static, Vec<Arc<Child>>> {
    CHILDREN.lock().unwrap_or_else(|p| p.into_inner())
}

/// Reaps the children whose `Process` is gone; keeps the others.
fn sweep() {
    let mut list = children();
    list.retain(|c| {
        let ended = matches!(c.poll_status(), Ok(Some(_)) | Err(_));
        !(ended && Arc::strong_count(c) == 1)
    });
}

extern "C" fn at_exit() {
    let _ = std::panic::catch_unwind(|| {
        let list: Vec<Arc<Child>> = std::mem::take(&mut *children());
        for c in &list {
            if c.daemon {
                let _ = c.signal(Signal::TERM);
            }
        }
        for c in &list {
            let _ = c.wait(None);
        }
    });
}

/// What this process knows about itself (Python's `multiprocessing.current_process()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentProcess {
    /// `"MainProcess"` in a program's first process, the [`Process`]'s name in a child.
    pub name: String,
    /// This process's id.
    pub pid: u32,
    /// Whether this process is a daemon child.
    pub daemon: bool,
    /// The id of the process that started this one, if it is a child of ours.
    pub parent: Option<u32>,
}

/// This process's identity as a child (a `Mutex`, not a `OnceLock`: a child forked by the
/// fork server replaces the server's).
static CURRENT: Mutex<Option<(String, bool, Option<u32>)>> = Mutex::new(None);

pub(crate) fn set_current(name: String, daemon: bool, parent: u32) {
    *CURRENT.lock().unwrap_or_else(|p| p.into_inner()) = Some((name, daemon, Some(parent)));
}

/// This process: its name, pid, whether it is a daemon child, and its parent if it is a
/// child started by [`Process`].
///
/// # Examples
///
/// ```
/// let me = c10k_process::current_process();
/// assert_eq!(me.name, "MainProcess");
/// assert_eq!(me.pid, std::process::id());
/// ```
pub fn current_process() -> CurrentProcess {
    let current = CURRENT.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let (name, daemon, parent) = current.unwrap_or_else(|| ("MainProcess".to_string(), false, None));
    CurrentProcess { name, pid: std::process::id(), daemon, parent }
}

/// The id of this process's parent (`getppid(2)`; 1, or a subreaper, once the parent died:
/// the orphan was adopted).
pub fn parent_pid() -> u32 {
    rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get() as u32)
}

/// The pids of the children of this process that are still running; reaps those that
/// ended and whose [`Process`] was dropped (Python's `active_children()`).
pub fn active_children() -> Vec<u32> {
    sweep();
    children()
        .iter()
        .filter(|c| matches!(c.poll_status(), Ok(None)))
        .map(|c| c.pid)
        .collect()
}

/// A child process running a registered [`Entry`], Python's `multiprocessing.Process`.
///
/// Made with [`new`](Self::new) (then [`start`](Self::start)) or [`spawn`](Self::spawn)
/// (both at once). `R` is the entry's return type: [`join_value`](Self::join_value) hands
/// it back, and [`join`](Self::join) waits for the exit status alone.
///
/// Dropping a `Process` neither kills nor detaches the child for good: the child keeps
/// running, is reaped by the next sweep once it ended, and, if it is not a daemon, is
/// waited for when this program exits.
///
/// # Examples
///
/// ```no_run
/// use c10k_process::{Entry, Process};
///
/// fn greet(name: String) -> String {
///     format!("hello {name} from {}", std::process::id())
/// }
/// static GREET: Entry<String, String> = Entry::new("greet", greet);
///
/// fn main() -> std::io::Result<()> {
///     c10k_process::init(&[&GREET]);
///     let mut p = Process::new(&GREET, "bob".to_string())?.name("greeter").daemon(true);
///     p.start()?;
///     println!("{} is pid {:?}", p.name_str(), p.pid());
///     println!("{}", p.join_value().expect("the child ran"));
///     assert_eq!(p.exit_code(), Some(0));
///     Ok(())
/// }
/// ```
pub struct Process<R = ()> {
    entry: &'static str,
    boot: Option<(Vec<u8>, Vec<OwnedFd>)>,
    name: String,
    daemon: bool,
    method: StartMethod,
    child: Option<Arc<Child>>,
    value_taken: bool,
    _result: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for Process<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process")
            .field("name", &self.name)
            .field("entry", &self.entry)
            .field("pid", &self.pid())
            .field("daemon", &self.daemon)
            .field("method", &self.method)
            .finish()
    }
}

impl<R: DeserializeOwned> Process<R> {
    /// A process that will run `entry(args)` once [`start`](Self::start)ed. The arguments
    /// are serialized now (IPC objects inside keep a duplicate of their descriptors), so
    /// they may be dropped before the start.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `args` cannot be serialized.
    pub fn new<A: Serialize>(entry: &'static Entry<A, R>, args: A) -> io::Result<Process<R>>
    where
        Entry<A, R>: Registered,
    {
        let boot = wire::encode_with_fds(&args)?;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(Process {
            entry: entry.name(),
            boot: Some(boot),
            name: format!("Process-{n}"),
            daemon: false,
            method: crate::default_start_method(),
            child: None,
            value_taken: false,
            _result: PhantomData,
        })
    }

    /// [`new`](Self::new) and [`start`](Self::start) at once.
    ///
    /// # Errors
    ///
    /// As `new` and `start`.
    pub fn spawn<A: Serialize>(entry: &'static Entry<A, R>, args: A) -> io::Result<Process<R>>
    where
        Entry<A, R>: Registered,
    {
        let mut p = Process::new(entry, args)?;
        p.start()?;
        Ok(p)
    }

    /// Sets the name ([`current_process`] reports it in the child). Default `Process-N`.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Process<R> {
        self.name = name.into();
        self
    }

    /// Makes the child a daemon: it is killed when this process (precisely: the thread that
    /// starts it) dies, and terminated at exit instead of waited for.
    #[must_use]
    pub fn daemon(mut self, daemon: bool) -> Process<R> {
        self.daemon = daemon;
        self
    }

    /// Chooses how the child starts (default: [`StartMethod::Spawn`], or what
    /// [`set_start_method`](crate::set_start_method) chose).
    #[must_use]
    pub fn start_method(mut self, method: StartMethod) -> Process<R> {
        self.method = method;
        self
    }

    /// Starts the child.
    ///
    /// # Errors
    ///
    /// `NotFound` if the entry is not registered (or [`init`](crate::init) was not called);
    /// `AlreadyExists`-like `Other` if the process was started already; the system's error
    /// if the child cannot be created.
    pub fn start(&mut self) -> io::Result<()> {
        crate::entry::registered(self.entry)?;
        let (args, fds) = self.boot.take().ok_or_else(|| io::Error::other("this process was started already"))?;
        sweep();
        AT_EXIT.call_once(|| {
            // SAFETY: `at_exit` is an `extern "C" fn()` that never unwinds (it catches).
            unsafe { libc::atexit(at_exit) };
        });
        let (ours, theirs) = UnixStream::pair()?;
        let (pid, reaper) = match self.method {
            StartMethod::Spawn => {
                let target = if std::os::fd::AsRawFd::as_raw_fd(&theirs) == 3 { 4 } else { 3 };
                let pid = sys::spawn_self("--c10k-process-child", &[(CHILD_ENV, target.to_string())], theirs.as_fd(), target)?;
                (pid, Reaper::Own)
            }
            StartMethod::Forkserver => crate::forkserver::fork_child(theirs.as_fd())?,
        };
        drop(theirs);
        let pidfd = rustix::process::pidfd_open(
            Pid::from_raw(pid as i32).ok_or_else(|| io::Error::other("posix_spawn returned pid 0"))?,
            rustix::process::PidfdFlags::empty(),
        )?;
        let boot = Boot {
            entry: self.entry.to_string(),
            name: self.name.clone(),
            daemon: self.daemon,
            parent: match self.method {
                StartMethod::Spawn => std::process::id(),
                StartMethod::Forkserver => crate::forkserver::server_pid().unwrap_or(0),
            },
            args,
        };
        let mut frame = Vec::new();
        wire::encode_frame(&boot, &mut frame)?;
        let borrowed: Vec<_> = fds.iter().map(|f| f.as_fd()).collect();
        let sent = sys::send_with_fds(ours.as_fd(), &frame, &borrowed);
        let child = Arc::new(Child::new(pid, pidfd, self.daemon, reaper, ours)?);
        children().push(child.clone());
        self.child = Some(child);
        // A child that died before reading its boot frame closes the socket: EPIPE here,
        // and the exit status tells why.
        match sent {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e),
            _ => Ok(()),
        }
    }

    /// Waits for the child to end and returns how it ended. Returns at once if it was
    /// joined before.
    ///
    /// # Errors
    ///
    /// `Other` if the process was never started; the system's error from waiting.
    pub fn join(&mut self) -> io::Result<ExitStatus> {
        let child = self.started()?;
        Ok(child.wait(None)?.expect("no deadline"))
    }

    /// Waits at most `timeout` for the child to end: `None` if it is still running.
    ///
    /// # Errors
    ///
    /// As [`join`](Self::join).
    pub fn join_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let child = self.started()?;
        child.wait(sys::deadline(timeout))
    }

    /// Waits for the child to end without blocking the thread: the pidfd and the result
    /// socket are registered with the current c10k runtime.
    ///
    /// # Errors
    ///
    /// As [`join`](Self::join), and outside a c10k runtime.
    pub async fn join_async(&mut self) -> io::Result<ExitStatus> {
        let child = self.started()?.clone();
        if let Some(s) = child.poll_status()? {
            return Ok(s);
        }
        use c10k_runtime::driver::{Interest, Registration};
        let exit_reg = Registration::new(std::os::fd::AsRawFd::as_raw_fd(&child.exit_fd()), Interest::READABLE)?;
        let sock_reg = Registration::new(std::os::fd::AsRawFd::as_raw_fd(&child.sock), Interest::READABLE)?;
        std::future::poll_fn(|cx: &mut Context<'_>| {
            loop {
                if let Some(s) = child.poll_status()? {
                    return Poll::Ready(Ok(s));
                }
                let mut progressed = false;
                for reg in [&exit_reg, &sock_reg] {
                    if let Poll::Ready(r) = reg.poll_read_ready(cx) {
                        reg.clear_readiness(r?);
                        progressed = true;
                    }
                }
                if !progressed {
                    return Poll::Pending;
                }
            }
        })
        .await
    }

    /// Waits for the child and returns its entry's value (once: a second call reports
    /// `Failed`).
    ///
    /// # Errors
    ///
    /// [`ProcessError::Panicked`] with the panic message, `Signaled`/`Exited` if it ended
    /// before reporting, `Failed` if the entry could not run or the value did not decode.
    pub fn join_value(&mut self) -> Result<R, ProcessError> {
        self.join()?;
        self.take_value()
    }

    /// [`join_value`](Self::join_value) without blocking the thread.
    ///
    /// # Errors
    ///
    /// As `join_value`.
    pub async fn join_value_async(&mut self) -> Result<R, ProcessError> {
        self.join_async().await?;
        self.take_value()
    }

    fn take_value(&mut self) -> Result<R, ProcessError> {
        let child = self.started()?.clone();
        let status = child.poll_status()?.ok_or_else(|| ProcessError::Failed("the child is still running".into()))?;
        if self.value_taken {
            return Err(ProcessError::Failed("the value was taken already".into()));
        }
        match child.outcome() {
            Some(Ok(Outcome::Returned(bytes))) => {
                self.value_taken = true;
                wire::decode(&bytes).map_err(|e| ProcessError::Failed(e.to_string()))
            }
            Some(Ok(Outcome::Panicked(m))) => Err(ProcessError::Panicked(m)),
            Some(Ok(Outcome::Failed(m))) => Err(ProcessError::Failed(m)),
            Some(Err(e)) => Err(ProcessError::Failed(e)),
            None => match (status.code(), status.signal()) {
                (_, Some(s)) => Err(ProcessError::Signaled(s)),
                (Some(c), _) => Err(ProcessError::Exited(c)),
                _ => Err(ProcessError::Failed("the child's status was reaped elsewhere".into())),
            },
        }
    }

    /// The panic message, if the child's entry panicked (after it ended).
    pub fn panic_message(&self) -> Option<String> {
        match self.child.as_ref()?.outcome()? {
            Ok(Outcome::Panicked(m)) => Some(m),
            _ => None,
        }
    }
}

impl<R> Process<R> {
    fn started(&self) -> io::Result<&Arc<Child>> {
        self.child.as_ref().ok_or_else(|| io::Error::other("the process was not started"))
    }

    /// Sends SIGTERM (Python's `terminate`). Nothing happens if the child ended.
    ///
    /// # Errors
    ///
    /// `Other` if not started; the system's error.
    pub fn terminate(&self) -> io::Result<()> {
        self.started()?.signal(Signal::TERM)
    }

    /// Sends SIGKILL. Nothing happens if the child ended.
    ///
    /// # Errors
    ///
    /// As [`terminate`](Self::terminate).
    pub fn kill(&self) -> io::Result<()> {
        self.started()?.signal(Signal::KILL)
    }

    /// Whether the child was started and has not ended; a child found ended is reaped.
    pub fn is_alive(&self) -> bool {
        self.child.as_ref().is_some_and(|c| matches!(c.poll_status(), Ok(None)))
    }

    /// The child's pid, once started.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.pid)
    }

    /// The exit code, Python style: `None` while running (or never started), the code
    /// after an exit, minus the signal number after a signal.
    pub fn exit_code(&self) -> Option<i32> {
        let c = self.child.as_ref()?;
        c.poll_status().ok().flatten().map(|s| s.exitcode())
    }

    /// The full exit status, once the child ended.
    pub fn status(&self) -> Option<ExitStatus> {
        self.child.as_ref()?.poll_status().ok().flatten()
    }

    /// A descriptor that becomes readable once the child has ended (its pidfd, or for a
    /// fork-server child the socket its status arrives on), for callers that watch many
    /// children in one `poll(2)`, as a process pool does. Only watch it: reading it is
    /// this `Process`'s job ([`status`](Self::status) then reaps the child). `None` before
    /// the start.
    pub fn exit_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.child.as_ref().map(|c| c.exit_fd())
    }

    /// The name.
    pub fn name_str(&self) -> &str {
        &self.name
    }

    /// Whether it is a daemon.
    pub fn is_daemon(&self) -> bool {
        self.daemon
    }
}
