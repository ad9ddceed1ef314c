//! Parsing a request head from the front of a connection's buffer.
//!
//! [`parse`] looks at the bytes received so far and says one of three things: a complete
//! head (and how many bytes it took, so that pipelined requests behind it stay in the
//! buffer), "need more bytes", or an error status to answer before closing. The limits make
//! a hostile client cost bounded memory: a head longer than [`MAX_HEAD`] bytes gets 431 (414
//! when even the request line does not fit), more than [`MAX_HEADERS`] headers get 431, a
//! declared body over [`MAX_BODY`] gets 413. The parsing itself is `httparse`'s.

use super::response::Status;

/// Largest request head (request line and headers), in bytes.
pub(crate) const MAX_HEAD: usize = 8 * 1024;

/// Most headers in one request.
pub(crate) const MAX_HEADERS: usize = 64;

/// Largest request body the server reads (and discards: it serves GET and HEAD only).
pub(crate) const MAX_BODY: u64 = 64 * 1024;

/// The methods the server knows how to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Method {
    /// `GET`.
    Get,
    /// `HEAD`: a GET without the body.
    Head,
    /// Anything else: answered with 405.
    Other(String),
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    /// The method.
    pub(crate) method: Method,
    /// The request target as sent (`/a%20b?x=1`).
    pub(crate) target: String,
    /// The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub(crate) minor: u8,
    /// Whether the connection stays open after the response (version default, then
    /// `Connection: close` or `Connection: keep-alive`).
    pub(crate) keep_alive: bool,
    /// The declared body length (0 without `Content-Length`).
    pub(crate) body_len: u64,
    /// True when the request has a `Transfer-Encoding` (its body length is unknown to us).
    pub(crate) chunked: bool,
}

/// What the buffer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A complete head of `len` bytes.
    Complete(Request, usize),
    /// Not a complete head yet.
    Partial,
    /// A request the server refuses; answer with this status and close.
    Error(Status),
}

/// Parses the head at the front of `buf`.
pub(crate) fn parse(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            if buf.len() <= MAX_HEAD {
                return Parsed::Partial;
            }
            let line_done = buf[..MAX_HEAD].contains(&b'\n');
            return Parsed::Error(if line_done {
                Status::HEADERS_TOO_LARGE
            } else {
                Status::URI_TOO_LONG
            });
        }
        Err(httparse::Error::TooManyHeaders) => return Parsed::Error(Status::HEADERS_TOO_LARGE),
        Err(httparse::Error::Version) => return Parsed::Error(Status::VERSION_NOT_SUPPORTED),
        Err(_) => return Parsed::Error(Status::BAD_REQUEST),
    };
    if len > MAX_HEAD {
        return Parsed::Error(Status::HEADERS_TOO_LARGE);
    }
    let (Some(method), Some(path), Some(minor)) = (req.method, req.path, req.version) else {
        return Parsed::Error(Status::BAD_REQUEST);
    };
    let method = match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        other => Method::Other(other.to_owned()),
    };
    let mut keep_alive = minor >= 1;
    let mut body_len: Option<u64> = None;
    let mut chunked = false;
    let mut host = false;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive = true;
                }
            }
        } else if h.name.eq_ignore_ascii_case("content-length") {
            let Some(n) = parse_decimal(h.value) else {
                return Parsed::Error(Status::BAD_REQUEST);
            };
            if body_len.is_some_and(|old| old != n) {
                return Parsed::Error(Status::BAD_REQUEST);
            }
            body_len = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = true;
        } else if h.name.eq_ignore_ascii_case("host") {
            // RFC 9112 §3.2: more than one Host is answered with 400.
            if host {
                return Parsed::Error(Status::BAD_REQUEST);
            }
            host = true;
        }
    }
    // RFC 9112 §3.2: a 1.1 request without Host is answered with 400.
    if minor >= 1 && !host {
        return Parsed::Error(Status::BAD_REQUEST);
    }
    // RFC 9112 §6.3: both framings at once is a smuggling attempt.
    if chunked && body_len.is_some() {
        return Parsed::Error(Status::BAD_REQUEST);
    }
    let body_len = body_len.unwrap_or(0);
    if body_len > MAX_BODY {
        return Parsed::Error(Status::PAYLOAD_TOO_LARGE);
    }
    let request = Request {
        method,
        target: path.to_owned(),
        minor,
        keep_alive,
        body_len,
        chunked,
    };
    Parsed::Complete(request, len)
}

/// A non-negative decimal without sign or blanks inside (`Content-Length`).
pub(crate) fn parse_decimal(value: &[u8]) -> Option<u64> {
    let value = value.trim_ascii();
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    value.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(buf: &[u8]) -> (Request, usize) {
        match parse(buf) {
            Parsed::Complete(r, n) => (r, n),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keep_alive_follows_version_and_connection() {
        let (r, n) = complete(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next");
        assert_eq!(
            (r.method, r.minor, r.keep_alive, n),
            (Method::Get, 1, true, 27)
        );
        let (r, _) = complete(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n");
        assert!(!r.keep_alive);
        let (r, _) = complete(b"HEAD /a HTTP/1.0\r\n\r\n");
        assert_eq!((r.method, r.keep_alive), (Method::Head, false));
        let (r, _) = complete(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        assert!(r.keep_alive);
    }

    #[test]
    fn limits_and_errors() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: x\r\n"), Parsed::Partial);
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\n\r\n"),
            Parsed::Error(Status::BAD_REQUEST)
        );
        assert_eq!(
            parse(b"\x00\x01garbage\r\n\r\n"),
            Parsed::Error(Status::BAD_REQUEST)
        );
        assert_eq!(
            parse(b"GET / HTTP/2.0\r\n\r\n"),
            Parsed::Error(Status::VERSION_NOT_SUPPORTED)
        );
        let long_uri = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(
            parse(long_uri.as_bytes()),
            Parsed::Error(Status::URI_TOO_LONG)
        );
        let big = format!(
            "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n",
            "a".repeat(MAX_HEAD)
        );
        assert_eq!(
            parse(big.as_bytes()),
            Parsed::Error(Status::HEADERS_TOO_LARGE)
        );
        let mut many = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
        for i in 0..MAX_HEADERS {
            many.push_str(&format!("X-{i}: y\r\n"));
        }
        many.push_str("\r\n");
        assert_eq!(
            parse(many.as_bytes()),
            Parsed::Error(Status::HEADERS_TOO_LARGE)
        );
        let body = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n";
        assert_eq!(parse(body), Parsed::Error(Status::PAYLOAD_TOO_LARGE));
        let both = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(parse(both), Parsed::Error(Status::BAD_REQUEST));
        let bad_len = b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n";
        assert_eq!(parse(bad_len), Parsed::Error(Status::BAD_REQUEST));
        // Regression (fault matrix): two Host headers were served.
        let two_hosts = b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n";
        assert_eq!(parse(two_hosts), Parsed::Error(Status::BAD_REQUEST));
    }

    #[test]
    fn other_methods_parse_for_405() {
        let (r, _) = complete(b"DELETE /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
        assert_eq!((r.method, r.body_len), (Method::Other("DELETE".into()), 3));
    }

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal(b" 42 "), Some(42));
        assert_eq!(parse_decimal(b"+1"), None);
        assert_eq!(parse_decimal(b"99999999999999999999"), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Garbage never panics, and never yields a head longer than the input.
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000)) {
            if let Parsed::Complete(_, n) = parse(&bytes) {
                proptest::prop_assert!(n <= bytes.len());
            }
        }

        /// A valid head is `Partial` at every cut and `Complete` with its exact length.
        #[test]
        fn every_prefix_of_a_valid_head_is_partial(
            path in "/[a-z0-9%._~-]{0,40}",
            headers in proptest::collection::vec(("[A-Za-z-]{1,12}", "[ -~]{0,30}"), 0..10),
        ) {
            let mut head = format!("GET {path} HTTP/1.1\r\nHost: h\r\n");
            for (n, v) in &headers {
                if n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("transfer-encoding") {
                    continue;
                }
                head.push_str(&format!("{n}: {}\r\n", v.trim()));
            }
            head.push_str("\r\n");
            let bytes = head.as_bytes();
            for cut in 0..bytes.len() {
                proptest::prop_assert_eq!(parse(&bytes[..cut]), Parsed::Partial);
            }
            let mut pipelined = bytes.to_vec();
            pipelined.extend_from_slice(b"GET /next");
            match parse(&pipelined) {
                Parsed::Complete(req, n) => {
                    proptest::prop_assert_eq!(n, bytes.len());
                    proptest::prop_assert_eq!(req.target, path);
                }
                other => proptest::prop_assert!(false, "{:?}", other),
            }
        }
    }
}
