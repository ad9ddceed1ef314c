//! From a request target to a file under the root, without ever leaving the root.
//!
//! 1. The query (`?...`) and fragment are dropped; the target must start with `/`.
//! 2. The path is split on `/` *before* percent-decoding, so `%2F` cannot smuggle a
//!    separator: a decoded segment containing `/` or NUL is refused (400), as is a malformed
//!    escape.
//! 3. Empty and `.` segments are skipped; a `..` segment, encoded or not, is refused (400):
//!    no legitimate link needs it, and refusing it outright leaves no normalisation to get
//!    wrong.
//! 4. The joined path is canonicalised (symlinks resolved) and must still start with the
//!    canonical root; a symlink pointing outside gets 403. A missing file gets 404.

use std::io;
use std::path::{Path, PathBuf};

/// Why a target does not name a servable file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathError {
    /// Malformed, or an attempt to climb out (`..`): 400.
    Bad,
    /// Resolves (through a symlink) outside the root: 403.
    Outside,
    /// Nothing there: 404.
    Missing,
}

/// The decoded segments of a target's path (steps 1–3).
pub(crate) fn segments(target: &str) -> Result<Vec<String>, PathError> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let rest = path.strip_prefix('/').ok_or(PathError::Bad)?;
    let mut out = Vec::new();
    for raw in rest.split('/') {
        let bytes = percent_decode(raw.as_bytes()).ok_or(PathError::Bad)?;
        let segment = String::from_utf8(bytes).map_err(|_| PathError::Bad)?;
        if segment.contains(['/', '\0']) {
            return Err(PathError::Bad);
        }
        match segment.as_str() {
            "" | "." => {}
            ".." => return Err(PathError::Bad),
            _ => out.push(segment),
        }
    }
    Ok(out)
}

/// Resolves segments under a canonical root (step 4).
pub(crate) fn resolve(root: &Path, segments: &[String]) -> Result<PathBuf, PathError> {
    let mut path = root.to_path_buf();
    path.extend(segments);
    let real = match std::fs::canonicalize(&path) {
        Ok(real) => real,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return Err(PathError::Outside),
        Err(_) => return Err(PathError::Missing),
    };
    if real.starts_with(root) {
        Ok(real)
    } else {
        Err(PathError::Outside)
    }
}

/// Decodes `%XX` escapes; `None` for a malformed escape.
pub(crate) fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            let hi = hex(*input.get(i + 1)?)?;
            let lo = hex(*input.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Encodes a file name for a link in a directory listing.
pub(crate) fn percent_encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_and_escapes() {
        assert_eq!(
            segments("/a%20b/./c?x=../.."),
            Ok(vec!["a b".to_owned(), "c".to_owned()])
        );
        assert_eq!(segments("/"), Ok(vec![]));
        for bad in [
            "/../etc/passwd",
            "/%2e%2e/x",
            "/a/%2E%2E",
            "/a%2fb",
            "/%00",
            "/%zz",
            "/%4",
            "x",
            "",
        ] {
            assert_eq!(segments(bad), Err(PathError::Bad), "{bad}");
        }
    }

    #[test]
    fn round_trip_encoding() {
        let name = "a b/é%?";
        let enc = percent_encode(name);
        assert_eq!(percent_decode(enc.as_bytes()).unwrap(), name.as_bytes());
    }

    #[test]
    fn symlinks_out_of_the_root_are_refused() -> io::Result<()> {
        let base = std::env::temp_dir().join(format!("c10k-http-path-{}", std::process::id()));
        let root = base.join("root");
        std::fs::create_dir_all(&root)?;
        std::fs::write(base.join("secret"), "s")?;
        std::fs::write(root.join("ok.txt"), "ok")?;
        let link = root.join("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(base.join("secret"), &link)?;
        let root = std::fs::canonicalize(&root)?;
        assert_eq!(resolve(&root, &["ok.txt".into()]), Ok(root.join("ok.txt")));
        assert_eq!(resolve(&root, &["link".into()]), Err(PathError::Outside));
        assert_eq!(resolve(&root, &["nope".into()]), Err(PathError::Missing));
        std::fs::remove_dir_all(&base)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Whatever the target, accepted segments can only name something below the root.
        #[test]
        fn segments_never_climb(target in "/[a-zA-Z0-9./%_\\-]{0,60}") {
            if let Ok(segments) = segments(&target) {
                for s in segments {
                    proptest::prop_assert!(!s.is_empty() && s != "." && s != "..");
                    proptest::prop_assert!(!s.contains('/') && !s.contains('\0'));
                }
            }
        }

        #[test]
        fn arbitrary_targets_never_panic(target in proptest::prelude::any::<String>()) {
            let _ = segments(&target);
        }
    }
}
