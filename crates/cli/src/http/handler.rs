//! What to answer to one parsed request: `/plaintext`, a static file, a directory listing,
//! a redirect, or an error.
//!
//! The handler appends the response head (and any small generated body) to the
//! connection's output buffer, so pipelined answers leave together and no per-response
//! buffer is allocated; it never touches the socket. Answering takes up to three steps:
//!
//! 1. [`start`] (runtime thread, no system call): method checks and `/plaintext` are
//!    answered at once; any other target becomes a [`Lookup`].
//! 2. [`Lookup::run`] (the runtime's blocking pool): everything that touches the file
//!    system — resolving the path, `stat`, opening the file, reading a directory and
//!    building its listing. A slow disk, a huge directory or a hostile file cannot stall
//!    the runtime thread and every other connection with it.
//! 3. [`finish`] (runtime thread): the head for what the lookup [`Found`]. A file of at
//!    most [`INLINE_FILE`] bytes was read whole by the lookup and goes into the output
//!    buffer; a larger one is streamed by the connection, each block read on the pool.
//!
//! What may be opened (a FIFO under the root once froze the server: `open(2)` of a FIFO
//! blocks until a writer comes):
//!
//! 1. `stat` the resolved path; only a regular file or a directory is served, anything else
//!    (FIFO, socket, device) gets 403 before any `open`.
//! 2. Open with `O_NONBLOCK | O_NOCTTY`, so that even a regular file swapped for a FIFO
//!    between the `stat` and the `open` cannot block.
//! 3. `fstat` the open descriptor and serve it only if it is (still) a regular file.
//!
//! A target ending in `/` names a directory: `/a.txt/` is 404, not the file. A directory
//! named without its trailing slash is redirected to the canonical form built from the
//! decoded segments (`GET //docs` answers `Location: /docs/`, never the scheme-relative
//! `//docs/`, which a browser would read as another host).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::mime::content_type;
use super::path::{self, PathError};
use super::request::{Method, Request};
use super::response::{write_error, write_head, Status};

/// The body of the plaintext benchmark endpoint.
pub(crate) const PLAINTEXT: &[u8] = b"Hello, World!";

/// The body that follows a response head.
#[derive(Debug)]
pub(crate) enum Body {
    /// Nothing (HEAD, or the body is already in the head buffer).
    None,
    /// A file of this many bytes, streamed from its start.
    File(File, u64),
}

/// How a response continues after its head (already in the output buffer).
#[derive(Debug)]
pub(crate) struct Reply {
    /// The rest of the body.
    pub(crate) body: Body,
    /// True when the connection closes after this response.
    pub(crate) close: bool,
}

/// The outcome of [`start`].
#[derive(Debug)]
pub(crate) enum Step {
    /// Answered (the head is in the output buffer).
    Done(Reply),
    /// The answer needs the file system: run the lookup on the blocking pool, then
    /// [`finish`].
    Lookup(Lookup),
}

/// Files up to this size are read whole by the lookup, on the blocking pool, and their body
/// goes into the output buffer with the head: one trip to the pool per small file instead of
/// two (open, then read).
pub(crate) const INLINE_FILE: u64 = 16 * 1024;

/// The file-system part of answering one request; runs on the blocking pool.
#[derive(Debug)]
pub(crate) struct Lookup {
    target: String,
    head_only: bool,
}

/// What the file system gave for a target.
#[derive(Debug)]
pub(crate) enum Found {
    /// A regular file, open, with its length and content type.
    File(File, u64, Cow<'static, str>),
    /// A small regular file's whole body ([`INLINE_FILE`]) and content type.
    Inline(Vec<u8>, Cow<'static, str>),
    /// A directory without `index.html`: its HTML listing.
    Listing(String),
    /// A directory named without its trailing slash: where it is.
    Redirect(String),
    /// An error status.
    Error(Status),
}

/// Whether the connection may stay open after answering `req`.
fn keep_alive(req: &Request) -> bool {
    // A body we cannot delimit (Transfer-Encoding) means we cannot find the next request.
    // A refused request with a body closes too: a client that sent `Expect: 100-continue`
    // may never send that body, and skipping bytes that never come would desynchronise.
    let refused_body = matches!(req.method, Method::Other(_)) && req.body_len > 0;
    req.keep_alive && !req.chunked && !refused_body
}

/// Step 1: answers what needs no file system (appending to `out`), or hands over a
/// [`Lookup`].
pub(crate) fn start(req: &Request, date: &str, out: &mut Vec<u8>) -> Step {
    let keep_alive = keep_alive(req);
    let done = Step::Done(Reply {
        body: Body::None,
        close: !keep_alive,
    });
    if let Method::Other(_) = req.method {
        let allow = [("Allow", "GET, HEAD")];
        write_error(
            out,
            Status::METHOD_NOT_ALLOWED,
            keep_alive,
            date,
            &allow,
            true,
        );
        return done;
    }
    let target_path = req.target.split(['?', '#']).next().unwrap_or("");
    if target_path == "/plaintext" {
        let len = PLAINTEXT.len() as u64;
        write_head(
            out,
            Status::OK,
            Some("text/plain"),
            len,
            keep_alive,
            date,
            &[],
        );
        if req.method != Method::Head {
            out.extend_from_slice(PLAINTEXT);
        }
        return done;
    }
    Step::Lookup(Lookup {
        target: req.target.clone(),
        head_only: req.method == Method::Head,
    })
}

impl Lookup {
    /// Step 2: resolves the target under the canonical `root` and opens what it names.
    /// Blocking: call it on the blocking pool.
    pub(crate) fn run(&self, root: &Path) -> Found {
        let target_path = self.target.split(['?', '#']).next().unwrap_or("");
        let segments = match path::segments(&self.target) {
            Ok(s) => s,
            Err(e) => return Found::Error(path_status(e)),
        };
        let real = match path::resolve(root, &segments) {
            Ok(p) => p,
            Err(e) => return Found::Error(path_status(e)),
        };
        let meta = match std::fs::metadata(&real) {
            Ok(m) => m,
            Err(e) => return Found::Error(io_status(&e)),
        };
        if meta.is_file() {
            if target_path.ends_with('/') {
                // `/a.txt/` names a directory that does not exist.
                return Found::Error(Status::NOT_FOUND);
            }
            return open_file(&real, !self.head_only);
        }
        if !meta.is_dir() {
            // A FIFO, socket or device: never opened (step 1 of the module docs).
            return Found::Error(Status::FORBIDDEN);
        }
        if !target_path.ends_with('/') {
            return Found::Redirect(canonical_dir(&segments, &self.target));
        }
        let index = real.join("index.html");
        if std::fs::metadata(&index).is_ok_and(|m| m.is_file()) {
            return open_file(&index, !self.head_only);
        }
        match listing(&real, target_path) {
            Some(page) => Found::Listing(page),
            None => Found::Error(Status::FORBIDDEN),
        }
    }
}

/// Step 3: appends the head (and a listing or error body) for what the lookup found.
pub(crate) fn finish(req: &Request, found: Found, date: &str, out: &mut Vec<u8>) -> Reply {
    let keep_alive = keep_alive(req);
    let head_only = req.method == Method::Head;
    let done = Reply {
        body: Body::None,
        close: !keep_alive,
    };
    match found {
        Found::File(file, len, ct) => {
            write_head(out, Status::OK, Some(&ct), len, keep_alive, date, &[]);
            let body = if head_only || len == 0 {
                Body::None
            } else {
                Body::File(file, len)
            };
            Reply {
                body,
                close: !keep_alive,
            }
        }
        Found::Inline(bytes, ct) => {
            let len = bytes.len() as u64;
            write_head(out, Status::OK, Some(&ct), len, keep_alive, date, &[]);
            if !head_only {
                out.extend_from_slice(&bytes);
            }
            done
        }
        Found::Listing(page) => {
            let ct = Some("text/html; charset=utf-8");
            let len = page.len() as u64;
            write_head(out, Status::OK, ct, len, keep_alive, date, &[]);
            if !head_only {
                out.extend_from_slice(page.as_bytes());
            }
            done
        }
        Found::Redirect(location) => {
            let extra = [("Location", location.as_str())];
            let status = Status::MOVED_PERMANENTLY;
            write_error(out, status, keep_alive, date, &extra, !head_only);
            done
        }
        Found::Error(status) => {
            write_error(out, status, keep_alive, date, &[], !head_only);
            done
        }
    }
}

/// `/seg/ments/` (re-encoded) plus the target's query: the absolute path of a directory.
fn canonical_dir(segments: &[String], target: &str) -> String {
    let mut location = String::from("/");
    for s in segments {
        location.push_str(&path::percent_encode(s));
        location.push('/');
    }
    let without_fragment = target.split('#').next().unwrap_or("");
    if let Some(i) = without_fragment.find('?') {
        location.push_str(&without_fragment[i..]);
    }
    location
}

/// Opens a regular file without blocking (steps 2 and 3 of the module docs); with `inline`,
/// a file of at most [`INLINE_FILE`] bytes is read whole.
fn open_file(path: &Path, inline: bool) -> Found {
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path);
    let mut file = match opened {
        Ok(f) => f,
        Err(e) => return Found::Error(io_status(&e)),
    };
    let len = match file.metadata() {
        Ok(meta) if meta.is_file() => meta.len(),
        Ok(_) => return Found::Error(Status::FORBIDDEN),
        Err(_) => return Found::Error(Status::INTERNAL_ERROR),
    };
    if !inline || len > INLINE_FILE {
        return Found::File(file, len, content_type(path));
    }
    let mut bytes = vec![0u8; usize::try_from(len).unwrap_or(0)];
    match file.read_exact(&mut bytes) {
        Ok(()) => Found::Inline(bytes, content_type(path)),
        // Shrank since the fstat: the promised length cannot be kept.
        Err(_) => Found::Error(Status::INTERNAL_ERROR),
    }
}

fn io_status(e: &io::Error) -> Status {
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => Status::NOT_FOUND,
        io::ErrorKind::PermissionDenied => Status::FORBIDDEN,
        _ => Status::INTERNAL_ERROR,
    }
}

fn path_status(e: PathError) -> Status {
    match e {
        PathError::Bad => Status::BAD_REQUEST,
        PathError::Outside => Status::FORBIDDEN,
        PathError::Missing => Status::NOT_FOUND,
    }
}

/// An HTML list of a directory's entries, sorted, names escaped.
fn listing(dir: &Path, target: &str) -> Option<String> {
    let mut names: Vec<(String, bool)> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let is_dir = e.file_type().ok()?.is_dir();
            Some((name, is_dir))
        })
        .collect();
    names.sort();
    let title = html_escape(&String::from_utf8_lossy(
        &path::percent_decode(target.as_bytes()).unwrap_or_default(),
    ));
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body><h1>{title}</h1>\n<ul>\n"
    );
    for (name, is_dir) in names {
        let slash = if is_dir { "/" } else { "" };
        let _ = writeln!(
            html,
            "<li><a href=\"{}{slash}\">{}{slash}</a></li>",
            path::percent_encode(&name),
            html_escape(&name)
        );
    }
    html.push_str("</ul></body></html>\n");
    Some(html)
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::{parse, Parsed};

    /// A reply with its head, for inspection.
    struct Answer {
        head: Vec<u8>,
        body: Body,
        close: bool,
    }

    fn respond(req: &Request, root: &Path, date: &str) -> Answer {
        let mut head = Vec::new();
        let reply = match start(req, date, &mut head) {
            Step::Done(reply) => reply,
            Step::Lookup(lookup) => finish(req, lookup.run(root), date, &mut head),
        };
        Answer {
            head,
            body: reply.body,
            close: reply.close,
        }
    }

    fn status(r: &Answer) -> u16 {
        String::from_utf8_lossy(&r.head[9..12]).parse().unwrap()
    }

    fn request(raw: &str) -> Request {
        match parse(raw.as_bytes()) {
            Parsed::Complete(r, _) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn answers_by_target() -> std::io::Result<()> {
        let root = std::env::temp_dir().join(format!("c10k-http-handler-{}", std::process::id()));
        std::fs::create_dir_all(root.join("sub"))?;
        std::fs::write(root.join("a.txt"), "hello")?;
        std::fs::write(root.join("sub/<x>.css"), "")?;
        let root = std::fs::canonicalize(&root)?;
        let get = |target: &str| {
            respond(
                &request(&format!("GET {target} HTTP/1.1\r\nHost: h\r\n\r\n")),
                &root,
                "D",
            )
        };
        let r = get("/plaintext");
        assert_eq!(status(&r), 200);
        assert!(r.head.ends_with(b"\r\n\r\nHello, World!"));
        let r = get("/a.txt");
        assert_eq!(status(&r), 200);
        assert!(r.head.ends_with(b"\r\n\r\nhello"), "small files are inline");
        assert!(matches!(r.body, Body::None));
        assert!(String::from_utf8_lossy(&r.head)
            .contains("Content-Type: text/plain; charset=utf-8\r\n"));
        std::fs::write(root.join("big.bin"), vec![7u8; 20_000])?;
        let r = get("/big.bin");
        assert!(
            matches!(r.body, Body::File(_, 20_000)),
            "larger files are streamed"
        );
        assert_eq!(status(&get("/a.txt/")), 404);
        assert_eq!(status(&get("/missing")), 404);
        assert_eq!(status(&get("/../a.txt")), 400);
        assert_eq!(status(&get("/sub")), 301);
        let r = get("/sub/");
        assert_eq!(status(&r), 200);
        let page = String::from_utf8_lossy(&r.head);
        assert!(
            page.contains("<a href=\"%3Cx%3E.css\">&lt;x&gt;.css</a>"),
            "{page}"
        );
        let r = respond(
            &request("POST /a.txt HTTP/1.1\r\nHost: h\r\n\r\n"),
            &root,
            "D",
        );
        assert_eq!(status(&r), 405);
        assert!(!r.close);
        let r = respond(
            &request("PUT /a.txt HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n"),
            &root,
            "D",
        );
        assert!(r.close && status(&r) == 405);
        let r = respond(&request("HEAD /a.txt HTTP/1.0\r\n\r\n"), &root, "D");
        assert!(matches!(r.body, Body::None) && r.close && status(&r) == 200);
        std::fs::remove_dir_all(&root)
    }
}
