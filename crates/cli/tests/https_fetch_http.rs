//! HTTPS end to end, on loopback only: `c10k http --tls-cert --tls-key` serves a certificate
//! the test generates (`rcgen`), and `c10k fetch https://…` fetches from it, trusting that
//! certificate with `--ca`, refusing it against the system's roots, and accepting anything
//! with `--insecure`. And the server's TLS limits: a handshake that stalls is cut off by
//! `--handshake-timeout`, plain HTTP on the TLS port gets a close, bad key files are usage
//! errors.

mod http_util;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use http_util::{run, Server, LIMIT};

/// A directory with `cert.pem` and `key.pem` (for `localhost` and 127.0.0.1) and a document
/// root `www/` holding `hello.txt`.
fn setup(name: &str) -> io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("c10k-https-{name}-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("www"))?;
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .map_err(io::Error::other)?;
    std::fs::write(dir.join("cert.pem"), cert.pem())?;
    std::fs::write(dir.join("key.pem"), signing_key.serialize_pem())?;
    std::fs::write(dir.join("www/hello.txt"), "hello over TLS")?;
    // A body larger than one TLS record (16 KiB) and than one read.
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("www/big.bin"), big)?;
    Ok(dir)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

fn tls_server(dir: &Path, extra: &[&str]) -> io::Result<Server> {
    let (root, cert, key) = (dir.join("www"), dir.join("cert.pem"), dir.join("key.pem"));
    let mut args = vec![
        "http",
        "--root",
        path(&root),
        "--tls-cert",
        path(&cert),
        "--tls-key",
        path(&key),
    ];
    args.extend_from_slice(extra);
    Server::start(&args)
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}"))
}

#[test]
fn fetch_https_from_the_tls_server() -> io::Result<()> {
    let dir = setup("fetch")?;
    let server = tls_server(&dir, &[])?;
    let port = server.addr.port();
    let out_dir = dir.join("out");
    let urls: Vec<String> = (0..20)
        .map(|i| match i % 3 {
            0 => format!("https://127.0.0.1:{port}/plaintext"),
            1 => format!("https://127.0.0.1:{port}/hello.txt"),
            _ => format!("https://127.0.0.1:{port}/big.bin?{i}"),
        })
        .collect();
    let mut args = vec!["fetch", "--json", "-c", "4", "--ca"];
    let ca = dir.join("cert.pem");
    args.push(path(&ca));
    args.extend(["-o", path(&out_dir)]);
    args.extend(urls.iter().map(String::as_str));
    let out = run(&args, LIMIT)?;
    assert!(out.status.success(), "{}", out.stderr);
    let report = json(&out.stdout);
    for r in report["results"].as_array().expect("results") {
        assert_eq!(r["status"].as_u64(), Some(200), "{r}");
        assert!(r["error"].is_null(), "{r}");
    }
    let expected: u64 = (0..20).map(|i| [13, 14, 200_000][i % 3]).sum();
    let got: u64 = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["bytes"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(got, expected, "{report}");
    // Keep-alive over TLS: 20 URLs on at most 4 connections, every byte saved.
    let saved: Vec<_> = std::fs::read_dir(&out_dir)?.collect::<Result<_, _>>()?;
    assert_eq!(saved.len(), 20);
    let big = std::fs::read(dir.join("www/big.bin"))?;
    for entry in saved {
        let body = std::fs::read(entry.path())?;
        assert!(
            body == b"Hello, World!" || body == b"hello over TLS" || body == big,
            "{}: {} bytes",
            entry.path().display(),
            body.len()
        );
    }
    // The certificate names localhost too.
    let url = format!("https://localhost:{port}/hello.txt");
    let out = run(&["fetch", "--ca", path(&ca), &url], LIMIT)?;
    assert!(out.status.success(), "{}", out.stderr);
    Ok(())
}

#[test]
fn verification_is_on_by_default_and_off_with_insecure() -> io::Result<()> {
    let dir = setup("verify")?;
    let server = tls_server(&dir, &[])?;
    let url = format!("https://127.0.0.1:{}/plaintext", server.addr.port());
    // Self-signed: not among the system's roots (or there are none): a failed URL, exit 1.
    let out = run(&["fetch", &url], LIMIT)?;
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("TLS:"), "{}", out.stderr);
    let out = run(&["fetch", "--insecure", "--json", &url], LIMIT)?;
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(json(&out.stdout)["results"][0]["bytes"].as_u64(), Some(13));
    // A CA file that is not PEM is a usage error.
    let not_pem = dir.join("www/hello.txt");
    let out = run(&["fetch", "--ca", path(&not_pem), &url], LIMIT)?;
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    Ok(())
}

/// Reads until the server closes; the time it took. Bounded by [`LIMIT`] (a read timeout).
fn time_to_close(server: &Server, send: &[u8]) -> io::Result<Duration> {
    let mut client = server.connect()?;
    client.set_read_timeout(Some(LIMIT))?;
    let started = Instant::now();
    client.write_all(send)?;
    let mut buf = [0u8; 4096];
    loop {
        match client.read(&mut buf) {
            Ok(0) => return Ok(started.elapsed()),
            Ok(_) => {}
            // A reset is a close too.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(started.elapsed()),
            Err(e) => return Err(e),
        }
    }
}

#[test]
fn stalled_handshakes_and_plain_http_are_cut_off() -> io::Result<()> {
    let dir = setup("stall")?;
    let mut server = tls_server(
        &dir,
        &["--handshake-timeout", "0.5", "--idle-timeout", "600"],
    )?;
    // Connects and says nothing: without the handshake timeout, the 600 s idle timeout
    // would be the only limit, and the read below would hit its own LIMIT first.
    time_to_close(&server, b"")?;
    // Half a ClientHello, then nothing.
    time_to_close(&server, &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])?;
    // Plain HTTP on the TLS port: not a handshake, closed.
    time_to_close(&server, b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")?;
    assert!(server.alive(), "the server died");
    // And it still serves.
    let url = format!("https://127.0.0.1:{}/plaintext", server.addr.port());
    let out = run(&["fetch", "--insecure", &url], LIMIT)?;
    assert!(out.status.success(), "{}", out.stderr);
    let (status, stderr) = server.interrupt()?;
    assert!(status.success(), "{stderr}");
    Ok(())
}

#[test]
fn bad_certificate_files_are_usage_errors() -> io::Result<()> {
    let dir = setup("badfiles")?;
    let (root, cert, key) = (dir.join("www"), dir.join("cert.pem"), dir.join("key.pem"));
    let missing = dir.join("missing.pem");
    for (c, k) in [
        (&missing, &key),
        (&cert, &missing),
        (&key, &key),
        (&cert, &cert),
    ] {
        let out = run(
            &[
                "http",
                "--listen",
                "127.0.0.1:0",
                "--root",
                path(&root),
                "--tls-cert",
                path(c),
                "--tls-key",
                path(k),
            ],
            LIMIT,
        )?;
        assert_eq!(out.status.code(), Some(2), "{c:?} {k:?}: {}", out.stderr);
        assert!(out.stderr.contains("--tls-"), "{}", out.stderr);
    }
    let out = run(&["http", "--tls-cert", path(&cert)], LIMIT)?;
    assert_eq!(out.status.code(), Some(2), "--tls-cert needs --tls-key");
    Ok(())
}
