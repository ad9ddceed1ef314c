//! [`Backend`]: which kernel interface a [`Selector`](crate::Selector) uses.

use std::error::Error;
use std::fmt;
use std::str::FromStr;

/// The readiness system call behind a [`Selector`](crate::Selector).
///
/// | backend | per call | limit | modes |
/// |---|---|---|---|
/// | `select(2)` | O(highest fd): copies and scans three bitmaps | descriptor *values* below [`FD_SETSIZE`](crate::FD_SETSIZE) | level |
/// | `poll(2)` | O(registered): copies and scans the whole `pollfd` array | none | level |
/// | `epoll(7)` | O(ready): the interest list lives in the kernel | none | level, edge |
///
/// The [guide](crate::guide) explains the differences and when each is right.
///
/// # Examples
///
/// ```
/// use c10k_selector::Backend;
///
/// let backend: Backend = "poll".parse()?;
/// assert_eq!(backend, Backend::Poll);
/// assert_eq!(backend.to_string(), "poll");
/// assert!("kqueue".parse::<Backend>().unwrap_err().to_string().contains("select, poll, epoll"));
/// # Ok::<(), c10k_selector::ParseBackendError>(())
/// ```
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// `select(2)`: portable, level-triggered, descriptors below `FD_SETSIZE`.
    Select,
    /// `poll(2)`: level-triggered, no descriptor limit, O(n) per call.
    Poll,
    /// `epoll(7)` (Linux): level- or edge-triggered, O(ready) per call.
    Epoll,
}

impl Backend {
    /// Every backend, in the order of the tutorials: select, poll, epoll.
    pub const ALL: [Backend; 3] = [Backend::Select, Backend::Poll, Backend::Epoll];

    /// The best backend on this platform: epoll on Linux and Android, poll
    /// elsewhere. [`Selector::new`](crate::Selector::new) uses it.
    pub fn best() -> Backend {
        if cfg!(any(target_os = "linux", target_os = "android")) {
            Backend::Epoll
        } else {
            Backend::Poll
        }
    }

    /// The backend's name as accepted by `FromStr`: `select`, `poll`, `epoll`.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Select => "select",
            Backend::Poll => "poll",
            Backend::Epoll => "epoll",
        }
    }

    /// Whether [`Interest::edge`](crate::Interest::edge) is accepted (epoll
    /// only; the others return [`Unsupported`](std::io::ErrorKind::Unsupported)).
    pub const fn supports_edge(self) -> bool {
        matches!(self, Backend::Epoll)
    }

    /// Whether this backend exists on this platform (epoll is Linux-only).
    pub const fn is_available(self) -> bool {
        match self {
            Backend::Select | Backend::Poll => true,
            Backend::Epoll => cfg!(any(target_os = "linux", target_os = "android")),
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

    fn from_str(s: &str) -> Result<Backend, ParseBackendError> {
        Backend::ALL
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseBackendError(s.to_owned()))
    }
}

/// The error of parsing an unknown backend name; its message lists the valid
/// names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseBackendError(String);

impl fmt::Display for ParseBackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown selector backend `{}`: expected one of select, poll, epoll",
            self.0
        )
    }
}

impl Error for ParseBackendError {}
