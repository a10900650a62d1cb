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
    for c in COUNTRIES.iter() {
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
