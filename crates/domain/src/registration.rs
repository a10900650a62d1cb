//! Registration rules both intakes apply alike — the replica's import and the server's web
//! intake: which email and phone are acceptable, how a kind and a submission time are read. The
//! field limits are the wire's (`switchboard_protocol::limits`), next to the types they bound.

use crate::normalize::{normalize_email, normalize_phone};
use switchboard_protocol::RegistrationKind;

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
