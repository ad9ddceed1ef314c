//! [`Elapsed`]: the error of a [`Timeout`](super::Timeout) whose deadline came first.

use std::fmt;
use std::io;

/// The deadline of a [`timeout`](fn@super::timeout) passed before its future completed.
///
/// Converts into an [`io::Error`] of kind [`io::ErrorKind::TimedOut`], so that `?` works in
/// functions returning `io::Result`.
///
/// # Examples
///
/// ```
/// use std::io;
/// use c10k_runtime::time::Elapsed;
///
/// fn check(r: Result<(), Elapsed>) -> io::Result<()> {
///     r?;
///     Ok(())
/// }
/// # let _ = check;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl Elapsed {
    /// The error value.
    pub(crate) fn new() -> Elapsed {
        Elapsed(())
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for io::Error {
    fn from(elapsed: Elapsed) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, elapsed)
    }
}
