//! `http://` and `https://` URLs: parsing, the request target, and resolving a redirect's `Location`.
//!
//! Parsing and resolution are the `url` crate's (the WHATWG URL Standard, whose resolution
//! of a reference against a base is RFC 3986 §5's: `/ok?next=http://x/` is an absolute
//! path with a query, `//host/p` a network-path reference, `../x` a relative path with its
//! dot segments removed). On top of it, this module keeps what an HTTP/1.1 client needs
//! and refuses what it cannot fetch:
//!
//! - a URL given by the user must be absolute (`scheme://`): the standard's leniency for
//!   `http:/x` or `http:x` would guess at a typo;
//! - schemes `http` and `https` only; user info (`user@host`) is refused rather than
//!   silently dropped;
//! - blanks and control characters in a user's URL are refused (percent-encode them), not
//!   silently encoded or stripped;
//! - an empty `Location` is an error, not "the same URL again" (which loops to the
//!   redirect limit).
//!
//! A non-ASCII host name becomes its IDNA (punycode) form; the fragment is never sent.

use std::fmt;

/// A parsed `http://` or `https://` URL that this client can fetch. It prints as it is
/// requested: without the fragment, with the port only when it is not the scheme's.
///
/// Parsing and resolving redirects are the `url` crate's (the WHATWG URL Standard, whose
/// resolution of a reference is RFC 3986 §5's); on top of it, refused are: a URL that is not
/// absolute (`scheme://`), a scheme other than `http` and `https`, user info (`user@host`,
/// rather than silently dropped), blanks and control characters (percent-encode them), and
/// an empty redirect `Location`. A non-ASCII host becomes its IDNA (punycode) form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Url {
    /// `https://`: the exchange runs over TLS.
    tls: bool,
    /// Host: a lowercased (IDNA) name, an IPv4 address, or an IPv6 one without brackets.
    host: String,
    /// The port (80 or 443 when absent).
    port: u16,
    /// Path and query, starting with `/`.
    target: String,
    /// The parsed form, the base that redirects are resolved against.
    parsed: url::Url,
}

/// Why a string is not a URL this client can fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError(String);

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UrlError {}

fn err<T>(why: &str) -> Result<T, UrlError> {
    Err(UrlError(why.to_owned()))
}

/// The `url` crate's parse errors in this crate's words.
fn parse_error(e: url::ParseError) -> UrlError {
    use url::ParseError as E;
    UrlError(
        match e {
            E::EmptyHost | E::IdnaError | E::InvalidDomainCharacter => "bad host",
            E::InvalidPort => "bad port",
            E::InvalidIpv4Address => "bad IPv4 host",
            E::InvalidIpv6Address => "bad IPv6 host",
            E::RelativeUrlWithoutBase | E::RelativeUrlWithCannotBeABaseBase => {
                "not an absolute URL (expected http://HOST/PATH)"
            }
            _ => return UrlError(format!("bad URL: {e}")),
        }
        .to_owned(),
    )
}

impl Url {
    /// Parses an absolute `http://` or `https://` URL given by the user.
    ///
    /// # Errors
    ///
    /// Not absolute, another scheme, user info, blanks or control characters, a bad host
    /// or port.
    pub fn parse(input: &str) -> Result<Url, UrlError> {
        let input = input.trim();
        let scheme_len = input
            .find(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))
            .unwrap_or(input.len());
        let absolute = scheme_len > 0
            && input.as_bytes()[0].is_ascii_alphabetic()
            && input[scheme_len..].starts_with("://");
        if !absolute {
            return err("not an absolute URL (expected http://HOST/PATH)");
        }
        if input.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return err("spaces or control characters in the URL (percent-encode them)");
        }
        let parsed = url::Url::parse(input).map_err(parse_error)?;
        Url::from_parsed(parsed)
    }

    /// Checks that a parsed URL can be fetched and takes its parts.
    fn from_parsed(mut parsed: url::Url) -> Result<Url, UrlError> {
        let tls = match parsed.scheme() {
            "http" => false,
            "https" => true,
            _ => return err("unsupported scheme (only http:// and https://)"),
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return err("user info in URLs is not supported");
        }
        let host = match parsed.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            _ => return err("bad host"),
        };
        let port = match parsed.port_or_known_default() {
            Some(0) | None => return err("bad port"),
            Some(p) => p,
        };
        parsed.set_fragment(None);
        let mut target = parsed.path().to_owned();
        if !target.starts_with('/') {
            return err("not an absolute URL (expected http://HOST/PATH)");
        }
        if let Some(q) = parsed.query() {
            target.push('?');
            target.push_str(q);
        }
        Ok(Url {
            tls,
            host,
            port,
            target,
            parsed,
        })
    }

    /// True for `https://`.
    pub fn is_https(&self) -> bool {
        self.tls
    }

    /// The host: a lowercased (IDNA) name, an IPv4 address, or an IPv6 one without
    /// brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port (80 or 443 when the URL has none).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The request target: the path and the query, starting with `/`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The `Host` header value (`host`, `host:port`, `[::1]:port`).
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == self.default_port() {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// The scheme's port: 80, or 443 for https.
    fn default_port(&self) -> u16 {
        if self.tls {
            443
        } else {
            80
        }
    }

    /// Resolves a redirect's `Location` (absolute, scheme-relative, absolute-path or
    /// relative) against this URL (RFC 3986 §5.2, dot segments removed).
    ///
    /// # Errors
    ///
    /// An empty or malformed `Location`, or one that resolves to a URL this client cannot
    /// fetch (`ftp://`, say).
    pub fn join(&self, location: &str) -> Result<Url, UrlError> {
        let location = location.trim();
        if location.is_empty() {
            return err("empty Location");
        }
        let parsed = self.parsed.join(location).map_err(parse_error)?;
        Url::from_parsed(parsed)
    }
}

impl std::str::FromStr for Url {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Url, UrlError> {
        Url::parse(s)
    }
}

/// What [`Client::get`](crate::Client::get) accepts as a URL: text, parsed as
/// [`Url::parse`] does, or a [`Url`].
pub trait IntoUrl {
    /// The URL.
    ///
    /// # Errors
    ///
    /// See [`Url::parse`].
    fn into_url(self) -> Result<Url, UrlError>;
}

impl IntoUrl for &str {
    fn into_url(self) -> Result<Url, UrlError> {
        Url::parse(self)
    }
}

impl IntoUrl for &String {
    fn into_url(self) -> Result<Url, UrlError> {
        Url::parse(self)
    }
}

impl IntoUrl for String {
    fn into_url(self) -> Result<Url, UrlError> {
        Url::parse(&self)
    }
}

impl IntoUrl for Url {
    fn into_url(self) -> Result<Url, UrlError> {
        Ok(self)
    }
}

impl IntoUrl for &Url {
    fn into_url(self) -> Result<Url, UrlError> {
        Ok(self.clone())
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.host_header(), self.target)
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
        let u = Url::parse("https://example.com/").unwrap();
        assert_eq!(
            (u.tls, u.port, u.host_header()),
            (true, 443, "example.com".to_owned())
        );
        let u = Url::parse("https://example.com:80/x").unwrap();
        assert_eq!(u.to_string(), "https://example.com:80/x");
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
            "http://h\x07/",
            "http:x",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
        let idna = Url::parse("http://h\u{e9}/").unwrap();
        assert_eq!(idna.host, "xn--h-bga");
    }

    #[test]
    fn joins_locations() {
        let base = Url::parse("http://h:8/a/b?x").unwrap();
        assert_eq!(base.join("/c").unwrap().to_string(), "http://h:8/c");
        assert_eq!(base.join("c?y").unwrap().to_string(), "http://h:8/a/c?y");
        assert_eq!(base.join("?z").unwrap().to_string(), "http://h:8/a/b?z");
        assert_eq!(base.join("//o/p").unwrap().to_string(), "http://o/p");
        assert_eq!(base.join("http://o:9/").unwrap().to_string(), "http://o:9/");
        assert_eq!(base.join("https://o/").unwrap().to_string(), "https://o/");
        assert!(base.join("ftp://o/").is_err());
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

    /// Regression (issue 9): a query holding a URL made the location look absolute, and an
    /// empty location resolved to the same URL, looping to the redirect limit.
    #[test]
    fn a_url_in_the_query_is_not_an_absolute_location() {
        let base = Url::parse("http://h:8/a/b").unwrap();
        let u = base.join("/ok?next=http://x/").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("h", 8));
        assert_eq!(u.target, "/ok?next=http://x/");
        let u = base.join("ok?next=https://x/y").unwrap();
        assert_eq!(u.to_string(), "http://h:8/a/ok?next=https://x/y");
        let e = base.join("").unwrap_err();
        assert_eq!(e.0, "empty Location");
        assert!(base.join("   ").is_err());
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
