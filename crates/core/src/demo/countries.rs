//! The countries the demo generator draws people from: names, places and the numbering plans
//! their phone numbers follow, written the way people there type them. The table is data
//! (`countries.json`, a `note` key in it is a comment); this module reads it and holds the ways
//! numbers are written, which the table names.

use serde::Deserialize;
use std::sync::LazyLock;

/// Writes a number nationally from its prefix and the digits after it.
pub(super) type Written = fn(&str, &str) -> String;

/// One kind of number in a country: its prefixes, how many digits follow, and how people write it.
#[derive(Deserialize)]
pub(super) struct PhonePlan {
    #[serde(borrow)]
    pub(super) prefixes: Vec<&'static str>,
    pub(super) digits: usize,
    /// The digits the part after the prefix may start with (none: any).
    pub(super) first: Option<&'static str>,
    #[serde(deserialize_with = "written")]
    pub(super) national: Written,
}

/// A country people in the demo come from.
#[derive(Deserialize)]
pub(super) struct Country {
    pub(super) code: &'static str,
    pub(super) name: &'static str,
    pub(super) calling_code: u16,
    pub(super) tld: &'static str,
    pub(super) company_suffix: &'static str,
    #[serde(borrow)]
    pub(super) first_names: Vec<&'static str>,
    #[serde(borrow)]
    pub(super) last_names: Vec<&'static str>,
    #[serde(borrow)]
    pub(super) cities: Vec<&'static str>,
    #[serde(borrow)]
    pub(super) streets: Vec<&'static str>,
    pub(super) postal_digits: usize,
    pub(super) phones: Vec<PhonePlan>,
}

/// Countries on several continents, including multi-zone ones.
pub(super) static COUNTRIES: LazyLock<Vec<Country>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("countries.json"))
        .unwrap_or_else(|e| panic!("demo/countries.json does not read: {e}"))
});

/// How a number is written nationally, by the name the table gives it.
fn written<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Written, D::Error> {
    let name = <&str>::deserialize(deserializer)?;
    Ok(match name {
        "nanp" => nanp,
        "trunk_space" => trunk_space,
        "uk_london" => uk_london,
        "uk_mobile" => uk_mobile,
        "pairs" => pairs,
        "plain_groups" => plain_groups,
        "au" => au,
        "br" => br,
        "ru" => ru,
        "jp" => jp,
        "in_mobile" => in_mobile,
        "za" => za,
        "sg" => sg,
        other => {
            return Err(serde::de::Error::custom(format!(
                "no way of writing numbers named '{other}'"
            )))
        }
    })
}

fn nanp(area: &str, rest: &str) -> String {
    format!("({area}) {}-{}", &rest[..3], &rest[3..])
}
fn trunk_space(prefix: &str, rest: &str) -> String {
    format!("0{prefix} {rest}")
}
fn uk_london(prefix: &str, rest: &str) -> String {
    format!("0{prefix} {} {}", &rest[..4], &rest[4..])
}
fn uk_mobile(prefix: &str, rest: &str) -> String {
    format!("0{prefix}{} {}", &rest[..2], &rest[2..])
}
fn pairs(prefix: &str, rest: &str) -> String {
    let digits = format!("{prefix}{rest}");
    let mut out = format!("0{}", &digits[..1]);
    for chunk in digits.as_bytes()[1..].chunks(2) {
        out.push(' ');
        out.push_str(std::str::from_utf8(chunk).expect("digits are ASCII"));
    }
    out
}
fn plain_groups(prefix: &str, rest: &str) -> String {
    format!("{prefix} {} {}", &rest[..3], &rest[3..])
}
fn au(prefix: &str, rest: &str) -> String {
    format!("0{prefix} {} {}", &rest[..4], &rest[4..])
}
fn br(prefix: &str, rest: &str) -> String {
    format!("({prefix}) {}-{}", &rest[..5], &rest[5..])
}
fn ru(prefix: &str, rest: &str) -> String {
    format!("8 ({prefix}) {}-{}-{}", &rest[..3], &rest[3..5], &rest[5..])
}
fn jp(prefix: &str, rest: &str) -> String {
    let split = rest.len() / 2;
    format!("0{prefix}-{}-{}", &rest[..split], &rest[split..])
}
fn in_mobile(prefix: &str, rest: &str) -> String {
    format!("0{prefix}{} {}", &rest[..4], &rest[4..])
}
fn za(prefix: &str, rest: &str) -> String {
    format!("0{prefix} {} {}", &rest[..3], &rest[3..])
}
fn sg(prefix: &str, rest: &str) -> String {
    format!("{prefix}{} {}", &rest[..3], &rest[3..])
}
