//! [`Backend`]: which kernel interface a runtime's IO driver uses. The one list of IO
//! backends that the CLI, the lab and the macros derive from (`ALL`, `name()`, `FromStr`).

use std::error::Error;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// The kernel interface of the IO driver: three readiness selectors and one completion
/// ring.
///
/// | backend | model | driver |
/// |---|---|---|
/// | [`Select`](Backend::Select) | readiness, `select(2)`, emulated one-shot | `driver/selector.rs` |
/// | [`Poll`](Backend::Poll) | readiness, `poll(2)`, emulated one-shot | `driver/selector.rs` |
/// | [`Epoll`](Backend::Epoll) | readiness, `epoll(7)`, edge-triggered | `driver/selector.rs` |
/// | [`Uring`](Backend::Uring) | completion, `io_uring(7)` | `driver/uring.rs` |
///
/// The runtime's default is [`best()`](Backend::best), epoll on Linux; [`auto()`](Backend::auto)
/// prefers io_uring where the kernel allows it and falls back to epoll, saying so once on
/// stderr.
///
/// # Examples
///
/// ```
/// use c10k_runtime::driver::Backend;
/// assert_eq!("uring".parse::<Backend>()?, Backend::Uring);
/// assert_eq!(Backend::Epoll.name(), "epoll");
/// let names: Vec<&str> = Backend::ALL.iter().map(|b| b.name()).collect();
/// assert_eq!(names, ["select", "poll", "epoll", "uring"]);
/// # Ok::<(), c10k_runtime::driver::ParseBackendError>(())
/// ```
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// `select(2)`: the tutorials' first loop; descriptors below `FD_SETSIZE` only.
    Select,
    /// `poll(2)`: no descriptor limit, O(n) per wait.
    Poll,
    /// `epoll(7)`, edge-triggered: O(ready) per wait. Linux only.
    Epoll,
    /// `io_uring(7)`: completion IO, many operations per system call. Linux 6.0 or later;
    /// unavailable where a seccomp profile or `kernel.io_uring_disabled` forbids it, or when
    /// the environment variable `C10K_URING_DISABLE=1` is set (for tests of the fallback).
    Uring,
}

impl Backend {
    /// Every backend, in the order of the tutorials.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::driver::Backend;
    /// for b in Backend::ALL {
    ///     println!("{b}: available = {}", b.is_available());
    /// }
    /// ```
    pub const ALL: [Backend; 4] = [
        Backend::Select,
        Backend::Poll,
        Backend::Epoll,
        Backend::Uring,
    ];

    /// The runtime's default: the best *readiness* backend of the platform (epoll on Linux).
    ///
    /// It stays epoll rather than io_uring because only programs written for completion IO
    /// (few sends and receives in flight per turn, reads through the runtime's buffers) gain
    /// from the ring, while io_uring is often forbidden in containers; see `BENCH-net.md`.
    /// Use [`auto`](Self::auto) to prefer the ring.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = c10k_runtime::Runtime::builder().current_thread().build()?;
    /// assert_eq!(rt.handle().backend(), c10k_runtime::driver::Backend::best());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn best() -> Backend {
        c10k_selector::Backend::best().into()
    }

    /// [`Uring`](Self::Uring) if io_uring works here, else [`best`](Self::best). The first
    /// call that falls back prints one line on stderr naming the reason; the probe runs once
    /// per process (`C10K_URING_DISABLE` is read on every call).
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::driver::Backend;
    /// let rt = c10k_runtime::Runtime::builder()
    ///     .current_thread()
    ///     .backend(Backend::auto())
    ///     .build()?;
    /// assert!(matches!(rt.handle().backend(), Backend::Uring | Backend::Epoll | Backend::Poll));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn auto() -> Backend {
        match c10k_uring::is_supported() {
            Ok(()) => Backend::Uring,
            Err(e) => {
                static SAID: OnceLock<()> = OnceLock::new();
                let fallback = Backend::best();
                SAID.get_or_init(|| {
                    eprintln!("c10k: io_uring is unavailable ({e}); using {fallback}");
                });
                fallback
            }
        }
    }

    /// The lowercase name, as accepted by [`FromStr`] and the CLI's `--backend`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(c10k_runtime::driver::Backend::Uring.name(), "uring");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Select => "select",
            Backend::Poll => "poll",
            Backend::Epoll => "epoll",
            Backend::Uring => "uring",
        }
    }

    /// The selector backend, for the readiness backends; `None` for the ring.
    ///
    /// # Examples
    ///
    /// ```
    /// use c10k_runtime::driver::Backend;
    /// assert_eq!(Backend::Poll.selector(), Some(c10k_selector::Backend::Poll));
    /// assert_eq!(Backend::Uring.selector(), None);
    /// ```
    pub const fn selector(self) -> Option<c10k_selector::Backend> {
        match self {
            Backend::Select => Some(c10k_selector::Backend::Select),
            Backend::Poll => Some(c10k_selector::Backend::Poll),
            Backend::Epoll => Some(c10k_selector::Backend::Epoll),
            Backend::Uring => None,
        }
    }

    /// Whether the driver is completion-based (operations, not readiness).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(c10k_runtime::driver::Backend::Uring.is_completion());
    /// ```
    pub const fn is_completion(self) -> bool {
        matches!(self, Backend::Uring)
    }

    /// Whether the backend can be used in this process (for io_uring, a probe that builds a
    /// tiny ring once; see [`auto`](Self::auto)).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(c10k_runtime::driver::Backend::Poll.is_available());
    /// ```
    pub fn is_available(self) -> bool {
        match self.selector() {
            Some(s) => s.is_available(),
            None => c10k_uring::is_supported().is_ok(),
        }
    }
}

impl From<c10k_selector::Backend> for Backend {
    fn from(b: c10k_selector::Backend) -> Backend {
        match b {
            c10k_selector::Backend::Select => Backend::Select,
            c10k_selector::Backend::Poll => Backend::Poll,
            _ => Backend::Epoll,
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = ParseBackendError;

    /// Parses a [`name`](Backend::name), ignoring ASCII case.
    fn from_str(s: &str) -> Result<Backend, ParseBackendError> {
        Backend::ALL
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseBackendError(s.to_owned()))
    }
}

/// A string that names no [`Backend`].
///
/// # Examples
///
/// ```
/// let err = "kqueue".parse::<c10k_runtime::driver::Backend>().unwrap_err();
/// assert!(err.to_string().contains("select, poll, epoll, uring"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseBackendError(String);

impl fmt::Display for ParseBackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown IO backend `{}`: expected one of ", self.0)?;
        for (i, b) in Backend::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(b.name())?;
        }
        Ok(())
    }
}

impl Error for ParseBackendError {}
