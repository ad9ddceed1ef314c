//! Reading a response: the head (with `httparse`) and the body framing that follows it.
//! A head's fields are copied once into a [`Headers`], two allocations however many there are.
//!
//! Framing follows RFC 9112 §6.3, in order: a response to HEAD, a 1xx, 204 or 304 has no
//! body; `Transfer-Encoding: chunked` (as the last coding) is decoded by
//! [`ChunkedDecoder`]; otherwise `Content-Length` counts the bytes (differing duplicates are
//! an error); otherwise the body runs until the server closes, and the connection cannot be
//! reused. Interim 1xx responses (`100 Continue`) are skipped by the caller.

use std::fmt;
use std::ops::Range;

use crate::chunked::{ChunkedDecoder, ChunkedError};
use crate::response::Headers;

/// Most response headers accepted.
pub(crate) const MAX_HEADERS: usize = 100;

/// Largest response head accepted, in bytes.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// A malformed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProtocolError(pub(crate) String);

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProtocolError {}

impl From<ChunkedError> for ProtocolError {
    fn from(e: ChunkedError) -> Self {
        ProtocolError(e.to_string())
    }
}

/// A response head: what the client uses, and every field for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    /// Every header field, in order.
    pub(crate) headers: Headers,
    /// Status code.
    pub(crate) status: u16,
    /// Length of the head in bytes (the body starts there).
    pub(crate) len: usize,
    /// The declared `Content-Length`.
    pub(crate) content_length: Option<u64>,
    /// Chunked transfer coding.
    pub(crate) chunked: bool,
    /// The server asked to close, or spoke HTTP/1.0 without keep-alive.
    pub(crate) close: bool,
    /// The `Location` header, for redirects.
    pub(crate) location: Option<String>,
}

/// Parses the response head at the front of `buf`; `Ok(None)` when more bytes are needed.
///
/// # Errors
///
/// Garbage, too many headers, a head over [`MAX_HEAD`], or a bad `Content-Length`.
pub(crate) fn parse_head(buf: &[u8]) -> Result<Option<Head>, ProtocolError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Err(ProtocolError(format!(
                "response head over {MAX_HEAD} bytes"
            )));
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(ProtocolError(format!("bad response: {e}"))),
    };
    let (Some(status), Some(minor)) = (resp.code, resp.version) else {
        return Err(ProtocolError("bad response: no status".to_owned()));
    };
    let mut head = Head {
        headers: Headers::from_fields(resp.headers.iter().map(|h| (h.name, h.value))),
        status,
        len,
        content_length: None,
        chunked: false,
        close: minor == 0,
        location: None,
    };
    let mut other_coding = false;
    for h in resp.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("content-length") {
            let n = parse_length(h.value)
                .ok_or_else(|| ProtocolError("bad Content-Length".to_owned()))?;
            if head.content_length.is_some_and(|old| old != n) {
                return Err(ProtocolError(
                    "conflicting Content-Length headers".to_owned(),
                ));
            }
            head.content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            let last = h
                .value
                .rsplit(|&b| b == b',')
                .next()
                .unwrap_or(b"")
                .trim_ascii();
            head.chunked = last.eq_ignore_ascii_case(b"chunked");
            other_coding = !head.chunked;
        } else if name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    head.close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") && minor == 0 {
                    head.close = false;
                }
            }
        } else if name.eq_ignore_ascii_case("location") {
            head.location = Some(String::from_utf8_lossy(h.value).into_owned());
        }
    }
    if other_coding {
        // A coding we cannot undo, without chunked last: the body runs to the close.
        head.content_length = None;
        head.close = true;
    }
    Ok(Some(head))
}

/// A `Content-Length` value: decimal digits only (no sign, no blanks inside), at most 19 of
/// them so that it fits a `u64`.
fn parse_length(value: &[u8]) -> Option<u64> {
    let value = value.trim_ascii();
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// How the body of a response is delimited.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// No body (or all of it read).
    Done,
    /// This many bytes remain.
    Length(u64),
    /// Chunked.
    Chunked(ChunkedDecoder),
    /// Until the server closes the connection.
    UntilClose,
}

impl Body {
    /// The framing of the response to a request (`head_request` for HEAD).
    pub(crate) fn for_response(head: &Head, head_request: bool) -> Body {
        if head_request
            || (100..200).contains(&head.status)
            || head.status == 204
            || head.status == 304
        {
            Body::Done
        } else if head.chunked {
            Body::Chunked(ChunkedDecoder::new())
        } else if let Some(n) = head.content_length {
            if n == 0 {
                Body::Done
            } else {
                Body::Length(n)
            }
        } else {
            Body::UntilClose
        }
    }

    /// True when the connection can carry another request after this body.
    pub(crate) fn reusable(&self) -> bool {
        !matches!(self, Body::UntilClose)
    }

    /// True once the whole body was read.
    pub(crate) fn is_done(&self) -> bool {
        match self {
            Body::Done => true,
            Body::Chunked(d) => d.is_done(),
            _ => false,
        }
    }

    /// Takes the next piece of body data from the front of `input`: returns the bytes used
    /// and where the data lies in `input` (empty when `input` held none, e.g. only chunked
    /// framing, or the body is done).
    ///
    /// # Errors
    ///
    /// A malformed chunked body.
    pub(crate) fn step(&mut self, input: &[u8]) -> Result<(usize, Range<usize>), ProtocolError> {
        match self {
            Body::Done => Ok((0, 0..0)),
            Body::Length(remaining) => {
                let n = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                *remaining -= n as u64;
                if *remaining == 0 {
                    *self = Body::Done;
                }
                Ok((n, 0..n))
            }
            Body::Chunked(d) => Ok(d.step(input)?),
            Body::UntilClose => Ok((input.len(), 0..input.len())),
        }
    }

    /// The connection reached end of file: fine for [`Body::UntilClose`] (which is now
    /// done), a truncated body otherwise.
    ///
    /// # Errors
    ///
    /// The body was cut short.
    pub(crate) fn finish_at_eof(&mut self) -> Result<(), ProtocolError> {
        match self {
            Body::UntilClose | Body::Done => {
                *self = Body::Done;
                Ok(())
            }
            Body::Chunked(d) if d.is_done() => Ok(()),
            _ => Err(ProtocolError(
                "connection closed before the end of the body".to_owned(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_body(mut body: Body, input: &[u8]) -> (Vec<u8>, usize) {
        let mut out = Vec::new();
        let mut used = 0;
        while used < input.len() && !body.is_done() {
            let (n, data) = body.step(&input[used..]).unwrap();
            out.extend_from_slice(&input[used..][data]);
            used += n;
        }
        (out, used)
    }

    #[test]
    fn heads_and_framing() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1";
        let head = parse_head(raw).unwrap().unwrap();
        assert_eq!(
            (head.status, head.len, head.content_length, head.close),
            (200, 38, Some(3), false)
        );
        let body = Body::for_response(&head, false);
        assert_eq!(read_body(body, &raw[head.len..]), (b"abc".to_vec(), 3));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n").unwrap().is_none());
        let h = parse_head(b"HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(h.close);
        assert_eq!(h.location.as_deref(), Some("/x"));
        assert!(matches!(Body::for_response(&h, false), Body::UntilClose));
        let h = parse_head(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\n",
        );
        assert!(matches!(
            Body::for_response(&h.unwrap().unwrap(), false),
            Body::Chunked(_)
        ));
        let h = parse_head(b"HTTP/1.1 204 No Content\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(Body::for_response(&h, false).is_done());
    }

    #[test]
    fn bad_heads_are_errors() {
        assert!(parse_head(b"garbage\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
        assert!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
                .is_err()
        );
        let mut big = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        big.resize(MAX_HEAD + 10, b'a');
        assert!(parse_head(&big).is_err());
    }

    #[test]
    fn truncated_bodies_are_errors() {
        let mut b = Body::Length(10);
        assert!(b.finish_at_eof().is_err());
        let mut b = Body::UntilClose;
        assert!(b.finish_at_eof().is_ok() && b.is_done());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn garbage_heads_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000)) {
            if let Ok(Some(head)) = parse_head(&bytes) {
                proptest::prop_assert!(head.len <= bytes.len());
                let mut body = Body::for_response(&head, false);
                let _ = body.step(&bytes[head.len..]);
                let _ = body.finish_at_eof();
            }
        }
    }
}
