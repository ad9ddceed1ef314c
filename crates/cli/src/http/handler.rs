//! What to answer to one parsed request: `/plaintext`, a static file, a directory listing,
//! a redirect, or an error.
//!
//! The handler appends the response head (and any small generated body) to the
//! connection's output buffer, so pipelined answers leave together and no per-response
//! buffer is allocated; it never touches the socket. Files are opened here (a quick system
//! call) and streamed by the connection in blocks, so a large file never sits in memory.

use std::fmt::Write as _;
use std::fs::File;
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

/// Answers a request: appends the head (and a small generated body) to `out` and says how
/// the response goes on; `root` is the canonical document root.
pub(crate) fn respond(req: &Request, root: &Path, date: &str, out: &mut Vec<u8>) -> Reply {
    // A body we cannot delimit (Transfer-Encoding) means we cannot find the next request.
    // A refused request with a body closes too: a client that sent `Expect: 100-continue`
    // may never send that body, and skipping bytes that never come would desynchronise.
    let refused_body = matches!(req.method, Method::Other(_)) && req.body_len > 0;
    let keep_alive = req.keep_alive && !req.chunked && !refused_body;
    let head_only = req.method == Method::Head;
    let done = Reply {
        body: Body::None,
        close: !keep_alive,
    };
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
        if !head_only {
            out.extend_from_slice(PLAINTEXT);
        }
        return done;
    }
    let resolved = path::segments(&req.target).and_then(|segments| path::resolve(root, &segments));
    let file_path = match resolved {
        Ok(p) => p,
        Err(e) => {
            write_error(out, path_status(e), keep_alive, date, &[], !head_only);
            return done;
        }
    };
    let file_path = if file_path.is_dir() {
        if !target_path.ends_with('/') {
            let location = format!("{target_path}/");
            let extra = [("Location", location.as_str())];
            write_error(
                out,
                Status::MOVED_PERMANENTLY,
                keep_alive,
                date,
                &extra,
                !head_only,
            );
            return done;
        }
        let index = file_path.join("index.html");
        if !index.is_file() {
            match listing(&file_path, target_path) {
                Some(page) => {
                    let ct = Some("text/html; charset=utf-8");
                    write_head(
                        out,
                        Status::OK,
                        ct,
                        page.len() as u64,
                        keep_alive,
                        date,
                        &[],
                    );
                    if !head_only {
                        out.extend_from_slice(page.as_bytes());
                    }
                }
                None => write_error(out, Status::FORBIDDEN, keep_alive, date, &[], !head_only),
            }
            return done;
        }
        index
    } else {
        file_path
    };
    match open_file(&file_path) {
        Ok((file, len)) => {
            let ct = Some(content_type(&file_path));
            write_head(out, Status::OK, ct, len, keep_alive, date, &[]);
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
        Err(status) => {
            write_error(out, status, keep_alive, date, &[], !head_only);
            done
        }
    }
}

/// Opens a regular file and returns it with its length.
fn open_file(path: &Path) -> Result<(File, u64), Status> {
    let file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Status::NOT_FOUND,
        std::io::ErrorKind::PermissionDenied => Status::FORBIDDEN,
        _ => Status::INTERNAL_ERROR,
    })?;
    let meta = file.metadata().map_err(|_| Status::INTERNAL_ERROR)?;
    if !meta.is_file() {
        return Err(Status::FORBIDDEN);
    }
    Ok((file, meta.len()))
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
        let reply = super::respond(req, root, date, &mut head);
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
        assert!(matches!(r.body, Body::File(_, 5)));
        assert!(String::from_utf8_lossy(&r.head)
            .contains("Content-Type: text/plain; charset=utf-8\r\n"));
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
