//! Certificate pinning, one module for the server (its printed fingerprint, its test clients)
//! and the sync client (sign-in probe, pinned trust anchor): a certificate is named by the
//! SHA-256 of its DER bytes, written `AB:CD:…`, and the pinned verifier accepts exactly that
//! certificate while still checking every handshake signature (nothing turns checks off).
//! The probe's verifier is the same one in its other mode: it records the certificate and
//! refuses it, so a probe never completes a handshake with a server nobody has confirmed.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};

/// The crypto provider both sides use (ring), chosen explicitly so that no process-wide
/// default is needed.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The SHA-256 of a DER certificate.
pub fn digest(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// The SHA-256 fingerprint of a DER certificate, as `AB:CD:…`.
pub fn fingerprint(der: &[u8]) -> String {
    format_fingerprint(&digest(der))
}

/// Formats a SHA-256 as `AB:CD:…`.
pub fn format_fingerprint(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Reads a fingerprint as `switchboard-server init` prints it or people copy it: 64 hex digits,
/// any case, with or without colons, spaces or dashes and an `SHA256:` prefix. `None` when it
/// is not 32 bytes of hex (each caller words its own error).
pub fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let hex_digits: String = text
        .trim()
        .trim_start_matches("SHA256:")
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect();
    hex::decode(&hex_digits).ok()?.try_into().ok()
}

/// The server presented another certificate than the pinned one (both as `AB:CD:…`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the server presented certificate {presented}, not the pinned {pinned}")]
pub struct PinMismatch {
    pub presented: String,
    pub pinned: String,
}

/// Accepts exactly the certificate whose SHA-256 is pinned, and checks that the server holds
/// its private key (the handshake signatures) like any other verifier. A refusal carries a
/// `PinMismatch` inside `CertificateError::Other`, so a client can name both fingerprints.
/// Made by `recorder`, it refuses every certificate after recording it (the sign-in probe).
#[derive(Debug)]
pub struct PinnedVerifier {
    check: Check,
    provider: Arc<CryptoProvider>,
}

/// What the verifier does with the certificate the server presents.
#[derive(Debug)]
enum Check {
    /// Accept it when its SHA-256 is this one.
    Pin([u8; 32]),
    /// Record its SHA-256, then refuse it.
    Record(Presented),
}

/// The SHA-256 of the certificate a server presented to a `PinnedVerifier::recorder`.
#[derive(Debug, Clone, Default)]
pub struct Presented(Arc<Mutex<Option<[u8; 32]>>>);

impl Presented {
    /// The recorded SHA-256, taken out (`None` when no certificate came).
    pub fn take(&self) -> Option<[u8; 32]> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn record(&self, digest: [u8; 32]) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(digest);
    }
}

impl PinnedVerifier {
    /// A verifier for the certificate with SHA-256 `pin`.
    pub fn new(pin: [u8; 32]) -> PinnedVerifier {
        PinnedVerifier {
            check: Check::Pin(pin),
            provider: provider(),
        }
    }

    /// A verifier that records the presented certificate and refuses it, ending the handshake
    /// there; the probe reads what it recorded.
    pub fn recorder() -> (PinnedVerifier, Presented) {
        let presented = Presented::default();
        let verifier = PinnedVerifier {
            check: Check::Record(presented.clone()),
            provider: provider(),
        };
        (verifier, presented)
    }

    /// A client configuration that trusts the server through this verifier only (both sides'
    /// protocol versions, no client certificate).
    pub fn client_config(self) -> Result<ClientConfig, rustls::Error> {
        Ok(ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(self))
            .with_no_client_auth())
    }
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
        // The pin names one exact certificate, which is stronger than a name check.
        let presented = digest(end_entity.as_ref());
        let pin = match &self.check {
            Check::Pin(pin) if presented == *pin => return Ok(ServerCertVerified::assertion()),
            Check::Pin(pin) => pin,
            Check::Record(seen) => {
                seen.record(presented);
                return Err(rustls::Error::InvalidCertificate(
                    CertificateError::ApplicationVerificationFailure,
                ));
            }
        };
        Err(rustls::Error::InvalidCertificate(CertificateError::Other(
            rustls::OtherError(Arc::new(PinMismatch {
                presented: format_fingerprint(&presented),
                pinned: format_fingerprint(pin),
            })),
        )))
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
    fn fingerprints_parse_in_every_spelling_and_read_back() {
        let plain = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(parse_fingerprint(&plain), Some([0xAB; 32]));
        assert_eq!(parse_fingerprint(&colons), Some([0xAB; 32]));
        assert_eq!(
            parse_fingerprint(&format!("SHA256:{colons}")),
            Some([0xAB; 32])
        );
        assert_eq!(format_fingerprint(&[0xAB; 32]), colons);
        assert_eq!(parse_fingerprint("abcd"), None);
        assert_eq!(parse_fingerprint(&"zz".repeat(32)), None);
    }

    #[test]
    fn only_the_pinned_certificate_passes_and_a_refusal_names_both() {
        let cert = CertificateDer::from(vec![1u8, 2, 3]);
        let name = ServerName::try_from("localhost").unwrap();
        let refused = PinnedVerifier::new([7; 32])
            .verify_server_cert(&cert, &[], &name, &[], UnixTime::now())
            .unwrap_err();
        let rustls::Error::InvalidCertificate(CertificateError::Other(other)) = refused else {
            panic!("not a certificate error: {refused:?}");
        };
        assert_eq!(
            other.0.downcast_ref::<PinMismatch>(),
            Some(&PinMismatch {
                presented: fingerprint(&[1, 2, 3]),
                pinned: format_fingerprint(&[7; 32]),
            })
        );
        assert!(PinnedVerifier::new(digest(&[1, 2, 3]))
            .verify_server_cert(&cert, &[], &name, &[], UnixTime::now())
            .is_ok());
    }

    #[test]
    fn the_recorder_refuses_every_certificate_and_keeps_its_digest() {
        let cert = CertificateDer::from(vec![4u8, 5, 6]);
        let name = ServerName::try_from("localhost").unwrap();
        let (recorder, presented) = PinnedVerifier::recorder();
        assert_eq!(presented.take(), None);
        let refused = recorder
            .verify_server_cert(&cert, &[], &name, &[], UnixTime::now())
            .unwrap_err();
        assert_eq!(
            refused,
            rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)
        );
        assert_eq!(presented.take(), Some(digest(&[4, 5, 6])));
        assert_eq!(presented.take(), None, "taken once");
    }
}
