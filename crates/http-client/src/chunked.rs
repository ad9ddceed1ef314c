//! Incremental decoder for `Transfer-Encoding: chunked` (RFC 9112 §7.1), on `httparse`'s
//! parsers: `parse_chunk_size` for each chunk-size line (size and extensions) and
//! `parse_headers` for the trailer section. What is ours is only the glue around them:
//!
//! 1. The decoder is fed whatever bytes arrived and returns the next piece of chunk data as a
//!    range of them (a large body is never buffered or copied), with how many input bytes it
//!    used.
//! 2. Control text (a size line, the trailers) cut between two reads is kept in a small
//!    buffer until `httparse` can parse it whole. It is bounded: a size line over
//!    [`MAX_LINE`] bytes or trailers over [`MAX_TRAILERS`] bytes are errors, so a hostile
//!    server cannot make the client buffer without end. (`httparse` itself refuses a size
//!    over 16 hex digits.)
//! 3. A size line must start with a hex digit: `httparse` reads an empty size (`\r\n`) as
//!    0, which would end the body early on a malformed stream.
//!
//! Chunk extensions are ignored and trailers are read and dropped. Line ends are `\r\n`,
//! as the RFC writes them (`httparse` refuses a bare `\n`).

use std::fmt;
use std::ops::Range;

/// Longest chunk-size line (size and extensions).
pub(crate) const MAX_LINE: usize = 1024;

/// Most trailer bytes accepted after the last chunk.
pub(crate) const MAX_TRAILERS: usize = 8 * 1024;

/// Most trailer fields accepted.
const MAX_TRAILER_FIELDS: usize = 64;

/// A malformed chunked body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChunkedError(pub(crate) &'static str);

impl fmt::Display for ChunkedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad chunked body: {}", self.0)
    }
}

impl std::error::Error for ChunkedError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting a chunk-size line.
    Size,
    /// Inside chunk data: this many bytes remain.
    Data(u64),
    /// After data: expecting `\r\n`; `cr` once the `\r` was seen.
    DataEnd { cr: bool },
    /// After the last chunk: the trailer section, up to its empty line.
    Trailers,
    /// The last chunk and trailers were read.
    Done,
}

/// The chunked-body decoder.
#[derive(Debug, Clone)]
pub(crate) struct ChunkedDecoder {
    state: State,
    /// Control text cut by the end of a read (step 2 of the module docs).
    pending: Vec<u8>,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder::new()
    }
}

/// What `httparse` made of control text.
enum Parsed {
    /// Complete: this many bytes, and the chunk size (0 for trailers).
    Complete(usize, u64),
    /// More bytes are needed.
    Partial,
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub(crate) fn new() -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Size,
            pending: Vec::new(),
        }
    }

    /// True once the terminating chunk and the trailers were read.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from the front of `input` up to the next piece of chunk data; returns how
    /// many bytes it used and where that data lies in `input` (an empty range when `input`
    /// ended first, or at the end of the body). Stops at the end of the body, leaving what
    /// follows (such as a pipelined response) unused. The data is not copied: it is a range
    /// of `input`, so a large body is never buffered.
    ///
    /// # Errors
    ///
    /// A malformed body.
    pub(crate) fn step(&mut self, input: &[u8]) -> Result<(usize, Range<usize>), ChunkedError> {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Done => break,
                State::Data(remaining) => {
                    let n = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(input.len() - i);
                    let left = remaining - n as u64;
                    self.state = if left == 0 {
                        State::DataEnd { cr: false }
                    } else {
                        State::Data(left)
                    };
                    return Ok((i + n, i..i + n));
                }
                State::DataEnd { cr } => {
                    self.state = match (cr, input[i]) {
                        (false, b'\r') => State::DataEnd { cr: true },
                        (true, b'\n') => State::Size,
                        _ => return Err(ChunkedError("expected CRLF after chunk data")),
                    };
                    i += 1;
                }
                State::Size | State::Trailers => {
                    let trailers = self.state == State::Trailers;
                    let limit = if trailers { MAX_TRAILERS } else { MAX_LINE };
                    let (used, parsed) = self.control(&input[i..], trailers, limit)?;
                    i += used;
                    match parsed {
                        Parsed::Partial => {}
                        Parsed::Complete(_, 0) => {
                            self.state = if trailers {
                                State::Done
                            } else {
                                State::Trailers
                            };
                        }
                        Parsed::Complete(_, size) => self.state = State::Data(size),
                    }
                }
            }
        }
        Ok((i, i..i))
    }

    /// Parses a size line (or, with `trailers`, the trailer section) from what is pending
    /// plus `input`; returns how many bytes of `input` it took.
    fn control(
        &mut self,
        input: &[u8],
        trailers: bool,
        limit: usize,
    ) -> Result<(usize, Parsed), ChunkedError> {
        let old = self.pending.len();
        // On the usual path nothing is pending and `input` is parsed in place.
        let (text, take) = if old == 0 {
            (input, input.len())
        } else {
            let take = input.len().min(limit + 2 - old.min(limit + 2));
            self.pending.extend_from_slice(&input[..take]);
            (&self.pending[..], take)
        };
        let parsed = if trailers {
            let mut fields = [httparse::EMPTY_HEADER; MAX_TRAILER_FIELDS];
            match httparse::parse_headers(text, &mut fields) {
                Ok(httparse::Status::Complete((len, _))) => Parsed::Complete(len, 0),
                Ok(httparse::Status::Partial) => Parsed::Partial,
                Err(_) => return Err(ChunkedError("bad trailers")),
            }
        } else {
            if !text.first().is_none_or(u8::is_ascii_hexdigit) {
                return Err(ChunkedError("missing chunk size"));
            }
            match httparse::parse_chunk_size(text) {
                // Zero-size chunks other than the last cannot be, so 0 means "last".
                Ok(httparse::Status::Complete((len, size))) => Parsed::Complete(len, size),
                Ok(httparse::Status::Partial) => Parsed::Partial,
                Err(_) => return Err(ChunkedError("bad chunk size")),
            }
        };
        match parsed {
            Parsed::Complete(len, size) => {
                if len > limit + 2 {
                    return Err(self.too_long(trailers));
                }
                self.pending.clear();
                // `len` counts the pending bytes first; the rest came from `input`.
                Ok((len - old, Parsed::Complete(len, size)))
            }
            Parsed::Partial => {
                let held = if old == 0 {
                    input.len()
                } else {
                    self.pending.len()
                };
                if held > limit {
                    return Err(self.too_long(trailers));
                }
                if old == 0 {
                    self.pending.extend_from_slice(input);
                }
                Ok((take, Parsed::Partial))
            }
        }
    }

    fn too_long(&self, trailers: bool) -> ChunkedError {
        ChunkedError(if trailers {
            "trailers too large"
        } else {
            "chunk size line too long"
        })
    }
}

/// Encodes `data` as a chunked body cut at the given chunk sizes (for tests).
#[cfg(test)]
pub(crate) fn encode(data: &[u8], cuts: &[usize], trailer: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut cuts = cuts.iter().copied().cycle();
    while !rest.is_empty() {
        let n = cuts.next().unwrap_or(rest.len()).clamp(1, rest.len());
        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        out.extend_from_slice(&rest[..n]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[n..];
    }
    out.extend_from_slice(format!("0\r\n{trailer}\r\n").as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8], step: usize) -> Result<(Vec<u8>, usize), ChunkedError> {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        let mut used = 0;
        for piece in input.chunks(step.max(1)) {
            let mut at = 0;
            while at < piece.len() && !d.is_done() {
                let (n, data) = d.step(&piece[at..])?;
                out.extend_from_slice(&piece[at..][data]);
                at += n;
            }
            used += at;
            if d.is_done() {
                break;
            }
        }
        assert!(d.is_done(), "not done");
        Ok((out, used))
    }

    /// Steps through `input` fed at once; returns the bytes used and the data bytes seen.
    fn drain(input: &[u8]) -> Result<(usize, usize), ChunkedError> {
        let mut d = ChunkedDecoder::new();
        let (mut used, mut out) = (0, 0);
        while used < input.len() && !d.is_done() {
            let (n, data) = d.step(&input[used..])?;
            out += data.len();
            used += n;
        }
        Ok((used, out))
    }

    #[test]
    fn decodes_with_extensions_and_trailers() {
        let body =
            b"4;name=v\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        for step in [1, 2, 3, 7, 100] {
            let (out, used) = decode_all(body, step).unwrap();
            assert_eq!(out, b"Wikipedia in\r\n\r\nchunks.");
            assert_eq!(&body[used..], b"NEXT");
        }
    }

    #[test]
    fn encode_round_trips() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let enc = encode(&data, &[1, 100, 4096], "A: b\r\nC: d\r\n");
        assert_eq!(decode_all(&enc, 13).unwrap().0, data);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            &b"x\r\n"[..],
            b"\r\n",
            b"11111111111111111\r\n",
            b"2\r\nabX",
            b"0\r\nbad\rX",
            b"2\nab\r\n",
            b"2\r\nab\n0\r\n\r\n",
        ] {
            assert!(drain(bad).is_err(), "{bad:?}");
        }
        let long = format!("1;{}\r\n", "e".repeat(MAX_LINE));
        assert!(drain(long.as_bytes()).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        /// Encoding then decoding gives the data back, however it is cut and fed.
        #[test]
        fn round_trips_under_any_feeding(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000),
            cuts in proptest::collection::vec(1usize..700, 1..6),
            step in 1usize..300,
        ) {
            let enc = encode(&data, &cuts, "T: v\r\n");
            let mut with_next = enc.clone();
            with_next.extend_from_slice(b"HTTP/1.1 200");
            let (out, used) = decode_all(&with_next, step).unwrap();
            proptest::prop_assert_eq!(out, data);
            proptest::prop_assert_eq!(used, enc.len());
        }

        /// Garbage gives an error or a partial body, never a panic, and never more data out
        /// than went in.
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000)) {
            if let Ok((used, out)) = drain(&bytes) {
                proptest::prop_assert!(used <= bytes.len() && out <= used);
            }
        }
    }
}
