//! The one choke point for the system calls of this crate that `std` does not wrap.
//!
//! Everything here returns `io::Result`; waits retry `EINTR` with the time that is left;
//! timeouts are rounded up to the next millisecond (`poll(2)`) so that a wait never ends
//! before its deadline.

use std::ffi::{CString, OsStr, OsString};
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};
use rustix::net::{
    recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};

/// At most this many descriptors travel with one message (a spawn's arguments).
pub(crate) const MAX_FDS: usize = 253;

/// Sends `data` with `fds` attached to its first byte (`SCM_RIGHTS`), then the rest of
/// `data` if the first `sendmsg` took only part of it. The socket must be blocking.
pub(crate) fn send_with_fds(sock: BorrowedFd<'_>, data: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    if fds.len() > MAX_FDS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} descriptors in one message; at most {MAX_FDS} may travel", fds.len()),
        ));
    }
    let mut space = vec![MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(fds.len().max(1)))];
    let mut cmsg = SendAncillaryBuffer::new(&mut space);
    if !fds.is_empty() && !cmsg.push(SendAncillaryMessage::ScmRights(fds)) {
        return Err(io::Error::other("control message buffer too small"));
    }
    let mut sent = loop {
        match sendmsg(sock, &[IoSlice::new(data)], &mut cmsg, SendFlags::NOSIGNAL) {
            Ok(n) => break n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    while sent < data.len() {
        match rustix::net::send(sock, &data[sent..], SendFlags::NOSIGNAL) {
            Ok(n) => sent += n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Receives into `buf`, collecting any descriptors that arrive (close-on-exec) into `fds`.
/// Returns the number of bytes read (0 at end of file). The socket must be blocking.
pub(crate) fn recv_with_fds(sock: BorrowedFd<'_>, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
    let mut space = vec![MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut cmsg = RecvAncillaryBuffer::new(&mut space);
    let n = loop {
        match recvmsg(sock, &mut [IoSliceMut::new(buf)], &mut cmsg, RecvFlags::CMSG_CLOEXEC) {
            Ok(r) => break r.bytes,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    for msg in cmsg.drain() {
        if let RecvAncillaryMessage::ScmRights(rights) = msg {
            fds.extend(rights);
        }
    }
    Ok(n)
}

/// Waits until one of `fds` is ready or `deadline` passes; returns whether any is ready.
/// `EINTR` restarts the wait with the time left.
pub(crate) fn poll_until(fds: &mut [PollFd<'_>], deadline: Option<Instant>) -> io::Result<bool> {
    loop {
        let timeout = match deadline {
            None => None,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                Some(timespec(left))
            }
        };
        match rustix::event::poll(fds, timeout.as_ref()) {
            Ok(n) => return Ok(n > 0),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Waits until `fd` has one of `flags` or `deadline` passes.
pub(crate) fn wait_fd(fd: BorrowedFd<'_>, flags: PollFlags, deadline: Option<Instant>) -> io::Result<bool> {
    let mut pfd = [PollFd::from_borrowed_fd(fd, flags)];
    poll_until(&mut pfd, deadline)
}

/// A `Duration` as a `Timespec` (saturating).
pub(crate) fn timespec(d: Duration) -> rustix::time::Timespec {
    rustix::time::Timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as i64,
        tv_nsec: d.subsec_nanos() as _,
    }
}

/// The deadline `timeout` from now (`None` when it overflows: wait forever).
pub(crate) fn deadline(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// Starts `/proc/self/exe` (this very binary, even if the file was replaced since) with
/// `posix_spawn(3)`: argument 0 as this process got it plus `marker`, the environment of
/// this process with `env` added (replacing variables of the same name), and `child_fd`
/// duplicated onto `target_fd` (the only descriptor the child inherits besides 0, 1 and
/// 2: every other descriptor of ours is close-on-exec). The child starts with an empty
/// signal mask and default dispositions for SIGTERM, SIGINT and SIGHUP, whatever this
/// process blocks or ignores, so that `terminate()` works.
///
/// `posix_spawn` runs no Rust code between the fork (glibc: `clone(CLONE_VM|CLONE_VFORK)`)
/// and the `exec`, which is what makes it safe from a multi-threaded parent.
pub(crate) fn spawn_self(
    marker: &str,
    env: &[(&str, String)],
    child_fd: BorrowedFd<'_>,
    target_fd: RawFd,
) -> io::Result<u32> {
    let path = CString::new("/proc/self/exe").expect("no NUL");
    let arg0 = std::env::args_os().next().unwrap_or_else(|| OsString::from("c10k-child"));
    let argv_owned = [cstring(&arg0)?, CString::new(marker).map_err(invalid)?];
    let mut argv: Vec<*mut libc::c_char> = argv_owned.iter().map(|c| c.as_ptr().cast_mut()).collect();
    argv.push(std::ptr::null_mut());

    let mut env_owned: Vec<CString> = Vec::new();
    for (k, v) in std::env::vars_os() {
        if env.iter().any(|(name, _)| OsStr::new(name) == k) {
            continue;
        }
        let mut kv = k.into_vec();
        kv.push(b'=');
        kv.extend_from_slice(v.as_bytes());
        if let Ok(c) = CString::new(kv) {
            env_owned.push(c);
        }
    }
    for (k, v) in env {
        env_owned.push(CString::new(format!("{k}={v}")).map_err(invalid)?);
    }
    let mut envp: Vec<*mut libc::c_char> = env_owned.iter().map(|c| c.as_ptr().cast_mut()).collect();
    envp.push(std::ptr::null_mut());

    // SAFETY: (1) the file actions and attributes are initialized before use and destroyed
    // on every path below (the guards); (2) every pointer handed to `posix_spawn` points
    // into `path`, `argv_owned`/`argv` and `env_owned`/`envp`, which outlive the call, and
    // both arrays end with a null pointer; (3) `child_fd` is open for the whole call (it is
    // borrowed), and `posix_spawn` runs no code of ours in the child.
    unsafe {
        let mut actions = MaybeUninit::<libc::posix_spawn_file_actions_t>::uninit();
        check(libc::posix_spawn_file_actions_init(actions.as_mut_ptr()))?;
        let mut actions = SpawnActions(actions.assume_init());
        check(libc::posix_spawn_file_actions_adddup2(&mut actions.0, child_fd.as_raw_fd(), target_fd))?;

        let mut attr = MaybeUninit::<libc::posix_spawnattr_t>::uninit();
        check(libc::posix_spawnattr_init(attr.as_mut_ptr()))?;
        let mut attr = SpawnAttr(attr.assume_init());
        let mut empty = MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(empty.as_mut_ptr());
        let empty = empty.assume_init();
        let mut defaults = empty;
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut defaults, sig);
        }
        check(libc::posix_spawnattr_setsigmask(&mut attr.0, &empty))?;
        check(libc::posix_spawnattr_setsigdefault(&mut attr.0, &defaults))?;
        check(libc::posix_spawnattr_setflags(
            &mut attr.0,
            (libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF) as libc::c_short,
        ))?;

        let mut pid: libc::pid_t = 0;
        check(libc::posix_spawn(&mut pid, path.as_ptr(), &actions.0, &attr.0, argv.as_ptr(), envp.as_ptr()))?;
        Ok(pid as u32)
    }
}

struct SpawnActions(libc::posix_spawn_file_actions_t);
impl Drop for SpawnActions {
    fn drop(&mut self) {
        // SAFETY: initialized by `posix_spawn_file_actions_init` before this guard exists.
        unsafe { libc::posix_spawn_file_actions_destroy(&mut self.0) };
    }
}
struct SpawnAttr(libc::posix_spawnattr_t);
impl Drop for SpawnAttr {
    fn drop(&mut self) {
        // SAFETY: initialized by `posix_spawnattr_init` before this guard exists.
        unsafe { libc::posix_spawnattr_destroy(&mut self.0) };
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

fn cstring(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes()).map_err(invalid)
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e.to_string())
}

/// Duplicates `fd` (close-on-exec).
pub(crate) fn dup(fd: impl AsFd) -> io::Result<OwnedFd> {
    fd.as_fd().try_clone_to_owned()
}
