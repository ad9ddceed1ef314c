//! Incremental decoder for `Transfer-Encoding: chunked` (RFC 9112 §7.1).
//!
//! The decoder is a state machine fed whatever bytes arrived: it hands chunk data to a sink
//! as soon as it sees it (a large body is never buffered) and returns how many input bytes it
//! used. Control text (sizes, extensions, trailers) is bounded: a size line over
//! [`MAX_LINE`] bytes, a size over 16 hex digits, or trailers over [`MAX_TRAILERS`] bytes are
//! errors, so a hostile server cannot make the client buffer without end. Chunk extensions
//! are ignored and trailers are read and dropped. Bare `\n` line ends are accepted.

use std::fmt;

/// Longest chunk-size line (size and extensions).
pub(crate) const MAX_LINE: usize = 1024;

/// Most trailer bytes accepted after the last chunk.
pub(crate) const MAX_TRAILERS: usize = 8 * 1024;

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
    /// Reading the hex size; `digits` counts them.
    Size { size: u64, digits: u8 },
    /// After the size: extensions up to the line end.
    Extension(u64),
    /// Saw `\r` ending the size line.
    SizeLf(u64),
    /// Inside chunk data.
    Data(u64),
    /// After data: expecting `\r\n` (or `\n`).
    DataEnd { cr: bool },
    /// In the trailer section; `empty` while the current line has no bytes yet.
    Trailer { empty: bool, cr: bool },
    /// The last chunk and trailers were read.
    Done,
}

/// The chunked-body decoder.
#[derive(Debug, Clone)]
pub(crate) struct ChunkedDecoder {
    state: State,
    line: usize,
    trailers: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub(crate) fn new() -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Size { size: 0, digits: 0 },
            line: 0,
            trailers: 0,
        }
    }

    /// True once the terminating chunk and the trailers were read.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input`, passing data to `sink`; returns the bytes used. Stops at the
    /// end of the body (leaving what follows, such as a pipelined response, unused).
    ///
    /// # Errors
    ///
    /// A malformed body, or the sink's error.
    pub(crate) fn decode<E: From<ChunkedError>>(
        &mut self,
        input: &[u8],
        sink: &mut dyn FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<usize, E> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::Done => return Ok(i),
                State::Data(remaining) => {
                    let n = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(input.len() - i);
                    sink(&input[i..i + n])?;
                    i += n;
                    let left = remaining - n as u64;
                    self.state = if left == 0 {
                        State::DataEnd { cr: false }
                    } else {
                        State::Data(left)
                    };
                    continue;
                }
                State::Size { size, digits } => {
                    self.count_line()?;
                    if let Some(d) = (b as char).to_digit(16) {
                        if digits >= 16 {
                            return Err(ChunkedError("chunk size too large").into());
                        }
                        self.state = State::Size {
                            size: size << 4 | u64::from(d),
                            digits: digits + 1,
                        };
                    } else if digits == 0 {
                        return Err(ChunkedError("missing chunk size").into());
                    } else {
                        match b {
                            b';' | b' ' | b'\t' => self.state = State::Extension(size),
                            b'\r' => self.state = State::SizeLf(size),
                            b'\n' => self.end_size_line(size),
                            _ => return Err(ChunkedError("bad chunk size").into()),
                        }
                    }
                }
                State::Extension(size) => {
                    self.count_line()?;
                    match b {
                        b'\r' => self.state = State::SizeLf(size),
                        b'\n' => self.end_size_line(size),
                        _ => {}
                    }
                }
                State::SizeLf(size) => {
                    if b != b'\n' {
                        return Err(ChunkedError("expected LF after chunk size").into());
                    }
                    self.end_size_line(size);
                }
                State::DataEnd { cr } => match b {
                    b'\r' if !cr => self.state = State::DataEnd { cr: true },
                    b'\n' => self.state = State::Size { size: 0, digits: 0 },
                    _ => return Err(ChunkedError("expected CRLF after chunk data").into()),
                },
                State::Trailer { empty, cr } => {
                    self.trailers += 1;
                    if self.trailers > MAX_TRAILERS {
                        return Err(ChunkedError("trailers too large").into());
                    }
                    match b {
                        b'\n' if empty => self.state = State::Done,
                        b'\n' => {
                            self.state = State::Trailer {
                                empty: true,
                                cr: false,
                            }
                        }
                        b'\r' if !cr => self.state = State::Trailer { empty, cr: true },
                        _ if cr => return Err(ChunkedError("bare CR in trailers").into()),
                        _ => {
                            self.state = State::Trailer {
                                empty: false,
                                cr: false,
                            }
                        }
                    }
                }
            }
            i += 1;
        }
        Ok(i)
    }

    fn count_line(&mut self) -> Result<(), ChunkedError> {
        self.line += 1;
        if self.line > MAX_LINE {
            return Err(ChunkedError("chunk size line too long"));
        }
        Ok(())
    }

    fn end_size_line(&mut self, size: u64) {
        self.line = 0;
        self.state = if size == 0 {
            State::Trailer {
                empty: true,
                cr: false,
            }
        } else {
            State::Data(size)
        };
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
            let mut sink = |b: &[u8]| -> Result<(), ChunkedError> {
                out.extend_from_slice(b);
                Ok(())
            };
            let n = d.decode(piece, &mut sink)?;
            used += n;
            if d.is_done() {
                break;
            }
        }
        assert!(d.is_done(), "not done");
        Ok((out, used))
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
        ] {
            let mut d = ChunkedDecoder::new();
            let r = d.decode::<ChunkedError>(bad, &mut |_| Ok(()));
            assert!(r.is_err(), "{bad:?}");
        }
        let long = format!("1;{}\r\n", "e".repeat(MAX_LINE));
        let mut d = ChunkedDecoder::new();
        assert!(d
            .decode::<ChunkedError>(long.as_bytes(), &mut |_| Ok(()))
            .is_err());
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
            let mut d = ChunkedDecoder::new();
            let mut out = 0;
            let r = d.decode::<ChunkedError>(&bytes, &mut |b| { out += b.len(); Ok(()) });
            if let Ok(used) = r {
                proptest::prop_assert!(used <= bytes.len() && out <= used);
            }
        }
    }
}
