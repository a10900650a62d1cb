//! How the client trusts the server: the system's roots, a CA file, or a pinned SHA-256
//! fingerprint of the server's certificate. Every anchor verifies the handshake; there is no
//! way to turn checks off.

use crate::error::{Result, SyncError};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;

/// What the client trusts the server's certificate by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustAnchor {
    /// The operating system's certificate authorities.
    SystemRoots,
    /// Certificate authorities (or the server's own certificate) in a PEM file.
    CaFile(PathBuf),
    /// The SHA-256 of the server's certificate, 32 bytes.
    Fingerprint([u8; 32]),
}

impl TrustAnchor {
    /// Parses a fingerprint as printed by `switchboard-server init`: 64 hex digits, with or
    /// without colons or spaces, any case.
    pub fn fingerprint(text: &str) -> Result<TrustAnchor> {
        let hex_digits: String = text
            .chars()
            .filter(|c| !matches!(c, ':' | ' ' | '-'))
            .collect();
        let bytes = hex::decode(&hex_digits)
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| {
                SyncError::BadInput(format!(
                    "'{text}' is not a SHA-256 fingerprint (64 hex digits, colons allowed)"
                ))
            })?;
        let mut pin = [0u8; 32];
        pin.copy_from_slice(&bytes);
        Ok(TrustAnchor::Fingerprint(pin))
    }

    /// The fingerprint as colon-separated upper-case hex, if this is a pin.
    pub fn fingerprint_text(&self) -> Option<String> {
        match self {
            TrustAnchor::Fingerprint(pin) => Some(format_fingerprint(pin)),
            _ => None,
        }
    }

    /// The rustls configuration for this anchor.
    pub fn client_config(&self) -> Result<ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| SyncError::Tls(e.to_string()))?;
        let config = match self {
            TrustAnchor::SystemRoots => {
                let found = rustls_native_certs::load_native_certs();
                let mut roots = RootCertStore::empty();
                let (added, _) = roots.add_parsable_certificates(found.certs);
                if added == 0 {
                    return Err(SyncError::Tls(
                        "no system certificate authorities found; pass --ca-file or --fingerprint"
                            .into(),
                    ));
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            TrustAnchor::CaFile(path) => {
                let mut roots = RootCertStore::empty();
                let certs = CertificateDer::pem_file_iter(path)
                    .map_err(|e| SyncError::Tls(format!("reading {}: {e}", path.display())))?;
                for cert in certs {
                    let cert = cert
                        .map_err(|e| SyncError::Tls(format!("reading {}: {e}", path.display())))?;
                    roots
                        .add(cert)
                        .map_err(|e| SyncError::Tls(format!("{}: {e}", path.display())))?;
                }
                if roots.is_empty() {
                    return Err(SyncError::Tls(format!(
                        "{} holds no PEM certificate",
                        path.display()
                    )));
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            // `dangerous()` is rustls' name for "bring your own verifier": ours still checks the
            // certificate (by its pin) and every handshake signature.
            TrustAnchor::Fingerprint(pin) => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(PinnedVerifier {
                    pin: *pin,
                    provider,
                }))
                .with_no_client_auth(),
        };
        Ok(config)
    }
}

/// Formats a SHA-256 as `AB:CD:…`.
pub fn format_fingerprint(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The server presented another certificate than the pinned one (both as `AB:CD:…`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the server presented certificate {presented}, not the pinned {pinned}")]
pub struct PinMismatch {
    pub presented: String,
    pub pinned: String,
}

/// Accepts exactly the certificate whose SHA-256 is pinned, and checks that the server holds
/// its private key (the handshake signatures) like any other verifier.
#[derive(Debug)]
struct PinnedVerifier {
    pin: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let digest = Sha256::digest(end_entity.as_ref());
        if digest.as_slice() == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            // Carries both fingerprints to the client's error, which names them to the user.
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                rustls::OtherError(Arc::new(PinMismatch {
                    presented: format_fingerprint(&digest),
                    pinned: format_fingerprint(&self.pin),
                })),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
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
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_with_or_without_colons() {
        let plain = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(
            TrustAnchor::fingerprint(&plain).unwrap(),
            TrustAnchor::fingerprint(&colons).unwrap()
        );
        assert_eq!(
            TrustAnchor::fingerprint(&plain).unwrap().fingerprint_text(),
            Some(colons)
        );
        assert!(TrustAnchor::fingerprint("abcd").is_err());
        assert!(TrustAnchor::fingerprint(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn a_wrong_pin_is_refused() {
        let verifier = PinnedVerifier {
            pin: [7; 32],
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        };
        let cert = CertificateDer::from(vec![1u8, 2, 3]);
        let name = ServerName::try_from("localhost").unwrap();
        assert!(verifier
            .verify_server_cert(&cert, &[], &name, &[], UnixTime::now())
            .is_err());
        let mut pin = [0u8; 32];
        pin.copy_from_slice(&Sha256::digest([1u8, 2, 3]));
        let verifier = PinnedVerifier { pin, ..verifier };
        assert!(verifier
            .verify_server_cert(&cert, &[], &name, &[], UnixTime::now())
            .is_ok());
    }
}
