//! `switchboard log LEAD --channel C --outcome O [--note T] [--next DATE] [--inbound] [--at TIME]`.

use crate::context::Context;
use crate::dates;
use crate::failure::CliResult;
use crate::output;
use chrono::{DateTime, Utc};
use switchboard_core::followup::{self, LogFollowUp};
use switchboard_core::protocol::{Channel, Direction, Outcome};

/// Arguments of `log`.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// The lead's id or email address
    pub lead: String,
    /// email, phone or mail
    #[arg(long)]
    pub channel: Channel,
    /// What happened: connected, no_answer, voicemail, busy, wrong_number, callback_requested,
    /// sent, replied, bounced, returned, meeting_booked, not_interested, converted
    #[arg(long)]
    pub outcome: Outcome,
    /// A note about the contact
    #[arg(long)]
    pub note: Option<String>,
    /// When to follow up next (YYYY-MM-DD is local midnight)
    #[arg(long, value_parser = dates::instant_arg, value_name = "DATE")]
    pub next: Option<DateTime<Utc>>,
    /// The person contacted us (never refused by the gate)
    #[arg(long)]
    pub inbound: bool,
    /// When it happened [default: now]
    #[arg(long, value_parser = dates::instant_arg, value_name = "TIME")]
    pub at: Option<DateTime<Utc>>,
}

/// Logs the follow-up; an outbound contact the gate refuses exits 3 with the reason.
pub fn run(ctx: &Context, args: LogArgs) -> CliResult {
    let mut store = ctx.open_store()?;
    let now = store.now();
    let input = LogFollowUp {
        lead: args.lead,
        channel: args.channel,
        direction: if args.inbound {
            Direction::In
        } else {
            Direction::Out
        },
        outcome: args.outcome,
        note: args.note,
        occurred_at: args.at.unwrap_or(now),
        rep: ctx.actor().to_string(),
        next_follow_up_at: args.next,
    };
    let logged = store.with_tx(|tx| followup::log(tx, &input, now))?;
    if ctx.json {
        return output::json(&logged);
    }
    let next = logged
        .next_follow_up_at
        .map(|at| format!("; next follow-up {}", output::time(at)))
        .unwrap_or_default();
    output::line(format!(
        "Logged {} {} ({}) for lead {}{next}.",
        logged.direction, logged.channel, logged.outcome, logged.lead_id
    ))
}
