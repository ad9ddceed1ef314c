//! Ctrl-C for every program: the library's one shutdown path, [`c10k::shutdown::Shutdown`].
//!
//! Each program calls [`install`] first thing in its `run`, before it starts any thread:
//! that blocks `SIGINT` and `SIGTERM` in every thread and opens the signalfd and the eventfd
//! of the [`Shutdown`] (see its module docs for the protocol). Then:
//!
//! - servers on the c10k runtime (`echo --model select|poll|epoll`, `chat`, `http`) read the
//!   signals with a task ([`Shutdown::listen`]): no signal thread, so a current-thread server
//!   is a single-threaded process. The kernel serves such a process's system calls on
//!   cheaper paths (its descriptor table is not shared, so a descriptor lookup takes no
//!   reference; glibc skips the cancellation bookkeeping), about 1 % of an echo server's CPU
//!   (`crates/cli/LAB.md`);
//! - programs whose loops are threads (the other echo models, `load`, `fetch`, `lab`) read
//!   them on a `c10k-shutdown` thread ([`listen_on_thread`]); their loops wait on the
//!   shutdown's eventfd next to their sockets, or look at [`Shutdown::is_requested`] between
//!   steps of work that ends by itself.
//!
//! The first Ctrl-C prints [`ANNOUNCE`] and starts the drain; a second one exits with 130.
//! The servers on the c10k runtime also take `SIGQUIT` (Ctrl-\\) through the same signalfd:
//! it writes a task dump of the runtime to stderr (`c10k::task::dump`) and they keep serving.
//! The process keeps its one `Shutdown` here so that code far from `run` (the lab's child
//! bookkeeping) can ask [`requested`] without a handle threaded through.

use std::io;
use std::sync::OnceLock;
use std::time::Duration;

use c10k::shutdown::Shutdown;

/// What the first Ctrl-C prints on stderr.
pub(crate) const ANNOUNCE: &str = "c10k: shutting down (Ctrl-C again to exit now)";

static INSTALLED: OnceLock<Shutdown> = OnceLock::new();

/// Installs the process's shutdown with a grace period of `grace` (protocol step 1); call it
/// before any thread exists. The caller starts the listener. With `dump_on_quit` (the
/// servers on the c10k runtime), `SIGQUIT` prints a task dump instead of killing the process.
///
/// # Errors
///
/// Fails if the signal mask cannot be changed or a descriptor cannot be opened.
pub(crate) fn install_with(grace: Duration, dump_on_quit: bool) -> io::Result<Shutdown> {
    let mut builder = Shutdown::builder().grace(grace).announce(ANNOUNCE);
    if dump_on_quit {
        builder = builder.dump_on(c10k::signal::SignalKind::quit());
    }
    let shutdown = builder.install()?;
    // A second install in one process (tests call `run` once per process) keeps the first
    // for `requested`; both block the same signals.
    let _ = INSTALLED.set(shutdown.clone());
    Ok(shutdown)
}

/// Installs the shutdown with the library's default grace period and reads Ctrl-C on a
/// thread: for programs that are multi-threaded anyway.
///
/// # Errors
///
/// As [`install_with`], or if the thread cannot be started.
pub(crate) fn install() -> io::Result<Shutdown> {
    let shutdown = install_with(c10k::shutdown::DEFAULT_GRACE, false)?;
    listen_on_thread(&shutdown)?;
    Ok(shutdown)
}

/// Reads Ctrl-C on the `c10k-shutdown` thread (detached: the process exits from it on the
/// second signal, or ends while it waits).
///
/// # Errors
///
/// If the thread cannot be started.
pub(crate) fn listen_on_thread(shutdown: &Shutdown) -> io::Result<()> {
    drop(shutdown.listen_on_thread()?);
    Ok(())
}

/// The process's shutdown, once [`install_with`] ran.
pub(crate) fn installed() -> Option<&'static Shutdown> {
    INSTALLED.get()
}

/// True once Ctrl-C (or SIGTERM) arrived; false before [`install_with`].
pub(crate) fn requested() -> bool {
    installed().is_some_and(Shutdown::is_requested)
}
