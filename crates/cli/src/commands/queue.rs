//! `switchboard queue list|next|show`.

use crate::context::Context;
use crate::failure::{CliResult, Failure};
use crate::output::{self, Fields, Table};
use clap::Subcommand;
use switchboard_app::views;
use switchboard_core::gate::{ChannelDecision, Decision};
use switchboard_core::queue;

/// The `queue` subcommands.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// The queues: built-ins (new, due, callable) and your own
    List,
    /// Claim the top lead of a queue that may be contacted now (exit 4 when the queue is empty)
    Next {
        /// The queue to take from
        #[arg(long, default_value = "new")]
        queue: String,
        /// The rep claiming the lead [default: the acting user]
        #[arg(long, value_name = "USER")]
        rep: Option<String>,
    },
    /// A page of a queue, in the order `next` hands leads out
    Show {
        /// The queue
        #[arg(default_value = "new")]
        queue: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
    },
}

/// Runs a `queue` subcommand.
pub fn run(ctx: &Context, command: QueueCommand) -> CliResult {
    match command {
        QueueCommand::List => list(ctx),
        QueueCommand::Next { queue, rep } => next(ctx, &queue, rep.as_deref()),
        QueueCommand::Show {
            queue,
            limit,
            offset,
        } => show(ctx, &queue, limit, offset),
    }
}

fn list(ctx: &Context) -> CliResult {
    let store = ctx.open_store()?;
    let queues = queue::list(store.conn())?;
    if ctx.json {
        return output::json(&queues);
    }
    let mut table = Table::new(&["NAME", "DESCRIPTION"]);
    for def in &queues {
        table.row(vec![def.name.clone(), def.description.clone()]);
    }
    table.print()
}

fn next(ctx: &Context, queue_name: &str, rep: Option<&str>) -> CliResult {
    let mut store = ctx.open_store()?;
    let rep = rep.unwrap_or(ctx.actor());
    let found = views::queue::claim_next(&mut store, queue_name, rep)?;
    let Some(next) = found else {
        return Err(Failure::not_found(format!(
            "the '{queue_name}' queue has no lead that may be contacted now"
        )));
    };
    if ctx.json {
        return output::json(&next);
    }
    let lead = &next.lead;
    let mut fields = Fields::new();
    fields
        .add("lead", &lead.id)
        .add("name", output::opt(lead.name.as_deref()))
        .add("company", output::opt(lead.company.as_deref()))
        .add("email", output::opt(lead.email.as_deref()))
        .add("phone", output::opt(lead.phone.as_deref()))
        .add("country", output::opt(lead.country.as_deref()))
        .add("why", next.reasons.join("; "))
        .add("channels", channel_summary(&next.channels))
        .add("yours until", output::time(next.lease_until));
    fields.print()
}

fn show(ctx: &Context, queue_name: &str, limit: usize, offset: usize) -> CliResult {
    let store = ctx.open_store()?;
    let entries = views::queue::page(&store, queue_name, offset, limit)?;
    if ctx.json {
        return output::json(&entries);
    }
    if entries.is_empty() {
        return output::line(format!("The '{queue_name}' queue is empty."));
    }
    let mut table = Table::new(&["ID", "NAME", "COMPANY", "COUNTRY", "CHANNELS", "CLAIMED BY"]);
    for entry in &entries {
        table.row(vec![
            entry.lead.id.clone(),
            output::opt(entry.lead.name.as_deref()),
            output::opt(entry.lead.company.as_deref()),
            output::opt(entry.lead.country.as_deref()),
            allowed_names(&entry.channels),
            output::opt(entry.leased_by.as_deref()),
        ]);
    }
    table.print()
}

/// "email, phone" — the channels allowed now.
fn allowed_names(channels: &[ChannelDecision]) -> String {
    let allowed: Vec<&str> = channels
        .iter()
        .filter(|c| c.decision.is_allowed())
        .map(|c| c.channel.as_str())
        .collect();
    if allowed.is_empty() {
        "none".into()
    } else {
        allowed.join(", ")
    }
}

/// "email ok; phone no: outside calling hours …" — every channel with the gate's word.
pub fn channel_summary(channels: &[ChannelDecision]) -> String {
    channels
        .iter()
        .map(|c| match &c.decision {
            Decision::Allowed => format!("{} ok", c.channel),
            Decision::Blocked(reason) => format!("{} no: {}", c.channel, reason.message()),
        })
        .collect::<Vec<_>>()
        .join("; ")
}
