//! `http://` URLs: parsing, the request target, and resolving a redirect's `Location`.
//!
//! Only what an HTTP/1.1 client needs: scheme `http`, a host (name, IPv4, or `[IPv6]`), an
//! optional port, and the path with its query. The fragment is never sent. `https://` is
//! refused with a message saying so (TLS is not built in); user info (`user@host`) is
//! refused rather than silently dropped.

use std::fmt;

/// A parsed `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Url {
    /// Host as written, lowercased, without brackets for IPv6.
    pub(crate) host: String,
    /// The port (80 when absent).
    pub(crate) port: u16,
    /// Path and query, starting with `/`.
    pub(crate) target: String,
}

/// Why a string is not a URL this client can fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UrlError(pub(crate) String);

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UrlError {}

impl Url {
    /// Parses an absolute `http://` URL.
    pub(crate) fn parse(input: &str) -> Result<Url, UrlError> {
        let err = |why: &str| Err(UrlError(why.to_owned()));
        let input_trim = input.trim();
        let Some(colon) = input_trim.find(':') else {
            return err("not an absolute URL (expected http://HOST/PATH)");
        };
        let scheme = input_trim[..colon].to_ascii_lowercase();
        let rest = &input_trim[colon + 1..];
        match scheme.as_str() {
            "http" => {}
            "https" => return err("https is not supported (no TLS yet); use http://"),
            _ => return err("unsupported scheme (only http:// is supported)"),
        }
        let Some(rest) = rest.strip_prefix("//") else {
            return err("not an absolute URL (expected http://HOST/PATH)");
        };
        let rest = rest.split('#').next().unwrap_or("");
        let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(auth_end);
        if authority.contains('@') {
            return err("user info in URLs is not supported");
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let Some(end) = v6.find(']') else {
                return err("bad IPv6 host");
            };
            let host = &v6[..end];
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return err("bad IPv6 host");
            }
            (host, &v6[end + 1..])
        } else {
            match authority.find(':') {
                Some(i) => (&authority[..i], &authority[i..]),
                None => (authority, ""),
            }
        };
        let port = match port {
            "" | ":" => 80,
            p => match p.strip_prefix(':').and_then(|p| p.parse::<u16>().ok()) {
                Some(p) if p != 0 => p,
                _ => return err("bad port"),
            },
        };
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b));
        if !host_ok {
            return err("bad host");
        }
        if target.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return err("spaces or control characters in the path (percent-encode them)");
        }
        let target = if target.is_empty() {
            "/".to_owned()
        } else if target.starts_with('?') {
            format!("/{target}")
        } else {
            target.to_owned()
        };
        Ok(Url {
            host: host.to_ascii_lowercase(),
            port,
            target,
        })
    }

    /// The `Host` header value (`host`, `host:port`, `[::1]:port`).
    pub(crate) fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// Resolves a redirect's `Location` (absolute, scheme-relative, absolute-path or
    /// relative) against this URL (RFC 3986 §5.2, with dot segments removed, §5.2.4).
    pub(crate) fn join(&self, location: &str) -> Result<Url, UrlError> {
        let location = location.trim();
        if location.contains("://") {
            return Url::parse(location);
        }
        if let Some(rest) = location.strip_prefix("//") {
            return Url::parse(&format!("http://{rest}"));
        }
        let location = location.split('#').next().unwrap_or("");
        let target = if location.starts_with('/') {
            location.to_owned()
        } else if location.is_empty() {
            self.target.clone()
        } else if location.starts_with('?') {
            let path = self.target.split('?').next().unwrap_or("/");
            format!("{path}{location}")
        } else {
            let path = self.target.split('?').next().unwrap_or("/");
            let dir = &path[..=path.rfind('/').unwrap_or(0)];
            format!("{dir}{location}")
        };
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target.as_str(), None),
        };
        let mut target = remove_dot_segments(path);
        if let Some(q) = query {
            target.push('?');
            target.push_str(q);
        }
        Url::parse(&format!("http://{}{}", self.host_header(), target))
    }
}

/// RFC 3986 §5.2.4 for an absolute path: `.` segments vanish, `..` removes the segment
/// before it (never climbing above `/`).
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *seg {
            "." | ".." => {
                if *seg == ".." {
                    out.pop();
                }
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.host_header(), self.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_http_urls() {
        let u = Url::parse("http://Example.com").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("example.com", 80, "/")
        );
        let u = Url::parse("http://127.0.0.1:8080/a/b?x=1#frag").unwrap();
        assert_eq!((u.port, u.target.as_str()), (8080, "/a/b?x=1"));
        assert_eq!(u.to_string(), "http://127.0.0.1:8080/a/b?x=1");
        let u = Url::parse("http://[::1]:81?q").unwrap();
        assert_eq!((u.host.as_str(), u.target.as_str()), ("::1", "/?q"));
        assert_eq!(u.host_header(), "[::1]:81");
    }

    #[test]
    fn refuses_what_it_cannot_fetch() {
        let e = Url::parse("https://example.com/").unwrap_err();
        assert!(e.0.contains("https is not supported"), "{e}");
        for bad in [
            "ftp://x/",
            "example.com",
            "http:/x",
            "http://",
            "http://a:0/",
            "http://a:99999/",
            "http://u@h/",
            "http://[::1/",
            "http://h/a b",
            "http://h\u{e9}/",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn joins_locations() {
        let base = Url::parse("http://h:8/a/b?x").unwrap();
        assert_eq!(base.join("/c").unwrap().to_string(), "http://h:8/c");
        assert_eq!(base.join("c?y").unwrap().to_string(), "http://h:8/a/c?y");
        assert_eq!(base.join("?z").unwrap().to_string(), "http://h:8/a/b?z");
        assert_eq!(base.join("//o/p").unwrap().to_string(), "http://o/p");
        assert_eq!(base.join("http://o:9/").unwrap().to_string(), "http://o:9/");
        assert!(base.join("https://o/").is_err());
        assert_eq!(base.join("../x").unwrap().to_string(), "http://h:8/x");
        assert_eq!(
            base.join("../../../x?q=..").unwrap().to_string(),
            "http://h:8/x?q=.."
        );
        assert_eq!(base.join("./").unwrap().to_string(), "http://h:8/a/");
        assert_eq!(
            base.join("/p/./q/../r/..").unwrap().to_string(),
            "http://h:8/p/"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Parsing never panics, and what parses prints back to itself.
        #[test]
        fn parse_display_round_trip(input in "(http|https|ftp|HTTP)?:?/?/?[a-z0-9.:\\[\\]@-]{0,20}[/?#]?[ -~]{0,30}") {
            if let Ok(url) = Url::parse(&input) {
                proptest::prop_assert_eq!(Url::parse(&url.to_string()), Ok(url.clone()));
                proptest::prop_assert!(url.target.starts_with('/'));
            }
        }

        #[test]
        fn join_never_panics(location in proptest::prelude::any::<String>()) {
            let base = Url::parse("http://h/a/b?c").unwrap();
            if let Ok(u) = base.join(&location) {
                proptest::prop_assert!(u.target.starts_with('/'));
                proptest::prop_assert!(!u.target.split('?').next().unwrap().split('/').any(|s| s == ".."));
            }
        }
    }
}
