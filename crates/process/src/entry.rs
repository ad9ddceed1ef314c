//! Registered entry points, [`init`], and what a child does before and after its entry.
//!
//! # The child's protocol
//!
//! 1. The parent makes a socket pair and starts the child (spawn: this binary again, with
//!    `C10K_PROCESS_CHILD=<fd>` naming the inherited end; forkserver: a fork of the fork
//!    server that received the end over its socket).
//! 2. The parent writes one boot frame: entry name, process name, daemon flag, parent pid,
//!    the postcard arguments; the descriptors of IPC objects inside the arguments travel
//!    with it (`SCM_RIGHTS`, see `wire`).
//! 3. The child (in [`init`], before `main` does anything else) sets `PR_SET_PDEATHSIG` if
//!    it is a daemon, reads the boot frame, finds the entry by name, deserializes the
//!    arguments and calls the entry under `catch_unwind`.
//! 4. It writes one outcome frame (`Returned(bytes)`, `Panicked(message)` or `Failed(why)`)
//!    and exits with 0, 1 (panic) or 2 (bootstrap failure), after the exit handlers ran (a
//!    child waits for its own non-daemon children, as the parent does).
//! 5. The parent reads the outcome and reaps the child through its pidfd.

use std::io::{self, Read, Write};
use std::marker::PhantomData;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::wire;

/// The environment variable that tells a re-executed binary it is a child, and which
/// descriptor is its bootstrap socket.
pub(crate) const CHILD_ENV: &str = "C10K_PROCESS_CHILD";

/// A function that can run in a child process: `fn(A) -> R` under a name unique in the
/// program.
///
/// Declare it as a `static`, list it in [`init`], and start it with
/// [`Process::spawn`](crate::Process::spawn). Both processes run the same binary, so the
/// name is all that travels; `A` travels as postcard bytes (plus the descriptors of any IPC
/// objects inside it), `R` comes back the same way.
///
/// # Examples
///
/// ```no_run
/// use c10k_process::{Entry, Process};
///
/// fn square(x: u64) -> u64 {
///     x * x
/// }
/// static SQUARE: Entry<u64, u64> = Entry::new("square", square);
///
/// fn main() -> std::io::Result<()> {
///     c10k_process::init(&[&SQUARE]); // first thing in main: a child runs its entry here
///     let mut p = Process::spawn(&SQUARE, 7)?;
///     assert_eq!(p.join_value().unwrap(), 49);
///     Ok(())
/// }
/// ```
pub struct Entry<A, R> {
    name: &'static str,
    func: fn(A) -> R,
    _types: PhantomData<fn(A) -> R>,
}

impl<A, R> Entry<A, R> {
    /// An entry named `name` (unique among the entries given to [`init`]) that runs `func`.
    pub const fn new(name: &'static str, func: fn(A) -> R) -> Entry<A, R> {
        Entry { name, func, _types: PhantomData }
    }

    /// The name the child looks the entry up by.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl<A, R> std::fmt::Debug for Entry<A, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry").field("name", &self.name).finish()
    }
}

/// What a child sends back once its entry returned or panicked (not public API).
#[doc(hidden)]
#[derive(Debug, Serialize, Deserialize)]
pub enum Outcome {
    /// The entry returned; the postcard bytes of its value.
    Returned(Vec<u8>),
    /// The entry panicked with this message.
    Panicked(String),
    /// The child could not run the entry (unknown name, arguments that do not decode).
    Failed(String),
}

/// An entry with its types erased, as [`init`] keeps them. Implemented by [`Entry`]; the
/// method is not public API.
pub trait Registered: Sync {
    /// The entry's name.
    fn entry_name(&self) -> &'static str;

    #[doc(hidden)]
    fn __run(&self, args: &[u8], fds: Vec<OwnedFd>) -> Outcome;
}

impl<A, R> Registered for Entry<A, R>
where
    A: DeserializeOwned,
    R: Serialize,
{
    fn entry_name(&self) -> &'static str {
        self.name
    }

    fn __run(&self, args: &[u8], fds: Vec<OwnedFd>) -> Outcome {
        let args: A = match wire::decode_with_fds(args, fds) {
            Ok(a) => a,
            Err(e) => return Outcome::Failed(format!("entry `{}`: {e}", self.name)),
        };
        let func = self.func;
        match std::panic::catch_unwind(AssertUnwindSafe(move || func(args))) {
            Ok(r) => match wire::encode(&r) {
                Ok(bytes) => Outcome::Returned(bytes),
                Err(e) => Outcome::Failed(format!("entry `{}` returned a value that {e}", self.name)),
            },
            Err(payload) => Outcome::Panicked(panic_message(&*payload)),
        }
    }
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_string()
    }
}

/// The boot frame a parent sends to its child.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Boot {
    pub(crate) entry: String,
    pub(crate) name: String,
    pub(crate) daemon: bool,
    pub(crate) parent: u32,
    pub(crate) args: Vec<u8>,
}

static REGISTRY: OnceLock<Vec<&'static dyn Registered>> = OnceLock::new();

/// Registers the entry points of this program and, in a child process, runs the entry the
/// parent asked for and exits. **Call it first in `main`**, before any thread starts.
///
/// In the parent (no `C10K_PROCESS_CHILD` in the environment) it only records the entries
/// and returns. In a child started by [`Process`](crate::Process) it never returns: the
/// child runs its entry, reports the outcome to the parent and exits, so the rest of `main`
/// is never reached by children. Calling it again later with the same list is harmless.
///
/// Every binary that starts processes must call it: programs, examples, and test targets,
/// which need `harness = false` and a `main` of their own (libtest's generated `main`
/// cannot call it first); see the crate docs.
///
/// # Panics
///
/// If two entries share a name, or if called twice with different lists: both are
/// programming errors that would make a child run the wrong function.
pub fn init(entries: &[&'static dyn Registered]) {
    let mut all: Vec<&'static dyn Registered> = crate::builtin_entries().to_vec();
    all.extend_from_slice(entries);
    for (i, e) in all.iter().enumerate() {
        if all[..i].iter().any(|o| o.entry_name() == e.entry_name()) {
            panic!("c10k_process::init: two entries are named `{}`", e.entry_name());
        }
    }
    let names: Vec<&str> = all.iter().map(|e| e.entry_name()).collect();
    let stored = REGISTRY.get_or_init(|| all);
    let stored_names: Vec<&str> = stored.iter().map(|e| e.entry_name()).collect();
    assert!(
        stored_names == names,
        "c10k_process::init called twice with different entries ({stored_names:?}, then {names:?})"
    );
    if let Some(fd) = std::env::var_os(CHILD_ENV) {
        std::env::remove_var(CHILD_ENV);
        let fd: i32 = fd.to_str().and_then(|s| s.parse().ok()).unwrap_or(-1);
        if fd < 3 {
            eprintln!("c10k-process: {CHILD_ENV} does not name a descriptor");
            std::process::exit(2);
        }
        // SAFETY: the parent duplicated the child's end of the bootstrap socket onto this
        // descriptor number with `posix_spawn`'s file actions, and nothing in this process
        // has used it yet (`init` runs first in `main`); we take sole ownership here.
        let sock = unsafe { OwnedFd::from_raw_fd(fd) };
        // Keep it from the children this child may start.
        let _ = rustix::io::fcntl_setfd(&sock, rustix::io::FdFlags::CLOEXEC);
        run_child(UnixStream::from(sock));
    }
}

/// Whether [`init`] ran in this process.
pub(crate) fn registered(name: &str) -> io::Result<()> {
    let reg = REGISTRY.get().ok_or_else(|| {
        io::Error::other("c10k_process::init was not called: call it first in main, with the entries children may run")
    })?;
    if reg.iter().any(|e| e.entry_name() == name) {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("entry `{name}` is not registered: list it in c10k_process::init"),
        ))
    }
}

pub(crate) fn lookup(name: &str) -> Option<&'static dyn Registered> {
    REGISTRY.get()?.iter().copied().find(|e| e.entry_name() == name)
}

/// Steps 3 and 4 of the protocol; never returns.
pub(crate) fn run_child(mut sock: UnixStream) -> ! {
    let (boot, fds) = match read_boot(&sock) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("c10k-process: cannot read the bootstrap frame: {e}");
            std::process::exit(2);
        }
    };
    if boot.daemon {
        // Step 3: die with the parent. If the parent died before this line, the signal was
        // never armed: check the parent is still the one that started us.
        let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
        if rustix::process::getppid().map(|p| p.as_raw_nonzero().get() as u32) != Some(boot.parent) {
            std::process::exit(1);
        }
    }
    crate::process::set_current(boot.name.clone(), boot.daemon, boot.parent);
    let outcome = match lookup(&boot.entry) {
        Some(entry) => entry.__run(&boot.args, fds),
        None => Outcome::Failed(format!("entry `{}` is not registered in the child", boot.entry)),
    };
    let code = match outcome {
        Outcome::Returned(_) => 0,
        Outcome::Panicked(_) => 1,
        Outcome::Failed(ref why) => {
            eprintln!("c10k-process: {why}");
            2
        }
    };
    let mut frame = Vec::new();
    if wire::encode_frame(&outcome, &mut frame).is_ok() {
        // The parent may be gone (a daemon's parent died): nothing to report to then.
        let _ = sock.write_all(&frame);
    }
    drop(sock);
    std::process::exit(code);
}

/// Reads the boot frame and the descriptors that came with it.
pub(crate) fn read_boot(sock: &UnixStream) -> io::Result<(Boot, Vec<OwnedFd>)> {
    let mut fds = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut have = 0;
    loop {
        if have == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let n = crate::sys::recv_with_fds(sock.as_fd(), &mut buf[have..], &mut fds)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the parent closed the bootstrap socket"));
        }
        have += n;
        if let Some(len) = wire::frame_len(&buf[..have])? {
            if have >= 4 + len {
                let boot = wire::decode(&buf[4..4 + len])?;
                return Ok((boot, fds));
            }
            if buf.len() < 4 + len {
                buf.resize(4 + len, 0);
            }
            // The descriptors came with the first bytes; the rest is plain data.
            (&*sock).read_exact(&mut buf[have..4 + len])?;
            let boot = wire::decode(&buf[4..4 + len])?;
            return Ok((boot, fds));
        }
    }
}
