//! `switchboard optout LEAD --channel email|phone|mail|all`: record an opt-out, effective at once.

use crate::context::Context;
use crate::failure::CliResult;
use crate::output;
use switchboard_core::protocol::ConsentScope;
use switchboard_core::requests;

/// Arguments of `optout`.
#[derive(Debug, clap::Args)]
pub struct OptOutArgs {
    /// The lead's id or email address
    pub lead: String,
    /// email, phone, mail or all
    #[arg(long)]
    pub channel: ConsentScope,
    /// How the person asked ("phone call", "reply to email", …)
    #[arg(long, default_value = "request to a rep")]
    pub source: String,
}

/// Records the opt-out and its fulfilled subscriber request in one transaction.
pub fn run(ctx: &Context, args: OptOutArgs) -> CliResult {
    let mut store = ctx.open_store()?;
    let done = store.with_tx_now(|tx, at| {
        requests::opt_out_request(tx, &args.lead, args.channel, &args.source, ctx.actor(), at)
    })?;
    if ctx.json {
        return output::json(&done);
    }
    let what = match args.channel {
        ConsentScope::All => "all contact".to_string(),
        scope => scope.as_str().to_string(),
    };
    output::line(format!(
        "Opted out of {what} for lead {} (request {}).",
        done.event.lead_id, done.request.id
    ))
}
