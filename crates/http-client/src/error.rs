//! The client's errors.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::client::Attempts;
use crate::head::ProtocolError;
use crate::url::UrlError;

/// Why a request failed, with what was tried ([`Error::attempts`]).
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    attempts: Attempts,
}

/// The kinds of [`Error`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The URL cannot be fetched by this client (not `http://` or `https://`, user info,
    /// blanks, ...).
    Url(UrlError),
    /// Connecting, sending or receiving failed.
    Io(io::Error),
    /// An exchange did not finish within the client's timeout (the duration).
    Timeout(Duration),
    /// The server's answer was malformed (the reason).
    Protocol(String),
    /// Too many redirects, or a redirect to a URL this client cannot fetch.
    Redirect(String),
    /// TLS could not be set up (no root certificates) or its handshake failed.
    Tls(String),
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, attempts: Attempts) -> Error {
        Error { kind, attempts }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// What went wrong, taken out of the error.
    pub fn into_kind(self) -> ErrorKind {
        self.kind
    }

    /// Requests, redirects and retries tried before the failure.
    pub fn attempts(&self) -> Attempts {
        self.attempts
    }

    /// True when the client's timeout ended the request.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, ErrorKind::Timeout(_))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Url(e) => write!(f, "{e}"),
            ErrorKind::Io(e) => write!(f, "{e}"),
            ErrorKind::Timeout(d) => write!(f, "timed out after {:.1} s", d.as_secs_f64()),
            ErrorKind::Protocol(why) | ErrorKind::Redirect(why) => f.write_str(why),
            ErrorKind::Tls(why) => write!(f, "TLS: {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io(e) => Some(e),
            ErrorKind::Url(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ProtocolError> for ErrorKind {
    fn from(e: ProtocolError) -> Self {
        ErrorKind::Protocol(e.0)
    }
}
