//! A deterministic generator of realistic registrations as CSV, for demos, tests and benchmarks:
//! names, companies and phone numbers in the national formats of countries on several continents
//! (including multi-zone ones), web metadata, about 5% repeat registrations and a few sloppy rows.

use crate::error::{CoreError, Result};
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::io::Write;

pub mod activity;

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
        let first = pick(rng, c.first_names).to_string();
        let last = pick(rng, c.last_names).to_string();
        let company = match rng.below(3) {
            0 => format!("{} {}", pick(rng, c.last_names), c.company_suffix),
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
            street: format!("{} {}", pick(rng, c.streets), 1 + rng.below(180)),
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
    let prefix = pick(rng, plan.prefixes);
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

struct PhonePlan {
    prefixes: &'static [&'static str],
    digits: usize,
    first: Option<&'static str>,
    national: fn(&str, &str) -> String,
}

struct Country {
    code: &'static str,
    name: &'static str,
    calling_code: u16,
    tld: &'static str,
    company_suffix: &'static str,
    first_names: &'static [&'static str],
    last_names: &'static [&'static str],
    cities: &'static [&'static str],
    streets: &'static [&'static str],
    postal_digits: usize,
    phones: &'static [PhonePlan],
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

const COUNTRIES: &[Country] = &[
    Country {
        code: "US",
        name: "United States",
        calling_code: 1,
        tld: "com",
        company_suffix: "Inc.",
        first_names: &[
            "James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "David", "Linda",
            "Chris", "Jessica", "Daniel", "Ashley",
        ],
        last_names: &[
            "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
            "Wilson", "Anderson", "Taylor", "Moore",
        ],
        cities: &[
            "New York",
            "Chicago",
            "Denver",
            "Seattle",
            "Austin",
            "Phoenix",
            "Boston",
            "Honolulu",
            "Anchorage",
        ],
        streets: &["Main St", "Oak Ave", "Maple Dr", "Market St", "Elm St"],
        postal_digits: 5,
        phones: &[PhonePlan {
            prefixes: &[
                "212", "415", "312", "617", "206", "512", "303", "602", "808", "907", "305", "404",
            ],
            digits: 7,
            first: Some("23456789"),
            national: nanp,
        }],
    },
    Country {
        code: "CA",
        name: "Canada",
        calling_code: 1,
        tld: "ca",
        company_suffix: "Ltd.",
        first_names: &[
            "Liam", "Olivia", "Noah", "Emma", "Étienne", "Chloé", "Ethan", "Ava",
        ],
        last_names: &[
            "Tremblay",
            "Martin",
            "Roy",
            "Wilson",
            "MacDonald",
            "Gagnon",
            "Campbell",
            "Lee",
        ],
        cities: &[
            "Toronto",
            "Vancouver",
            "Montréal",
            "Calgary",
            "Halifax",
            "Winnipeg",
        ],
        streets: &[
            "King St W",
            "Rue Sainte-Catherine",
            "Granville St",
            "Yonge St",
        ],
        postal_digits: 0,
        phones: &[PhonePlan {
            prefixes: &["416", "604", "514", "403", "902", "204", "613"],
            digits: 7,
            first: Some("23456789"),
            national: nanp,
        }],
    },
    Country {
        code: "GB",
        name: "United Kingdom",
        calling_code: 44,
        tld: "co.uk",
        company_suffix: "Ltd",
        first_names: &[
            "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Jack", "Emily",
        ],
        last_names: &[
            "Smith", "Jones", "Taylor", "Brown", "Evans", "Wright", "Walker", "Hughes",
        ],
        cities: &["London", "Manchester", "Leeds", "Bristol", "Glasgow"],
        streets: &[
            "High Street",
            "Station Road",
            "Church Lane",
            "Victoria Road",
        ],
        postal_digits: 0,
        phones: &[
            PhonePlan {
                prefixes: &["20"],
                digits: 8,
                first: Some("378"),
                national: uk_london,
            },
            PhonePlan {
                prefixes: &["7"],
                digits: 9,
                first: Some("45789"),
                national: uk_mobile,
            },
        ],
    },
    Country {
        code: "DE",
        name: "Germany",
        calling_code: 49,
        tld: "de",
        company_suffix: "GmbH",
        first_names: &[
            "Lukas",
            "Anna",
            "Jürgen",
            "Sophie",
            "Maximilian",
            "Marie",
            "Felix",
            "Lena",
            "Jörg",
            "Katrin",
        ],
        last_names: &[
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Meyer",
            "Wagner",
            "Becker",
            "Hoffmann",
            "Schäfer",
        ],
        cities: &[
            "Berlin",
            "München",
            "Hamburg",
            "Köln",
            "Frankfurt am Main",
            "Stuttgart",
        ],
        streets: &[
            "Hauptstraße",
            "Bahnhofstraße",
            "Gartenweg",
            "Schillerstraße",
        ],
        postal_digits: 5,
        phones: &[
            PhonePlan {
                prefixes: &["30", "40", "89", "221", "69"],
                digits: 7,
                first: Some("23456789"),
                national: trunk_space,
            },
            PhonePlan {
                prefixes: &["151", "160", "170", "171", "176"],
                digits: 8,
                first: None,
                national: trunk_space,
            },
        ],
    },
    Country {
        code: "FR",
        name: "France",
        calling_code: 33,
        tld: "fr",
        company_suffix: "SAS",
        first_names: &[
            "Gabriel", "Louise", "Léo", "Jade", "Raphaël", "Emma", "Hélène", "Théo",
        ],
        last_names: &[
            "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Lefèvre",
        ],
        cities: &["Paris", "Lyon", "Marseille", "Toulouse", "Bordeaux"],
        streets: &["Rue de la Paix", "Avenue Victor Hugo", "Boulevard Voltaire"],
        postal_digits: 5,
        phones: &[
            PhonePlan {
                prefixes: &["1", "4"],
                digits: 8,
                first: Some("123456789"),
                national: pairs,
            },
            // 069x and 0690/0691 belong to the overseas departments (other country codes).
            PhonePlan {
                prefixes: &["6"],
                digits: 8,
                first: Some("1245"),
                national: pairs,
            },
        ],
    },
    Country {
        code: "ES",
        name: "Spain",
        calling_code: 34,
        tld: "es",
        company_suffix: "S.L.",
        first_names: &[
            "Hugo", "Lucía", "Martín", "Sofía", "Pablo", "Carmen", "Álvaro",
        ],
        last_names: &[
            "García",
            "Fernández",
            "González",
            "Rodríguez",
            "López",
            "Martínez",
            "Sánchez",
        ],
        cities: &["Madrid", "Barcelona", "Valencia", "Sevilla"],
        streets: &["Calle Mayor", "Gran Vía", "Calle de Alcalá"],
        postal_digits: 5,
        phones: &[
            PhonePlan {
                prefixes: &["91", "93"],
                digits: 7,
                first: Some("2345"),
                national: plain_groups,
            },
            PhonePlan {
                prefixes: &["6"],
                digits: 8,
                first: Some("0123456789"),
                national: plain_groups,
            },
        ],
    },
    Country {
        code: "AU",
        name: "Australia",
        calling_code: 61,
        tld: "com.au",
        company_suffix: "Pty Ltd",
        first_names: &[
            "Jack",
            "Charlotte",
            "William",
            "Mia",
            "Thomas",
            "Grace",
            "Lachlan",
        ],
        last_names: &[
            "Smith", "Nguyen", "Kelly", "Murphy", "Ryan", "Walsh", "Mitchell",
        ],
        cities: &[
            "Sydney",
            "Melbourne",
            "Brisbane",
            "Perth",
            "Adelaide",
            "Darwin",
        ],
        streets: &["George St", "Collins St", "Queen St", "Hay St"],
        postal_digits: 4,
        phones: &[
            PhonePlan {
                prefixes: &["2", "3", "8"],
                digits: 8,
                first: Some("9"),
                national: au,
            },
            PhonePlan {
                prefixes: &["4"],
                digits: 8,
                first: Some("0123"),
                national: au,
            },
        ],
    },
    Country {
        code: "BR",
        name: "Brazil",
        calling_code: 55,
        tld: "com.br",
        company_suffix: "Ltda.",
        first_names: &[
            "João", "Maria", "Pedro", "Ana", "Lucas", "Juliana", "Gabriel", "Beatriz",
        ],
        last_names: &[
            "Silva",
            "Santos",
            "Oliveira",
            "Souza",
            "Rodrigues",
            "Ferreira",
            "Alves",
            "Pereira",
        ],
        cities: &[
            "São Paulo",
            "Rio de Janeiro",
            "Belo Horizonte",
            "Manaus",
            "Recife",
            "Porto Alegre",
        ],
        streets: &["Rua Augusta", "Avenida Paulista", "Rua das Flores"],
        postal_digits: 8,
        phones: &[PhonePlan {
            prefixes: &["11", "21", "31", "41", "51", "61", "92"],
            digits: 9,
            first: Some("9"),
            national: br,
        }],
    },
    Country {
        code: "RU",
        name: "Russia",
        calling_code: 7,
        tld: "ru",
        company_suffix: "OOO",
        first_names: &[
            "Ivan", "Olga", "Dmitry", "Natalia", "Sergey", "Elena", "Alexei", "Irina",
        ],
        last_names: &[
            "Ivanov",
            "Smirnova",
            "Kuznetsov",
            "Popova",
            "Sokolov",
            "Volkova",
            "Petrov",
        ],
        cities: &[
            "Moscow",
            "Saint Petersburg",
            "Novosibirsk",
            "Yekaterinburg",
            "Vladivostok",
        ],
        streets: &["Tverskaya ul.", "Nevsky pr.", "Lenina ul."],
        postal_digits: 6,
        phones: &[
            PhonePlan {
                prefixes: &["495", "812", "383", "343"],
                digits: 7,
                first: Some("2345"),
                national: ru,
            },
            PhonePlan {
                prefixes: &["916", "926", "903", "965"],
                digits: 7,
                first: None,
                national: ru,
            },
        ],
    },
    Country {
        code: "JP",
        name: "Japan",
        calling_code: 81,
        tld: "co.jp",
        company_suffix: "K.K.",
        first_names: &[
            "Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi", "Kenji", "Yuki",
        ],
        last_names: &[
            "Sato",
            "Suzuki",
            "Takahashi",
            "Tanaka",
            "Watanabe",
            "Ito",
            "Yamamoto",
        ],
        cities: &["Tokyo", "Osaka", "Yokohama", "Nagoya", "Sapporo"],
        streets: &["Chuo-dori", "Meiji-dori", "Omotesando"],
        postal_digits: 7,
        phones: &[
            PhonePlan {
                prefixes: &["3", "6"],
                digits: 8,
                first: Some("23456789"),
                national: jp,
            },
            PhonePlan {
                prefixes: &["90", "80"],
                digits: 8,
                first: Some("123456789"),
                national: jp,
            },
        ],
    },
    Country {
        code: "IN",
        name: "India",
        calling_code: 91,
        tld: "in",
        company_suffix: "Pvt Ltd",
        first_names: &[
            "Aarav", "Ananya", "Vihaan", "Diya", "Arjun", "Priya", "Rohan", "Kavya",
        ],
        last_names: &[
            "Sharma", "Patel", "Singh", "Kumar", "Gupta", "Reddy", "Iyer", "Nair",
        ],
        cities: &[
            "Mumbai",
            "Bengaluru",
            "Delhi",
            "Chennai",
            "Pune",
            "Hyderabad",
        ],
        streets: &["MG Road", "Brigade Road", "Linking Road"],
        postal_digits: 6,
        phones: &[PhonePlan {
            prefixes: &["98", "99", "97", "90", "70"],
            digits: 8,
            first: None,
            national: in_mobile,
        }],
    },
    Country {
        code: "ZA",
        name: "South Africa",
        calling_code: 27,
        tld: "co.za",
        company_suffix: "(Pty) Ltd",
        first_names: &["Thabo", "Naledi", "Sipho", "Lerato", "Pieter", "Anika"],
        last_names: &[
            "Nkosi",
            "Dlamini",
            "van der Merwe",
            "Botha",
            "Naidoo",
            "Mokoena",
        ],
        cities: &["Johannesburg", "Cape Town", "Durban", "Pretoria"],
        streets: &["Long Street", "Jan Smuts Ave", "Florida Rd"],
        postal_digits: 4,
        phones: &[PhonePlan {
            prefixes: &["11", "21", "82", "83", "72"],
            digits: 7,
            first: Some("2345678"),
            national: za,
        }],
    },
    Country {
        code: "MX",
        name: "Mexico",
        calling_code: 52,
        tld: "com.mx",
        company_suffix: "S.A. de C.V.",
        first_names: &[
            "Santiago",
            "Valentina",
            "Mateo",
            "Regina",
            "Diego",
            "Camila",
        ],
        last_names: &[
            "Hernández",
            "García",
            "Martínez",
            "López",
            "González",
            "Pérez",
        ],
        cities: &[
            "Ciudad de México",
            "Guadalajara",
            "Monterrey",
            "Tijuana",
            "Cancún",
        ],
        streets: &["Avenida Reforma", "Calle Madero", "Avenida Juárez"],
        postal_digits: 5,
        phones: &[PhonePlan {
            prefixes: &["55", "33", "81"],
            digits: 8,
            first: Some("123456789"),
            national: plain_groups,
        }],
    },
    Country {
        code: "SG",
        name: "Singapore",
        calling_code: 65,
        tld: "com.sg",
        company_suffix: "Pte. Ltd.",
        first_names: &["Wei Ling", "Jun Jie", "Hui Min", "Ravi", "Siti", "Marcus"],
        last_names: &["Tan", "Lim", "Lee", "Ng", "Wong", "Goh"],
        cities: &["Singapore"],
        streets: &["Orchard Road", "Raffles Place", "Tanjong Pagar Rd"],
        postal_digits: 6,
        phones: &[PhonePlan {
            prefixes: &["6", "8", "9"],
            digits: 7,
            first: Some("1234"),
            national: sg,
        }],
    },
];

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
mod tests {
    use super::*;
    use crate::normalize::{normalize_country, normalize_email, normalize_phone};

    fn text(n: usize, seed: u64) -> String {
        let mut out = Vec::new();
        generate(n, seed, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_file_and_another_seed_another() {
        assert_eq!(text(300, 42), text(300, 42));
        assert_ne!(text(300, 42), text(300, 43));
        assert_eq!(text(0, 1).lines().count(), 1);
    }

    #[test]
    fn every_phone_plan_gives_valid_numbers_in_national_and_international_format() {
        let mut rng = SplitMix(9);
        for c in COUNTRIES {
            let mut valid = 0;
            for _ in 0..300 {
                let candidate = phone_candidate(&mut rng, c);
                valid += usize::from(normalize_phone(&candidate.1, None).is_ok());
            }
            // The patterns themselves are good: retries are the exception.
            assert!(valid > 200, "{}: {valid} of 300 candidates valid", c.code);
            for _ in 0..100 {
                let (national, international) = phone(&mut rng, c);
                let a = normalize_phone(&national, Some(c.code))
                    .unwrap_or_else(|e| panic!("{} {national}: {e}", c.code));
                let b = normalize_phone(&international, None).unwrap();
                assert_eq!(a, b, "{} {national} vs {international}", c.code);
            }
            assert_eq!(normalize_country(c.name), Some(c.code));
        }
    }

    #[test]
    fn rows_are_realistic_and_about_five_percent_repeat() {
        let data = text(4000, 5);
        let mut reader = csv::Reader::from_reader(data.as_bytes());
        let mut emails = std::collections::HashSet::new();
        let mut repeats = 0;
        let mut countries = std::collections::HashSet::new();
        let mut rows = 0;
        for record in reader.records() {
            let r = record.unwrap();
            rows += 1;
            let email = normalize_email(&r[7]).unwrap();
            if !emails.insert(email) {
                repeats += 1;
            }
            countries.insert(normalize_country(&r[9]).unwrap());
            assert!(!r[13].is_empty() && !r[14].is_empty() && !r[16].is_empty());
        }
        assert_eq!(rows, 4000);
        assert!((120..320).contains(&repeats), "{repeats} repeats");
        for cc in ["US", "CA", "AU", "BR", "RU", "DE", "JP", "ZA"] {
            assert!(countries.contains(cc), "{cc}");
        }
    }
}
