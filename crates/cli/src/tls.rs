//! TLS for `c10k http` (server) and the certificates of `c10k fetch --ca`: rustls
//! configurations read from PEM files, for `futures-rustls` streams over c10k's
//! `TcpStream`s (which implement `futures-io`'s traits, all `futures-rustls` needs).
//!
//! The cryptography is rustls' `ring` provider (the only one compiled in, so rustls picks
//! it without being told). The client's side (system roots, `--ca`, `--insecure`) is
//! `c10k::http_client::Trust`.

use std::path::Path;

use futures_rustls::rustls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The certificates of a PEM file.
///
/// # Errors
///
/// The file cannot be read, holds no certificate, or a malformed one.
pub(crate) fn load_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    c10k::http_client::pem_certificates(path)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), crate::errors::short(&e)))
}

fn pem_error(e: &rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => crate::errors::short(io),
        other => format!("bad PEM: {other:?}"),
    }
}

/// The server's configuration: its certificate chain and private key (PEM files), HTTP/1.1
/// announced by ALPN.
///
/// # Errors
///
/// Unreadable or malformed files, or a key that does not match the certificate.
pub(crate) fn server_config(cert: &Path, key: &Path) -> anyhow::Result<rustls::ServerConfig> {
    let certs = load_certs(cert).map_err(|e| anyhow::anyhow!("--tls-cert {e}"))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow::anyhow!("--tls-key {}: {}", key.display(), pem_error(&e)))?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| anyhow::anyhow!("--tls-cert/--tls-key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
