//! The few system calls `rustix` does not cover here: the signal mask, `signalfd` and the
//! `fcntl` commands of the `sigio` model's signal-driven IO. Every `unsafe` block of the
//! crate lives in this file.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// Turns a `-1` return into the thread's `errno`.
fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// The real-time signal the `sigio` model asks the kernel to queue for each ready socket.
/// glibc keeps the first real-time signals for itself, hence an offset from `SIGRTMIN()`.
pub(crate) fn sigio_signal() -> libc::c_int {
    libc::SIGRTMIN() + 4
}

/// The signals the `sigio` model consumes from a signalfd (so they must be blocked in every
/// thread, before any other thread exists).
pub(crate) fn sigio_signals() -> [libc::c_int; 2] {
    [libc::SIGIO, sigio_signal()]
}

fn sigset(signals: &[libc::c_int]) -> io::Result<libc::sigset_t> {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `sigemptyset` initialises the set it is given a valid pointer to.
    check(unsafe { libc::sigemptyset(set.as_mut_ptr()) })?;
    for &signal in signals {
        // SAFETY: `set` was initialised by `sigemptyset` above; `sigaddset` validates `signal`.
        check(unsafe { libc::sigaddset(set.as_mut_ptr(), signal) })?;
    }
    // SAFETY: initialised by `sigemptyset`.
    Ok(unsafe { set.assume_init() })
}

/// Adds `signals` to the calling thread's signal mask; threads spawned later inherit it.
pub(crate) fn block_signals(signals: &[libc::c_int]) -> io::Result<()> {
    let set = sigset(signals)?;
    // SAFETY: `set` is a valid, initialised signal set; a null old-set pointer is allowed.
    let ret = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if ret != 0 {
        return Err(io::Error::from_raw_os_error(ret));
    }
    Ok(())
}

/// Removes `signals` from the calling thread's signal mask. A child process inherits its
/// parent's mask through `exec`, so a program started by one that blocks `SIGINT` (the lab)
/// must unblock it before relying on a handler (tokio's `ctrl_c`).
pub(crate) fn unblock_signals(signals: &[libc::c_int]) -> io::Result<()> {
    let set = sigset(signals)?;
    // SAFETY: `set` is a valid, initialised signal set; a null old-set pointer is allowed.
    let ret = unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
    if ret != 0 {
        return Err(io::Error::from_raw_os_error(ret));
    }
    Ok(())
}

/// A non-blocking `signalfd(2)` delivering `signals` (which must be blocked) to this thread.
pub(crate) fn signalfd(signals: &[libc::c_int]) -> io::Result<OwnedFd> {
    let set = sigset(signals)?;
    // SAFETY: `set` is initialised; -1 asks for a new descriptor.
    let fd = check(unsafe { libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) })?;
    // SAFETY: `signalfd` just returned this descriptor and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// What one queued signal says: its number, and for signal-driven IO the descriptor.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignalInfo {
    /// The signal number.
    pub(crate) signo: libc::c_int,
    /// The descriptor that became ready (real-time signals from `F_SETSIG` only).
    pub(crate) fd: libc::c_int,
}

/// Reads as many queued signals as fit in `out` from a non-blocking signalfd; returns how
/// many were read (0 when none is pending).
pub(crate) fn read_signals(fd: BorrowedFd<'_>, out: &mut Vec<SignalInfo>) -> io::Result<usize> {
    const BATCH: usize = 64;
    let mut raw = [MaybeUninit::<libc::signalfd_siginfo>::uninit(); BATCH];
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    let n = loop {
        // SAFETY: `raw` is writable storage for `BATCH` records of `size` bytes each.
        let n = unsafe { libc::read(fd.as_raw_fd(), raw.as_mut_ptr().cast(), BATCH * size) };
        if n >= 0 {
            break n as usize / size;
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return Ok(0),
            _ => return Err(e),
        }
    };
    out.clear();
    for record in &raw[..n] {
        // SAFETY: the kernel wrote `n` whole records, and this is one of them.
        let record = unsafe { record.assume_init_ref() };
        out.push(SignalInfo {
            signo: record.ssi_signo as libc::c_int,
            fd: record.ssi_fd,
        });
    }
    Ok(n)
}

// From <linux/fcntl.h> and <asm-generic/fcntl.h>; the libc crate does not export them.
const F_SETSIG: libc::c_int = 10;
const F_SETOWN_EX: libc::c_int = 15;
const F_OWNER_TID: libc::c_int = 0;

/// `struct f_owner_ex` of `fcntl(2)`.
#[repr(C)]
struct OwnerEx {
    kind: libc::c_int,
    pid: libc::pid_t,
}

/// Makes `fd` signal-driven: non-blocking, `O_ASYNC`, its readiness signals directed at
/// thread `tid` (`F_SETOWN_EX`, `F_OWNER_TID`) as real-time signal `signal` (`F_SETSIG`),
/// which queues one signal per event and carries the descriptor in `si_fd`.
pub(crate) fn set_signal_driven(
    fd: BorrowedFd<'_>,
    tid: i32,
    signal: libc::c_int,
) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    let owner = OwnerEx {
        kind: F_OWNER_TID,
        pid: tid,
    };
    // SAFETY: `raw` is an open descriptor borrowed for this call; `owner` is a valid struct.
    check(unsafe { libc::fcntl(raw, F_SETOWN_EX, &owner) })?;
    // SAFETY: as above; `F_SETSIG` takes an integer signal number.
    check(unsafe { libc::fcntl(raw, F_SETSIG, signal) })?;
    // SAFETY: as above; `F_GETFL` takes no argument.
    let flags = check(unsafe { libc::fcntl(raw, libc::F_GETFL) })?;
    // SAFETY: as above; `F_SETFL` takes the integer flags.
    check(unsafe { libc::fcntl(raw, libc::F_SETFL, flags | libc::O_ASYNC | libc::O_NONBLOCK) })?;
    Ok(())
}

/// Raises the soft descriptor limit to the hard limit (10,000 connections need it).
pub(crate) fn raise_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        // Best effort: without it, the programs still run, with fewer connections.
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

/// Shuts down both directions of socket `fd`: its peer sees the end of stream, and whoever
/// reads it here too (the runtime echo's idle sweep closes a connection this way).
///
/// # Safety
///
/// `fd` must be an open socket for the whole call: the caller holds whatever keeps its
/// owner from closing it (the idle table's lock).
pub(crate) unsafe fn shutdown_both(fd: std::os::fd::RawFd) {
    // SAFETY: the caller guarantees `fd` stays open for the duration of the borrow.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    // An error means the socket is already going (reset by its peer): nothing to do.
    let _ = rustix::net::shutdown(fd, rustix::net::Shutdown::Both);
}

/// Gives the free pages of every malloc arena back to the kernel (`malloc_trim(0)`), where
/// the C library can; it costs a walk over the heaps, so callers do it after bursts only.
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes no pointer and may be called from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Makes the child that `command` starts receive `SIGKILL` when the thread that spawned it
/// exits (`PR_SET_PDEATHSIG`): the lab's servers (paused with `SIGSTOP` most of the time) and
/// load generators then never outlive a lab that was killed. A child whose parent died
/// between `fork` and the `prctl` fails to start instead.
pub(crate) fn die_with_parent(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    let parent = rustix::process::getpid();
    // SAFETY: the closure runs in the child between `fork` and `exec`; it makes two
    // async-signal-safe system calls through rustix, allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(move || {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
            if rustix::process::getppid() != Some(parent) {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}
