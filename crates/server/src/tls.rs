//! TLS: self-signed certificates, fingerprints, the server's rustls configuration, and a
//! client verifier that trusts exactly one pinned certificate (nothing turns checks off).

use crate::error::{Result, ServerError};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use switchboard_pinning::{parse_fingerprint, PinnedVerifier};

// Fingerprints, the crypto provider and the pinned verifier are shared with the sync client.
pub use switchboard_pinning::{fingerprint, provider};

/// A new self-signed certificate and key (PEM) for `names` (DNS names or IP addresses).
pub fn self_signed(names: &[String]) -> Result<(String, String)> {
    let certified = rcgen::generate_simple_self_signed(names.to_vec())
        .map_err(|e| ServerError::Internal(format!("generating a certificate: {e}")))?;
    Ok((certified.cert.pem(), certified.signing_key.serialize_pem()))
}

/// The certificates in a PEM text.
pub fn certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| ServerError::Invalid(format!("reading certificate PEM: {e}")))?;
    if certs.is_empty() {
        return Err(ServerError::Invalid(
            "no certificate in the PEM file".into(),
        ));
    }
    Ok(certs)
}

/// The fingerprint of the first certificate of a PEM text.
pub fn fingerprint_pem(pem: &str) -> Result<String> {
    Ok(fingerprint(certificates(pem)?[0].as_ref()))
}

/// The server's TLS configuration (HTTP/2 and HTTP/1.1 by ALPN).
pub fn server_config(cert_pem: &str, key_pem: &str) -> Result<Arc<rustls::ServerConfig>> {
    let certs = certificates(cert_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| ServerError::Invalid(format!("reading key PEM: {e}")))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Internal(format!("TLS versions: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ServerError::Invalid(format!("certificate and key do not fit: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A client configuration that trusts only the pinned certificate.
pub fn pinned_client_config(fingerprint: &str) -> Result<rustls::ClientConfig> {
    let pin = parse_fingerprint(fingerprint)
        .ok_or_else(|| ServerError::Invalid("a fingerprint is 32 bytes of hex".into()))?;
    let mut config = PinnedVerifier::new(pin)
        .client_config()
        .map_err(|e| ServerError::Internal(format!("TLS versions: {e}")))?;
    config.alpn_protocols = client_alpn();
    Ok(config)
}

/// A client configuration that trusts the CA (or self-signed) certificates in a PEM text.
pub fn ca_client_config(ca_pem: &str) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in certificates(ca_pem)? {
        roots
            .add(cert)
            .map_err(|e| ServerError::Invalid(format!("CA certificate: {e}")))?;
    }
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Internal(format!("TLS versions: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = client_alpn();
    Ok(config)
}

/// HTTP/2 first (one connection multiplexes a replica's requests), then HTTP/1.1.
fn client_alpn() -> Vec<Vec<u8>> {
    vec![b"h2".to_vec(), b"http/1.1".to_vec()]
}
