//! One-click unsubscribe links in outgoing mail (RFC 8058). The replica makes them itself with
//! its office's key, received at sign-in, so a mail queued offline for days still carries a link
//! the server accepts. A manager of several offices receives one key per office (protocol 5),
//! kept in a setting per office, and a lead's link is made with the key of the lead's office;
//! the single primary-office key (all an older server sends) is the fallback. Every mail the outbox sends carries them when this replica has a key; a
//! mail to a lead enrolled in a cadence is refused without one (`unsubscribe_not_configured`).
//! A one-off mail to a lead in no cadence may go without a link when the replica has no server
//! to record the opt-out: it is personal correspondence from the rep's own mailbox, which the
//! issue does not require to carry one, and without a server no click could reach the other
//! replicas anyway.

use crate::error::{CoreError, Result};
use crate::outreach::cadence::enrollment;
use crate::store::settings::{
    delete_setting, delete_settings_starting_with, get_setting, set_setting,
};
use rusqlite::Connection;
use switchboard_domain::unsubscribe as token;
use switchboard_protocol::{Lead, UnsubscribeKey};

const LINK_BASE: &str = "unsubscribe.link_base";
const KEY_ID: &str = "unsubscribe.key_id";
const KEY: &str = "unsubscribe.key";
const OFFICE: &str = "unsubscribe.office";

/// Keeps what sign-in handed over (or forgets an older key when the server sent none).
pub fn remember(conn: &Connection, key: Option<&UnsubscribeKey>) -> Result<()> {
    match key {
        Some(k) => {
            set_setting(conn, LINK_BASE, &k.link_base)?;
            set_setting(conn, KEY_ID, &k.key_id)?;
            set_setting(conn, KEY, k.key.expose())?;
            set_setting(conn, OFFICE, &k.office)?;
        }
        None => {
            for name in [LINK_BASE, KEY_ID, KEY, OFFICE] {
                delete_setting(conn, name)?;
            }
        }
    }
    Ok(())
}

/// Prefix of the per-office key settings (`unsubscribe.office_key.BER`), each a JSON
/// `UnsubscribeKey`.
const OFFICE_KEY_PREFIX: &str = "unsubscribe.office_key.";

/// Keeps the key of every office sign-in handed over (protocol 5), forgetting those of an
/// earlier sign-in; `None` (an older server, or no public URL) keeps none.
pub fn remember_offices(conn: &Connection, keys: Option<&[UnsubscribeKey]>) -> Result<()> {
    delete_settings_starting_with(conn, OFFICE_KEY_PREFIX)?;
    for key in keys.unwrap_or_default() {
        set_setting(
            conn,
            &format!("{OFFICE_KEY_PREFIX}{}", key.office),
            &serde_json::to_string(key).expect("a key always serialises"),
        )?;
    }
    Ok(())
}

/// The key kept for `office` by `remember_offices` (`None` if none, or unreadable).
fn office_key(conn: &Connection, office: &str) -> Result<Option<UnsubscribeKey>> {
    Ok(get_setting(conn, &format!("{OFFICE_KEY_PREFIX}{office}"))?
        .and_then(|text| serde_json::from_str::<UnsubscribeKey>(&text).ok())
        .filter(|k| k.office == office))
}

/// The key a link for `lead` is made with: its office's, else the primary office's single key.
fn key_for_lead(
    conn: &Connection,
    lead: &Lead,
) -> Result<Option<(String, String, String, String)>> {
    if let Some(k) = match lead.office.as_deref() {
        Some(office) => office_key(conn, office)?,
        None => None,
    } {
        return Ok(Some((
            k.link_base,
            k.key_id,
            k.key.expose().to_string(),
            k.office,
        )));
    }
    Ok(
        match (
            get_setting(conn, LINK_BASE)?,
            get_setting(conn, KEY_ID)?,
            get_setting(conn, KEY)?,
            get_setting(conn, OFFICE)?,
        ) {
            (Some(base), Some(key_id), Some(key), Some(office)) => {
                Some((base, key_id, key, office))
            }
            _ => None,
        },
    )
}

/// The unsubscribe link for `lead`, or why there is none.
pub fn link(conn: &Connection, lead: &Lead) -> Result<std::result::Result<String, String>> {
    let Some((base, key_id, key, office)) = key_for_lead(conn, lead)? else {
        return Ok(Err(
            "this computer has no unsubscribe key: sign in to the Switchboard \
             server (`switchboard login`), whose administrator must set its public URL \
             (`switchboard-server serve --public-url https://…`)"
                .into(),
        ));
    };
    if lead.office.as_deref().is_some_and(|o| o != office) {
        return Ok(Err(format!(
            "the lead is in office {}, and this computer has no unsubscribe key for it (its \
             key makes links for office {office}): sign in again (`switchboard login`) if you \
             manage that office now, or send it from a computer of the lead's office",
            lead.office.as_deref().unwrap_or_default()
        )));
    }
    let Some(key) = hex::decode(key.trim()).ok() else {
        return Ok(Err(
            "the stored unsubscribe key is damaged: sign in again (`switchboard login`)".into(),
        ));
    };
    Ok(token::make(&key_id, &key, &lead.id)
        .map(|t| format!("{base}{t}"))
        .ok_or_else(|| format!("lead id {} cannot be put into a link", lead.id)))
}

/// Whether a mail to `lead_id` belongs to a cadence (the lead has an active enrolment).
pub fn is_cadence_mail(conn: &Connection, lead_id: &str) -> Result<bool> {
    Ok(enrollment::for_lead(conn, lead_id)?
        .iter()
        .any(|e| e.state == "active"))
}

/// The link a mail to `lead` carries: `Ok(None)` for a one-off mail when the replica has no
/// key, refused for cadence mail without one.
pub fn link_for_mail(conn: &Connection, lead: &Lead) -> Result<Option<String>> {
    match link(conn, lead)? {
        Ok(link) => Ok(Some(link)),
        Err(why) if is_cadence_mail(conn, &lead.id)? => Err(CoreError::UnsubscribeNotConfigured(
            format!("cadence mail must carry an unsubscribe link, and {why}"),
        )),
        Err(_) => Ok(None),
    }
}

/// The RFC 8058 headers for a link.
pub fn headers(link: &str) -> Vec<(String, String)> {
    vec![
        ("List-Unsubscribe".into(), format!("<{link}>")),
        (
            "List-Unsubscribe-Post".into(),
            switchboard_protocol::ONE_CLICK_BODY.into(),
        ),
    ]
}

/// The plain-text line with the same link, appended to the body.
pub fn footer(link: &str) -> String {
    format!("\n\n--\nTo receive no more email from us: {link}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FixedClock, Store};
    use switchboard_protocol::Secret;

    fn key(office: &str, id: &str) -> UnsubscribeKey {
        UnsubscribeKey {
            link_base: "https://crm.example.com/v1/unsubscribe/".into(),
            key_id: id.into(),
            key: Secret::new("00ff"),
            office: office.into(),
        }
    }

    #[test]
    fn a_sign_in_replaces_every_office_key_and_none_forgets_them() {
        let s =
            Store::open_in_memory(std::sync::Arc::new(FixedClock::at(chrono::Utc::now()))).unwrap();
        let conn = s.conn();
        // A setting that merely looks like the prefix to LIKE (`_` is a wildcard) stays.
        set_setting(conn, "unsubscribe.office_keyXBER", "other").unwrap();
        remember_offices(conn, Some(&[key("BER", "k1"), key("PAR", "k2")])).unwrap();
        assert_eq!(office_key(conn, "PAR").unwrap(), Some(key("PAR", "k2")));
        remember_offices(conn, Some(&[key("BER", "k3")])).unwrap();
        assert_eq!(office_key(conn, "BER").unwrap(), Some(key("BER", "k3")));
        assert_eq!(
            office_key(conn, "PAR").unwrap(),
            None,
            "a dropped office's key"
        );
        // A damaged or misfiled entry is no key at all.
        set_setting(conn, "unsubscribe.office_key.ROM", "{not json").unwrap();
        set_setting(
            conn,
            "unsubscribe.office_key.MAD",
            &serde_json::to_string(&key("BER", "k4")).unwrap(),
        )
        .unwrap();
        assert_eq!(office_key(conn, "ROM").unwrap(), None);
        assert_eq!(office_key(conn, "MAD").unwrap(), None);
        remember_offices(conn, None).unwrap();
        assert_eq!(office_key(conn, "BER").unwrap(), None);
        assert_eq!(
            get_setting(conn, "unsubscribe.office_keyXBER")
                .unwrap()
                .as_deref(),
            Some("other")
        );
    }
}
