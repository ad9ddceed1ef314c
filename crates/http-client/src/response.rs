//! What [`Client::get`](crate::Client::get) returns: the status, the header fields, and the
//! body, read as it arrives.
//!
//! The body is read from the connection's own buffer: [`Response::chunk`] hands out slices
//! of it (chunked framing removed), so streaming a body copies nothing. Once the whole body
//! was read, the connection goes back to the client's pool for the next request to the
//! same host; a response dropped before its end closes its connection instead (the rest of
//! the body would have to be read first).

use std::fmt;
use std::ops::Range;

use c10k_runtime::time::{self, Instant};

use crate::client::{Client, Conn};
use crate::error::{Error, ErrorKind};
use crate::head::Body;
use crate::url::Url;
use crate::Attempts;

/// A response's header fields, in the order the server sent them.
///
/// Names compare without regard to case. The fields are kept in one buffer (two allocations
/// per response, however many fields), not one allocation per name and value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// Each name followed by its value.
    bytes: Vec<u8>,
    /// Where each field's name and value end in `bytes` (the name starts where the previous
    /// value ended).
    ends: Vec<(u32, u32)>,
}

impl Headers {
    /// Copies the fields of a parsed head.
    pub(crate) fn from_fields<'a>(fields: impl Iterator<Item = (&'a str, &'a [u8])>) -> Headers {
        let mut headers = Headers::default();
        for (name, value) in fields {
            headers.bytes.extend_from_slice(name.as_bytes());
            let name_end = headers.bytes.len();
            headers.bytes.extend_from_slice(value);
            // A head is at most `MAX_HEAD` bytes, far below `u32::MAX`.
            headers
                .ends
                .push((name_end as u32, headers.bytes.len() as u32));
        }
        headers
    }

    /// Every field as `(name, value)`, in order (a name sent twice appears twice).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        let mut start = 0usize;
        self.ends.iter().map(move |&(name_end, value_end)| {
            let (name_end, value_end) = (name_end as usize, value_end as usize);
            // httparse accepts only token characters (ASCII) in a name.
            let name = std::str::from_utf8(&self.bytes[start..name_end]).unwrap_or_default();
            let value = &self.bytes[name_end..value_end];
            start = value_end;
            (name, value)
        })
    }

    /// The value of the first field named `name` (any case), as bytes.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The value of the first field named `name` (any case), when it is UTF-8 text.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The values of every field named `name` (any case), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when the response had no header field.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(n, v)| (n, String::from_utf8_lossy(v))))
            .finish()
    }
}

/// A response: its status and header fields are read, its body is read on demand with
/// [`chunk`](Response::chunk), [`bytes`](Response::bytes) or [`text`](Response::text).
///
/// Reading the body is bounded by the client's [timeout](crate::ClientBuilder::timeout),
/// which counts from the start of the request.
pub struct Response {
    pub(crate) status: u16,
    pub(crate) url: Url,
    pub(crate) headers: Headers,
    pub(crate) attempts: Attempts,
    pub(crate) content_length: Option<u64>,
    /// The connection, until the body was read (or failed).
    pub(crate) conn: Option<Conn>,
    pub(crate) body: Body,
    /// Received bytes of the body not yet handed out: `conn.buf[start..end]`.
    pub(crate) start: usize,
    pub(crate) end: usize,
    /// The server asked to close after this response.
    pub(crate) close: bool,
    pub(crate) deadline: Instant,
    pub(crate) client: Client,
    /// Body bytes handed out so far.
    pub(crate) received: u64,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("url", &self.url.to_string())
            .field("headers", &self.headers)
            .field("attempts", &self.attempts)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl Response {
    /// The status code (never 1xx: interim responses are skipped).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The URL that gave this response: the one asked for, or where its redirects led.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The declared body length (`Content-Length`), when there is one and the body is not
    /// chunked.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// Requests, redirects and retries it took to get this response.
    pub fn attempts(&self) -> Attempts {
        self.attempts
    }

    /// Body bytes read so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The next piece of the body, `None` at its end. A piece is whatever arrived (for a
    /// chunked body, a chunk's data or the part of it that arrived); it borrows the
    /// connection's buffer until the next call.
    ///
    /// # Errors
    ///
    /// The connection failed or closed before the end of the body, the chunked framing is
    /// malformed, or the client's timeout passed. After an error, the connection is closed
    /// and every later call returns `Ok(None)`.
    pub async fn chunk(&mut self) -> Result<Option<&[u8]>, Error> {
        match self.next_piece().await {
            Ok(Some(range)) => {
                let conn = self.conn.as_ref().expect("a piece comes from a connection");
                Ok(Some(&conn.buf[range]))
            }
            Ok(None) => Ok(None),
            Err(kind) => {
                self.conn = None;
                self.body = Body::Done;
                Err(Error::new(kind, self.attempts))
            }
        }
    }

    /// Reads the rest of the body into memory.
    ///
    /// # Errors
    ///
    /// As [`chunk`](Response::chunk).
    pub async fn bytes(mut self) -> Result<Vec<u8>, Error> {
        let capacity = self.content_length.unwrap_or(0).min(1 << 20) as usize;
        let mut out = Vec::with_capacity(capacity);
        while let Some(piece) = self.chunk().await? {
            out.extend_from_slice(piece);
        }
        Ok(out)
    }

    /// Reads the rest of the body into memory as text (invalid UTF-8 replaced by U+FFFD).
    ///
    /// # Errors
    ///
    /// As [`chunk`](Response::chunk).
    pub async fn text(self) -> Result<String, Error> {
        let bytes = self.bytes().await?;
        Ok(match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// Where the next piece of body data lies in the connection's buffer; `None` at the end
    /// of the body, when the connection goes back to the pool if it can carry another
    /// request.
    async fn next_piece(&mut self) -> Result<Option<Range<usize>>, ErrorKind> {
        loop {
            let Some(conn) = self.conn.as_mut() else {
                return Ok(None);
            };
            if self.body.is_done() {
                self.finish();
                return Ok(None);
            }
            if self.start < self.end {
                let (used, data) = self.body.step(&conn.buf[self.start..self.end])?;
                let piece = self.start + data.start..self.start + data.end;
                self.start += used;
                if !piece.is_empty() {
                    self.received += piece.len() as u64;
                    return Ok(Some(piece));
                }
                continue;
            }
            // Everything received was used: read more into the start of the buffer.
            self.start = 0;
            self.end = 0;
            let n = match time::timeout_at(self.deadline, conn.read_at(0)).await {
                Ok(result) => result.map_err(ErrorKind::Io)?,
                Err(_) => return Err(ErrorKind::Timeout(self.client.timeout())),
            };
            if n == 0 {
                self.body.finish_at_eof()?;
                // A body that ran to the close is complete, but the connection is spent.
                self.conn = None;
                return Ok(None);
            }
            self.end = n;
        }
    }

    /// The body is done: the connection goes back to the pool when nothing follows it and
    /// the server did not ask to close.
    pub(crate) fn finish(&mut self) {
        if let Some(conn) = self.conn.take() {
            if self.start == self.end && self.body.reusable() && !self.close {
                self.client.put_back(&self.url, conn);
            }
        }
    }
}
