//! File names for saved bodies (`-o DIR`), derived from the URL and safe by construction.
//!
//! `http://host:8080/a/b.html?x=1` becomes `host_8080_a_b.html_x=1`: the host, the port
//! when it is not 80, then the path segments and query joined with `_`, a trailing `/` (or
//! an empty path) adding `index.html`. Only ASCII letters, digits and `.-_=+,` survive;
//! every other byte becomes `%XX`, so no name contains `/`, NUL or starts with `.`, and
//! names of different URLs differ. A name longer than 200 bytes is cut and given a hash of
//! the whole URL. Two URLs of a batch that still collide (the same URL twice) get `.1`,
//! `.2`, ... from [`Names::unique`].

use std::collections::HashSet;

use c10k::http_client::Url;

/// Longest name produced (file systems allow 255 bytes).
const MAX_NAME: usize = 200;

/// The file name for a URL's body.
pub(crate) fn file_name(url: &Url) -> String {
    let mut raw = url.host().replace(':', "-");
    if url.port() != 80 {
        raw.push_str(&format!("_{}", url.port()));
    }
    let (path, query) = match url.target().split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (url.target(), None),
    };
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        raw.push('_');
        raw.push_str(segment);
    }
    if path.ends_with('/') {
        raw.push_str("_index.html");
    }
    if let Some(q) = query {
        raw.push('_');
        raw.push_str(q);
    }
    let mut name = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || b".-_=+,".contains(&b) {
            name.push(char::from(b));
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    if name.starts_with('.') {
        name.insert(0, '_');
    }
    if name.len() > MAX_NAME {
        let hash = fnv1a(url.to_string().as_bytes());
        let mut cut = MAX_NAME - 17;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
        name.push_str(&format!("-{hash:016x}"));
    }
    name
}

/// FNV-1a, 64 bits: a short, stable fingerprint for cut names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Names handed out in one batch, to keep them distinct.
#[derive(Debug, Default)]
pub(crate) struct Names {
    used: HashSet<String>,
}

impl Names {
    /// A distinct name for this URL in the batch.
    pub(crate) fn unique(&mut self, url: &Url) -> String {
        let base = file_name(url);
        let mut name = base.clone();
        let mut n = 0;
        while !self.used.insert(name.clone()) {
            n += 1;
            name = format!("{base}.{n}");
        }
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(u: &str) -> String {
        file_name(&Url::parse(u).unwrap())
    }

    #[test]
    fn names_are_flat_and_safe() {
        assert_eq!(name("http://h/"), "h_index.html");
        assert_eq!(
            name("http://h:8080/a/b.html?x=1&y"),
            "h_8080_a_b.html_x=1%26y"
        );
        assert_eq!(name("http://[::1]/a/"), "--1_a_index.html");
        // The URL Standard decodes `%2e%2e` as a dot segment and removes it.
        assert_eq!(name("http://h/%2e%2e/..%2f"), "h_..%252f");
        let long = name(&format!("http://h/{}", "x".repeat(500)));
        assert_eq!(long.len(), MAX_NAME);
    }

    #[test]
    fn batch_names_are_unique() {
        let mut names = Names::default();
        let u = Url::parse("http://h/a").unwrap();
        assert_eq!(names.unique(&u), "h_a");
        assert_eq!(names.unique(&u), "h_a.1");
    }
}
