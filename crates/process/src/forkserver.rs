//! The forkserver start method: a small single-threaded server that forks children.
//!
//! # Why
//!
//! `fork` in a multi-threaded process copies one thread and every lock the others held;
//! running Rust code in such a child can deadlock (malloc, stdout, any mutex). Exec'ing
//! the binary again (the spawn method) is safe but pays the dynamic loader, relocation and
//! `main` start-up for every child. The fork server is started once, with the spawn
//! method, so it is a fresh process with one thread; it never runs the program's `main`
//! (it is an entry), so it stays single-threaded and can `fork` safely, and each fork is a
//! copy of a small, warmed-up process.
//!
//! # Protocol
//!
//! 1. First use: the parent makes a socket pair and spawns the server (a daemon child,
//!    entry `__c10k_forkserver`) with one end as its argument.
//! 2. Request: the parent sends one byte with two descriptors: the child's end of a
//!    bootstrap socket (exactly as the spawn method would pass it) and the server's end of
//!    a status socket.
//! 3. The server forks. The child closes the server's descriptors and runs the child's
//!    protocol (`entry.rs`) on the bootstrap socket; the parent sends the boot frame to
//!    it as for a spawned child. The server answers the request with the pid (4 bytes).
//! 4. The server watches each child's pidfd; when one ends it reaps it (`waitid`) and
//!    writes the status (code or -1, signal or 0: two little-endian `i32`) on its status
//!    socket, which the parent's `Process` waits on in place of the pidfd it cannot reap.
//! 5. When the parent closes its end, the server exits; children still running are
//!    adopted by init (daemon children die with the server through their death signal).

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::Mutex;

use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, WaitId, WaitIdOptions};

use crate::entry::Entry;
use crate::process::{Process, Reaper};
use crate::wire::FdHandle;
use crate::{sys, StartMethod};

pub(crate) static FORKSERVER: Entry<FdHandle, ()> = Entry::new("__c10k_forkserver", serve);

struct Server {
    control: UnixStream,
    process: Process<()>,
}

static SERVER: Mutex<Option<Server>> = Mutex::new(None);

/// Asks the fork server (started on first use) for a child on `boot` (step 2 and 3).
pub(crate) fn fork_child(boot: BorrowedFd<'_>) -> io::Result<(u32, Reaper)> {
    let mut guard = SERVER.lock().unwrap_or_else(|p| p.into_inner());
    if guard.as_ref().is_some_and(|s| !s.process.is_alive()) {
        *guard = None; // it died (killed): start another
    }
    if guard.is_none() {
        let (ours, theirs) = UnixStream::pair()?;
        let process = Process::new(&FORKSERVER, FdHandle::new(OwnedFd::from(theirs)))?
            .name("c10k-forkserver")
            .daemon(true)
            .start_method(StartMethod::Spawn);
        let mut process = process;
        process.start()?;
        *guard = Some(Server { control: ours, process });
    }
    let server = guard.as_mut().expect("started above");
    let (status_ours, status_theirs) = UnixStream::pair()?;
    sys::send_with_fds(server.control.as_fd(), b"F", &[boot, status_theirs.as_fd()])?;
    let mut pid = [0u8; 4];
    if let Err(e) = server.control.read_exact(&mut pid) {
        *guard = None;
        return Err(io::Error::new(e.kind(), format!("the fork server did not answer: {e}")));
    }
    let pid = u32::from_le_bytes(pid);
    if pid == 0 {
        return Err(io::Error::other("the fork server could not fork"));
    }
    Ok((pid, Reaper::Forkserver(status_ours)))
}

/// The pid of the running fork server, for the children's parent check.
pub(crate) fn server_pid() -> Option<u32> {
    SERVER.lock().unwrap_or_else(|p| p.into_inner()).as_ref().and_then(|s| s.process.pid())
}

/// A child of the server: its pidfd and where its status goes.
struct Forked {
    pidfd: OwnedFd,
    status: UnixStream,
}

/// The server's loop (steps 3 to 5).
fn serve(control: FdHandle) {
    let control = UnixStream::from(control.0.as_ref().try_clone().expect("dup the control socket"));
    let mut kids: Vec<Forked> = Vec::new();
    loop {
        let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(kids.len() + 1);
        fds.push(PollFd::from_borrowed_fd(control.as_fd(), PollFlags::IN));
        for k in &kids {
            fds.push(PollFd::from_borrowed_fd(k.pidfd.as_fd(), PollFlags::IN));
        }
        if sys::poll_until(&mut fds, None).is_err() {
            return;
        }
        let control_ready = !fds[0].revents().is_empty();
        let ended: Vec<usize> = (0..kids.len()).filter(|&i| !fds[i + 1].revents().is_empty()).collect();
        drop(fds);
        for &i in ended.iter().rev() {
            let k = kids.swap_remove(i);
            let (code, sig) = match rustix::process::waitid(WaitId::PidFd(k.pidfd.as_fd()), WaitIdOptions::EXITED) {
                Ok(Some(s)) => (s.exit_status().unwrap_or(-1), s.terminating_signal().unwrap_or(0)),
                _ => (-1, 0),
            };
            let mut b = [0u8; 8];
            b[..4].copy_from_slice(&code.to_le_bytes());
            b[4..].copy_from_slice(&sig.to_le_bytes());
            let _ = (&k.status).write_all(&b);
        }
        if control_ready {
            let mut byte = [0u8; 1];
            let mut received = Vec::new();
            match sys::recv_with_fds(control.as_fd(), &mut byte, &mut received) {
                Ok(1) if received.len() == 2 => {}
                _ => return, // the parent closed its end (or spoke nonsense): step 5
            }
            let status = UnixStream::from(received.pop().expect("two"));
            let boot = received.pop().expect("two");
            // SAFETY: this process is single-threaded (the fork server is an entry started
            // by the spawn method and starts no thread), so the child gets a consistent
            // copy of every lock; it only runs the child's protocol and exits.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                drop(control);
                drop(kids);
                drop(status);
                crate::entry::run_child(UnixStream::from(boot));
            }
            drop(boot);
            let answer = if pid > 0 {
                match rustix::process::pidfd_open(Pid::from_raw(pid).expect("positive"), rustix::process::PidfdFlags::empty()) {
                    Ok(pidfd) => {
                        kids.push(Forked { pidfd, status });
                        pid as u32
                    }
                    Err(_) => 0,
                }
            } else {
                0
            };
            if (&control).write_all(&answer.to_le_bytes()).is_err() {
                return;
            }
        }
    }
}
