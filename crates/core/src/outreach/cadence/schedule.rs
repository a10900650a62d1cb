//! When a cadence's next step falls due: a pure function of the steps, the instant the previous
//! step was done (or the lead enrolled) and the lead's place — its time zones and weekend.
//!
//! Waits count the lead's business days in its own zone and keep the local time of day (across
//! a daylight-saving change the UTC instant moves, the wall clock does not). Every step lands
//! on a business day; a call also lands inside calling hours in every zone that governs the
//! lead — the gate's own window (`gate::within_calling_hours`), so there is one rule. Public
//! holidays are not known: business days are the days outside the country's weekend.

use crate::compliance::gate::{self, CALLING_HOURS_START};
use crate::outreach::cadence::definition::Step;
use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone,
    Utc, Weekday,
};
use chrono_tz::Tz;
use serde::Serialize;
use switchboard_protocol::{Channel, Lead};

/// Where a lead is, as far as scheduling cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The zones whose local time governs calls (the gate's `zones_of`); the first one also
    /// counts business days. Empty: unknown, and UTC stands in (the gate blocks calls then).
    pub zones: Vec<Tz>,
    /// The days that are not business days.
    pub weekend: &'static [Weekday],
}

impl Place {
    /// The place of a lead: its zone (or its country's zones) and its country's weekend.
    pub fn of(lead: &Lead) -> Place {
        Place {
            zones: gate::zones_of(lead),
            weekend: weekend_of(lead.country.as_deref()),
        }
    }

    fn home(&self) -> Tz {
        self.zones.first().copied().unwrap_or(Tz::UTC)
    }

    fn is_business_day(&self, day: NaiveDate) -> bool {
        !self.weekend.contains(&day.weekday())
    }
}

const SAT_SUN: &[Weekday] = &[Weekday::Sat, Weekday::Sun];
const FRI_SAT: &[Weekday] = &[Weekday::Fri, Weekday::Sat];
const FRI: &[Weekday] = &[Weekday::Fri];

/// The weekend of a country (ISO alpha-2): Friday and Saturday in much of the Middle East and
/// North Africa, Friday alone in Iran, Saturday and Sunday elsewhere and when unknown.
pub fn weekend_of(country: Option<&str>) -> &'static [Weekday] {
    let cc = country.map(|c| c.trim().to_ascii_uppercase());
    match cc.as_deref() {
        Some(
            "SA" | "IL" | "EG" | "KW" | "QA" | "BH" | "OM" | "JO" | "IQ" | "SY" | "YE" | "DZ"
            | "LY" | "SD" | "BD" | "MV",
        ) => FRI_SAT,
        Some("IR") => FRI,
        _ => SAT_SUN,
    }
}

/// The next step to run and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Planned {
    /// Index into the version's steps (never a wait).
    pub step: usize,
    pub channel: Channel,
    pub due_at: DateTime<Utc>,
}

/// The first contact step at or after `from`, due after the waits before it, counted from
/// `base` (enrolment, or when the previous step was done). `None` when no contact step remains
/// (the cadence is complete) or no instant in the coming year fits a call in every zone.
pub fn next_due(
    steps: &[Step],
    from: usize,
    base: DateTime<Utc>,
    place: &Place,
) -> Option<Planned> {
    let mut wait_days = 0u32;
    for (index, step) in steps.iter().enumerate().skip(from) {
        let Some(channel) = step.channel() else {
            if let Step::Wait { business_days } = step {
                wait_days += business_days;
            }
            continue;
        };
        let after_wait = add_business_days(base, wait_days, place);
        let due_at = fit(after_wait, channel, place)?;
        return Some(Planned {
            step: index,
            channel,
            due_at,
        });
    }
    None
}

/// The whole schedule from `start`, as if each step were done the moment it fell due.
pub fn plan(steps: &[Step], start: DateTime<Utc>, place: &Place) -> Vec<Planned> {
    let mut out = Vec::new();
    let (mut from, mut base) = (0, start);
    while let Some(p) = next_due(steps, from, base, place) {
        out.push(p);
        from = p.step + 1;
        base = p.due_at;
    }
    out
}

/// `days` business days after `at` in the lead's home zone, at the same local time of day.
fn add_business_days(at: DateTime<Utc>, days: u32, place: &Place) -> DateTime<Utc> {
    if days == 0 {
        return at;
    }
    let tz = place.home();
    let local = at.with_timezone(&tz).naive_local();
    let mut day = local.date();
    let mut left = days;
    while left > 0 {
        day = day + Days::new(1);
        if place.is_business_day(day) {
            left -= 1;
        }
    }
    resolve(tz, day.and_time(local.time()))
}

/// A local wall-clock time as an instant: the earlier of a repeated hour (autumn), and for a
/// time the clocks skip (spring) the same distance past the jump.
fn resolve(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(early, _) => early.with_timezone(&Utc),
        LocalResult::None => {
            // A skipped hour: read the wall time with the offset in force just before the jump,
            // which lands as far past the jump as the time was past its start.
            let before = tz
                .from_local_datetime(&(local - chrono::Duration::hours(6)))
                .earliest()
                .map_or(0, |b| b.offset().fix().local_minus_utc());
            (local - chrono::Duration::seconds(before.into())).and_utc()
        }
    }
}

/// The first instant at or after `at` on a business day and, for a call, inside calling hours
/// in every zone. `None` when nothing fits within a year (zones too far apart for one window).
fn fit(at: DateTime<Utc>, channel: Channel, place: &Place) -> Option<DateTime<Utc>> {
    let home = place.home();
    let opening = NaiveTime::from_hms_opt(CALLING_HOURS_START.0, CALLING_HOURS_START.1, 0)?;
    let mut t = at;
    for _ in 0..800 {
        let local_day = t.with_timezone(&home).date_naive();
        if !place.is_business_day(local_day) {
            t = resolve(home, (local_day + Days::new(1)).and_time(opening));
            continue;
        }
        if channel != Channel::Phone {
            return Some(t);
        }
        let closed = place
            .zones
            .iter()
            .find(|tz| !gate::within_calling_hours(t.with_timezone(*tz).time()));
        let Some(tz) = closed else {
            return Some(t);
        };
        // Outside the window in `tz`: jump to its next opening and check every zone again.
        let local = t.with_timezone(tz).naive_local();
        let day = if local.time() < opening {
            local.date()
        } else {
            local.date() + Days::new(1)
        };
        t = resolve(*tz, day.and_time(opening));
    }
    None
}

#[cfg(test)]
mod tests;
