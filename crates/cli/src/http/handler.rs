//! What to answer to one parsed request: `/plaintext`, a static file, a directory listing,
//! a redirect, or an error.
//!
//! The handler only decides and opens files; the connection task writes. Files are opened
//! here (a quick system call) and streamed by the connection in blocks, so a large file
//! never sits in memory.

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

/// A response ready to be written.
#[derive(Debug)]
pub(crate) struct Reply {
    /// Head, plus the whole body when it is small and generated.
    pub(crate) head: Vec<u8>,
    /// The rest of the body.
    pub(crate) body: Body,
    /// True when the connection closes after this response.
    pub(crate) close: bool,
}

/// Answers a request; `root` is the canonical document root.
pub(crate) fn respond(req: &Request, root: &Path, date: &str) -> Reply {
    // A body we cannot delimit (Transfer-Encoding) means we cannot find the next request.
    // A refused request with a body closes too: a client that sent `Expect: 100-continue`
    // may never send that body, and skipping bytes that never come would desynchronise.
    let refused_body = matches!(req.method, Method::Other(_)) && req.body_len > 0;
    let keep_alive = req.keep_alive && !req.chunked && !refused_body;
    let head_only = req.method == Method::Head;
    let mut head = Vec::with_capacity(256);
    let reply = |head: Vec<u8>, body: Body| Reply {
        head,
        body,
        close: !keep_alive,
    };
    if let Method::Other(_) = req.method {
        let s = Status::METHOD_NOT_ALLOWED;
        write_error(
            &mut head,
            s,
            keep_alive,
            date,
            &[("Allow", "GET, HEAD")],
            true,
        );
        return reply(head, Body::None);
    }
    let error = |status: Status| {
        let mut head = Vec::with_capacity(200);
        write_error(&mut head, status, keep_alive, date, &[], !head_only);
        Reply {
            head,
            body: Body::None,
            close: !keep_alive,
        }
    };
    let target_path = req.target.split(['?', '#']).next().unwrap_or("");
    if target_path == "/plaintext" {
        let ct = Some("text/plain");
        write_head(
            &mut head,
            Status::OK,
            ct,
            PLAINTEXT.len() as u64,
            keep_alive,
            date,
            &[],
        );
        if !head_only {
            head.extend_from_slice(PLAINTEXT);
        }
        return reply(head, Body::None);
    }
    let segments = match path::segments(&req.target) {
        Ok(s) => s,
        Err(e) => return error(path_status(e)),
    };
    let file_path = match path::resolve(root, &segments) {
        Ok(p) => p,
        Err(e) => return error(path_status(e)),
    };
    if file_path.is_dir() {
        if !target_path.ends_with('/') {
            let location = format!("{target_path}/");
            let s = Status::MOVED_PERMANENTLY;
            write_error(
                &mut head,
                s,
                keep_alive,
                date,
                &[("Location", &location)],
                !head_only,
            );
            return reply(head, Body::None);
        }
        let index = file_path.join("index.html");
        if index.is_file() {
            return serve_file(&index, keep_alive, head_only, date).unwrap_or_else(error);
        }
        let Some(listing) = listing(&file_path, target_path) else {
            return error(Status::FORBIDDEN);
        };
        let ct = Some("text/html; charset=utf-8");
        write_head(
            &mut head,
            Status::OK,
            ct,
            listing.len() as u64,
            keep_alive,
            date,
            &[],
        );
        if !head_only {
            head.extend_from_slice(listing.as_bytes());
        }
        return reply(head, Body::None);
    }
    serve_file(&file_path, keep_alive, head_only, date).unwrap_or_else(error)
}

fn serve_file(path: &Path, keep_alive: bool, head_only: bool, date: &str) -> Result<Reply, Status> {
    let file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Status::NOT_FOUND,
        std::io::ErrorKind::PermissionDenied => Status::FORBIDDEN,
        _ => Status::INTERNAL_ERROR,
    })?;
    let meta = file.metadata().map_err(|_| Status::INTERNAL_ERROR)?;
    if !meta.is_file() {
        return Err(Status::FORBIDDEN);
    }
    let len = meta.len();
    let mut head = Vec::with_capacity(256);
    write_head(
        &mut head,
        Status::OK,
        Some(content_type(path)),
        len,
        keep_alive,
        date,
        &[],
    );
    let body = if head_only || len == 0 {
        Body::None
    } else {
        Body::File(file, len)
    };
    Ok(Reply {
        head,
        body,
        close: !keep_alive,
    })
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

    fn status(r: &Reply) -> u16 {
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
