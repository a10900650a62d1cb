//! How the client trusts the server: the system's roots, a CA file, or a pinned SHA-256
//! fingerprint of the server's certificate. Every anchor verifies the handshake; there is no
//! way to turn checks off. The pin itself is `switchboard-pinning`'s, shared with the server.

use crate::error::{Result, SyncError};
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use std::path::PathBuf;
use switchboard_pinning::{parse_fingerprint, PinnedVerifier};

// Fingerprints and the pinned verifier are shared with the server (`switchboard-pinning`).
pub use switchboard_pinning::{format_fingerprint, PinMismatch};

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
        let pin = parse_fingerprint(text).ok_or_else(|| {
            SyncError::BadInput(format!(
                "'{text}' is not a SHA-256 fingerprint (64 hex digits, colons allowed)"
            ))
        })?;
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
        let builder = ClientConfig::builder_with_provider(switchboard_pinning::provider())
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
            // Bring-your-own verifier: ours still checks the certificate (by its pin) and every
            // handshake signature.
            TrustAnchor::Fingerprint(pin) => PinnedVerifier::new(*pin)
                .client_config()
                .map_err(|e| SyncError::Tls(e.to_string()))?,
        };
        Ok(config)
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
}
