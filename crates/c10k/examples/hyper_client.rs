//! A hyper 1.x client on c10k (feature `hyper`): GETs a URL over HTTP/1.1, or HTTP/2 over
//! cleartext (prior knowledge) with `--http2`, and prints the status and body; with `-n`,
//! sends that many requests over `-c` keep-alive connections and prints the rate.
//!
//! ```text
//! cargo run -p c10k --features hyper --example hyper_client -- \
//!     [http://HOST:PORT/PATH] [--http2] [-c CONNS] [-n REQUESTS] [--backend NAME]
//! ```
//!
//! Without a URL it starts the `hyper_server` example's server in the same process (on
//! 127.0.0.1, a free port) and fetches `/plaintext` from it, so it runs from a fresh clone.

#[path = "hyper_server.rs"]
#[allow(dead_code)] // only the server half is used here
pub(crate) mod hyper_server;

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use c10k::hyper::{Executor, Io, Timer};
use c10k::net::TcpStream;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};

/// One client connection, HTTP/1 or HTTP/2.
#[derive(Debug)]
pub(crate) enum Conn {
    /// HTTP/1.1: one request at a time.
    Http1(hyper::client::conn::http1::SendRequest<Empty<Bytes>>),
    /// HTTP/2: requests multiplexed as streams.
    Http2(hyper::client::conn::http2::SendRequest<Empty<Bytes>>),
}

/// Connects to `addr` and shakes hands; the connection is driven by a task of its own.
///
/// # Errors
///
/// Connecting or the handshake failed.
pub(crate) async fn connect(addr: SocketAddr, http2: bool) -> io::Result<Conn> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let io = Io::new(stream);
    if http2 {
        let (sender, conn) = hyper::client::conn::http2::Builder::new(Executor)
            .timer(Timer)
            .handshake(io)
            .await
            .map_err(io::Error::other)?;
        Executor.execute_detached(conn);
        Ok(Conn::Http2(sender))
    } else {
        let (sender, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(io::Error::other)?;
        Executor.execute_detached(conn);
        Ok(Conn::Http1(sender))
    }
}

/// GETs `path` from `authority` (the `Host`, or HTTP/2's `:authority`) on `conn`; returns
/// the status and the whole body.
///
/// # Errors
///
/// The connection failed or closed, or the response was malformed.
pub(crate) async fn get(
    conn: &mut Conn,
    authority: &str,
    path: &str,
) -> io::Result<(StatusCode, Bytes)> {
    let resp = match conn {
        Conn::Http1(sender) => {
            sender.ready().await.map_err(io::Error::other)?;
            let req = Request::get(path)
                .header(hyper::header::HOST, authority)
                .body(Empty::new())
                .map_err(io::Error::other)?;
            sender.send_request(req).await
        }
        Conn::Http2(sender) => {
            sender.ready().await.map_err(io::Error::other)?;
            let req = Request::get(format!("http://{authority}{path}"))
                .body(Empty::new())
                .map_err(io::Error::other)?;
            sender.send_request(req).await
        }
    }
    .map_err(io::Error::other)?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(io::Error::other)?
        .to_bytes();
    Ok((status, body))
}

/// Sends `requests` GETs of `path` over `conns` connections at once (each connection one
/// request at a time); returns how many answered 200.
///
/// # Errors
///
/// The first connection or request that failed.
pub(crate) async fn load(
    addr: SocketAddr,
    path: &str,
    http2: bool,
    conns: usize,
    requests: usize,
) -> io::Result<usize> {
    let authority = addr.to_string();
    let mut tasks = Vec::new();
    for i in 0..conns {
        // Deal the requests: the first `requests % conns` connections take one more.
        let share = requests / conns + usize::from(i < requests % conns);
        let (path, authority) = (path.to_owned(), authority.clone());
        tasks.push(c10k::spawn(async move {
            let mut conn = connect(addr, http2).await?;
            let mut ok = 0;
            for _ in 0..share {
                let (status, _) = get(&mut conn, &authority, &path).await?;
                ok += usize::from(status == StatusCode::OK);
            }
            io::Result::Ok(ok)
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await.map_err(io::Error::other)??;
    }
    Ok(ok)
}

struct Args {
    url: Option<String>,
    http2: bool,
    conns: usize,
    requests: usize,
    backend: c10k::runtime::driver::Backend,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: None,
        http2: false,
        conns: 1,
        requests: 1,
        backend: c10k::runtime::driver::Backend::best(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut count = |name: &str| -> Result<usize, String> {
            let v = it.next().ok_or(format!("{name} needs a value"))?;
            match v.parse() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("{name} {v}: expected a positive integer")),
            }
        };
        match arg.as_str() {
            "--http2" => args.http2 = true,
            "-c" => args.conns = count("-c")?,
            "-n" => args.requests = count("-n")?,
            "--backend" => {
                let v = it.next().ok_or("--backend needs a value")?;
                args.backend = v.parse().map_err(|e| format!("--backend {v}: {e}"))?;
            }
            "-h" | "--help" => {
                return Err(
                    "usage: hyper_client [http://HOST:PORT/PATH] [--http2] [-c CONNS] \
                            [-n REQUESTS] [--backend NAME]"
                        .to_owned(),
                )
            }
            url if !url.starts_with('-') && args.url.is_none() => args.url = Some(url.to_owned()),
            other => return Err(format!("unexpected argument {other:?} (try --help)")),
        }
    }
    Ok(args)
}

/// The address and path of an `http://` URL.
async fn target(url: &str) -> io::Result<(SocketAddr, String)> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: {why}"));
    let uri: hyper::Uri = url.parse().map_err(|e| bad(&format!("{e}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(bad("only http:// URLs (this example speaks no TLS)"));
    }
    let host = uri.host().ok_or_else(|| bad("no host"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    let addr = c10k::net::lookup_host((host, port))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| bad("the host has no address"))?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    Ok((addr, path))
}

fn main() -> io::Result<()> {
    let args = match parse_args() {
        Ok(a) => a,
        Err(why) => {
            eprintln!("hyper_client: {why}");
            std::process::exit(2);
        }
    };
    let rt = c10k::Runtime::builder()
        .current_thread()
        .backend(args.backend)
        .build()?;
    rt.block_on(async {
        let (addr, path) = match &args.url {
            Some(url) => target(url).await?,
            None => {
                // The demo: our own server, in this process.
                let listener = c10k::net::TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                drop(c10k::spawn(hyper_server::serve(listener, args.http2)));
                eprintln!("hyper_client: serving on {addr} in this process");
                (addr, "/plaintext".to_owned())
            }
        };
        if args.requests == 1 {
            let mut conn = connect(addr, args.http2).await?;
            let (status, body) = get(&mut conn, &addr.to_string(), &path).await?;
            println!("{status}");
            println!("{}", String::from_utf8_lossy(&body));
            return Ok(());
        }
        let started = Instant::now();
        let conns = args.conns.min(args.requests);
        let ok = load(addr, &path, args.http2, conns, args.requests).await?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{} requests over {conns} connections in {secs:.3} s ({:.0} req/s), {ok} answered 200",
            args.requests,
            args.requests as f64 / secs
        );
        if ok == args.requests {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "{} of {} requests did not answer 200",
                args.requests - ok,
                args.requests
            )))
        }
    })
}
