//! Dates and times typed on the command line: RFC 3339, or a plain date meaning local midnight.

use chrono::{DateTime, Local, LocalResult, NaiveDate, TimeZone, Utc};

/// Parses RFC 3339 or YYYY-MM-DD (local midnight, converted to UTC).
pub fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        format!("'{text}' is not a date: use YYYY-MM-DD or RFC 3339 like 2026-03-02T14:30:00Z")
    })?;
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    match Local.from_local_datetime(&midnight) {
        LocalResult::Single(at) => Ok(at.with_timezone(&Utc)),
        // A daylight-saving jump at midnight: take the earlier instant.
        LocalResult::Ambiguous(at, _) => Ok(at.with_timezone(&Utc)),
        LocalResult::None => Err(format!(
            "local midnight of {text} does not exist in this time zone; give an RFC 3339 time"
        )),
    }
}

/// A clap value parser for instants.
pub fn instant_arg(text: &str) -> Result<DateTime<Utc>, String> {
    parse_instant(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_keeps_its_offset() {
        let at = parse_instant("2026-03-02T15:30:00+01:00").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-03-02T14:30:00+00:00");
    }

    #[test]
    fn a_plain_date_is_local_midnight() {
        let at = parse_instant("2026-03-02").unwrap();
        let local = at.with_timezone(&Local);
        assert_eq!(
            local.format("%Y-%m-%d %H:%M").to_string(),
            "2026-03-02 00:00"
        );
    }

    #[test]
    fn garbage_says_what_is_expected() {
        let err = parse_instant("next tuesday").unwrap_err();
        assert!(err.contains("YYYY-MM-DD"), "{err}");
        assert!(parse_instant("2026-02-30").is_err());
    }
}
