//! The reference for `bench/hyper/run.sh`: the `hyper_server` example of the `c10k` crate,
//! line for line, on tokio (hyper-util's `TokioIo`, `TokioTimer` and `TokioExecutor` in
//! place of `c10k::hyper`'s `Io`, `Timer` and `Executor`), written as hyper's docs teach.
//!
//! ```text
//! cargo run --release -p c10k-tokio-ref --example hyper_plaintext -- \
//!     [--listen ADDR] [--http2] [--threads N]
//! ```
//!
//! The first line on stdout is the bound address; Ctrl-C (or SIGTERM) stops it.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match req.uri().path() {
        "/plaintext" => (StatusCode::OK, "Hello, World!"),
        "/" => (StatusCode::OK, "hyper on tokio\n"),
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

async fn connection(stream: tokio::net::TcpStream, http2: bool) {
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(stream);
    let service = hyper::service::service_fn(hello);
    let _ = if http2 {
        hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .serve_connection(io, service)
            .await
    } else {
        hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .serve_connection(io, service)
            .await
    };
}

fn main() -> io::Result<()> {
    let mut listen: SocketAddr = "127.0.0.1:3001".parse().expect("a valid address");
    let mut http2 = false;
    let mut threads = 1usize;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{arg}: {why}"));
        match arg.as_str() {
            "--http2" => http2 = true,
            "--listen" => {
                let v = it.next().ok_or_else(|| bad("needs IP:PORT"))?;
                listen = v.parse().map_err(|_| bad("not IP:PORT"))?;
            }
            "--threads" => {
                let v = it.next().ok_or_else(|| bad("needs a number"))?;
                threads = v.parse().map_err(|_| bad("not a number"))?;
            }
            _ => return Err(bad("usage: [--listen ADDR] [--http2] [--threads N]")),
        }
    }
    let rt = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    rt.block_on(async {
        let listener = TcpListener::bind(listen).await?;
        println!("{}", listener.local_addr()?);
        let serve = async {
            loop {
                let (stream, _) = listener.accept().await?;
                tokio::spawn(connection(stream, http2));
            }
        };
        tokio::select! {
            r = serve => r,
            r = tokio::signal::ctrl_c() => r,
        }
    })
}
