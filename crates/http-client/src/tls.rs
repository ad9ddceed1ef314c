//! Which servers `https://` trusts, and the rustls configuration built from it.
//!
//! TLS is `futures-rustls` over c10k's `TcpStream` (which implements `futures-io`'s traits,
//! all `futures-rustls` needs), with rustls' `ring` provider (the only one compiled in, so
//! rustls picks it without being told). HTTP/1.1 is asked for by ALPN.

use std::io;
use std::path::Path;
use std::sync::Arc;

use futures_rustls::rustls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// Which servers `https://` trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trust {
    /// The system's root certificates (`rustls-native-certs`: the files named by
    /// `SSL_CERT_FILE`/`SSL_CERT_DIR`, else the distribution's bundle, e.g.
    /// `/etc/ssl/certs/ca-certificates.crt`), loaded once, on the first `https://` URL.
    System,
    /// Only these certificates (a private CA, a test's self-signed certificate); see
    /// [`pem_certificates`] to read them from a PEM file.
    Certificates(Vec<CertificateDer<'static>>),
    /// No verification of the server's certificate chain or name at all (tests only). The
    /// handshake's signatures are still checked, so the connection is encrypted to
    /// *someone*.
    Insecure,
}

/// The certificates of a PEM file.
///
/// # Errors
///
/// The file cannot be read (its IO error), or holds no certificate or a malformed one
/// (`InvalidData`).
pub fn pem_certificates(path: &Path) -> io::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| match e {
            rustls::pki_types::pem::Error::Io(io) => io,
            other => io::Error::new(io::ErrorKind::InvalidData, format!("bad PEM: {other:?}")),
        })?;
    if certs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "no certificate (expected PEM)",
        ));
    }
    Ok(certs)
}

/// The client's configuration for `trust`.
///
/// # Errors
///
/// A certificate rustls refuses, or no usable system root certificate.
pub(crate) fn client_config(trust: &Trust) -> Result<rustls::ClientConfig, String> {
    let builder = rustls::ClientConfig::builder();
    let provider = Arc::clone(builder.crypto_provider());
    let mut config = match trust {
        Trust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
            .with_no_client_auth(),
        Trust::Certificates(certs) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in certs {
                roots
                    .add(cert.clone())
                    .map_err(|e| format!("a trusted certificate: {e}"))?;
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
                return Err(format!("no system root certificates ({why})"));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// [`Trust::Insecure`]: accepts any certificate for any name, but still checks the handshake's
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
