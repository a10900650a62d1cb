use super::*;
use crate::compliance::gate::within_calling_hours;
use crate::normalize::country::zones_for_country;
use chrono::Duration;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn place(country: &str, zone: Option<&str>) -> Place {
    Place {
        zones: match zone {
            Some(z) => vec![z.parse().unwrap()],
            None => zones_for_country(country).to_vec(),
        },
        weekend: weekend_of(Some(country)),
    }
}

fn berlin() -> Place {
    place("DE", Some("Europe/Berlin"))
}

fn email() -> Step {
    Step::Email {
        template: "intro".into(),
    }
}

fn call() -> Step {
    Step::Call {
        script: "Ask about the trial".into(),
        outcomes: vec![Outcome::Connected, Outcome::NoAnswer],
    }
}

fn letter() -> Step {
    Step::Letter {
        template: "brochure".into(),
    }
}

fn wait(days: u32) -> Step {
    Step::Wait {
        business_days: days,
    }
}

fn due(steps: &[Step], base: DateTime<Utc>, place: &Place) -> DateTime<Utc> {
    next_due(steps, 0, base, place).unwrap().due_at
}

use switchboard_protocol::Outcome;

#[test]
fn waits_count_business_days_and_skip_the_weekend() {
    // Friday 6 March 2026, 10:00 in Berlin (UTC+1).
    let start = utc(2026, 3, 6, 9, 0);
    let steps = [email(), wait(1), call(), wait(2), letter()];
    let plan = plan(&steps, start, &berlin());
    let got: Vec<(usize, Channel, DateTime<Utc>)> =
        plan.iter().map(|p| (p.step, p.channel, p.due_at)).collect();
    assert_eq!(
        got,
        vec![
            (0, Channel::Email, utc(2026, 3, 6, 9, 0)),
            // One business day after Friday is Monday, same local time.
            (2, Channel::Phone, utc(2026, 3, 9, 9, 0)),
            // Two after Monday is Wednesday.
            (4, Channel::Mail, utc(2026, 3, 11, 9, 0)),
        ]
    );
    assert_eq!(next_due(&steps, 5, start, &berlin()), None, "complete");
    assert_eq!(next_due(&[email(), wait(3)], 1, start, &berlin()), None);
}

#[test]
fn a_wait_keeps_the_local_time_across_daylight_saving_changes() {
    let steps = [wait(1), email()];
    // Berlin springs forward on Sunday 29 March: Friday 10:00 CET is 09:00 UTC, Monday 10:00
    // CEST is 08:00 UTC.
    assert_eq!(
        due(&steps, utc(2026, 3, 27, 9, 0), &berlin()),
        utc(2026, 3, 30, 8, 0)
    );
    // And falls back on Sunday 25 October: Friday 10:00 CEST is 08:00, Monday 10:00 CET 09:00.
    assert_eq!(
        due(&steps, utc(2026, 10, 23, 8, 0), &berlin()),
        utc(2026, 10, 26, 9, 0)
    );
    // New York springs forward on 8 March: 09:00 EST Friday, 09:00 EDT Monday.
    let ny = place("US", Some("America/New_York"));
    assert_eq!(
        due(&steps, utc(2026, 3, 6, 14, 0), &ny),
        utc(2026, 3, 9, 13, 0)
    );
    // Sydney leaves summer time on 5 April: Friday 10:00 AEDT (UTC+11), Monday 10:00 AEST.
    let syd = place("AU", Some("Australia/Sydney"));
    assert_eq!(
        due(&steps, utc(2026, 4, 2, 23, 0), &syd),
        utc(2026, 4, 6, 0, 0)
    );
}

#[test]
fn a_local_time_the_clocks_skip_or_repeat_is_placed_once() {
    // A lead in Berlin's zone with a Friday–Saturday weekend has business days on the Sundays
    // the clocks change. 02:30 does not exist on 29 March (02:00 → 03:00): it becomes 03:30
    // CEST, the same instant as 02:30 read with the winter offset.
    let odd = place("SA", Some("Europe/Berlin"));
    let steps = [wait(1), email()];
    assert_eq!(
        due(&steps, utc(2026, 3, 28, 1, 30), &odd),
        utc(2026, 3, 29, 1, 30)
    );
    // 02:30 happens twice on 25 October: the first one (CEST, 00:30 UTC) is taken.
    assert_eq!(
        due(&steps, utc(2026, 10, 24, 0, 30), &odd),
        utc(2026, 10, 25, 0, 30)
    );
    // A call at that hour still waits for 08:00 local, CET by then.
    assert_eq!(
        due(&[wait(1), call()], utc(2026, 10, 24, 0, 30), &odd),
        utc(2026, 10, 25, 7, 0)
    );
}

#[test]
fn calls_fall_inside_calling_hours_on_a_business_day() {
    let b = berlin();
    // Monday 21:30 local: the window has closed, Tuesday 08:00 CET.
    assert_eq!(
        due(&[call()], utc(2026, 3, 2, 20, 30), &b),
        utc(2026, 3, 3, 7, 0)
    );
    // Monday 06:00 local: the same day at 08:00.
    assert_eq!(
        due(&[call()], utc(2026, 3, 2, 5, 0), &b),
        utc(2026, 3, 2, 7, 0)
    );
    // Inside the window: unchanged.
    assert_eq!(
        due(&[call()], utc(2026, 3, 2, 12, 0), &b),
        utc(2026, 3, 2, 12, 0)
    );
    // Friday 22:00 local: Monday 08:00.
    assert_eq!(
        due(&[call()], utc(2026, 3, 6, 21, 0), &b),
        utc(2026, 3, 9, 7, 0)
    );
    // An email on Saturday waits for Monday's opening hour; on a weekday it goes as planned,
    // even at night (only calls have hours).
    assert_eq!(
        due(&[email()], utc(2026, 3, 7, 12, 0), &b),
        utc(2026, 3, 9, 7, 0)
    );
    assert_eq!(
        due(&[email()], utc(2026, 3, 2, 22, 0), &b),
        utc(2026, 3, 2, 22, 0)
    );
    // The window is the gate's: the instant chosen is one the gate allows, a minute earlier not.
    let t = due(&[call()], utc(2026, 3, 2, 5, 0), &b);
    assert!(within_calling_hours(t.with_timezone(&b.zones[0]).time()));
    assert!(!within_calling_hours(
        (t - Duration::minutes(1)).with_timezone(&b.zones[0]).time()
    ));
}

#[test]
fn without_a_zone_a_call_waits_until_every_zone_of_the_country_is_open() {
    let us = place("US", None);
    assert!(us.zones.len() > 3);
    // Monday 8 June, 13:00 UTC: New York 09:00 but Honolulu 03:00. Honolulu opens at 08:00
    // HST = 18:00 UTC, when New York (14:00) is still open.
    let t = due(&[call()], utc(2026, 6, 8, 13, 0), &us);
    assert_eq!(t, utc(2026, 6, 8, 18, 0));
    for tz in &us.zones {
        assert!(within_calling_hours(t.with_timezone(tz).time()), "{tz}");
    }
    // Zones too far apart for a common window (UTC, UTC+8, UTC−8: 08–21, 00–13 and 16–05 in
    // UTC): no instant fits, the step cannot be planned.
    let apart = Place {
        zones: ["Etc/GMT", "Etc/GMT-8", "Etc/GMT+8"]
            .iter()
            .map(|z| z.parse().unwrap())
            .collect(),
        weekend: SAT_SUN,
    };
    assert_eq!(next_due(&[call()], 0, utc(2026, 6, 8, 13, 0), &apart), None);
}

#[test]
fn business_days_follow_the_countrys_weekend() {
    // Riyadh (UTC+3), weekend Friday and Saturday: Thursday 10:00 plus one business day is
    // Sunday 10:00.
    let sa = place("SA", Some("Asia/Riyadh"));
    assert_eq!(
        due(&[wait(1), email()], utc(2026, 3, 5, 7, 0), &sa),
        utc(2026, 3, 8, 7, 0)
    );
    // A Sunday call is fine there, not in Berlin.
    assert_eq!(
        due(&[call()], utc(2026, 3, 8, 7, 0), &sa),
        utc(2026, 3, 8, 7, 0)
    );
    assert_eq!(weekend_of(Some("ir")), &[Weekday::Fri]);
    assert_eq!(weekend_of(None), &[Weekday::Sat, Weekday::Sun]);
}

#[test]
fn an_unknown_place_counts_in_utc() {
    let nowhere = Place {
        zones: Vec::new(),
        weekend: weekend_of(None),
    };
    // Friday 23:00 UTC + 1 business day = Monday 23:00 UTC.
    assert_eq!(
        due(&[wait(1), letter()], utc(2026, 3, 6, 23, 0), &nowhere),
        utc(2026, 3, 9, 23, 0)
    );
}

#[test]
fn steps_are_read_from_their_command_line_form() {
    assert_eq!(
        crate::outreach::cadence::definition::parse_step("email=intro").unwrap(),
        email()
    );
    assert_eq!(
        crate::outreach::cadence::definition::parse_step("WAIT= 2").unwrap(),
        wait(2)
    );
    assert_eq!(
        crate::outreach::cadence::definition::parse_step(
            "call=Ask about the trial|connected, no_answer"
        )
        .unwrap(),
        call()
    );
    match crate::outreach::cadence::definition::parse_step("call=Just call").unwrap() {
        Step::Call { outcomes, .. } => {
            assert_eq!(outcomes, Outcome::allowed_on(Channel::Phone).to_vec())
        }
        other => panic!("{other:?}"),
    }
    for bad in ["email", "fax=1", "wait=two", "call=x|shrug"] {
        let e = crate::outreach::cadence::definition::parse_step(bad).unwrap_err();
        assert!(e.to_string().contains("email=TEMPLATE"), "{bad}: {e}");
    }
}
