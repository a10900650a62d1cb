//! Phone numbers: parsed with the libphonenumber port `phonenumber`, validated against its
//! metadata and written in E.164 (`+4930123456`).

use super::country::normalize_country;
use phonenumber::country::Id;
use std::fmt;

/// Why a phone number was refused, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPhone {
    pub reason: String,
}

impl fmt::Display for InvalidPhone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid phone number: {}", self.reason)
    }
}

impl std::error::Error for InvalidPhone {}

fn invalid(reason: impl Into<String>) -> InvalidPhone {
    InvalidPhone {
        reason: reason.into(),
    }
}

/// Longer input is not a phone number; refusing early keeps the parser's work bounded.
const MAX_INPUT: usize = 64;

/// Compiled patterns the parser keeps. The crate's default (100) is smaller than the patterns of
/// a dozen countries, so a mixed import recompiled regular expressions on nearly every number
/// (about 3 ms each); a few thousand cover every country at a few tens of MB at most.
const PATTERN_CACHE: usize = 3_000;

fn enlarge_pattern_cache() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let cache = phonenumber::metadata::DATABASE.cache();
        let mut guard = cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *guard = regex_cache::RegexCache::new(PATTERN_CACHE);
    });
}

/// Parses a phone number as typed, in national format of `default_region` (a country code or
/// name, normally the registration's country) or in international format, and returns E.164.
pub fn normalize_phone(raw: &str, default_region: Option<&str>) -> Result<String, InvalidPhone> {
    enlarge_pattern_cache();
    let text = raw.trim();
    if text.is_empty() {
        return Err(invalid("it is empty"));
    }
    if text.len() > MAX_INPUT {
        return Err(invalid(format!("it is longer than {MAX_INPUT} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid("it contains control characters"));
    }
    if !text.chars().any(|c| c.is_ascii_digit()) {
        return Err(invalid("it has no digits"));
    }
    // An unknown country must not stop an international number from being read.
    let region = default_region
        .and_then(normalize_country)
        .and_then(|cc| cc.parse::<Id>().ok());
    let international = text.starts_with('+');
    if region.is_none() && !international {
        return Err(invalid(
            "no country code (+…) and no known country to read it in",
        ));
    }
    let number = phonenumber::parse(region, text).map_err(|e| invalid(e.to_string()))?;
    if !super::phone_rules::is_valid(&number) {
        let whose = match (international, region) {
            (false, Some(id)) => format!(" for {}", id.as_ref()),
            _ => String::new(),
        };
        return Err(invalid(format!("not a valid number{whose}")));
    }
    Ok(super::phone_rules::e164(&number))
}

/// The E.164 digits (no `+`) that the start of a number written in `region`'s national format
/// stands for: the trunk prefix (`0` in Germany) replaced by the country calling code, so that
/// "030 1234" typed in a German office reads as `49301234`. None where the digits do not begin
/// with the region's trunk prefix, or the region is unknown or has none.
pub fn international_digits(national_digits: &str, region: &str) -> Option<String> {
    let id = normalize_country(region)?;
    let meta = phonenumber::metadata::DATABASE.by_id(id)?;
    let rest = national_digits.strip_prefix(meta.national_prefix()?)?;
    (!rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()))
        .then(|| format!("{}{rest}", meta.country_code()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use phonenumber::Mode;
    use proptest::prelude::*;

    #[test]
    fn national_formats_use_the_region() {
        assert_eq!(
            normalize_phone("030 1234567", Some("DE")).unwrap(),
            "+49301234567"
        );
        assert_eq!(
            normalize_phone("(415) 555-2671", Some("US")).unwrap(),
            "+14155552671"
        );
        assert_eq!(
            normalize_phone("020 7946 0958", Some("United Kingdom")).unwrap(),
            "+442079460958"
        );
        assert_eq!(
            normalize_phone("0049 30 1234567", Some("DE")).unwrap(),
            "+49301234567"
        );
    }

    #[test]
    fn international_formats_ignore_the_region() {
        for region in [None, Some("FR"), Some("Atlantis")] {
            assert_eq!(
                normalize_phone("+49 30 1234567", region).unwrap(),
                "+49301234567"
            );
        }
    }

    #[test]
    fn national_digits_with_a_trunk_prefix_become_international() {
        assert_eq!(
            international_digits("0301234", "DE").as_deref(),
            Some("49301234")
        );
        assert_eq!(
            international_digits("02079", "United Kingdom").as_deref(),
            Some("442079")
        );
        assert_eq!(international_digits("301234", "DE"), None);
        assert_eq!(international_digits("0", "DE"), None);
        assert_eq!(international_digits("0301234", "Atlantis"), None);
    }

    #[test]
    fn refuses_with_a_reason() {
        let reason = |raw: &str, region| normalize_phone(raw, region).unwrap_err().reason;
        assert_eq!(reason("", Some("DE")), "it is empty");
        assert_eq!(reason("call me", Some("DE")), "it has no digits");
        assert_eq!(
            reason("030 1234567", None),
            "no country code (+…) and no known country to read it in"
        );
        assert_eq!(reason("12", Some("DE")), "not a valid number for DE");
        assert_eq!(reason("+1 555 000", None), "not a valid number");
        assert_eq!(reason("1234", Some("US")), "not a valid number for US");
        assert!(reason(&"1".repeat(70), Some("US")).contains("longer"));
        assert!(reason("030\u{0}1234567", Some("DE")).contains("control"));
    }

    fn valid_number() -> impl Strategy<Value = (String, String)> {
        let regions = prop::sample::select(vec!["DE", "US", "GB", "FR", "AU", "BR", "JP", "IN"]);
        (regions, "[1-9][0-9]{6,10}").prop_filter_map("not valid", |(region, digits)| {
            let id = region.parse::<Id>().ok()?;
            let n = phonenumber::parse(Some(id), &digits).ok()?;
            n.is_valid().then(|| (region.to_string(), digits))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, max_global_rejects: 100_000, ..ProptestConfig::default() })]

        #[test]
        fn normalising_is_idempotent((region, digits) in valid_number()) {
            let once = normalize_phone(&digits, Some(&region)).unwrap();
            prop_assert_eq!(normalize_phone(&once, Some(&region)).unwrap(), once.clone());
            prop_assert_eq!(normalize_phone(&once, None).unwrap(), once);
        }

        #[test]
        fn national_and_international_formats_agree((region, digits) in valid_number()) {
            let e164 = normalize_phone(&digits, Some(&region)).unwrap();
            let n = phonenumber::parse(None, &e164).unwrap();
            let national = n.format().mode(Mode::National).to_string();
            let international = n.format().mode(Mode::International).to_string();
            prop_assert_eq!(normalize_phone(&national, Some(&region)).unwrap(), e164.clone());
            prop_assert_eq!(normalize_phone(&international, None).unwrap(), e164.clone());
            prop_assert_eq!(normalize_phone(&international, Some("JP")).unwrap(), e164);
        }

        #[test]
        fn surrounding_space_does_not_matter(
            (region, digits) in valid_number(), left in "[ \t]{0,3}", right in "[ \t\r\n]{0,3}"
        ) {
            let plain = normalize_phone(&digits, Some(&region)).unwrap();
            let region_lower = region.to_lowercase();
            let noisy = format!("{left}{digits}{right}");
            prop_assert_eq!(normalize_phone(&noisy, Some(&region_lower)).unwrap(), plain);
        }

        #[test]
        fn never_panics(input in "\\PC{0,40}", region in prop::option::of("[A-Z]{2}")) {
            let _ = normalize_phone(&input, region.as_deref());
        }
    }
}
