//! The time codec of stored and sent instants: RFC 3339, UTC, millisecond precision. Replicas
//! and the server write and read times with this one pair, so a time reads back as written.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

/// Formats an instant the way stores keep it: RFC 3339, UTC, millisecond precision.
pub fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads a stored instant; absent or unreadable text is `None`.
pub fn parse_time(text: Option<String>) -> Option<DateTime<Utc>> {
    text.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Reads an instant as people and tools write it (forms, CSV exports, command lines): RFC 3339,
/// `YYYY-MM-DD HH:MM[:SS[.f]]` with an optional offset, `Z` or ` UTC`, or a bare `YYYY-MM-DD`;
/// times without an offset are UTC.
pub fn parse_loose(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Some(at.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f %z",
    ] {
        if let Ok(at) = DateTime::parse_from_str(t, format) {
            return Some(at.with_timezone(&Utc));
        }
    }
    let t = t
        .strip_suffix(" UTC")
        .or_else(|| t.strip_suffix('Z'))
        .unwrap_or(t);
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(at) = NaiveDateTime::parse_from_str(t, format) {
            return Some(at.and_utc());
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_time_reads_back_as_written() {
        let at =
            Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + chrono::Duration::milliseconds(7);
        assert_eq!(time_text(at), "2026-03-02T09:00:00.007Z");
        assert_eq!(parse_time(Some(time_text(at))), Some(at));
        assert_eq!(parse_time(Some("yesterday".into())), None);
        assert_eq!(parse_time(None), None);
    }
}
