//! Just enough HTTP/1.1 response framing for the load generator: where a response ends
//! (`Content-Length`, chunked, or no body), its status, and whether the server keeps the
//! connection. Headers are parsed by `httparse`, without copying.

/// A complete response at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Response {
    /// Bytes the response takes (head and body).
    pub(crate) len: usize,
    /// The status code.
    pub(crate) status: u16,
    /// False when the server said `Connection: close` (or spoke HTTP/1.0 without keep-alive).
    pub(crate) keep_alive: bool,
}

/// Why a response cannot be framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// httparse rejected the head.
    Head,
    /// A body delimited by closing the connection, which keep-alive load cannot use.
    NoLength,
    /// A broken chunked body.
    Chunk,
}

impl Malformed {
    /// The error kind as shown in the report.
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Malformed::Head => "http: malformed response head",
            Malformed::NoLength => "http: response without length",
            Malformed::Chunk => "http: malformed chunked body",
        }
    }
}

/// Frames the response at the start of `buf`: `Ok(None)` if more bytes are needed.
pub(crate) fn parse(buf: &[u8]) -> Result<Option<Response>, Malformed> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(Malformed::Head),
    };
    let status = response.code.unwrap_or(0);
    let mut keep_alive = response.version == Some(1);
    let mut content_length = None;
    let mut chunked = false;
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            let text = std::str::from_utf8(header.value).map_err(|_| Malformed::Head)?;
            content_length = Some(text.trim().parse::<usize>().map_err(|_| Malformed::Head)?);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = header
                .value
                .split(|&b| b == b',')
                .any(|v| v.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if header.name.eq_ignore_ascii_case("connection") {
            if header.value.trim_ascii().eq_ignore_ascii_case(b"close") {
                keep_alive = false;
            } else if header
                .value
                .trim_ascii()
                .eq_ignore_ascii_case(b"keep-alive")
            {
                keep_alive = true;
            }
        }
    }
    let body_end = if chunked {
        match chunked_end(buf, head_len)? {
            Some(end) => end,
            None => return Ok(None),
        }
    } else if let Some(len) = content_length {
        head_len + len
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        head_len
    } else {
        return Err(Malformed::NoLength);
    };
    if buf.len() < body_end {
        return Ok(None);
    }
    Ok(Some(Response {
        len: body_end,
        status,
        keep_alive,
    }))
}

/// Where a chunked body starting at `pos` ends, trailers included.
fn chunked_end(buf: &[u8], mut pos: usize) -> Result<Option<usize>, Malformed> {
    loop {
        let (used, size) = match httparse::parse_chunk_size(&buf[pos..]) {
            Ok(httparse::Status::Complete(v)) => v,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(Malformed::Chunk),
        };
        pos += used;
        if size == 0 {
            // Trailers: header lines up to an empty line.
            loop {
                let rest = &buf[pos..];
                let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                    return Ok(None);
                };
                pos += eol + 2;
                if eol == 0 {
                    return Ok(Some(pos));
                }
            }
        }
        let size = usize::try_from(size).map_err(|_| Malformed::Chunk)?;
        let end = pos
            .checked_add(size)
            .and_then(|v| v.checked_add(2))
            .ok_or(Malformed::Chunk)?;
        if buf.len() < end {
            return Ok(None);
        }
        if &buf[end - 2..end] != b"\r\n" {
            return Err(Malformed::Chunk);
        }
        pos = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_frames_the_body() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!";
        assert_eq!(
            parse(r),
            Ok(Some(Response {
                len: r.len(),
                status: 200,
                keep_alive: true
            }))
        );
        assert_eq!(parse(&r[..r.len() - 1]), Ok(None));
        assert_eq!(parse(&r[..10]), Ok(None));
    }

    #[test]
    fn chunked_bodies_and_trailers() {
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHello\r\n0\r\n\r\n";
        assert_eq!(parse(r).unwrap().unwrap().len, r.len());
        for cut in 1..r.len() {
            assert_eq!(parse(&r[..cut]), Ok(None), "cut at {cut}");
        }
        let t = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX: y\r\n\r\n";
        assert_eq!(parse(t).unwrap().unwrap().len, t.len());
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n";
        assert_eq!(parse(bad), Err(Malformed::Chunk));
    }

    #[test]
    fn connection_close_and_missing_length() {
        let r = b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            parse(r),
            Ok(Some(Response {
                len: r.len(),
                status: 404,
                keep_alive: false
            }))
        );
        let r = b"HTTP/1.1 200 OK\r\n\r\nbody";
        assert_eq!(parse(r), Err(Malformed::NoLength));
        assert_eq!(parse(b"garbage\r\n\r\n"), Err(Malformed::Head));
    }
}
