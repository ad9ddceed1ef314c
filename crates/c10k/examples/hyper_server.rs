//! A hyper 1.x server on c10k (feature `hyper`): `GET /plaintext` answers `Hello, World!`
//! (the TechEmpower plaintext test), `GET /` a line of text, anything else 404. HTTP/1.1 with
//! keep-alive by default, HTTP/2 over cleartext (prior knowledge, h2c) with `--http2`.
//!
//! ```text
//! cargo run --release -p c10k --features hyper --example hyper_server -- \
//!     [--listen ADDR] [--http2] [--threads N] [--backend select|poll|epoll|uring]
//! ```
//!
//! The first line on stdout is the bound address (`--listen 127.0.0.1:0` picks a port);
//! Ctrl-C stops it. `bench/hyper/run.sh` runs it against the same server on tokio
//! (`c10k-tokio-ref`'s `hyper_plaintext` example).
//!
//! What hyper needs of the runtime is three adapters from `c10k::hyper`: [`Io`] around each
//! accepted `TcpStream`, [`Timer`] for hyper's timeouts (the HTTP/1 header read timeout), and
//! [`Executor`] for HTTP/2's background tasks.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;

use c10k::hyper::{Executor, Io, Timer};
use c10k::net::TcpListener;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};

/// The answer to one request.
pub(crate) async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match req.uri().path() {
        "/plaintext" => (StatusCode::OK, "Hello, World!"),
        "/" => (StatusCode::OK, "hyper on c10k\n"),
        _ => (StatusCode::NOT_FOUND, "not found\n"),
    };
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    Ok(resp)
}

/// Serves one connection with [`hello`] until the client closes it.
pub(crate) async fn connection(stream: c10k::net::TcpStream, http2: bool) {
    let _ = stream.set_nodelay(true);
    let io = Io::new(stream);
    let service = hyper::service::service_fn(hello);
    // A connection error (a reset, a malformed request) ends that connection only.
    let _ = if http2 {
        hyper::server::conn::http2::Builder::new(Executor)
            .timer(Timer)
            .serve_connection(io, service)
            .await
    } else {
        hyper::server::conn::http1::Builder::new()
            .timer(Timer)
            .serve_connection(io, service)
            .await
    };
}

/// Accepts connections forever, one task each.
///
/// # Errors
///
/// Accepting failed for another reason than running out of descriptors (which `accept`
/// waits out).
pub(crate) async fn serve(listener: TcpListener, http2: bool) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        drop(c10k::spawn(connection(stream, http2)));
    }
}

#[allow(dead_code)] // used by `main`; the tests and the client include this file without it
struct Args {
    listen: SocketAddr,
    http2: bool,
    threads: usize,
    backend: c10k::runtime::driver::Backend,
}

#[allow(dead_code)]
fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: "127.0.0.1:3000".parse().expect("a valid address"),
        http2: false,
        threads: 1,
        backend: c10k::runtime::driver::Backend::best(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--listen" => {
                let v = value("--listen")?;
                args.listen = v.parse().map_err(|e| format!("--listen {v}: {e}"))?;
            }
            "--http2" => args.http2 = true,
            "--threads" => {
                let v = value("--threads")?;
                args.threads = match v.parse() {
                    Ok(n) if n > 0 => n,
                    _ => return Err(format!("--threads {v}: expected a positive integer")),
                };
            }
            "--backend" => {
                let v = value("--backend")?;
                args.backend = v.parse().map_err(|e| format!("--backend {v}: {e}"))?;
            }
            "-h" | "--help" => {
                return Err(
                    "usage: hyper_server [--listen ADDR] [--http2] [--threads N] [--backend NAME]"
                        .to_owned(),
                )
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(args)
}

#[allow(dead_code)]
fn main() -> io::Result<()> {
    let args = match parse_args() {
        Ok(a) => a,
        Err(why) => {
            eprintln!("hyper_server: {why}");
            std::process::exit(2);
        }
    };
    let builder = c10k::Runtime::builder().backend(args.backend);
    let builder = if args.threads == 1 {
        builder.current_thread()
    } else {
        builder.multi_thread().worker_threads(args.threads)
    };
    let rt = builder.thread_name("hyper-server").build()?;
    rt.block_on(async {
        let listener = TcpListener::bind(args.listen).await?;
        println!("{}", listener.local_addr()?);
        let serve = std::pin::pin!(serve(listener, args.http2));
        let ctrl_c = std::pin::pin!(c10k::signal::ctrl_c());
        match c10k::runtime::race::select(serve, ctrl_c).await {
            c10k::runtime::race::Either::Left((result, _)) => result,
            c10k::runtime::race::Either::Right((result, _)) => result,
        }
    })
}
