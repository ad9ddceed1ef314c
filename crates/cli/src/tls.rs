//! TLS for `c10k fetch` (client) and `c10k http` (server): rustls configurations, read from
//! PEM files, for `futures-rustls` streams over c10k's `TcpStream`s (which implement
//! `futures-io`'s traits, all `futures-rustls` needs).
//!
//! The cryptography is rustls' `ring` provider (the only one compiled in, so rustls picks
//! it without being told). Where the client's trust comes from:
//!
//! - by default, the system's root certificates (`rustls-native-certs`: the files named by
//!   `SSL_CERT_FILE`/`SSL_CERT_DIR`, else the distribution's bundle, e.g.
//!   `/etc/ssl/certs/ca-certificates.crt`), loaded once, on the first `https://` URL;
//! - `--ca FILE`: only the certificates of a PEM file (a private CA, a test's self-signed
//!   certificate);
//! - `--insecure`: no verification of the server's certificate chain or name at all (the
//!   handshake's signatures are still checked, so the connection is encrypted to *someone*).

use std::path::Path;
use std::sync::Arc;

use futures_rustls::rustls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

/// Where the client's trust comes from (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Trust {
    /// The system's root certificates.
    System,
    /// The certificates of this PEM file.
    CaFile(std::path::PathBuf),
    /// No verification (`--insecure`).
    Insecure,
}

/// The certificates of a PEM file.
///
/// # Errors
///
/// The file cannot be read, holds no certificate, or a malformed one.
pub(crate) fn load_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), pem_error(&e)))?;
    if certs.is_empty() {
        anyhow::bail!("{}: no certificate (expected PEM)", path.display());
    }
    Ok(certs)
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

/// The client's configuration for `trust`, HTTP/1.1 asked for by ALPN.
///
/// # Errors
///
/// An unreadable or malformed `--ca` file, or no usable system root certificate.
pub(crate) fn client_config(trust: &Trust) -> anyhow::Result<rustls::ClientConfig> {
    let builder = rustls::ClientConfig::builder();
    let provider = Arc::clone(builder.crypto_provider());
    let mut config = match trust {
        Trust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
            .with_no_client_auth(),
        Trust::CaFile(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in load_certs(path).map_err(|e| anyhow::anyhow!("--ca {e}"))? {
                roots
                    .add(cert)
                    .map_err(|e| anyhow::anyhow!("--ca {}: {e}", path.display()))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Trust::System => {
            let found = rustls_native_certs::load_native_certs();
            let mut roots = rustls::RootCertStore::empty();
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map_or_else(|| "none found".to_owned(), ToString::to_string);
                anyhow::bail!(
                    "no system root certificates ({why}); name a CA with --ca FILE, or \
                     skip verification with --insecure"
                );
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// `--insecure`: accepts any certificate for any name, but still checks the handshake's
/// signatures with the provider's algorithms.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
