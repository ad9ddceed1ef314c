//! Line framing for the chat protocol: bytes in, UTF-8 lines (or errors) out.
//!
//! A line ends with `\n`; a `\r` right before it is dropped (telnet sends `\r\n`). A line
//! holds at most [`MAX_LINE`] bytes, terminator excluded. The framer never holds more than
//! `MAX_LINE + 1` bytes of an unfinished line: once a line is known to be too long it reports
//! [`LineError::TooLong`] once and then discards bytes up to the next `\n`, so an endless line
//! costs a bounded buffer. Bytes that are not UTF-8 give [`LineError::InvalidUtf8`] for that
//! line only; the following lines are read normally, so nothing after a bad line is lost.
//!
//! The tutorials' Python client sends raw text without a newline; the server calls
//! [`LineBuffer::take_partial`] when such an unfinished line has been quiet for a moment.

use std::fmt;

/// The longest line accepted, in bytes, terminator excluded (4 KiB).
pub(crate) const MAX_LINE: usize = 4096;

/// Why a line was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineError {
    /// The line is longer than [`MAX_LINE`]; its bytes are discarded up to the next `\n`.
    TooLong,
    /// The line is not valid UTF-8.
    InvalidUtf8,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::TooLong => write!(f, "line too long (at most {MAX_LINE} bytes), dropped"),
            LineError::InvalidUtf8 => f.write_str("line is not valid UTF-8, dropped"),
        }
    }
}

/// Accumulates received bytes and splits them into lines.
#[derive(Debug, Default)]
pub(crate) struct LineBuffer {
    /// Bytes of the unfinished line (never more than `MAX_LINE + 1`) and of later lines.
    buf: Vec<u8>,
    /// How far `buf` has been searched for `\n` (avoids quadratic rescans).
    scanned: usize,
    /// True while discarding the rest of a too-long line.
    skipping: bool,
}

impl LineBuffer {
    /// An empty buffer.
    pub(crate) fn new() -> LineBuffer {
        LineBuffer::default()
    }

    /// Appends received bytes. Call [`next_line`](Self::next_line) until it returns `None`.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// True when bytes of an unfinished line are buffered.
    pub(crate) fn has_partial(&self) -> bool {
        !self.buf.is_empty() && !self.skipping
    }

    /// The next complete line, an error for a rejected one, or `None` when more bytes are
    /// needed.
    pub(crate) fn next_line(&mut self) -> Option<Result<String, LineError>> {
        loop {
            let newline = self.buf[self.scanned..].iter().position(|&b| b == b'\n');
            match newline {
                Some(i) => {
                    let end = self.scanned + i;
                    let rest = self.buf.split_off(end + 1);
                    let mut line = std::mem::replace(&mut self.buf, rest);
                    self.scanned = 0;
                    line.pop();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    if self.skipping {
                        self.skipping = false;
                        continue;
                    }
                    if line.len() > MAX_LINE {
                        return Some(Err(LineError::TooLong));
                    }
                    return Some(decode(line));
                }
                None if self.skipping => {
                    self.buf.clear();
                    self.scanned = 0;
                    return None;
                }
                // `MAX_LINE + 1` bytes may still end as `MAX_LINE` bytes and `\r`.
                None if self.buf.len() > MAX_LINE + 1 => {
                    self.buf.clear();
                    self.scanned = 0;
                    self.skipping = true;
                    return Some(Err(LineError::TooLong));
                }
                None => {
                    self.scanned = self.buf.len();
                    return None;
                }
            }
        }
    }

    /// Takes the unfinished line as if it had ended (for clients that send no newline).
    pub(crate) fn take_partial(&mut self) -> Option<Result<String, LineError>> {
        if !self.has_partial() {
            return None;
        }
        self.scanned = 0;
        let mut line = std::mem::take(&mut self.buf);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.len() > MAX_LINE {
            return Some(Err(LineError::TooLong));
        }
        Some(decode(line))
    }
}

fn decode(line: Vec<u8>) -> Result<String, LineError> {
    String::from_utf8(line).map_err(|_| LineError::InvalidUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(buf: &mut LineBuffer) -> Vec<Result<String, LineError>> {
        std::iter::from_fn(|| buf.next_line()).collect()
    }

    #[test]
    fn splits_lines_and_accepts_crlf() {
        let mut b = LineBuffer::new();
        b.push(b"hello\r\nwor");
        assert_eq!(lines(&mut b), vec![Ok("hello".to_owned())]);
        assert!(b.has_partial());
        b.push(b"ld\n\n");
        assert_eq!(
            lines(&mut b),
            vec![Ok("world".to_owned()), Ok(String::new())]
        );
        assert!(!b.has_partial());
    }

    #[test]
    fn too_long_line_is_reported_once_and_skipped() {
        let mut b = LineBuffer::new();
        b.push(&vec![b'a'; MAX_LINE + 10]);
        assert_eq!(lines(&mut b), vec![Err(LineError::TooLong)]);
        b.push(&vec![b'a'; 100_000]);
        assert_eq!(lines(&mut b), vec![]);
        assert!(b.buf.len() <= MAX_LINE + 1);
        b.push(b"aaa\nnext\n");
        assert_eq!(lines(&mut b), vec![Ok("next".to_owned())]);
    }

    #[test]
    fn exactly_max_line_is_accepted_with_crlf() {
        let mut b = LineBuffer::new();
        let mut data = vec![b'x'; MAX_LINE];
        data.extend_from_slice(b"\r\n");
        b.push(&data);
        assert_eq!(lines(&mut b), vec![Ok("x".repeat(MAX_LINE))]);
        let mut b = LineBuffer::new();
        b.push(&vec![b'x'; MAX_LINE + 1]);
        b.push(b"\n");
        assert_eq!(lines(&mut b), vec![Err(LineError::TooLong)]);
    }

    #[test]
    fn invalid_utf8_rejects_only_its_line() {
        let mut b = LineBuffer::new();
        b.push(b"ok\n\xff\xfe bad\nafter\n");
        assert_eq!(
            lines(&mut b),
            vec![
                Ok("ok".to_owned()),
                Err(LineError::InvalidUtf8),
                Ok("after".to_owned())
            ]
        );
    }

    #[test]
    fn partial_line_can_be_taken() {
        let mut b = LineBuffer::new();
        b.push(b"no newline");
        assert_eq!(lines(&mut b), vec![]);
        assert_eq!(b.take_partial(), Some(Ok("no newline".to_owned())));
        assert_eq!(b.take_partial(), None);
    }

    /// The framing of a whole input, computed the simple way.
    fn reference(input: &[u8]) -> Vec<Result<String, LineError>> {
        let mut out = Vec::new();
        let mut rest = input;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            let mut line = &rest[..i];
            rest = &rest[i + 1..];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            out.push(if line.len() > MAX_LINE {
                Err(LineError::TooLong)
            } else {
                decode(line.to_vec())
            });
        }
        out
    }

    fn line_strategy() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40),
            proptest::collection::vec(
                prop_oneof![Just(b'a'), Just(b'\r'), Just(0xffu8)],
                MAX_LINE - 2..MAX_LINE + 3
            ),
        ]
        .prop_map(|mut l| {
            l.retain(|&b| b != b'\n');
            l.push(b'\n');
            l
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// However the bytes are cut, the lines are those of the whole input, and the buffer
        /// stays bounded.
        #[test]
        fn any_chunking_gives_the_reference_lines(
            lines in proptest::collection::vec(line_strategy(), 0..8),
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..50),
            cuts in proptest::collection::vec(1usize..600, 1..20),
        ) {
            let mut input: Vec<u8> = lines.concat();
            input.extend(tail);
            let mut b = LineBuffer::new();
            let mut got = Vec::new();
            let mut rest = &input[..];
            for cut in cuts.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let n = (*cut).min(rest.len());
                b.push(&rest[..n]);
                rest = &rest[n..];
                got.extend(std::iter::from_fn(|| b.next_line()));
                proptest::prop_assert!(b.buf.len() <= MAX_LINE + 1 + 600);
            }
            proptest::prop_assert_eq!(got, reference(&input));
        }
    }
}
