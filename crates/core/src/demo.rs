//! A deterministic generator of realistic registrations as CSV, for demos, tests and benchmarks:
//! names, companies and phone numbers in the national formats of countries on several continents
//! (including multi-zone ones), web metadata, about 5% repeat registrations and a few sloppy rows.

use crate::error::{CoreError, Result};
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::io::Write;

pub mod activity;
mod countries;

use countries::{Country, COUNTRIES};

/// The instant `generate` counts back from, so that its output depends only on the seed.
pub fn default_end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()
}

/// How far back submissions go.
const SPAN_DAYS: i64 = 28;

/// Writes `registrations` rows of CSV (with header) ending at `default_end()`.
pub fn generate(registrations: usize, seed: u64, out: impl Write) -> Result<()> {
    generate_ending(registrations, seed, default_end(), out)
}

/// Writes `registrations` rows of CSV submitted over the four weeks before `end`.
pub fn generate_ending(
    registrations: usize,
    seed: u64,
    end: DateTime<Utc>,
    out: impl Write,
) -> Result<()> {
    let mut writer = csv::WriterBuilder::new().from_writer(out);
    writer.write_record(HEADER).map_err(csv_error)?;
    let mut rng = SplitMix(seed);
    let mut people: Vec<Person> = Vec::new();
    let mut record: Vec<String> = Vec::with_capacity(HEADER.len());
    for n in 0..registrations {
        let roll = rng.below(1000);
        let submitted = end - Duration::seconds(rng.below((SPAN_DAYS * 86_400) as u64) as i64);
        let (person, submitted, kind) = if roll < 50 && !people.is_empty() {
            // The same person again: a third resend the form within minutes, the rest come back.
            let earlier = &people[rng.below(people.len() as u64) as usize];
            let mut again = earlier.clone();
            if roll < 17 {
                let at = earlier.submitted + Duration::seconds(30 + rng.below(240) as i64);
                (again, at.min(end), earlier.kind)
            } else {
                again.sloppy = rng.below(4) == 0;
                (again, submitted, pick(&mut rng, KINDS))
            }
        } else {
            let mut p = Person::new(&mut rng, submitted);
            p.sloppy = roll >= 990;
            (p, submitted, pick(&mut rng, KINDS))
        };
        record.clear();
        // A few form tools send no submission id: those rows dedup by content.
        let id = if rng.below(50) == 0 {
            String::new()
        } else {
            format!("demo-{seed}-{n}")
        };
        let (email, phone) = if person.sloppy {
            (
                format!("  {} ", person.email.to_uppercase()),
                format!(" {} ", person.phone_international),
            )
        } else {
            (person.email.clone(), person.phone_national.clone())
        };
        let pages: Vec<&str> = (0..1 + rng.below(5))
            .map(|_| pick(&mut rng, PAGES))
            .collect();
        record.extend([
            id,
            kind.to_string(),
            pick(&mut rng, PRODUCTS).to_string(),
            submitted.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            person.first.clone(),
            person.last.clone(),
            person.company.clone(),
            email,
            phone,
            person.country_label.clone(),
            person.street.clone(),
            person.city.to_string(),
            person.postal.clone(),
            ip(&mut rng),
            pick(&mut rng, USER_AGENTS).to_string(),
            pick(&mut rng, REFERRERS).to_string(),
            pages.join("|"),
            pick(&mut rng, &["2025-09", "2026-01"]).to_string(),
        ]);
        writer.write_record(&record).map_err(csv_error)?;
        let mut remembered = person;
        remembered.submitted = submitted;
        remembered.kind = kind;
        // Remember a bounded window of people so memory stays flat for millions of rows.
        if people.len() < 4096 {
            people.push(remembered);
        } else {
            let slot = rng.below(people.len() as u64) as usize;
            people[slot] = remembered;
        }
    }
    writer
        .flush()
        .map_err(|e| CoreError::io("writing demo data", e))
}

const HEADER: [&str; 18] = [
    "Submission ID",
    "Type",
    "Product",
    "Submitted At",
    "First Name",
    "Last Name",
    "Company",
    "E-mail",
    "Phone Number",
    "Country",
    "Street",
    "City",
    "Postal Code",
    "IP Address",
    "User Agent",
    "Referrer",
    "Pages Visited",
    "Form Version",
];

fn csv_error(e: csv::Error) -> CoreError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => CoreError::io("writing demo data", io),
        other => CoreError::BadInput(format!("demo data: {other:?}")),
    }
}

/// A small, fast, seedable generator (SplitMix64): the same seed gives the same file.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() >> 32) * n) >> 32
    }

    fn digits(&mut self, count: usize) -> String {
        (0..count)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

fn pick<'a>(rng: &mut SplitMix, items: &[&'a str]) -> &'a str {
    items[rng.below(items.len() as u64) as usize]
}

#[derive(Debug, Clone)]
struct Person {
    first: String,
    last: String,
    company: String,
    email: String,
    phone_national: String,
    phone_international: String,
    country_label: String,
    street: String,
    city: &'static str,
    postal: String,
    submitted: DateTime<Utc>,
    kind: &'static str,
    sloppy: bool,
}

impl Person {
    fn new(rng: &mut SplitMix, submitted: DateTime<Utc>) -> Person {
        let c = &COUNTRIES[rng.below(COUNTRIES.len() as u64) as usize];
        let first = pick(rng, &c.first_names).to_string();
        let last = pick(rng, &c.last_names).to_string();
        let company = match rng.below(3) {
            0 => format!("{} {}", pick(rng, &c.last_names), c.company_suffix),
            _ => format!(
                "{} {} {}",
                pick(rng, COMPANY_WORDS),
                pick(rng, COMPANY_NOUNS),
                c.company_suffix
            ),
        };
        let domain = if rng.below(3) == 0 {
            pick(rng, FREEMAIL).to_string()
        } else {
            format!("{}.{}", ascii_slug(&company, ""), c.tld)
        };
        // Names repeat across a million people; a number keeps their addresses apart, as
        // mailbox providers do, so that repeats come only from the deliberate duplicates.
        let n = rng.below(1_000_000);
        let local = match rng.below(3) {
            0 => format!("{}.{}{n}", ascii_slug(&first, "-"), ascii_slug(&last, "-")),
            1 => format!(
                "{}{}{n}",
                ascii_slug(&first, "").chars().next().unwrap_or('x'),
                ascii_slug(&last, "")
            ),
            _ => format!("{}_{}{n}", ascii_slug(&first, "-"), ascii_slug(&last, "-")),
        };
        let (national, international) = phone(rng, c);
        let country_label = match rng.below(4) {
            0 => c.code.to_string(),
            _ => c.name.to_string(),
        };
        let city_index = rng.below(c.cities.len() as u64) as usize;
        Person {
            first,
            last,
            company,
            email: format!("{local}@{domain}"),
            phone_national: national,
            phone_international: international,
            country_label,
            street: format!("{} {}", pick(rng, &c.streets), 1 + rng.below(180)),
            city: c.cities[city_index],
            postal: rng.digits(c.postal_digits),
            submitted,
            kind: "",
            sloppy: false,
        }
    }
}

/// Lowercase ASCII for email addresses and domains: umlauts spelled out, accents dropped.
fn ascii_slug(text: &str, space: &str) -> String {
    let mut out = String::new();
    for ch in text.to_lowercase().chars() {
        match ch {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            'á' | 'à' | 'â' | 'ã' => out.push('a'),
            'é' | 'è' | 'ê' | 'ë' => out.push('e'),
            'í' | 'ì' | 'î' => out.push('i'),
            'ó' | 'ò' | 'ô' | 'õ' => out.push('o'),
            'ú' | 'ù' | 'û' => out.push('u'),
            'ç' => out.push('c'),
            'ñ' => out.push('n'),
            c if c.is_ascii_alphanumeric() => out.push(c),
            ' ' | '-' => out.push_str(space),
            _ => {}
        }
    }
    out
}

/// A phone number of the country: national format as people type it, and international.
/// Candidates are checked with the same parser the import uses, so every row's number is valid
/// (numbering plans have holes that simple patterns cannot see).
fn phone(rng: &mut SplitMix, c: &Country) -> (String, String) {
    loop {
        let candidate = phone_candidate(rng, c);
        if crate::normalize::normalize_phone(&candidate.1, None).is_ok() {
            return candidate;
        }
    }
}

fn phone_candidate(rng: &mut SplitMix, c: &Country) -> (String, String) {
    let plan = &c.phones[rng.below(c.phones.len() as u64) as usize];
    let prefix = pick(rng, &plan.prefixes);
    let rest = rng.digits(plan.digits);
    // `first` forbids leading digits the numbering plan does not use (US exchanges, for one).
    let rest = match plan.first {
        Some(allowed) => {
            let lead = allowed.as_bytes()[rng.below(allowed.len() as u64) as usize] as char;
            format!("{lead}{}", &rest[1..])
        }
        None => rest,
    };
    let nsn = format!("{prefix}{rest}");
    let national = (plan.national)(prefix, &rest);
    (national, format!("+{} {nsn}", c.calling_code))
}

const COMPANY_WORDS: &[&str] = &[
    "Northwind",
    "Blue",
    "Summit",
    "Bright",
    "Atlas",
    "Green",
    "Pioneer",
    "Silver",
    "Harbor",
    "Quantum",
    "Alpine",
    "Coastal",
];
const COMPANY_NOUNS: &[&str] = &[
    "Systems",
    "Logistics",
    "Foods",
    "Analytics",
    "Engineering",
    "Labs",
    "Media",
    "Partners",
    "Robotics",
    "Health",
    "Energy",
    "Software",
];
const FREEMAIL: &[&str] = &[
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "proton.me",
    "web.de",
    "icloud.com",
];
const KINDS: &[&str] = &[
    "license_key",
    "license_key",
    "info_request",
    "info_request",
    "trial",
    "demo",
    "newsletter",
];
const PRODUCTS: &[&str] = &[
    "Atlas Analytics",
    "Beacon Sync",
    "Cobalt Server",
    "Delta Desktop",
    "Ember Mobile",
];
const PAGES: &[&str] = &[
    "/",
    "/pricing",
    "/features",
    "/download",
    "/docs/getting-started",
    "/blog/release-notes",
    "/contact",
    "/customers",
    "/security",
    "/trial",
];
const REFERRERS: &[&str] = &[
    "",
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://www.linkedin.com/",
    "https://news.ycombinator.com/",
    "https://t.co/",
    "https://partner.example.net/resources",
];
const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
];

/// A public-looking address: IPv4 outside private and reserved ranges, sometimes IPv6.
fn ip(rng: &mut SplitMix) -> String {
    if rng.below(8) == 0 {
        return format!(
            "2001:db8:{:x}:{:x}::{:x}",
            rng.below(0x10000),
            rng.below(0x10000),
            1 + rng.below(0xfffe)
        );
    }
    loop {
        let a = 1 + rng.below(223);
        if matches!(a, 10 | 100 | 127 | 169 | 172 | 192 | 198) {
            continue;
        }
        return format!(
            "{a}.{}.{}.{}",
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        );
    }
}

#[cfg(test)]
mod tests;
