//! Normalisation and suppression hashing, delegated to the domain crate so that the server and every
//! replica spell (and therefore hash) an address the same way.

use switchboard_domain::normalize as core;
use switchboard_domain::suppression::{self, Identifier};
use switchboard_protocol::{SuppressionHash, SuppressionKind};

/// Trimmed, lowercased, validated email.
pub fn email(input: &str) -> Option<String> {
    core::normalize_email(input).ok()
}

/// E.164 phone number; `country` helps with national numbers.
pub fn phone(input: &str, country: Option<&str>) -> Option<String> {
    core::normalize_phone(input, country).ok()
}

/// ISO 3166-1 alpha-2 code of a country name or code.
pub fn country(input: &str) -> Option<String> {
    core::normalize_country(input).map(str::to_string)
}

/// The IANA zone of a country with one zone.
pub fn single_zone(country: &str) -> Option<String> {
    core::single_zone(country).map(|z| z.name().to_string())
}

/// The suppression hash of a normalised address with the deployment key.
pub fn suppression_hash(key: &[u8], kind: SuppressionKind, normalised: &str) -> SuppressionHash {
    let identifier = match kind {
        SuppressionKind::Email => Identifier::Email,
        SuppressionKind::Phone => Identifier::Phone,
    };
    SuppressionHash {
        kind,
        hash: suppression::hash(key, identifier, normalised),
    }
}
