//! The client against a scripted server on loopback: keep-alive, chunked bodies streamed in
//! pieces, redirects and their limit, retries (a stale pooled connection, a refused one),
//! the timeout, a response dropped before its end, bodies that run to the close, bad URLs,
//! and TLS with a certificate the test generates. The keep-alive test runs on every IO
//! backend and both schedulers.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use c10k_http_client::{Client, ErrorKind, IntoUrl, Response, Trust};
use c10k_runtime::driver::Backend;
use c10k_runtime::net::{TcpListener, TcpStream};
use c10k_runtime::Runtime;

/// What the scripted server does with one request.
struct Reply {
    /// Written one after the other, with a yield between them (so that they tend to arrive
    /// in separate reads).
    pieces: Vec<Vec<u8>>,
    /// Close the connection after the reply.
    close: bool,
    /// Answer nothing (for the timeout); the connection is held for at most 30 s.
    stall: bool,
}

impl Reply {
    fn pieces(pieces: &[&[u8]]) -> Reply {
        Reply {
            pieces: pieces.iter().map(|p| p.to_vec()).collect(),
            close: false,
            stall: false,
        }
    }

    fn ok(body: &str) -> Reply {
        Reply::pieces(&[format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Test: yes\r\n\r\n{body}",
            body.len()
        )
        .as_bytes()])
    }

    fn closing(mut self) -> Reply {
        self.close = true;
        self
    }
}

/// A scripted HTTP/1.1 server: `respond` maps each request's target to a reply. Returns its
/// address and the count of connections it accepted.
async fn serve(
    respond: impl Fn(&str) -> Reply + Send + Sync + 'static,
) -> io::Result<(SocketAddr, Arc<AtomicUsize>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let respond = Arc::new(respond);
    // Detached: the server ends with the test's runtime.
    drop(c10k_runtime::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            drop(c10k_runtime::spawn(connection(stream, respond.clone())));
        }
    }));
    Ok((addr, accepted))
}

async fn connection(stream: TcpStream, respond: Arc<impl Fn(&str) -> Reply>) -> io::Result<()> {
    let mut buf = Vec::new();
    let mut piece = [0u8; 4096];
    loop {
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = stream.read(&mut piece).await?;
            if n == 0 || buf.len() > 64 * 1024 {
                return Ok(());
            }
            buf.extend_from_slice(&piece[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end);
        let target = head.split(' ').nth(1).unwrap_or("/").to_owned();
        let reply = respond(&target);
        if reply.stall {
            c10k_runtime::time::sleep(Duration::from_secs(30)).await;
            return Ok(());
        }
        for p in &reply.pieces {
            stream.write_all(p).await?;
            c10k_runtime::task::yield_now().await;
        }
        if reply.close {
            return Ok(());
        }
    }
}

/// `client.get(url)`, its error as an `io::Error`.
async fn get(client: &Client, url: impl IntoUrl) -> io::Result<Response> {
    client.get(url).await.map_err(io::Error::other)
}

fn rt() -> io::Result<Runtime> {
    Runtime::builder().current_thread().build()
}

/// Two GETs to one host share one connection, on every backend and both schedulers; a
/// chunked body comes out whole however it was cut.
#[test]
fn keep_alive_and_chunked_bodies_on_every_backend() -> io::Result<()> {
    for backend in Backend::ALL {
        if !backend.is_available() {
            eprintln!("note: skipping the {backend} backend: unavailable here");
            continue;
        }
        for multi in [false, true] {
            let builder = if multi {
                Runtime::builder().multi_thread().worker_threads(2)
            } else {
                Runtime::builder().current_thread()
            };
            let rt = builder.backend(backend).build()?;
            let what = format!("{backend}, multi_thread {multi}");
            rt.block_on(async {
                let (addr, accepted) = serve(|target| match target {
                    "/chunked" => Reply::pieces(&[
                        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
                        b"lo\r\n",
                        b"7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n",
                        b"\r\n",
                    ]),
                    _ => Reply::ok("plain"),
                })
                .await?;
                let client = Client::new();
                let r = get(&client, format!("http://{addr}/plain")).await?;
                assert_eq!(r.status(), 200, "{what}");
                assert_eq!(r.headers().get_str("x-TEST"), Some("yes"), "{what}");
                assert_eq!(r.content_length(), Some(5), "{what}");
                assert_eq!(r.text().await.map_err(io::Error::other)?, "plain");
                let mut r = get(&client, format!("http://{addr}/chunked")).await?;
                assert_eq!(r.content_length(), None, "{what}");
                let mut body = Vec::new();
                let mut pieces = 0;
                while let Some(p) = r.chunk().await.map_err(io::Error::other)? {
                    assert!(!p.is_empty());
                    body.extend_from_slice(p);
                    pieces += 1;
                }
                assert_eq!(body, b"hello, world", "{what}");
                assert!(pieces >= 2, "{what}: {pieces} pieces");
                assert_eq!(r.received(), 12);
                assert_eq!(r.attempts().requests, 1);
                // The chunked response was read to its end, so its connection is reused.
                let r = get(&client, format!("http://{addr}/again")).await?;
                assert_eq!(r.bytes().await.map_err(io::Error::other)?, b"plain");
                assert_eq!(accepted.load(Ordering::SeqCst), 1, "{what}");
                io::Result::Ok(())
            })?;
        }
    }
    Ok(())
}

#[test]
fn redirects_are_followed_and_limited() -> io::Result<()> {
    rt()?.block_on(async {
        let (addr, _) = serve(|target| match target {
            "/a/start" => Reply::pieces(&[
                b"HTTP/1.1 302 Found\r\nLocation: ../b/end?x=1\r\nContent-Length: 4\r\n\r\nmove",
            ]),
            "/b/end?x=1" => Reply::ok("arrived"),
            _ => Reply::pieces(&[
                b"HTTP/1.1 301 Moved\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n",
            ]),
        })
        .await?;
        let client = Client::new();
        let r = get(&client, format!("http://{addr}/a/start")).await?;
        assert_eq!(r.status(), 200);
        assert_eq!(r.url().to_string(), format!("http://{addr}/b/end?x=1"));
        assert_eq!((r.attempts().redirects, r.attempts().requests), (1, 2));
        assert_eq!(r.text().await.map_err(io::Error::other)?, "arrived");

        let limited = Client::builder().max_redirects(3).build();
        let e = limited
            .get(format!("http://{addr}/loop"))
            .await
            .expect_err("an endless redirect");
        assert!(matches!(e.kind(), ErrorKind::Redirect(_)), "{e:?}");
        assert_eq!(e.attempts().redirects, 3);
        assert!(e.to_string().contains("more than 3 redirects"), "{e}");
        io::Result::Ok(())
    })
}

/// A pooled connection the server closed after its response is replaced by a fresh one,
/// and counted as a retry.
#[test]
fn a_stale_pooled_connection_is_replaced() -> io::Result<()> {
    rt()?.block_on(async {
        let (addr, accepted) = serve(|_| Reply::ok("x").closing()).await?;
        let client = Client::new();
        for i in 0..3 {
            let r = get(&client, format!("http://{addr}/{i}")).await?;
            let retries = r.attempts().retries;
            assert_eq!(r.text().await.map_err(io::Error::other)?, "x");
            assert_eq!(retries, if i == 0 { 0 } else { 1 }, "request {i}");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
        io::Result::Ok(())
    })
}

#[test]
fn a_refused_connection_is_retried_then_reported() -> io::Result<()> {
    rt()?.block_on(async {
        // A port nobody listens on: bind, learn it, close.
        let addr = TcpListener::bind("127.0.0.1:0").await?.local_addr()?;
        let client = Client::builder().retries(1).build();
        let e = client
            .get(format!("http://{addr}/"))
            .await
            .expect_err("nothing listens");
        assert!(matches!(e.kind(), ErrorKind::Io(_)), "{e:?}");
        assert_eq!((e.attempts().requests, e.attempts().retries), (2, 1));
        io::Result::Ok(())
    })
}

#[test]
fn a_silent_server_times_out() -> io::Result<()> {
    rt()?.block_on(async {
        let (addr, _) = serve(|_| Reply {
            pieces: Vec::new(),
            close: false,
            stall: true,
        })
        .await?;
        let client = Client::builder()
            .timeout(Duration::from_millis(200))
            .build();
        let e = client
            .get(format!("http://{addr}/"))
            .await
            .expect_err("no answer");
        assert!(e.is_timeout(), "{e:?}");
        assert_eq!(e.attempts().retries, 0, "a timeout is not retried");
        io::Result::Ok(())
    })
}

/// A response dropped before its end takes its connection with it; one read to its end
/// (a 204 has none) gives it back.
#[test]
fn unread_bodies_close_their_connection() -> io::Result<()> {
    rt()?.block_on(async {
        let (addr, accepted) = serve(|target| match target {
            "/none" => Reply::pieces(&[b"HTTP/1.1 204 No Content\r\n\r\n"]),
            _ => Reply::ok("a body that nobody reads"),
        })
        .await?;
        let client = Client::new();
        let r = get(&client, format!("http://{addr}/none")).await?;
        assert_eq!(r.status(), 204);
        drop(r);
        let r = get(&client, format!("http://{addr}/body")).await?;
        drop(r);
        let r = get(&client, format!("http://{addr}/body")).await?;
        assert_eq!(r.bytes().await.map_err(io::Error::other)?.len(), 24);
        // The 204's connection served the second request; the dropped one was closed.
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
        io::Result::Ok(())
    })
}

/// A body without a length runs to the close; a body cut short is an error.
#[test]
fn bodies_to_the_close_and_truncated_ones() -> io::Result<()> {
    rt()?.block_on(async {
        let (addr, _) = serve(|target| match target {
            "/close" => Reply::pieces(&[b"HTTP/1.1 200 OK\r\n\r\nuntil ", b"the close"]).closing(),
            _ => Reply::pieces(&[b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"]).closing(),
        })
        .await?;
        let client = Client::new();
        let r = get(&client, format!("http://{addr}/close")).await?;
        assert_eq!(r.text().await.map_err(io::Error::other)?, "until the close");
        let r = get(&client, format!("http://{addr}/short")).await?;
        let e = r.bytes().await.expect_err("cut short");
        assert!(matches!(e.kind(), ErrorKind::Protocol(_)), "{e:?}");
        io::Result::Ok(())
    })
}

#[test]
fn bad_urls_are_refused_before_any_request() -> io::Result<()> {
    rt()?.block_on(async {
        let client = Client::new();
        for bad in ["ftp://h/", "h/x", "http://user@h/", "http://h/a b"] {
            let e = client.get(bad).await.expect_err(bad);
            assert!(matches!(e.kind(), ErrorKind::Url(_)), "{bad}: {e:?}");
            assert_eq!(e.attempts().requests, 0);
        }
        io::Result::Ok(())
    })
}

/// `https://` against a server with a certificate the test generates: trusted when it is
/// given, refused against the system's roots, accepted by `Trust::Insecure`.
#[test]
fn https_with_given_system_and_no_trust() -> io::Result<()> {
    use futures_rustls::rustls;
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .map_err(io::Error::other)?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .map_err(io::Error::other)?;
    let acceptor = futures_rustls::TlsAcceptor::from(Arc::new(config));
    rt()?.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        drop(c10k_runtime::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                drop(c10k_runtime::spawn(async move {
                    use futures_util::io::{AsyncReadExt, AsyncWriteExt};
                    let mut tls = acceptor.accept(stream).await?;
                    let mut buf = [0u8; 4096];
                    let _ = tls.read(&mut buf).await?;
                    // A body larger than a TLS record, so that it takes several reads.
                    let body = vec![b'z'; 40_000];
                    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                    tls.write_all(head.as_bytes()).await?;
                    tls.write_all(&body).await?;
                    tls.flush().await?;
                    io::Result::Ok(())
                }));
            }
        }));
        let url = format!("https://localhost:{port}/");
        let trusted = Client::builder()
            .trust(Trust::Certificates(vec![cert.der().clone()]))
            .build();
        let r = get(&trusted, &url).await?;
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.map_err(io::Error::other)?.len(), 40_000);
        let e = Client::new().get(&url).await.expect_err("self-signed");
        assert!(matches!(e.kind(), ErrorKind::Tls(_)), "{e:?}");
        assert_eq!(e.attempts().retries, 0, "a failed handshake is not retried");
        let insecure = Client::builder().trust(Trust::Insecure).build();
        let r = get(&insecure, &url).await?;
        assert_eq!(r.bytes().await.map_err(io::Error::other)?.len(), 40_000);
        io::Result::Ok(())
    })
}

/// The pool's bounds: with room for one idle connection in all, a second host's connection
/// takes the first host's place; a connection idle longer than `idle_timeout` is not reused.
#[test]
fn the_pool_is_bounded_in_all_and_in_time() -> io::Result<()> {
    rt()?.block_on(async {
        let (a, accepted_a) = serve(|_| Reply::ok("a")).await?;
        let (b, accepted_b) = serve(|_| Reply::ok("b")).await?;
        let one = Client::builder().max_idle_total(1).build();
        for url in [
            format!("http://{a}/1"),
            format!("http://{a}/2"),
            format!("http://{b}/1"),
            format!("http://{a}/3"),
        ] {
            let r = get(&one, &url).await?;
            r.bytes().await.map_err(io::Error::other)?;
        }
        // a's connection served /1 and /2, then made room for b's; /3 needed a new one.
        assert_eq!(accepted_a.load(Ordering::SeqCst), 2);
        assert_eq!(accepted_b.load(Ordering::SeqCst), 1);

        let (c, accepted_c) = serve(|_| Reply::ok("c")).await?;
        let expiring = Client::builder().idle_timeout(Duration::ZERO).build();
        for i in 0..3 {
            let r = get(&expiring, format!("http://{c}/{i}")).await?;
            r.bytes().await.map_err(io::Error::other)?;
        }
        assert_eq!(accepted_c.load(Ordering::SeqCst), 3);
        io::Result::Ok(())
    })
}
