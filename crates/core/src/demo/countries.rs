//! The countries the demo generator draws people from: names, places and the numbering plans
//! their phone numbers follow, written the way people there type them.

/// One kind of number in a country: its prefixes, how many digits follow, and how people write it.
pub(super) struct PhonePlan {
    pub(super) prefixes: &'static [&'static str],
    pub(super) digits: usize,
    pub(super) first: Option<&'static str>,
    pub(super) national: fn(&str, &str) -> String,
}

/// A country people in the demo come from.
pub(super) struct Country {
    pub(super) code: &'static str,
    pub(super) name: &'static str,
    pub(super) calling_code: u16,
    pub(super) tld: &'static str,
    pub(super) company_suffix: &'static str,
    pub(super) first_names: &'static [&'static str],
    pub(super) last_names: &'static [&'static str],
    pub(super) cities: &'static [&'static str],
    pub(super) streets: &'static [&'static str],
    pub(super) postal_digits: usize,
    pub(super) phones: &'static [PhonePlan],
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

/// Countries on several continents, including multi-zone ones.
pub(super) const COUNTRIES: &[Country] = &[
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
