//! Whether a parsed phone number is valid, decided by libphonenumber's metadata exactly as
//! `phonenumber::is_valid` decides it, but with patterns each thread compiles for itself.
//!
//! Why not `phonenumber::is_valid`: every pattern use there locks one process-wide regex cache,
//! hashes the pattern text to find the compiled expression, and runs an unanchored `find` (a
//! forward and a reverse lazy DFA) while holding the lock. That was two thirds of an import's
//! normalisation time, and it serialises threads. Here each region's patterns are compiled once
//! per thread, anchored at the start (the crate accepts a match only when it starts at 0, which
//! an anchored search decides without the reverse pass), and looked up by the metadata's address.

use phonenumber::country::Id;
use phonenumber::metadata::{Descriptor, Metadata, DATABASE};
use phonenumber::PhoneNumber;
use regex::{Regex, RegexBuilder};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// One descriptor: its pattern anchored at the start, and the national lengths it allows.
struct Pattern {
    regex: Regex,
    lengths: Vec<u16>,
}

impl Pattern {
    fn new(descriptor: &Descriptor) -> Option<Pattern> {
        Some(Pattern {
            regex: anchored(descriptor.national_number().as_str())?,
            lengths: descriptor.possible_length().to_vec(),
        })
    }

    /// `Descriptor::is_match`: a possible length (when listed) and a match starting at 0.
    fn matches(&self, national: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16)))
            && self.regex.is_match(national)
    }
}

/// A region's compiled patterns.
struct Rules {
    general: Pattern,
    /// Every number type `phonenumber::validator::number_type` tries; any match is valid.
    types: Vec<Pattern>,
    leading_digits: Option<Regex>,
}

impl Rules {
    fn new(meta: &Metadata) -> Option<Rules> {
        let d = meta.descriptors();
        let mut types = Vec::new();
        for descriptor in [
            d.premium_rate(),
            d.toll_free(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
            d.fixed_line(),
            d.mobile(),
        ]
        .into_iter()
        .flatten()
        {
            types.push(Pattern::new(descriptor)?);
        }
        let leading_digits = match meta.leading_digits() {
            Some(pattern) => Some(anchored(pattern.as_str())?),
            None => None,
        };
        Some(Rules {
            general: Pattern::new(d.general())?,
            types,
            leading_digits,
        })
    }

    /// `number_type(meta, national) != Type::Unknown`.
    fn is_valid(&self, national: &str) -> bool {
        self.general.matches(national) && self.types.iter().any(|t| t.matches(national))
    }
}

/// Compiles `^(?:pattern)` with the options the crate's metadata loader uses (whitespace in
/// patterns is layout) and its cache's limits. The group closes on a line of its own so that a
/// `#` in a pattern cannot comment it out.
fn anchored(pattern: &str) -> Option<Regex> {
    RegexBuilder::new(&format!("^(?:{pattern}\n)"))
        .ignore_whitespace(true)
        .size_limit(10 * (1 << 20))
        .dfa_size_limit(2 * (1 << 20))
        .build()
        .ok()
}

thread_local! {
    /// Compiled rules by the address of their (static) metadata; None where a pattern did not
    /// compile, so the crate's own validator decides.
    static RULES: RefCell<HashMap<usize, Option<Rc<Rules>>>> = RefCell::new(HashMap::new());
}

fn rules(meta: &Metadata) -> Option<Rc<Rules>> {
    let key = meta as *const Metadata as usize;
    RULES.with(|cell| {
        cell.borrow_mut()
            .entry(key)
            .or_insert_with(|| Rules::new(meta).map(Rc::new))
            .clone()
    })
}

/// Whether the number is valid; the same answer as `phonenumber::is_valid`.
pub fn is_valid(number: &PhoneNumber) -> bool {
    let code = number.code().value();
    let national = number.national().to_string();
    match source(code, &national) {
        Source::Region(meta) => match rules(meta) {
            Some(r) => r.is_valid(&national),
            None => phonenumber::is_valid(number),
        },
        Source::None => false,
        Source::Fallback => phonenumber::is_valid(number),
    }
}

enum Source {
    Region(&'static Metadata),
    None,
    /// A pattern this module could not compile: let the crate decide.
    Fallback,
}

/// `phonenumber::validator::source_for` followed by the metadata lookup `is_valid_with` does.
fn source(code: u16, national: &str) -> Source {
    let db: &'static phonenumber::metadata::Database = &DATABASE;
    let Some(regions) = db.region(&code) else {
        return Source::None;
    };
    let by_region = |region: &str| {
        region
            .parse::<Id>()
            .ok()
            .and_then(|id| db.by_id(id.as_ref()))
    };
    if regions.len() == 1 {
        let meta = if regions[0] == "001" {
            db.by_code(&code).and_then(|m| m.into_iter().next())
        } else {
            by_region(regions[0])
        };
        return meta.map_or(Source::None, Source::Region);
    }
    for region in regions {
        let Some(meta) = db.by_id(region) else {
            return Source::None;
        };
        let Some(r) = rules(meta) else {
            return Source::Fallback;
        };
        let chosen = match &r.leading_digits {
            Some(leading) => leading.is_match(national),
            None => r.is_valid(national),
        };
        if chosen {
            return by_region(region).map_or(Source::None, Source::Region);
        }
    }
    Source::None
}

/// E.164 text of a parsed number: what `format().mode(Mode::E164)` writes, without the
/// national-format pattern search the formatter does first even for E.164.
pub fn e164(number: &PhoneNumber) -> String {
    format!("+{}{}", number.code().value(), number.national())
}

#[cfg(test)]
mod tests {
    use super::*;
    use phonenumber::Mode;
    use proptest::prelude::*;

    fn agree(region: Option<Id>, text: &str) {
        if let Ok(n) = phonenumber::parse(region, text) {
            assert_eq!(
                is_valid(&n),
                phonenumber::is_valid(&n),
                "{text} in {region:?}"
            );
            if phonenumber::is_valid(&n) {
                assert_eq!(e164(&n), n.format().mode(Mode::E164).to_string());
            }
        }
    }

    #[test]
    fn agrees_with_the_crate_on_shared_country_codes_and_non_geographic_numbers() {
        for text in [
            "+1 6502530000",
            "+1 416 555 0123",
            "+1 2530000",
            "+1 8765550123",
            "+44 7912345678",
            "+44 1534 456789",
            "+44 7624 123456",
            "+7 7012345678",
            "+7 4951234567",
            "+39 0236618300",
            "+39 312 345 6789",
            "+800 12345678",
            "+979 123456789",
            "+64 21387835",
            "+61 2 9374 4000",
            "+47 22 12 34 56",
            "+590 690 12 34 56",
            "+262 692 12 34 56",
            "+599 9 123 4567",
            "+358 18 123456",
            "+212 650 123456",
            "+999 1234",
        ] {
            agree(None, text);
        }
        for (region, text) in [
            ("DE", "030 1234567"),
            ("DE", "12"),
            ("US", "(415) 555-2671"),
            ("GB", "020 7946 0958"),
            ("FR", "01 23 45 67 89"),
            ("IT", "02 3661 8300"),
            ("BR", "(11) 91234-5678"),
            ("JP", "03-1234-5678"),
            ("IN", "098765 43210"),
            ("CA", "416 555 0123"),
            ("AU", "0412 345 678"),
        ] {
            agree(region.parse().ok(), text);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn agrees_with_the_crate_on_random_digits(
            region in prop::sample::select(vec![
                "DE", "US", "CA", "GB", "JE", "FR", "IT", "AU", "BR", "JP", "IN", "RU", "KZ",
                "ES", "NL", "MX", "ZA", "SG", "NO", "SJ",
            ]),
            digits in "0?[0-9]{3,12}",
            international in any::<bool>(),
            code in prop::sample::select(vec!["1", "7", "44", "33", "39", "47", "61", "800", "262"]),
        ) {
            if international {
                agree(None, &format!("+{code}{digits}"));
            } else {
                agree(region.parse().ok(), &digits);
            }
        }
    }
}
