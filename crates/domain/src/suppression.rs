//! Suppression hashing: keyed hashes (HMAC-SHA256 with the deployment's key) of an erased
//! person's normalised email and phone. Replicas and the server hash alike, so a suppression
//! made on one side is recognised on the other without keeping the personal information.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Which identifier a suppression hash was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identifier {
    Email,
    Phone,
}

impl Identifier {
    /// The name stored next to a hash and mixed into it.
    pub fn as_str(self) -> &'static str {
        match self {
            Identifier::Email => "email",
            Identifier::Phone => "phone",
        }
    }
}

/// The keyed hash of an already-normalised identifier.
pub fn hash(key: &[u8], identifier: Identifier, normalised: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(identifier.as_str().as_bytes());
    mac.update(b":");
    mac.update(normalised.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_depends_on_key_kind_and_value() {
        let h = hash(b"k", Identifier::Email, "ann@example.com");
        assert_eq!(h.len(), 64);
        assert_eq!(h, hash(b"k", Identifier::Email, "ann@example.com"));
        assert_ne!(h, hash(b"other", Identifier::Email, "ann@example.com"));
        assert_ne!(h, hash(b"k", Identifier::Phone, "ann@example.com"));
        assert_ne!(h, hash(b"k", Identifier::Email, "bob@example.com"));
    }
}
