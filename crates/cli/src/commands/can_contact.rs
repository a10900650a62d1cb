//! `switchboard can-contact LEAD --channel C [--at TIME]`: the compliance gate's answer.

use crate::context::Context;
use crate::dates;
use crate::failure::{CliResult, Failure};
use crate::output::{self, Fields};
use chrono::{DateTime, Utc};
use switchboard_core::gate::{self, DecisionView};
use switchboard_core::leads;
use switchboard_core::protocol::Channel;

/// Arguments of `can-contact`.
#[derive(Debug, clap::Args)]
pub struct CanContactArgs {
    /// The lead's id or email address
    pub lead: String,
    /// email, phone or mail
    #[arg(long)]
    pub channel: Channel,
    /// The instant to ask about [default: now]
    #[arg(long, value_parser = dates::instant_arg, value_name = "TIME")]
    pub at: Option<DateTime<Utc>>,
}

/// Prints the gate's decision; exits 3 with the reason on stderr when it refuses.
pub fn run(ctx: &Context, args: CanContactArgs) -> CliResult {
    let store = ctx.open_store()?;
    let lead = leads::find(store.conn(), &args.lead)?;
    let at = args.at.unwrap_or_else(|| store.now());
    let decision = gate::check(store.conn(), &lead, args.channel, at)?;
    let view = DecisionView::from(decision);
    if ctx.json {
        output::json(&serde_json::json!({
            "lead_id": lead.id,
            "channel": args.channel,
            "at": at,
            "allowed": view.allowed,
            "reason": view.reason,
            "message": view.message,
        }))?;
    } else {
        let mut fields = Fields::new();
        fields
            .add("lead", &lead.id)
            .add("channel", args.channel.as_str())
            .add("at", output::time(at))
            .add("allowed", if view.allowed { "yes" } else { "no" });
        if let Some(local) = gate::local_time_label(&lead, at) {
            fields.add("local time", local);
        }
        if let Some(message) = &view.message {
            fields.add("reason", message);
        }
        fields.print()?;
    }
    match view.reason {
        None => Ok(()),
        Some(reason) => Err(Failure::refused(format!(
            "{} ({})",
            reason.message(),
            reason.code()
        ))),
    }
}
