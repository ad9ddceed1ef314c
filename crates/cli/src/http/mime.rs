//! Content types by file extension, from `mime_guess`'s table (the types the web servers
//! and browsers agree on; anything unknown is `application/octet-stream`).
//!
//! Two choices are ours, on top of the table:
//!
//! - text types (`text/*`, JavaScript, JSON, XML, SVG) are declared UTF-8, as the files
//!   of a project tree are;
//! - source and configuration files that the table calls by a type a browser would offer to
//!   download (`text/x-rust`, `text/markdown`, `application/toml`, …) are served as
//!   `text/plain`, so that they read in the browser, as they did before this module used the
//!   table.

use std::borrow::Cow;
use std::path::Path;

/// Extensions served as `text/plain` whatever the table says.
const PLAIN_TEXT: &[&str] = &["md", "rs", "py", "toml", "log", "txt", "csv", "lock", "sh"];

/// The `Content-Type` for a file.
pub(crate) fn content_type(path: &Path) -> Cow<'static, str> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if PLAIN_TEXT.iter().any(|p| ext.eq_ignore_ascii_case(p)) {
        return Cow::Borrowed("text/plain; charset=utf-8");
    }
    let Some(mime) = mime_guess::from_ext(ext).first_raw() else {
        return Cow::Borrowed("application/octet-stream");
    };
    let textual = mime.starts_with("text/")
        || matches!(
            mime,
            "application/javascript" | "application/json" | "application/xml" | "image/svg+xml"
        );
    if textual {
        Cow::Owned(format!("{mime}; charset=utf-8"))
    } else {
        Cow::Borrowed(mime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_by_extension() {
        let ct = |p: &str| content_type(Path::new(p)).into_owned();
        assert_eq!(ct("a/INDEX.HTML"), "text/html; charset=utf-8");
        assert_eq!(ct("x.svg"), "image/svg+xml; charset=utf-8");
        assert_eq!(ct("x.png"), "image/png");
        assert_eq!(ct("README.md"), "text/plain; charset=utf-8");
        assert_eq!(ct("main.RS"), "text/plain; charset=utf-8");
        assert_eq!(ct("noext"), "application/octet-stream");
        assert_eq!(ct("x.unknown-ext"), "application/octet-stream");
    }
}
