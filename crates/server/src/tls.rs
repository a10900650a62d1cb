//! TLS: self-signed certificates, fingerprints, the server's rustls configuration, and a
//! client verifier that trusts exactly one pinned certificate (nothing turns checks off).

use crate::error::{Result, ServerError};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The crypto provider both sides use (ring), chosen explicitly so that no process-wide
/// default is needed.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A new self-signed certificate and key (PEM) for `names` (DNS names or IP addresses).
pub fn self_signed(names: &[String]) -> Result<(String, String)> {
    let certified = rcgen::generate_simple_self_signed(names.to_vec())
        .map_err(|e| ServerError::Internal(format!("generating a certificate: {e}")))?;
    Ok((certified.cert.pem(), certified.key_pair.serialize_pem()))
}

/// The SHA-256 fingerprint of a DER certificate, as `AB:CD:…`.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
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

/// Parses a fingerprint written as hex, with or without colons, any case.
pub fn parse_fingerprint(text: &str) -> Result<Vec<u8>> {
    let hexdigits: String = text
        .trim()
        .trim_start_matches("SHA256:")
        .chars()
        .filter(|c| *c != ':')
        .collect();
    let bytes = hex::decode(&hexdigits)
        .map_err(|_| ServerError::Invalid("a fingerprint is 32 bytes of hex".into()))?;
    if bytes.len() != 32 {
        return Err(ServerError::Invalid(
            "a fingerprint is 32 bytes of hex".into(),
        ));
    }
    Ok(bytes)
}

/// Trusts exactly the certificate with the pinned SHA-256 fingerprint; handshake signatures
/// are still verified, so only the holder of that certificate's key passes.
#[derive(Debug)]
pub struct PinnedCertificate {
    fingerprint: Vec<u8>,
    provider: Arc<CryptoProvider>,
}

impl PinnedCertificate {
    /// A verifier for the certificate with `fingerprint` (see `parse_fingerprint`).
    pub fn new(fingerprint: &str) -> Result<PinnedCertificate> {
        Ok(PinnedCertificate {
            fingerprint: parse_fingerprint(fingerprint)?,
            provider: provider(),
        })
    }
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        // The pin names one exact certificate, which is stronger than a name check.
        if Sha256::digest(end_entity.as_ref()).as_slice() == self.fingerprint.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the server's certificate does not match the pinned fingerprint".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A client configuration that trusts only the pinned certificate.
pub fn pinned_client_config(fingerprint: &str) -> Result<rustls::ClientConfig> {
    let verifier = Arc::new(PinnedCertificate::new(fingerprint)?);
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Internal(format!("TLS versions: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
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
