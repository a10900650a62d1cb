//! Updates served by the office (docs/SYNC.md "Protocol 4"): the manifest the server answers
//! `GET /v1/updates/latest` with, and the signature check every front end runs on a download.
//!
//! Signatures are Tauri's (`tauri signer sign`): the base64 of a minisign signature file, checked
//! against the base64 of a minisign public key file (`tauri.conf.json` →
//! `plugins.updater.pubkey`), with `minisign-verify` as tauri-plugin-updater does. Like the
//! plugin with `requireSignedVersion`, the version the signature's trusted comment names must be
//! the version announced, so an old signed package cannot be replayed as a new one.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The most an update package may weigh (the desktop `.deb` is about 10 MiB).
pub const MAX_ARTIFACT_BYTES: usize = 256 * 1024 * 1024;

/// The longest "what changed" text.
pub const MAX_NOTES_CHARS: usize = 10_000;

/// The newest update an office publishes. Tauri's "dynamic update server" fields (`version`,
/// `notes`, `pub_date`, `url`, `signature`) plus the package's size and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct UpdateManifest {
    /// `X.Y.Z`.
    pub version: String,
    /// What changed, as the administrator wrote it.
    pub notes: String,
    /// When it was published (RFC 3339).
    pub pub_date: String,
    /// Where the package is, relative to the server (`/v1/updates/X.Y.Z/artifact`).
    pub url: String,
    /// The `.sig` text `tauri signer sign` wrote (base64 of a minisign signature).
    pub signature: String,
    /// The package's size in bytes.
    #[ts(type = "number")]
    pub size: u64,
    /// The package's SHA-256, hex.
    pub sha256: String,
}

/// Why an update package or its signature is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureProblem {
    /// The public key is not a base64 minisign public key.
    BadKey(String),
    /// The signature is not a base64 minisign signature.
    Garbled(String),
    /// The signature does not match these bytes under this key (tampered, or another key).
    Mismatch,
    /// The signature names another version than the one announced, or none.
    WrongVersion {
        signed: Option<String>,
        announced: String,
    },
}

impl std::fmt::Display for SignatureProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureProblem::BadKey(why) => write!(
                f,
                "this build's update key is unusable ({why}); the office must build Switchboard \
                 with its own key (docs/PACKAGING.md)"
            ),
            SignatureProblem::Garbled(why) => write!(
                f,
                "the update's signature is not a Tauri signature ({why}); ask your administrator \
                 to publish it again with the .sig `tauri signer sign` wrote"
            ),
            SignatureProblem::Mismatch => write!(
                f,
                "the update's signature does not match the package: it was changed after signing \
                 or signed with another key than the one this Switchboard trusts; it was not \
                 installed, tell your administrator"
            ),
            SignatureProblem::WrongVersion { signed, announced } => write!(
                f,
                "the update's signature is for version {}, not the {announced} announced; it was \
                 not installed, tell your administrator",
                signed.as_deref().unwrap_or("(none)")
            ),
        }
    }
}

fn base64_text(value: &str) -> Result<String, String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| "not base64".to_string())?;
    String::from_utf8(bytes).map_err(|_| "not text".to_string())
}

/// The signature decoded, without checking it against any key.
fn decode_signature(signature: &str) -> Result<minisign_verify::Signature, SignatureProblem> {
    let text = base64_text(signature).map_err(SignatureProblem::Garbled)?;
    minisign_verify::Signature::decode(&text).map_err(|e| SignatureProblem::Garbled(e.to_string()))
}

/// The version a Tauri signature's trusted comment names (`…\tversion:X.Y.Z`), read without
/// verifying it: the server uses it to refuse a publish whose `--version` disagrees.
pub fn signed_version(signature: &str) -> Result<Option<String>, SignatureProblem> {
    let signature = decode_signature(signature)?;
    Ok(version_in(signature.trusted_comment()))
}

fn version_in(trusted_comment: &str) -> Option<String> {
    trusted_comment
        .split('\t')
        .find_map(|field| field.trim().strip_prefix("version:"))
        .map(str::to_string)
}

/// Checks `data` against `signature` under `pubkey` and that the signature is for `announced`.
pub fn verify(
    data: &[u8],
    signature: &str,
    pubkey: &str,
    announced: &str,
) -> Result<(), SignatureProblem> {
    let key_text = base64_text(pubkey).map_err(SignatureProblem::BadKey)?;
    let key = minisign_verify::PublicKey::decode(&key_text)
        .map_err(|e| SignatureProblem::BadKey(e.to_string()))?;
    let sig = decode_signature(signature)?;
    key.verify(data, &sig, true)
        .map_err(|_| SignatureProblem::Mismatch)?;
    // Only now is the trusted comment known to be the signer's: the global signature covers it.
    let signed = version_in(sig.trusted_comment());
    if signed.as_deref() != Some(announced) {
        return Err(SignatureProblem::WrongVersion {
            signed,
            announced: announced.to_string(),
        });
    }
    Ok(())
}

/// `X.Y.Z` as three numbers; anything else (a `v`, a suffix, leading zeros) is refused.
pub fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.split('.');
    let mut next = || -> Option<u64> {
        let p = parts.next()?;
        let ok = !p.is_empty()
            && p.len() <= 9
            && p.bytes().all(|b| b.is_ascii_digit())
            && (p == "0" || !p.starts_with('0'));
        ok.then(|| p.parse().ok()).flatten()
    };
    let v = (next()?, next()?, next()?);
    parts.next().is_none().then_some(v)
}

/// Whether a `.deb` (an `ar` archive whose first member is `debian-binary`) starts these bytes.
pub fn looks_like_deb(data: &[u8]) -> bool {
    data.starts_with(b"!<arch>\ndebian-binary")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_three_plain_numbers() {
        assert_eq!(parse_version("0.2.10"), Some((0, 2, 10)));
        for bad in [
            "",
            "1.2",
            "1.2.3.4",
            "v1.2.3",
            "1.2.3-rc1",
            "01.2.3",
            "1..3",
            "1.2.x",
        ] {
            assert_eq!(parse_version(bad), None, "{bad}");
        }
    }

    #[test]
    fn garbage_is_a_garbled_signature_not_a_panic() {
        for bad in ["", "%%%", "aGVsbG8=", "dW50cnVzdGVkIGNvbW1lbnQ6IHgK"] {
            assert!(
                matches!(signed_version(bad), Err(SignatureProblem::Garbled(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_deb_is_recognised_by_its_first_member() {
        assert!(looks_like_deb(
            b"!<arch>\ndebian-binary   1700000000  0     0     100644  4         `\n2.0\n"
        ));
        assert!(!looks_like_deb(b"\x7fELF"));
    }
}
