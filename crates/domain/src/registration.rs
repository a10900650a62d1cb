//! Registration rules both intakes apply alike — the replica's import and the server's web
//! intake: which email and phone are acceptable, how a kind and a submission time are read. The
//! field limits are the wire's (`switchboard_protocol::limits`), next to the types they bound.

use crate::normalize::{normalize_email, normalize_phone};
use switchboard_protocol::{RegistrationDetails, RegistrationKind};

/// The rule both intakes (this one and the server's) apply to a registration's email and phone:
/// each one given must be valid, else the registration is refused naming it. Why refuse rather
/// than drop it with a warning: a dropped address is lost for good (the person's opt-out or
/// erasure request from that address would then match no one), and in both places someone can
/// fix it at once: the website shows the answer to the visitor, the import report names the line.
pub fn identifiers(
    email: Option<&str>,
    phone: Option<&str>,
    country: Option<&str>,
) -> std::result::Result<(Option<String>, Option<String>), String> {
    let email = email.map(normalize_email).transpose();
    let phone = phone.map(|p| normalize_phone(p, country)).transpose();
    match (email, phone) {
        (Ok(e), Ok(p)) => Ok((e, p)),
        (Err(e), Ok(_)) => Err(e.to_string()),
        (Ok(_), Err(p)) => Err(p.to_string()),
        (Err(e), Err(p)) => Err(format!("{e}; {p}")),
    }
}

/// Reads a registration kind as forms and exports spell it; anything unknown is `Other`.
pub fn parse_kind(raw: Option<&str>) -> RegistrationKind {
    let Some(raw) = raw else {
        return RegistrationKind::Other;
    };
    let folded: String = raw
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    if let Ok(kind) = folded.parse::<RegistrationKind>() {
        return kind;
    }
    match folded.as_str() {
        "license" | "licence" | "licence_key" | "license_request" | "key" | "download" => {
            RegistrationKind::LicenseKey
        }
        "info"
        | "information"
        | "information_request"
        | "contact"
        | "contact_request"
        | "inquiry"
        | "enquiry" => RegistrationKind::InfoRequest,
        "free_trial" | "trial_request" => RegistrationKind::Trial,
        "subscribe" | "subscription" => RegistrationKind::Newsletter,
        "demo_request" | "book_a_demo" => RegistrationKind::Demo,
        _ => RegistrationKind::Other,
    }
}

/// Parses the submission time formats that form tools export; times without offset are UTC.
pub use crate::time::parse_loose as parse_submitted_at;

/// The details as both intakes keep them: every text trimmed (empty reads as absent), a name and
/// a company with single spaces, the pages visited trimmed and without empty entries. Email,
/// phone and country come out as given, trimmed: `identifiers` and each intake's country rule
/// decide what becomes of them.
pub fn tidy(d: &RegistrationDetails) -> RegistrationDetails {
    RegistrationDetails {
        name: text(&d.name).map(collapse_spaces),
        company: text(&d.company).map(collapse_spaces),
        email: owned(&d.email),
        phone: owned(&d.phone),
        address: owned(&d.address),
        country: owned(&d.country),
        ip: owned(&d.ip),
        user_agent: owned(&d.user_agent),
        referrer: owned(&d.referrer),
        pages_visited: d
            .pages_visited
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
        form_version: owned(&d.form_version),
    }
}

/// A value trimmed, or none when nothing is left.
pub fn text(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// `text`, owned.
pub fn owned(value: &Option<String>) -> Option<String> {
    text(value).map(str::to_string)
}

fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_trims_collapses_names_and_drops_empty_values() {
        let raw = RegistrationDetails {
            name: Some("  Ann   Example ".into()),
            company: Some(" Acme\tGmbH".into()),
            email: Some("  ".into()),
            address: Some(" Hauptstr.  1 ".into()),
            pages_visited: vec![" /a ".into(), " ".into(), "/b".into()],
            ..RegistrationDetails::default()
        };
        let clean = tidy(&raw);
        assert_eq!(clean.name.as_deref(), Some("Ann Example"));
        assert_eq!(clean.company.as_deref(), Some("Acme GmbH"));
        assert_eq!(clean.email, None);
        assert_eq!(clean.address.as_deref(), Some("Hauptstr.  1"));
        assert_eq!(clean.pages_visited, ["/a", "/b"]);
    }
}
