//! Countries: ISO 3166-1 alpha-2 codes from whatever people type (codes, alpha-3, English and
//! local names, common aliases), and the IANA time zones of each country.
//!
//! The facts live in `data/countries.tsv` (from iso-codes and tzdb's `zone.tab`), one country per
//! line: alpha-2, alpha-3, zones separated by spaces, names separated by `|`.

use chrono_tz::Tz;
use std::collections::HashMap;
use std::sync::OnceLock;

const DATA: &str = include_str!("../../data/countries.tsv");

struct Country {
    code: &'static str,
    zones: Vec<Tz>,
}

struct Table {
    countries: Vec<Country>,
    /// Folded code, alpha-3 or name → index into `countries`.
    by_key: HashMap<String, usize>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut countries = Vec::new();
        let mut by_key = HashMap::new();
        for line in DATA
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let mut cols = line.split('\t');
            let (Some(code), Some(alpha3), Some(zones), Some(names)) =
                (cols.next(), cols.next(), cols.next(), cols.next())
            else {
                panic!("malformed line in countries.tsv: {line}");
            };
            let zones = zones
                .split_whitespace()
                .map(|z| {
                    z.parse::<Tz>()
                        .unwrap_or_else(|_| panic!("unknown zone {z} in countries.tsv"))
                })
                .collect();
            let index = countries.len();
            countries.push(Country { code, zones });
            // Codes first: a name must never shadow a code.
            by_key.insert(fold(code), index);
            by_key.insert(fold(alpha3), index);
            for name in names.split('|') {
                by_key.entry(fold(name)).or_insert(index);
            }
        }
        Table { countries, by_key }
    })
}

/// Folds a spelling for lookup: case, dots, surrounding space, runs of space and a leading
/// "the" do not matter ("U.S.A." = "usa", "the Netherlands" = "Netherlands").
fn fold(text: &str) -> String {
    let lower = text
        .trim()
        .to_lowercase()
        .replace(['.', '’'], "")
        .replace('&', "and");
    let words: Vec<&str> = lower.split_whitespace().collect();
    let words = match words.first() {
        Some(&"the") if words.len() > 1 => &words[1..],
        _ => &words[..],
    };
    words.join(" ")
}

fn lookup(input: &str) -> Option<&'static Country> {
    let t = table();
    t.by_key.get(&fold(input)).map(|&i| &t.countries[i])
}

/// The ISO 3166-1 alpha-2 code for a country code, alpha-3 code, name or common alias.
pub fn normalize_country(input: &str) -> Option<&'static str> {
    lookup(input).map(|c| c.code)
}

/// Every IANA time zone of a country (empty for an unknown code or an uninhabited territory).
pub fn zones_for_country(cc: &str) -> &'static [Tz] {
    lookup(cc).map(|c| c.zones.as_slice()).unwrap_or(&[])
}

/// The country's time zone when it has exactly one.
pub fn single_zone(cc: &str) -> Option<Tz> {
    match zones_for_country(cc) {
        [only] => Some(*only),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_names_and_aliases_give_alpha2() {
        for (input, expected) in [
            ("DE", "DE"),
            ("de", "DE"),
            (" DEU ", "DE"),
            ("Germany", "DE"),
            ("Deutschland", "DE"),
            ("UK", "GB"),
            ("United Kingdom", "GB"),
            ("GBR", "GB"),
            ("United States", "US"),
            ("USA", "US"),
            ("U.S.A.", "US"),
            ("united states of america", "US"),
            ("the Netherlands", "NL"),
            ("South Korea", "KR"),
            ("Brasil", "BR"),
            ("Russia", "RU"),
            ("Côte d'Ivoire", "CI"),
            ("Österreich", "AT"),
        ] {
            assert_eq!(normalize_country(input), Some(expected), "{input}");
        }
    }

    #[test]
    fn unknown_spellings_are_none() {
        for input in ["", "  ", "Atlantis", "ZZ", "XYZ"] {
            assert_eq!(normalize_country(input), None, "{input:?}");
        }
    }

    #[test]
    fn multi_zone_countries_list_every_zone() {
        let us = zones_for_country("US");
        assert!(us.contains(&chrono_tz::America::New_York));
        assert!(us.contains(&chrono_tz::Pacific::Honolulu));
        assert!(us.len() > 20);
        for cc in ["CA", "AU", "BR", "RU", "MX"] {
            assert!(zones_for_country(cc).len() > 1, "{cc}");
            assert_eq!(single_zone(cc), None, "{cc}");
        }
        assert!(zones_for_country("DE").contains(&chrono_tz::Europe::Berlin));
    }

    #[test]
    fn single_zone_countries_have_their_zone() {
        assert_eq!(single_zone("FR"), Some(chrono_tz::Europe::Paris));
        assert_eq!(single_zone("JP"), Some(chrono_tz::Asia::Tokyo));
        assert_eq!(single_zone("GB"), Some(chrono_tz::Europe::London));
        assert_eq!(single_zone("IN"), Some(chrono_tz::Asia::Kolkata));
        assert_eq!(single_zone("XX"), None);
    }

    #[test]
    fn every_listed_country_has_a_zone_except_uninhabited_ones() {
        let t = table();
        assert!(t.countries.len() >= 249);
        let without: Vec<_> = t
            .countries
            .iter()
            .filter(|c| c.zones.is_empty())
            .map(|c| c.code)
            .collect();
        assert_eq!(without, ["BV", "HM"]);
    }

    #[test]
    fn no_name_is_claimed_by_two_countries() {
        let mut seen: HashMap<String, &str> = HashMap::new();
        for line in DATA.lines().filter(|l| !l.starts_with('#')) {
            let cols: Vec<&str> = line.split('\t').collect();
            for name in cols[3].split('|') {
                if let Some(other) = seen.insert(fold(name), cols[0]) {
                    assert_eq!(other, cols[0], "{name} names two countries");
                }
            }
        }
    }
}
