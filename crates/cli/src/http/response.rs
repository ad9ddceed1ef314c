//! Status codes and response heads.
//!
//! Every response carries `Content-Length` (the server never needs chunked encoding: static
//! files have a size and generated bodies are built in memory), `Date`, `Server` and, when
//! the connection is closing, `Connection: close`. Error responses have a one-line text body
//! naming the status, so `curl` and `nc` users see what went wrong.

use std::io::Write as _;

/// An HTTP status: code and reason phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Status(pub(crate) u16, pub(crate) &'static str);

impl Status {
    pub(crate) const OK: Status = Status(200, "OK");
    pub(crate) const MOVED_PERMANENTLY: Status = Status(301, "Moved Permanently");
    pub(crate) const BAD_REQUEST: Status = Status(400, "Bad Request");
    pub(crate) const FORBIDDEN: Status = Status(403, "Forbidden");
    pub(crate) const NOT_FOUND: Status = Status(404, "Not Found");
    pub(crate) const METHOD_NOT_ALLOWED: Status = Status(405, "Method Not Allowed");
    pub(crate) const PAYLOAD_TOO_LARGE: Status = Status(413, "Content Too Large");
    pub(crate) const URI_TOO_LONG: Status = Status(414, "URI Too Long");
    pub(crate) const HEADERS_TOO_LARGE: Status = Status(431, "Request Header Fields Too Large");
    pub(crate) const INTERNAL_ERROR: Status = Status(500, "Internal Server Error");
    pub(crate) const VERSION_NOT_SUPPORTED: Status = Status(505, "HTTP Version Not Supported");
}

/// Writes a response head ending with the blank line.
///
/// `extra` headers come after the standard ones; `date` is an HTTP-date (`httpdate`).
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    status: Status,
    content_type: Option<&str>,
    content_length: u64,
    keep_alive: bool,
    date: &str,
    extra: &[(&str, &str)],
) {
    // Writing into a Vec cannot fail.
    let _ = write!(
        out,
        "HTTP/1.1 {} {}\r\nServer: c10k\r\nDate: {date}\r\n",
        status.0, status.1
    );
    if let Some(ct) = content_type {
        let _ = write!(out, "Content-Type: {ct}\r\n");
    }
    let _ = write!(out, "Content-Length: {content_length}\r\n");
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    for (name, value) in extra {
        let _ = write!(out, "{name}: {value}\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// A complete error response: the head and a one-line text body.
pub(crate) fn write_error(
    out: &mut Vec<u8>,
    status: Status,
    keep_alive: bool,
    date: &str,
    extra: &[(&str, &str)],
    with_body: bool,
) {
    let body = format!("{} {}\n", status.0, status.1);
    let ct = Some("text/plain; charset=utf-8");
    write_head(out, status, ct, body.len() as u64, keep_alive, date, extra);
    if with_body {
        out.extend_from_slice(body.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_well_formed() {
        let mut out = Vec::new();
        write_error(
            &mut out,
            Status::METHOD_NOT_ALLOWED,
            false,
            "D",
            &[("Allow", "GET, HEAD")],
            true,
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
        assert!(text.contains("\r\nConnection: close\r\n"));
        assert!(text.contains("\r\nAllow: GET, HEAD\r\n"));
        assert!(text.ends_with("\r\n\r\n405 Method Not Allowed\n"));
        assert!(text.contains("Content-Length: 23\r\n"));
    }
}
