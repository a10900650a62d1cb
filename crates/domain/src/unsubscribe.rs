//! One-click unsubscribe tokens (RFC 8058 links in outgoing mail). A replica makes them offline
//! with its office's key; the server checks them with the same key, found by its id. A token
//! names a lead by its random id only (no address, no name) and carries a MAC over the key id
//! and the lead id, so without the office's key no token can be made for another lead, and a
//! key of one office makes no token the server accepts for another office's lead (the server
//! checks the lead's office against the key's).
//!
//! Text form: `u1.<key id>.<lead id>.<mac>`, where the MAC is the first 16 bytes of
//! `HMAC-SHA256(key, "unsubscribe:u1:<key id>:<lead id>")` in lowercase hex. Every part is
//! URL-safe as it is.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The version tag every token starts with.
pub const VERSION: &str = "u1";

/// The longest token text accepted (anything longer is garbage).
pub const MAX_TOKEN_LEN: usize = 200;

/// Bytes of the MAC kept in a token (128 bits).
const MAC_BYTES: usize = 16;

/// A token's parts, read from its text but not yet checked against a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub key_id: String,
    pub lead_id: String,
    mac: Vec<u8>,
}

fn mac_for(key: &[u8], key_id: &str, lead_id: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(format!("unsubscribe:{VERSION}:{key_id}:{lead_id}").as_bytes());
    mac
}

/// Whether `text` is a usable key id (1 to 32 lowercase hex digits or letters).
pub fn valid_key_id(text: &str) -> bool {
    (1..=32).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Whether `text` is a usable lead id in a token (1 to 64 of `A-Z a-z 0-9 - _`).
fn valid_lead_id(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The token for `lead_id` under the key `key_id`; `None` when an id has characters a token
/// cannot carry.
pub fn make(key_id: &str, key: &[u8], lead_id: &str) -> Option<String> {
    if !valid_key_id(key_id) || !valid_lead_id(lead_id) {
        return None;
    }
    let mac = mac_for(key, key_id, lead_id).finalize().into_bytes();
    Some(format!(
        "{VERSION}.{key_id}.{lead_id}.{}",
        hex::encode(&mac[..MAC_BYTES])
    ))
}

/// Reads a token's text; `None` for anything that is not one (never panics).
pub fn parse(text: &str) -> Option<Token> {
    if text.len() > MAX_TOKEN_LEN {
        return None;
    }
    let mut parts = text.split('.');
    let (version, key_id, lead_id, mac) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || version != VERSION {
        return None;
    }
    if !valid_key_id(key_id) || !valid_lead_id(lead_id) || mac.len() != MAC_BYTES * 2 {
        return None;
    }
    if !mac
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    Some(Token {
        key_id: key_id.to_string(),
        lead_id: lead_id.to_string(),
        mac: hex::decode(mac).ok()?,
    })
}

impl Token {
    /// Whether the token was made with `key` (compared in constant time).
    pub fn verify(&self, key: &[u8]) -> bool {
        mac_for(key, &self.key_id, &self.lead_id)
            .verify_truncated_left(&self.mac)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LEAD: &str = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

    #[test]
    fn a_made_token_reads_back_and_verifies_with_its_key_only() {
        let token = make("k1", b"office key", LEAD).unwrap();
        assert!(token.starts_with("u1.k1.0190a1b2-"), "{token}");
        let parsed = parse(&token).unwrap();
        assert_eq!(parsed.key_id, "k1");
        assert_eq!(parsed.lead_id, LEAD);
        assert!(parsed.verify(b"office key"));
        assert!(!parsed.verify(b"another office's key"));
    }

    #[test]
    fn a_token_moved_to_another_lead_or_key_id_fails() {
        let token = make("k1", b"key", LEAD).unwrap();
        let other_lead = token.replace("4a5b", "4a5c");
        assert!(!parse(&other_lead).unwrap().verify(b"key"));
        let other_kid = token.replacen("k1", "k2", 1);
        assert!(!parse(&other_kid).unwrap().verify(b"key"));
        let last = if token.ends_with('0') { '1' } else { '0' };
        let flipped = format!("{}{last}", &token[..token.len() - 1]);
        assert!(!parse(&flipped).unwrap().verify(b"key"));
    }

    #[test]
    fn ids_a_token_cannot_carry_make_no_token() {
        assert_eq!(make("K1", b"k", LEAD), None);
        assert_eq!(make("k1", b"k", "a.b"), None);
        assert_eq!(make("k1", b"k", ""), None);
        assert_eq!(make("", b"k", LEAD), None);
    }

    proptest! {
        /// Garbage never panics the parser and never verifies under any key.
        #[test]
        fn garbage_never_parses_into_a_verified_token(text in ".{0,300}", key in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Some(token) = parse(&text) {
                prop_assert!(!token.verify(&key));
            }
        }

        /// Near misses of a real token (one character changed, cut or added) never verify.
        #[test]
        fn a_changed_token_never_verifies(at in 0usize..70, ch in proptest::char::any(), cut in any::<bool>()) {
            let token = make("k1", b"key", LEAD).unwrap();
            let at = at % token.len();
            let mut changed: String = token.chars().take(at).collect();
            if !cut {
                changed.push(ch);
            }
            changed.extend(token.chars().skip(at + 1));
            if changed != token {
                if let Some(parsed) = parse(&changed) {
                    prop_assert!(!parsed.verify(b"key"), "{changed}");
                }
            }
        }
    }
}
