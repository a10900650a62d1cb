//! `switchboard leads list|show|search`.

use crate::context::Context;
use crate::failure::CliResult;
use crate::output::{self, Fields, Table};
use clap::Subcommand;
use switchboard_core::leads;
use switchboard_core::protocol::Lead;

/// The `leads` subcommands.
#[derive(Debug, Subcommand)]
pub enum LeadsCommand {
    /// A page of leads, most recently registered first
    List {
        /// How many leads to show
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// How many leads to skip
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Everything about one lead: fields, registrations, follow-ups, consent, channels allowed now
    Show {
        /// The lead's id or email address
        lead: String,
    },
}

/// Runs a `leads` subcommand.
pub fn run(ctx: &Context, command: LeadsCommand) -> CliResult {
    match command {
        LeadsCommand::List { limit, offset } => list(ctx, limit, offset),
        LeadsCommand::Show { lead } => show(ctx, &lead),
    }
}

fn list(ctx: &Context, limit: u32, offset: u32) -> CliResult {
    let store = ctx.open_store()?;
    let page = leads::list(store.conn(), limit, offset)?;
    if ctx.json {
        return output::json(&page);
    }
    print_leads(&page)
}

/// Prints leads as a table (shared with `leads search`).
pub fn print_leads(page: &[Lead]) -> CliResult {
    if page.is_empty() {
        return output::line("No leads.");
    }
    let mut table = Table::new(&[
        "ID",
        "NAME",
        "COMPANY",
        "EMAIL",
        "PHONE",
        "COUNTRY",
        "STATUS",
        "REGISTERED",
    ]);
    for lead in page {
        table.row(vec![
            lead.id.clone(),
            output::opt(lead.name.as_deref()),
            output::opt(lead.company.as_deref()),
            output::opt(lead.email.as_deref()),
            output::opt(lead.phone.as_deref()),
            output::opt(lead.country.as_deref()),
            lead.status.to_string(),
            output::opt_time(lead.last_registered_at),
        ]);
    }
    table.print()
}

fn show(ctx: &Context, reference: &str) -> CliResult {
    let store = ctx.open_store()?;
    let lead = leads::find(store.conn(), reference)?;
    if ctx.json {
        return output::json(&serde_json::json!({ "lead": lead }));
    }
    print_lead(&lead)
}

/// Prints one lead's fields as a block.
pub fn print_lead(lead: &Lead) -> CliResult {
    let mut fields = Fields::new();
    fields
        .add("id", &lead.id)
        .add("name", output::opt(lead.name.as_deref()))
        .add("company", output::opt(lead.company.as_deref()))
        .add("email", output::opt(lead.email.as_deref()))
        .add("phone", output::opt(lead.phone.as_deref()))
        .add("address", output::opt(lead.address.as_deref()))
        .add("country", output::opt(lead.country.as_deref()))
        .add("time zone", output::opt(lead.time_zone.as_deref()))
        .add("status", lead.status.as_str())
        .add("owner", output::opt(lead.owner.as_deref()))
        .add("office", output::opt(lead.office.as_deref()))
        .add("registered", output::opt_time(lead.last_registered_at))
        .add("attempts", lead.attempts.to_string())
        .add(
            "last outcome",
            output::opt(lead.last_outcome.map(|o| o.as_str())),
        )
        .add("next follow-up", output::opt_time(lead.next_follow_up_at));
    fields.print()
}
