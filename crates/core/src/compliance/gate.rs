//! The compliance gate: the one function that decides whether a lead may be contacted on a
//! channel at an instant. Every outbound contact path (queues, the UI's buttons, logging an
//! outbound follow-up, audiences, partner shares) calls `check` or `allowed_channels`; no other
//! code repeats these rules. Inbound contact started by the person is never gated.
//!
//! Rules, in the order they are tested (the first that applies is the reason shown):
//! 1. `erased` — the person was erased.
//! 2. `suppressed` — the lead's email or phone hash is on the suppression list (another replica
//!    erased the person and this replica has not purged the lead yet).
//! 3. `opted_out` — an opt-out of the channel or of all channels holds (see `consent`).
//! 4. `no_address` — nothing to reach them with: no email or a hard-bounced one, no phone, no
//!    postal address.
//! 5. Phone only, calling hours 08:00–21:00 in the person's local time:
//!    - the lead's own `time_zone` when it names a valid IANA zone;
//!    - otherwise every zone of its country must be inside the window (the strictest);
//!    - with neither a zone nor a country whose zones are known, calls are blocked with
//!      `unknown_time_zone`: we cannot show that a call would be lawful, so we do not allow it.
//!      Setting the lead's country or time zone lifts the block.
//!
//! Disclosure to partners asks `check_disclosure`: erased, suppressed, or opted out of all.

use crate::compliance::consent::{self, ConsentState};
use crate::compliance::suppression::{self, Identifier};
use crate::error::Result;
use crate::normalize::country::zones_for_country;
use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use switchboard_protocol::{Channel, ConsentScope, Lead, LeadStatus};
use ts_rs::TS;

/// First local minute at which a call is allowed.
pub const CALLING_HOURS_START: (u32, u32) = (8, 0);
/// First local minute at which calls are no longer allowed.
pub const CALLING_HOURS_END: (u32, u32) = (21, 0);

/// Why the gate refused a contact. Serialised with a stable `code`; `message()` is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "code", rename_all = "snake_case")]
#[ts(export)]
pub enum BlockReason {
    /// The person opted out of this channel (or of all) and no later opt-in lifted it.
    OptedOut {
        scope: ConsentScope,
        since: DateTime<Utc>,
    },
    /// The person was erased.
    Erased,
    /// The person's email or phone is on the suppression list of erased people.
    Suppressed,
    /// A call now would fall outside 08:00–21:00 local time in `zone`.
    OutsideCallingHours { local_time: String, zone: String },
    /// Neither a time zone nor a country with known zones: calling hours cannot be checked.
    UnknownTimeZone,
    /// No usable address for the channel (no email or a bounced one, no phone, no postal address).
    NoAddress { channel: Channel },
}

impl BlockReason {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            BlockReason::OptedOut { .. } => "opted_out",
            BlockReason::Erased => "erased",
            BlockReason::Suppressed => "suppressed",
            BlockReason::OutsideCallingHours { .. } => "outside_calling_hours",
            BlockReason::UnknownTimeZone => "unknown_time_zone",
            BlockReason::NoAddress { .. } => "no_address",
        }
    }

    /// A sentence for the user saying why.
    pub fn message(&self) -> String {
        match self {
            BlockReason::OptedOut { scope, since } => {
                let what = match scope {
                    ConsentScope::All => "all contact".to_string(),
                    other => other.as_str().to_string(),
                };
                format!(
                    "opted out of {what} since {}",
                    since.format("%Y-%m-%d %H:%M UTC")
                )
            }
            BlockReason::Erased => "the person was erased at their request".into(),
            BlockReason::Suppressed => {
                "the person's email or phone belongs to an erased person (suppressed)".into()
            }
            BlockReason::OutsideCallingHours { local_time, zone } => format!(
                "outside calling hours: it is {local_time} in {zone} (calls allowed 08:00–21:00 local time)"
            ),
            BlockReason::UnknownTimeZone => {
                "local time unknown: set the lead's country or time zone before calling".into()
            }
            BlockReason::NoAddress { channel } => match channel {
                Channel::Email => "no valid email address".into(),
                Channel::Phone => "no phone number".into(),
                Channel::Mail => "no postal address".into(),
            },
        }
    }
}

impl std::fmt::Display for BlockReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// The gate's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "DecisionView", from = "DecisionView")]
pub enum Decision {
    Allowed,
    Blocked(BlockReason),
}

impl Decision {
    /// Whether contact is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed)
    }

    /// The reason for a block, if blocked.
    pub fn reason(&self) -> Option<&BlockReason> {
        match self {
            Decision::Allowed => None,
            Decision::Blocked(r) => Some(r),
        }
    }
}

/// How a `Decision` travels to the UI and `--json`: `{allowed, reason, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, rename = "Decision")]
pub struct DecisionView {
    pub allowed: bool,
    pub reason: Option<BlockReason>,
    /// The human sentence for `reason`.
    pub message: Option<String>,
}

impl From<Decision> for DecisionView {
    fn from(d: Decision) -> Self {
        match d {
            Decision::Allowed => DecisionView {
                allowed: true,
                reason: None,
                message: None,
            },
            Decision::Blocked(r) => DecisionView {
                allowed: false,
                message: Some(r.message()),
                reason: Some(r),
            },
        }
    }
}

impl From<DecisionView> for Decision {
    fn from(v: DecisionView) -> Self {
        match (v.allowed, v.reason) {
            (false, Some(r)) => Decision::Blocked(r),
            // A view that says blocked without a reason cannot be honoured as allowed.
            (false, None) => Decision::Blocked(BlockReason::UnknownTimeZone),
            (true, _) => Decision::Allowed,
        }
    }
}

/// One channel and the gate's answer for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ChannelDecision {
    pub channel: Channel,
    #[ts(as = "DecisionView")]
    pub decision: Decision,
}

/// What the gate needs beyond the lead row, loaded once per lead.
struct Facts {
    consent: ConsentState,
    suppressed: bool,
}

/// The gate bound to a connection for a series of checks (a queue walk, a page): what all leads
/// share — the suppression key, and whether anyone is suppressed at all — is read once. The rules
/// are the same as `check`'s; it is the same code.
pub struct Gate<'c> {
    conn: &'c Connection,
    /// `None` while the suppression list is empty: nobody can match it.
    key: Option<Vec<u8>>,
}

impl<'c> Gate<'c> {
    /// Prepares checks over `conn`.
    pub fn new(conn: &'c Connection) -> Result<Gate<'c>> {
        let any: bool = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM suppression)")?
            .query_row([], |r| r.get(0))?;
        let key = if any {
            Some(suppression::key(conn)?)
        } else {
            None
        };
        Ok(Gate { conn, key })
    }

    fn facts(&self, lead: &Lead) -> Result<Facts> {
        Ok(Facts {
            consent: consent::state(self.conn, &lead.id)?,
            suppressed: self.is_suppressed(lead)?,
        })
    }

    fn is_suppressed(&self, lead: &Lead) -> Result<bool> {
        let Some(key) = &self.key else {
            return Ok(false);
        };
        if let Some(email) = lead.email.as_deref() {
            if suppression::is_suppressed(self.conn, key, Identifier::Email, email)? {
                return Ok(true);
            }
        }
        if let Some(phone) = lead.phone.as_deref() {
            if suppression::is_suppressed(self.conn, key, Identifier::Phone, phone)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// See `check`.
    pub fn check(&self, lead: &Lead, channel: Channel, at: DateTime<Utc>) -> Result<Decision> {
        Ok(decide(lead, &self.facts(lead)?, channel, at))
    }

    /// See `allowed_channels`.
    pub fn allowed_channels(
        &self,
        lead: &Lead,
        at: DateTime<Utc>,
    ) -> Result<Vec<(Channel, Decision)>> {
        let facts = self.facts(lead)?;
        Ok(Channel::ALL
            .iter()
            .map(|c| (*c, decide(lead, &facts, *c, at)))
            .collect())
    }

    /// See `check_disclosure`.
    pub fn check_disclosure(&self, lead: &Lead, _at: DateTime<Utc>) -> Result<Decision> {
        if lead.status == LeadStatus::Erased {
            return Ok(Decision::Blocked(BlockReason::Erased));
        }
        let facts = self.facts(lead)?;
        if facts.suppressed {
            return Ok(Decision::Blocked(BlockReason::Suppressed));
        }
        if let Some(out) = facts
            .consent
            .active_opt_outs
            .iter()
            .find(|o| o.scope == ConsentScope::All)
        {
            return Ok(Decision::Blocked(BlockReason::OptedOut {
                scope: out.scope,
                since: out.since,
            }));
        }
        Ok(Decision::Allowed)
    }

    /// See `channel_decisions`.
    pub fn channel_decisions(
        &self,
        lead: &Lead,
        at: DateTime<Utc>,
    ) -> Result<Vec<ChannelDecision>> {
        Ok(self
            .allowed_channels(lead, at)?
            .into_iter()
            .map(|(channel, decision)| ChannelDecision { channel, decision })
            .collect())
    }
}

/// May `lead` be contacted on `channel` at `at`? Outbound contact only: inbound is never gated.
pub fn check(
    conn: &Connection,
    lead: &Lead,
    channel: Channel,
    at: DateTime<Utc>,
) -> Result<Decision> {
    Gate::new(conn)?.check(lead, channel, at)
}

/// The gate's answer for every channel, in `Channel::ALL` order.
pub fn allowed_channels(
    conn: &Connection,
    lead: &Lead,
    at: DateTime<Utc>,
) -> Result<Vec<(Channel, Decision)>> {
    Gate::new(conn)?.allowed_channels(lead, at)
}

/// May `lead`'s personal information be disclosed to a partner (reseller, distributor, office)
/// at `at`? Blocked when the person was erased or suppressed, or opted out of all contact —
/// sharing them for outreach could only lead to contact they refused. A single channel's opt-out
/// travels with the share instead (the partner's own contact goes through its gate).
pub fn check_disclosure(conn: &Connection, lead: &Lead, at: DateTime<Utc>) -> Result<Decision> {
    Gate::new(conn)?.check_disclosure(lead, at)
}

/// `allowed_channels` in the shape the UI and `--json` use.
pub fn channel_decisions(
    conn: &Connection,
    lead: &Lead,
    at: DateTime<Utc>,
) -> Result<Vec<ChannelDecision>> {
    Gate::new(conn)?.channel_decisions(lead, at)
}

/// A necessary condition for `check` that reads no database: false only when the lead's own
/// fields already block the channel (erased, no address, outside calling hours). Queues use it to
/// skip candidates cheaply before the full check; it is never a permission by itself.
pub fn may_allow(lead: &Lead, channel: Channel, at: DateTime<Utc>) -> bool {
    let nothing_recorded = Facts {
        consent: ConsentState::default(),
        suppressed: false,
    };
    decide(lead, &nothing_recorded, channel, at).is_allowed()
}

fn decide(lead: &Lead, facts: &Facts, channel: Channel, at: DateTime<Utc>) -> Decision {
    if lead.status == LeadStatus::Erased {
        return Decision::Blocked(BlockReason::Erased);
    }
    if facts.suppressed {
        return Decision::Blocked(BlockReason::Suppressed);
    }
    if let Some(out) = facts.consent.blocking(channel) {
        return Decision::Blocked(BlockReason::OptedOut {
            scope: out.scope,
            since: out.since,
        });
    }
    let has_address = match channel {
        Channel::Email => has_text(&lead.email) && !lead.email_invalid,
        Channel::Phone => has_text(&lead.phone),
        Channel::Mail => has_text(&lead.address),
    };
    if !has_address {
        return Decision::Blocked(BlockReason::NoAddress { channel });
    }
    if channel == Channel::Phone {
        if let Some(reason) = calling_hours(lead, at) {
            return Decision::Blocked(reason);
        }
    }
    Decision::Allowed
}

fn has_text(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.trim().is_empty())
}

/// The zones whose local time governs calls to `lead`: its own zone when valid, else every zone
/// of its country; empty when neither is known.
pub fn zones_of(lead: &Lead) -> Vec<Tz> {
    if let Some(tz) = lead
        .time_zone
        .as_deref()
        .and_then(|z| z.trim().parse::<Tz>().ok())
    {
        return vec![tz];
    }
    match lead.country.as_deref() {
        Some(cc) => zones_for_country(&cc.trim().to_ascii_uppercase()).to_vec(),
        None => Vec::new(),
    }
}

/// Whether a local wall-clock time lies inside the calling window.
pub fn within_calling_hours(local: NaiveTime) -> bool {
    let start = NaiveTime::from_hms_opt(CALLING_HOURS_START.0, CALLING_HOURS_START.1, 0)
        .expect("valid start");
    let end =
        NaiveTime::from_hms_opt(CALLING_HOURS_END.0, CALLING_HOURS_END.1, 0).expect("valid end");
    local >= start && local < end
}

/// `None` when a call at `at` is inside calling hours in every zone that governs the lead.
fn calling_hours(lead: &Lead, at: DateTime<Utc>) -> Option<BlockReason> {
    let zones = zones_of(lead);
    if zones.is_empty() {
        return Some(BlockReason::UnknownTimeZone);
    }
    for tz in zones {
        let local = at.with_timezone(&tz);
        if !within_calling_hours(local.time()) {
            return Some(BlockReason::OutsideCallingHours {
                local_time: local.format("%H:%M").to_string(),
                zone: tz.name().to_string(),
            });
        }
    }
    None
}

/// The lead's local time at `at` as people read it: "14:05 Europe/Berlin", or a range over the
/// country's zones ("09:05–12:05 in 4 zones of US"); `None` when no zone is known.
pub fn local_time_label(lead: &Lead, at: DateTime<Utc>) -> Option<String> {
    let zones = zones_of(lead);
    match zones.as_slice() {
        [] => None,
        [tz] => Some(format!(
            "{} {}",
            at.with_timezone(tz).format("%H:%M"),
            tz.name()
        )),
        many => {
            let local = |tz: &Tz| at.with_timezone(tz).naive_local();
            let earliest = many.iter().map(local).min()?;
            let latest = many.iter().map(local).max()?;
            let country = lead.country.as_deref().unwrap_or("?");
            if earliest == latest {
                return Some(format!("{} in {country}", earliest.format("%H:%M")));
            }
            Some(format!(
                "{}–{} in {} zones of {}",
                earliest.format("%H:%M"),
                latest.format("%H:%M"),
                many.len(),
                country
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::people::leads::{self, NewLead};
    use crate::{compliance::consent, compliance::suppression, Store};
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn store() -> Store {
        crate::fixtures::store_at(utc(2026, 3, 2, 9, 0))
    }

    fn add(s: &mut Store, lead: NewLead) -> Lead {
        let now = s.now();
        let id = crate::fixtures::insert_lead(s, &lead, now);
        leads::get(s.conn(), &id).unwrap()
    }

    fn person(country: Option<&str>, zone: Option<&str>) -> NewLead {
        NewLead {
            name: Some("Ann Example".into()),
            email: Some("ann@example.com".into()),
            phone: Some("+4930123456".into()),
            address: Some("Hauptstr. 1, Berlin".into()),
            country: country.map(str::to_string),
            time_zone: zone.map(str::to_string),
            ..NewLead::default()
        }
    }

    fn phone_at(s: &Store, lead: &Lead, at: DateTime<Utc>) -> Decision {
        check(s.conn(), lead, Channel::Phone, at).unwrap()
    }

    #[test]
    fn calling_hours_start_at_eight_and_end_before_nine_in_the_leads_zone() {
        let mut s = store();
        let lead = add(&mut s, person(Some("DE"), Some("Europe/Berlin")));
        // 2 March: Berlin is UTC+1.
        assert!(!phone_at(&s, &lead, utc(2026, 3, 2, 6, 59)).is_allowed());
        assert!(phone_at(&s, &lead, utc(2026, 3, 2, 7, 0)).is_allowed());
        assert!(phone_at(&s, &lead, utc(2026, 3, 2, 19, 59)).is_allowed());
        let late = phone_at(&s, &lead, utc(2026, 3, 2, 20, 0));
        assert_eq!(
            late,
            Decision::Blocked(BlockReason::OutsideCallingHours {
                local_time: "21:00".into(),
                zone: "Europe/Berlin".into()
            })
        );
        assert_eq!(late.reason().unwrap().code(), "outside_calling_hours");
    }

    #[test]
    fn calling_hours_follow_daylight_saving_time() {
        let mut s = store();
        let lead = add(&mut s, person(Some("DE"), Some("Europe/Berlin")));
        // 29 March 2026, 02:00 local, Berlin moves to UTC+2: 06:00 UTC is now 08:00 local.
        assert!(!phone_at(&s, &lead, utc(2026, 3, 28, 6, 0)).is_allowed());
        assert!(phone_at(&s, &lead, utc(2026, 3, 30, 6, 0)).is_allowed());
        assert!(!phone_at(&s, &lead, utc(2026, 3, 30, 5, 59)).is_allowed());
        assert!(!phone_at(&s, &lead, utc(2026, 3, 30, 19, 0)).is_allowed());
        // New York switches on 8 March 2026: 12:00 UTC is 07:00 before, 08:00 after.
        let ny = add(&mut s, person(Some("US"), Some("America/New_York")));
        assert!(!phone_at(&s, &ny, utc(2026, 3, 6, 12, 0)).is_allowed());
        assert!(phone_at(&s, &ny, utc(2026, 3, 9, 12, 0)).is_allowed());
        // Southern hemisphere: Sydney leaves DST on 5 April 2026 (UTC+11 → UTC+10).
        let syd = add(&mut s, person(Some("AU"), Some("Australia/Sydney")));
        assert!(phone_at(&s, &syd, utc(2026, 4, 3, 21, 0)).is_allowed()); // 08:00 AEDT
        assert!(!phone_at(&s, &syd, utc(2026, 4, 6, 21, 0)).is_allowed()); // 07:00 AEST
    }

    #[test]
    fn without_a_zone_every_zone_of_the_country_must_be_inside_the_window() {
        let mut s = store();
        let us = add(&mut s, person(Some("US"), None));
        // 13:00 UTC in June: New York 09:00, Los Angeles 06:00, Honolulu 03:00: blocked.
        let early = phone_at(&s, &us, utc(2026, 6, 10, 13, 0));
        assert_eq!(early.reason().unwrap().code(), "outside_calling_hours");
        // 20:00 UTC: New York 16:00, Chicago 15:00, Los Angeles 13:00, Honolulu 10:00,
        // Anchorage 12:00 — inside everywhere in the US.
        assert!(phone_at(&s, &us, utc(2026, 6, 10, 20, 0)).is_allowed());
        // 01:00 UTC: Los Angeles is at 18:00, but New York has reached 21:00.
        assert!(!phone_at(&s, &us, utc(2026, 6, 11, 1, 0)).is_allowed());
        // A zone of its own overrides the country's spread.
        let la = add(&mut s, person(Some("US"), Some("America/Los_Angeles")));
        assert!(!phone_at(&s, &la, utc(2026, 6, 10, 14, 59)).is_allowed());
        assert!(phone_at(&s, &la, utc(2026, 6, 10, 15, 0)).is_allowed());
    }

    #[test]
    fn an_unknown_zone_blocks_calls_but_not_email() {
        let mut s = store();
        let nowhere = add(&mut s, person(None, None));
        let at = utc(2026, 3, 2, 12, 0);
        assert_eq!(
            phone_at(&s, &nowhere, at),
            Decision::Blocked(BlockReason::UnknownTimeZone)
        );
        assert!(check(s.conn(), &nowhere, Channel::Email, at)
            .unwrap()
            .is_allowed());
        // A malformed zone falls back to the country.
        let odd = add(&mut s, person(Some("DE"), Some("Mars/Olympus")));
        assert!(phone_at(&s, &odd, at).is_allowed());
    }

    #[test]
    fn opt_outs_block_their_channel_or_all() {
        let mut s = store();
        let lead = add(&mut s, person(Some("DE"), Some("Europe/Berlin")));
        let at = utc(2026, 3, 2, 12, 0);
        s.with_tx(|tx| {
            consent::opt_out(
                tx,
                &lead.id,
                ConsentScope::Email,
                "email unsubscribe",
                None,
                "system",
                at,
            )
        })
        .unwrap();
        let later = utc(2026, 3, 2, 13, 0);
        let email = check(s.conn(), &lead, Channel::Email, later).unwrap();
        assert_eq!(
            email,
            Decision::Blocked(BlockReason::OptedOut {
                scope: ConsentScope::Email,
                since: at
            })
        );
        assert!(email
            .reason()
            .unwrap()
            .message()
            .contains("opted out of email"));
        assert!(phone_at(&s, &lead, later).is_allowed());
        s.with_tx(|tx| {
            consent::opt_out(
                tx,
                &lead.id,
                ConsentScope::All,
                "phone call",
                None,
                "rep1",
                at,
            )
        })
        .unwrap();
        for (channel, decision) in allowed_channels(s.conn(), &lead, later).unwrap() {
            assert_eq!(
                decision.reason().map(|r| r.code()),
                Some("opted_out"),
                "{channel}"
            );
        }
    }

    #[test]
    fn missing_or_bounced_addresses_block_their_channel() {
        let mut s = store();
        let lead = add(
            &mut s,
            NewLead {
                name: Some("Bo".into()),
                email: Some("bo@example.com".into()),
                country: Some("DE".into()),
                ..NewLead::default()
            },
        );
        let at = utc(2026, 3, 2, 12, 0);
        let decisions = allowed_channels(s.conn(), &lead, at).unwrap();
        assert_eq!(decisions[0], (Channel::Email, Decision::Allowed));
        assert_eq!(
            decisions[1].1,
            Decision::Blocked(BlockReason::NoAddress {
                channel: Channel::Phone
            })
        );
        assert_eq!(decisions[2].1.reason().unwrap().code(), "no_address");
        let mut bounced = lead.clone();
        bounced.email_invalid = true;
        assert_eq!(
            check(s.conn(), &bounced, Channel::Email, at)
                .unwrap()
                .reason()
                .unwrap()
                .message(),
            "no valid email address"
        );
    }

    #[test]
    fn erased_and_suppressed_people_are_blocked_everywhere() {
        let mut s = store();
        let lead = add(&mut s, person(Some("DE"), Some("Europe/Berlin")));
        let at = utc(2026, 3, 2, 12, 0);
        let mut erased = lead.clone();
        erased.status = LeadStatus::Erased;
        assert_eq!(
            check(s.conn(), &erased, Channel::Mail, at).unwrap(),
            Decision::Blocked(BlockReason::Erased)
        );
        suppression::suppress(s.conn(), suppression::Identifier::Phone, "+4930123456", at).unwrap();
        for (_, decision) in allowed_channels(s.conn(), &lead, at).unwrap() {
            assert_eq!(decision, Decision::Blocked(BlockReason::Suppressed));
        }
    }

    #[test]
    fn disclosure_is_blocked_by_erasure_suppression_and_opt_out_of_all_only() {
        let mut s = store();
        let lead = add(&mut s, person(Some("DE"), Some("Europe/Berlin")));
        // At night, calls are blocked but sharing is not about calling hours.
        let night = utc(2026, 3, 2, 23, 0);
        assert!(check_disclosure(s.conn(), &lead, night)
            .unwrap()
            .is_allowed());
        s.with_tx(|tx| {
            consent::opt_out(tx, &lead.id, ConsentScope::Phone, "call", None, "r", night)
        })
        .unwrap();
        assert!(check_disclosure(s.conn(), &lead, night)
            .unwrap()
            .is_allowed());
        s.with_tx(|tx| {
            consent::opt_out(tx, &lead.id, ConsentScope::All, "letter", None, "r", night)
        })
        .unwrap();
        assert_eq!(
            check_disclosure(s.conn(), &lead, night)
                .unwrap()
                .reason()
                .unwrap()
                .code(),
            "opted_out"
        );
        let other = add(&mut s, person(Some("DE"), None));
        suppression::suppress(
            s.conn(),
            suppression::Identifier::Email,
            "ann@example.com",
            night,
        )
        .unwrap();
        assert_eq!(
            check_disclosure(s.conn(), &other, night).unwrap(),
            Decision::Blocked(BlockReason::Suppressed)
        );
        let mut erased = other.clone();
        erased.status = LeadStatus::Erased;
        assert_eq!(
            check_disclosure(s.conn(), &erased, night).unwrap(),
            Decision::Blocked(BlockReason::Erased)
        );
    }

    #[test]
    fn decisions_serialise_with_code_and_message() {
        let blocked = Decision::Blocked(BlockReason::OutsideCallingHours {
            local_time: "22:10".into(),
            zone: "Europe/Berlin".into(),
        });
        let json = serde_json::to_value(&blocked).unwrap();
        assert_eq!(json["allowed"], false);
        assert_eq!(json["reason"]["code"], "outside_calling_hours");
        assert_eq!(json["reason"]["zone"], "Europe/Berlin");
        assert!(json["message"].as_str().unwrap().contains("22:10"));
        let back: Decision = serde_json::from_value(json).unwrap();
        assert_eq!(back, blocked);
        assert_eq!(
            serde_json::to_value(Decision::Allowed).unwrap()["allowed"],
            true
        );
    }

    #[test]
    fn local_time_is_labelled_for_one_zone_and_for_a_spread() {
        let mut s = store();
        let berlin = add(&mut s, person(Some("DE"), Some("Europe/Berlin")));
        let at = utc(2026, 3, 2, 13, 5);
        assert_eq!(
            local_time_label(&berlin, at).as_deref(),
            Some("14:05 Europe/Berlin")
        );
        let us = add(&mut s, person(Some("US"), None));
        let label = local_time_label(&us, at).unwrap();
        assert!(label.contains("zones of US"), "{label}");
        assert_eq!(local_time_label(&add(&mut s, person(None, None)), at), None);
    }
}
