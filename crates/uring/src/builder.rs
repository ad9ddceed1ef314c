//! [`Builder`]: the knobs of a ring, and the setup that falls back flag by
//! flag when the kernel refuses one.
//!
//! # Setup
//!
//! 1. [`DISABLE_ENV`](crate::DISABLE_ENV) set to `1` fails at once with
//!    `Unsupported` (the fallback tests use it).
//! 2. `io_uring_setup` with every requested flag. On `EINVAL` (a kernel that
//!    predates a flag, or refuses a combination), drop the newest optional
//!    flag and try again, in this order: `DEFER_TASKRUN` (6.1),
//!    `SINGLE_ISSUER` (6.0), `TASKRUN_FLAG` and `COOP_TASKRUN` (5.19),
//!    `SUBMIT_ALL` (5.18); a flag that needs a dropped one goes with it
//!    (`DEFER_TASKRUN` needs `SINGLE_ISSUER`, `TASKRUN_FLAG` needs
//!    `COOP_TASKRUN` or `DEFER_TASKRUN`). The flags that stuck are reported
//!    by [`Ring::setup_flags`](crate::Ring::setup_flags).
//! 3. `ENOSYS` and `EPERM` (no io_uring, or forbidden by seccomp or
//!    `kernel.io_uring_disabled`) become `Unsupported` with a message naming
//!    the cause, so that callers fall back with one `kind()` check.
//! 4. The ring must offer `IORING_FEAT_EXT_ARG` (5.11: timeouts on the wait
//!    without a timeout SQE) and `IORING_FEAT_NODROP` (5.5: the kernel never
//!    drops a completion when the CQ is full); without them, `Unsupported`.

use std::io;
use std::time::Duration;

use io_uring::IoUring;

use crate::ring::Ring;

/// Which optional setup flags a ring runs with, after the fallbacks of
/// [`Builder::build`].
///
/// # Examples
///
/// ```
/// let ring = c10k_uring::Ring::new()?;
/// let flags = ring.setup_flags();
/// println!("single issuer: {}, defer taskrun: {}", flags.single_issuer, flags.defer_taskrun);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SetupFlags {
    /// `IORING_SETUP_SINGLE_ISSUER`: only one thread submits, which lets the
    /// kernel skip locking.
    pub single_issuer: bool,
    /// `IORING_SETUP_DEFER_TASKRUN`: completion work runs only when the owner
    /// enters the ring to wait, not by interrupting it (no IPIs, batched).
    pub defer_taskrun: bool,
    /// `IORING_SETUP_COOP_TASKRUN`: completion work does not interrupt the
    /// owner with a signal-like notification.
    pub coop_taskrun: bool,
    /// `IORING_SETUP_TASKRUN_FLAG`: the kernel flags pending completion work
    /// in the SQ ring, so a non-waiting [`Ring::submit`](crate::Ring::submit)
    /// with nothing queued and nothing pending skips the system call.
    pub taskrun_flag: bool,
    /// `IORING_SETUP_SUBMIT_ALL`: one bad SQE does not stop the rest of the
    /// batch from being submitted.
    pub submit_all: bool,
    /// `IORING_SETUP_R_DISABLED`: built disabled, waiting for
    /// [`Ring::enable`](crate::Ring::enable) (cleared by it).
    pub disabled: bool,
}

/// Configures and builds a [`Ring`].
///
/// | knob | default | meaning |
/// |---|---|---|
/// | [`entries`](Self::entries) | 1024 | SQ entries: operations queued per turn before a push has to flush |
/// | [`cq_entries`](Self::cq_entries) | 4 × entries | CQ entries: completions the kernel can post before it spills into its overflow list |
/// | [`single_issuer`](Self::single_issuer) | on | `IORING_SETUP_SINGLE_ISSUER` |
/// | [`defer_taskrun`](Self::defer_taskrun) | on | `IORING_SETUP_DEFER_TASKRUN` (needs single issuer) |
/// | [`coop_taskrun`](Self::coop_taskrun) | on | `IORING_SETUP_COOP_TASKRUN` |
/// | [`disabled`](Self::disabled) | off | build with `IORING_SETUP_R_DISABLED`; [`Ring::enable`] on the driving thread |
/// | [`drop_timeout`](Self::drop_timeout) | 1 s | how long dropping a ring waits for cancelled operations |
///
/// `IORING_SETUP_SUBMIT_ALL` is always requested, and
/// `IORING_SETUP_TASKRUN_FLAG` whenever cooperative or deferred task work is
/// (see [`SetupFlags`]).
///
/// # Examples
///
/// Build on one thread, drive on another:
///
/// ```
/// use c10k_uring::Ring;
///
/// let mut ring = Ring::builder().entries(256).disabled(true).build()?;
/// std::thread::spawn(move || -> std::io::Result<()> {
///     ring.enable()?; // binds the single issuer to this thread
///     ring.push(c10k_uring::Op::nop(), 7)?;
///     ring.submit_and_wait(1, None)?;
///     let mut tags = Vec::new();
///     ring.reap(|c| tags.push(c.tag()));
///     assert_eq!(tags, [7]);
///     Ok(())
/// })
/// .join()
/// .unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    entries: u32,
    cq_entries: Option<u32>,
    single_issuer: bool,
    defer_taskrun: bool,
    coop_taskrun: bool,
    disabled: bool,
    drop_timeout: Duration,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// The default configuration (see the table on [`Builder`]).
    pub fn new() -> Self {
        Self {
            entries: 1024,
            cq_entries: None,
            single_issuer: true,
            defer_taskrun: true,
            coop_taskrun: true,
            disabled: false,
            drop_timeout: Duration::from_secs(1),
        }
    }

    /// Sets the number of SQ entries (rounded up to a power of two by the
    /// kernel; at most 32768). Default 1024.
    pub fn entries(&mut self, entries: u32) -> &mut Self {
        self.entries = entries;
        self
    }

    /// Sets the number of CQ entries (at least `entries`; rounded up to a
    /// power of two). Default four times the SQ entries: multishot
    /// operations post many completions per submission.
    pub fn cq_entries(&mut self, cq_entries: u32) -> &mut Self {
        self.cq_entries = Some(cq_entries);
        self
    }

    /// Requests `IORING_SETUP_SINGLE_ISSUER` (default on). Turning it off
    /// also turns off [`defer_taskrun`](Self::defer_taskrun), which needs it.
    pub fn single_issuer(&mut self, on: bool) -> &mut Self {
        self.single_issuer = on;
        self
    }

    /// Requests `IORING_SETUP_DEFER_TASKRUN` (default on; only with
    /// [`single_issuer`](Self::single_issuer)). Completions then become
    /// visible only when the owner enters the ring ([`Ring::submit`] or
    /// [`Ring::submit_and_wait`]), which batches them.
    pub fn defer_taskrun(&mut self, on: bool) -> &mut Self {
        self.defer_taskrun = on;
        self
    }

    /// Requests `IORING_SETUP_COOP_TASKRUN` (default on).
    pub fn coop_taskrun(&mut self, on: bool) -> &mut Self {
        self.coop_taskrun = on;
        self
    }

    /// Builds the ring disabled (`IORING_SETUP_R_DISABLED`, default off):
    /// operations can be pushed and buffer groups registered, but nothing is
    /// submitted until [`Ring::enable`] is called, on the thread that will
    /// drive the ring (with single issuer, that thread becomes the issuer).
    pub fn disabled(&mut self, on: bool) -> &mut Self {
        self.disabled = on;
        self
    }

    /// How long dropping a [`Ring`] with operations in flight waits for
    /// their final completions after cancelling them (default 1 s); see rule
    /// 7 of the [crate docs](crate#the-buffer-ownership-protocol).
    pub fn drop_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.drop_timeout = timeout;
        self
    }

    /// Builds the ring.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`](io::ErrorKind::Unsupported) when io_uring
    /// cannot be used: [`DISABLE_ENV`](crate::DISABLE_ENV) is set, the
    /// kernel lacks it (`ENOSYS`), forbids it (`EPERM`: seccomp or
    /// `kernel.io_uring_disabled`), or lacks `EXT_ARG`/`NODROP`. Other
    /// setup errors (`ENOMEM`, `EMFILE`, `EINVAL` for bad sizes) as reported.
    pub fn build(&self) -> io::Result<Ring> {
        check_env()?;
        self.build_unchecked()
    }

    /// [`build`](Self::build) without the environment check (the cached
    /// probe of [`is_supported`](crate::is_supported) uses it).
    pub(crate) fn build_unchecked(&self) -> io::Result<Ring> {
        let mut want = SetupFlags {
            single_issuer: self.single_issuer,
            defer_taskrun: self.defer_taskrun && self.single_issuer,
            coop_taskrun: self.coop_taskrun,
            // Only valid with cooperative or deferred task work.
            taskrun_flag: self.coop_taskrun || (self.defer_taskrun && self.single_issuer),
            submit_all: true,
            disabled: self.disabled,
        };
        loop {
            match self.setup(want) {
                Ok(uring) => {
                    let params = uring.params();
                    if !params.is_feature_ext_arg() || !params.is_feature_nodrop() {
                        return Err(io::Error::new(
                            io::ErrorKind::Unsupported,
                            "io_uring is too old: c10k needs IORING_FEAT_EXT_ARG and \
                             IORING_FEAT_NODROP (Linux 5.11 or later)",
                        ));
                    }
                    return Ok(Ring::from_parts(uring, want, self.drop_timeout));
                }
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    // Drop the newest optional flag and retry (step 2).
                    if want.defer_taskrun {
                        want.defer_taskrun = false;
                    } else if want.single_issuer {
                        want.single_issuer = false;
                    } else if want.taskrun_flag {
                        want.taskrun_flag = false;
                    } else if want.coop_taskrun {
                        want.coop_taskrun = false;
                    } else if want.submit_all {
                        want.submit_all = false;
                    } else {
                        return Err(e);
                    }
                    want.defer_taskrun &= want.single_issuer;
                    want.taskrun_flag &= want.coop_taskrun || want.defer_taskrun;
                }
                Err(e) => return Err(unavailable(e)),
            }
        }
    }

    fn setup(&self, flags: SetupFlags) -> io::Result<IoUring> {
        let mut b = IoUring::builder();
        let cq = self
            .cq_entries
            .unwrap_or_else(|| self.entries.saturating_mul(4));
        b.setup_cqsize(cq.max(self.entries));
        if flags.single_issuer {
            b.setup_single_issuer();
        }
        if flags.defer_taskrun {
            b.setup_defer_taskrun();
        }
        if flags.coop_taskrun {
            b.setup_coop_taskrun();
        }
        if flags.taskrun_flag {
            b.setup_taskrun_flag();
        }
        if flags.submit_all {
            b.setup_submit_all();
        }
        if flags.disabled {
            b.setup_r_disabled();
        }
        b.build(self.entries)
    }
}

/// Step 1 of the setup: the test hook.
pub(crate) fn check_env() -> io::Result<()> {
    match std::env::var_os(crate::DISABLE_ENV) {
        Some(v) if v == "1" => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "io_uring is disabled by the environment ({}=1)",
                crate::DISABLE_ENV
            ),
        )),
        _ => Ok(()),
    }
}

/// Step 3 of the setup: `ENOSYS` and `EPERM` mean "no io_uring here".
fn unavailable(e: io::Error) -> io::Error {
    let why = match e.raw_os_error() {
        Some(libc::ENOSYS) => "the kernel has no io_uring (ENOSYS)",
        Some(libc::EPERM) => {
            "io_uring is forbidden here (EPERM: a seccomp profile or kernel.io_uring_disabled)"
        }
        _ => return e,
    };
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("io_uring setup failed: {why}"),
    )
}
