//! How the programs fail: one-line messages and the exit-code contract.
//!
//! - `0`: success (including a closed stdout: `c10k lab | head` is not a failure);
//! - `1`: a runtime failure (cannot bind, a child server died, ...);
//! - `2`: bad usage, whether clap catches it or a program does ([`UsageError`]);
//! - `130`: interrupted by Ctrl-C before the work was done ([`Interrupted`]; 128 + SIGINT,
//!   as shells report a process killed by it).

use std::fmt;
use std::io;

/// A command line that parses but asks for something impossible; exits with code 2.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A program stopped by Ctrl-C before it finished its work (what it had done is kept);
/// exits with code 130.
#[derive(Debug)]
pub(crate) struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// Returns an [`anyhow::Error`] that makes the program exit with code 2.
pub(crate) fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(message.into()))
}

/// The short, lowercase description of an IO error used in one-line messages
/// (`address in use`, not `Address already in use (os error 98)`).
pub(crate) fn short(e: &io::Error) -> String {
    let text = match e.kind() {
        io::ErrorKind::AddrInUse => "address in use",
        io::ErrorKind::AddrNotAvailable => "address not available",
        io::ErrorKind::PermissionDenied => "permission denied",
        io::ErrorKind::ConnectionRefused => "connection refused",
        io::ErrorKind::ConnectionReset => "connection reset",
        io::ErrorKind::TimedOut => "timed out",
        io::ErrorKind::NotFound => "not found",
        _ => {
            let full = e.to_string();
            let text = full.split(" (os error").next().unwrap_or(&full);
            let mut chars = text.chars();
            return match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => full,
            };
        }
    };
    text.to_owned()
}

/// The exit code for an error that ended the program.
pub(crate) fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<UsageError>().is_some() {
        return 2;
    }
    if e.downcast_ref::<Interrupted>().is_some() {
        return 130;
    }
    if is_broken_pipe(e) {
        return 0;
    }
    1
}

/// True when the error is a write to a closed stdout (a reader such as `head` went away).
pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_messages_are_lowercase_and_without_errno() {
        let e = io::Error::from_raw_os_error(libc::EADDRINUSE);
        assert_eq!(short(&e), "address in use");
        let e = io::Error::from_raw_os_error(libc::EMFILE);
        assert_eq!(short(&e), "too many open files");
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(exit_code(&usage("bad")), 2);
        assert_eq!(exit_code(&anyhow::anyhow!("boom")), 1);
        let pipe = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(exit_code(&pipe.context("writing the table")), 0);
    }
}
