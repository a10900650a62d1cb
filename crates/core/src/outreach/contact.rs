//! Contacting a lead from the window: the `tel:` or `mailto:` address the OS opener is handed,
//! produced only after the compliance gate allows the channel at that instant.
//!
//! The shell opens what `url` returns and nothing else, so a blocked lead never reaches the
//! opener. Postal mail has no URL: it goes to the next letter batch (`letters::add_to_batch`).

use crate::compliance::gate::{self, Decision};
use crate::error::{CoreError, Result};
use crate::people::leads;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use switchboard_protocol::{Channel, Lead};

/// The URL that contacts `lead` (id or email) on `channel` at `at`, or the gate's refusal.
pub fn url(conn: &Connection, lead: &str, channel: Channel, at: DateTime<Utc>) -> Result<String> {
    if channel == Channel::Mail {
        return Err(CoreError::BadInput(
            "postal mail is not opened: add the lead to the letter batch instead".into(),
        ));
    }
    let lead = leads::find(conn, lead)?;
    refuse_if_blocked(conn, &lead, channel, at)?;
    match channel {
        Channel::Phone => tel_url(lead.phone.as_deref().unwrap_or_default()),
        _ => mailto_url(lead.email.as_deref().unwrap_or_default()),
    }
}

/// `Blocked` with the gate's reason when `lead` may not be contacted on `channel` at `at`.
pub fn refuse_if_blocked(
    conn: &Connection,
    lead: &Lead,
    channel: Channel,
    at: DateTime<Utc>,
) -> Result<()> {
    match gate::check(conn, lead, channel, at)? {
        Decision::Allowed => Ok(()),
        Decision::Blocked(reason) => Err(CoreError::Blocked(format!(
            "{} may not be contacted by {}: {}",
            lead.name.as_deref().unwrap_or("this lead"),
            channel,
            reason.message()
        ))),
    }
}

/// `tel:` for an E.164 number; anything else is refused rather than handed to the OS.
fn tel_url(phone: &str) -> Result<String> {
    let digits = phone.strip_prefix('+').unwrap_or_default();
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CoreError::BadInput(format!(
            "'{phone}' is not an E.164 phone number"
        )));
    }
    Ok(format!("tel:+{digits}"))
}

/// `mailto:` for one address, percent-encoding every byte that could start a header (`?`),
/// a fragment (`#`), a second recipient (`,`) or an escape (`%`).
fn mailto_url(email: &str) -> Result<String> {
    if email.matches('@').count() != 1 || email.trim() != email || email.is_empty() {
        return Err(CoreError::BadInput(format!(
            "'{email}' is not one email address"
        )));
    }
    let mut url = String::from("mailto:");
    for byte in email.bytes() {
        if byte.is_ascii_alphanumeric() || b"@.-_+".contains(&byte) {
            url.push(byte as char);
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::new_id;
    use crate::fixtures::noon;
    use crate::people::leads::NewLead;
    use crate::{compliance::consent, Store};
    use chrono::TimeZone;

    use switchboard_protocol::ConsentScope;

    fn store_with(email: &str) -> (Store, String) {
        let mut s = crate::fixtures::store_at(noon());
        let id = new_id(noon());
        let lead = NewLead {
            name: Some("Ada Lovelace".into()),
            email: Some(email.into()),
            phone: Some("+4930123456".into()),
            country: Some("DE".into()),
            time_zone: Some("Europe/Berlin".into()),
            ..NewLead::default()
        };
        s.with_tx(|tx| leads::insert(tx, &id, &lead, noon()))
            .unwrap();
        (s, id)
    }

    #[test]
    fn allowed_channels_give_their_urls() {
        let (s, id) = store_with("ada+crm@example.com");
        assert_eq!(
            url(s.conn(), &id, Channel::Phone, noon()).unwrap(),
            "tel:+4930123456"
        );
        assert_eq!(
            url(s.conn(), &id, Channel::Email, noon()).unwrap(),
            "mailto:ada+crm@example.com"
        );
        assert_eq!(
            url(s.conn(), &id, Channel::Mail, noon())
                .unwrap_err()
                .code(),
            "bad_input"
        );
    }

    #[test]
    fn a_blocked_channel_gives_the_gates_reason_and_no_url() {
        let (mut s, id) = store_with("ada@example.com");
        // 22:30 in Berlin: outside calling hours, email still fine.
        let late = Utc.with_ymd_and_hms(2026, 3, 2, 21, 30, 0).unwrap();
        let err = url(s.conn(), &id, Channel::Phone, late).unwrap_err();
        assert_eq!(err.code(), "blocked");
        assert!(err.to_string().contains("outside calling hours"), "{err}");
        assert!(url(s.conn(), &id, Channel::Email, late).is_ok());

        s.with_tx(|tx| {
            consent::opt_out(tx, &id, ConsentScope::Email, "call", None, "rep1", noon())
        })
        .unwrap();
        let err = url(s.conn(), &id, Channel::Email, noon()).unwrap_err();
        assert_eq!(err.code(), "blocked");
        assert!(err.to_string().contains("opted out of email"), "{err}");
    }

    #[test]
    fn urls_cannot_smuggle_headers_or_other_schemes() {
        assert_eq!(
            mailto_url("a?cc=b%c#d@example.com").unwrap(),
            "mailto:a%3Fcc%3Db%25c%23d@example.com"
        );
        assert!(mailto_url("a@b@example.com").is_err());
        assert!(tel_url("+49 30 1234").is_err());
        assert!(tel_url("4930123456").is_err());
        assert!(tel_url("+49;ext=javascript:").is_err());
    }
}
