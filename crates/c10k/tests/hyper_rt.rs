//! hyper 1.x on c10k (feature `hyper`): the `hyper_server` and `hyper_client` examples talk
//! HTTP/1.1 and HTTP/2 to each other on every IO backend available here (select, poll,
//! epoll, io_uring) and both schedulers; hyper's timeouts run on c10k's [`Timer`]; and the
//! same adapters carry hyper over TLS (`futures-rustls` on a c10k `TcpStream`).

#[path = "../examples/hyper_client.rs"]
#[allow(dead_code)] // the example's `main` and argument parsing are not used here
mod hyper_client;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use c10k::hyper::{Executor, Io, Timer};
use c10k::net::{TcpListener, TcpStream};
use c10k::runtime::driver::Backend;
use c10k::Runtime;
use hyper::StatusCode;
use hyper_client::hyper_server;

/// Every backend this machine has (io_uring may be refused by the kernel: said on stderr),
/// crossed with both schedulers.
fn runtimes() -> io::Result<Vec<(String, Runtime)>> {
    let mut v = Vec::new();
    for b in Backend::ALL {
        if !b.is_available() {
            eprintln!("note: skipping the {b} backend: unavailable here");
            continue;
        }
        v.push((
            format!("current_thread/{b}"),
            Runtime::builder().current_thread().backend(b).build()?,
        ));
        v.push((
            format!("multi_thread/{b}"),
            Runtime::builder()
                .multi_thread()
                .worker_threads(2)
                .backend(b)
                .build()?,
        ));
    }
    Ok(v)
}

#[test]
fn http1_and_http2_on_every_backend() -> io::Result<()> {
    for (name, rt) in runtimes()? {
        for http2 in [false, true] {
            let what = format!("{name}, http2 {http2}");
            rt.block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                let server = c10k::spawn(hyper_server::serve(listener, http2));
                // 4 connections, 25 requests each, at once.
                let ok = hyper_client::load(addr, "/plaintext", http2, 4, 100).await?;
                assert_eq!(ok, 100, "{what}");
                let mut conn = hyper_client::connect(addr, http2).await?;
                let authority = addr.to_string();
                let (status, body) = hyper_client::get(&mut conn, &authority, "/plaintext").await?;
                assert_eq!((status, &body[..]), (StatusCode::OK, &b"Hello, World!"[..]));
                let (status, _) = hyper_client::get(&mut conn, &authority, "/nothing").await?;
                assert_eq!(status, StatusCode::NOT_FOUND, "{what}");
                server.abort();
                io::Result::Ok(())
            })?;
        }
    }
    Ok(())
}

/// hyper's HTTP/1 header read timeout is armed on c10k's [`Timer`]: a client that sends half
/// a request head and stalls is disconnected.
#[test]
fn header_read_timeout_runs_on_the_timer() -> io::Result<()> {
    for (name, rt) in runtimes()? {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let server = c10k::spawn(async move {
                let (stream, _) = listener.accept().await.expect("accept");
                hyper::server::conn::http1::Builder::new()
                    .timer(Timer)
                    .header_read_timeout(Duration::from_millis(100))
                    .serve_connection(
                        Io::new(stream),
                        hyper::service::service_fn(hyper_server::hello),
                    )
                    .await
            });
            let client = TcpStream::connect(addr).await?;
            client
                .write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n")
                .await?;
            // Bounded: the server must close long before this.
            let mut got = Vec::new();
            let read_all = async {
                let mut buf = [0u8; 1024];
                loop {
                    match client.read(&mut buf).await? {
                        0 => return io::Result::Ok(()),
                        n => got.extend_from_slice(&buf[..n]),
                    }
                }
            };
            c10k::time::timeout(Duration::from_secs(20), read_all)
                .await
                .map_err(|_| io::Error::other(format!("{name}: the stalled client was kept")))??;
            // hyper closes without an answer (or a 408 in other versions).
            let text = String::from_utf8_lossy(&got);
            assert!(
                text.is_empty() || text.starts_with("HTTP/1.1 408"),
                "{name}: {text:?}"
            );
            // hyper reports the timeout as the connection's error.
            let error = server.await.map_err(io::Error::other)?;
            assert!(
                error.is_err_and(|e| e.is_timeout()),
                "{name}: the connection ended without hyper's timeout error"
            );
            io::Result::Ok(())
        })?;
    }
    Ok(())
}

/// A self-signed certificate for `localhost` and the configs of both ends.
fn tls_configs() -> (
    Arc<futures_rustls::rustls::ServerConfig>,
    Arc<futures_rustls::rustls::ClientConfig>,
) {
    use futures_rustls::rustls;
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("rcgen");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
    let mut server = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .expect("server config");
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).expect("root");
    let client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

/// hyper over `futures-rustls` over a c10k `TcpStream`: HTTP/1.1 and HTTP/2 (chosen by
/// ALPN, as browsers do), on every backend.
#[test]
fn hyper_over_tls() -> io::Result<()> {
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;
    let (server_config, client_config) = tls_configs();
    for (name, rt) in runtimes()? {
        for http2 in [false, true] {
            let what = format!("{name}, http2 {http2}");
            let (server_config, mut client_config) =
                (server_config.clone(), (*client_config).clone());
            client_config.alpn_protocols = vec![if http2 {
                b"h2".to_vec()
            } else {
                b"http/1.1".to_vec()
            }];
            rt.block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                let server = c10k::spawn(async move {
                    let (stream, _) = listener.accept().await?;
                    let tls = futures_rustls::TlsAcceptor::from(server_config)
                        .accept(stream)
                        .await?;
                    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                    let service = hyper::service::service_fn(hyper_server::hello);
                    let io = Io::new(tls);
                    if h2 {
                        hyper::server::conn::http2::Builder::new(Executor)
                            .timer(Timer)
                            .serve_connection(io, service)
                            .await
                    } else {
                        hyper::server::conn::http1::Builder::new()
                            .timer(Timer)
                            .serve_connection(io, service)
                            .await
                    }
                    .map_err(io::Error::other)?;
                    io::Result::Ok(h2)
                });
                let stream = TcpStream::connect(addr).await?;
                let name = futures_rustls::rustls::pki_types::ServerName::try_from("localhost")
                    .map_err(io::Error::other)?;
                let tls = futures_rustls::TlsConnector::from(Arc::new(client_config))
                    .connect(name, stream)
                    .await?;
                let req = hyper::Request::get("https://localhost/plaintext")
                    .header(hyper::header::HOST, "localhost")
                    .body(Empty::<Bytes>::new())
                    .map_err(io::Error::other)?;
                let resp = if http2 {
                    let (mut sender, conn) = hyper::client::conn::http2::Builder::new(Executor)
                        .handshake(Io::new(tls))
                        .await
                        .map_err(io::Error::other)?;
                    Executor.execute_detached(conn);
                    sender.send_request(req).await
                } else {
                    let (mut sender, conn) = hyper::client::conn::http1::handshake(Io::new(tls))
                        .await
                        .map_err(io::Error::other)?;
                    Executor.execute_detached(conn);
                    sender.send_request(req).await
                }
                .map_err(io::Error::other)?;
                assert_eq!(resp.status(), StatusCode::OK, "{what}");
                let body = resp.into_body().collect().await.map_err(io::Error::other)?;
                assert_eq!(body.to_bytes(), "Hello, World!", "{what}");
                // The client's connection task ends with the sender (dropped above), and
                // the server's with it.
                let h2 = c10k::time::timeout(Duration::from_secs(20), server)
                    .await
                    .map_err(|_| io::Error::other(format!("{what}: the server did not finish")))?
                    .map_err(io::Error::other)??;
                assert_eq!(h2, http2, "{what}: ALPN");
                io::Result::Ok(())
            })?;
        }
    }
    Ok(())
}

/// A body much larger than what `Io` offers a read at first (it doubles what it offers while
/// reads fill it): every byte arrives, in order, both ways (a large request body too).
#[test]
fn large_bodies_cross_intact() -> io::Result<()> {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    let big: Bytes = (0..3_000_000u32)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<_>>()
        .into();
    for (name, rt) in runtimes()? {
        let big = big.clone();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let server = c10k::spawn(async move {
                let (stream, _) = listener.accept().await.expect("accept");
                // Echoes the request body.
                let echo = hyper::service::service_fn(
                    |req: hyper::Request<hyper::body::Incoming>| async move {
                        let body = req.into_body().collect().await?.to_bytes();
                        Ok::<_, hyper::Error>(hyper::Response::new(Full::new(body)))
                    },
                );
                hyper::server::conn::http1::Builder::new()
                    .timer(Timer)
                    .serve_connection(Io::new(stream), echo)
                    .await
            });
            let stream = TcpStream::connect(addr).await?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(Io::new(stream))
                .await
                .map_err(io::Error::other)?;
            Executor.execute_detached(conn);
            let req = hyper::Request::post("/echo")
                .header(hyper::header::HOST, "localhost")
                .body(Full::new(big.clone()))
                .map_err(io::Error::other)?;
            let resp = sender.send_request(req).await.map_err(io::Error::other)?;
            let got = resp
                .into_body()
                .collect()
                .await
                .map_err(io::Error::other)?
                .to_bytes();
            assert!(
                got == big,
                "{name}: {} bytes back of {}",
                got.len(),
                big.len()
            );
            drop(sender);
            server
                .await
                .map_err(io::Error::other)?
                .map_err(io::Error::other)?;
            io::Result::Ok(())
        })?;
    }
    Ok(())
}
