//! `switchboard leads list|show|search`.

use crate::commands::queue as queue_cmd;
use crate::context::Context;
use crate::failure::CliResult;
use crate::output::{self, Fields, Table};
use clap::Subcommand;
use switchboard_app::views;
use switchboard_core::protocol::Lead;
use switchboard_core::{leads, search};

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
    /// Full-text search over name, company, email, phone and follow-up notes
    Search {
        /// Words (all must match, as prefixes) or a phone number in any format
        text: String,
        /// Most hits to show
        #[arg(long, default_value_t = 50)]
        limit: usize,
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
        LeadsCommand::Search { text, limit } => search_leads(ctx, &text, limit),
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

fn search_leads(ctx: &Context, text: &str, limit: usize) -> CliResult {
    let store = ctx.open_store()?;
    let hits = search::search(store.conn(), text, limit)?;
    if ctx.json {
        return output::json(&hits);
    }
    if hits.is_empty() {
        return output::line("No matches.");
    }
    let mut table = Table::new(&[CONTACT_COLUMNS.as_slice(), &["MATCHED"]].concat());
    for hit in &hits {
        let matched = match &hit.note_excerpt {
            Some(note) => format!("note: {note}"),
            None => "lead".to_string(),
        };
        let mut row = contact_cells(&hit.lead);
        row.push(matched);
        table.row(row);
    }
    table.print()
}

/// The columns a table of leads opens with: who they are and how to reach them.
const CONTACT_COLUMNS: [&str; 5] = ["ID", "NAME", "COMPANY", "EMAIL", "PHONE"];

/// A lead's cells under `CONTACT_COLUMNS`.
fn contact_cells(lead: &Lead) -> Vec<String> {
    vec![
        lead.id.clone(),
        output::opt(lead.name.as_deref()),
        output::opt(lead.company.as_deref()),
        output::opt(lead.email.as_deref()),
        output::opt(lead.phone.as_deref()),
    ]
}

/// Prints leads as a table.
pub fn print_leads(page: &[Lead]) -> CliResult {
    if page.is_empty() {
        return output::line("No leads.");
    }
    let columns = [
        CONTACT_COLUMNS.as_slice(),
        &["COUNTRY", "STATUS", "REGISTERED"],
    ]
    .concat();
    let mut table = Table::new(&columns);
    for lead in page {
        let mut row = contact_cells(lead);
        row.extend([
            output::opt(lead.country.as_deref()),
            lead.status.to_string(),
            output::opt_time(lead.last_registered_at),
        ]);
        table.row(row);
    }
    table.print()
}

fn show(ctx: &Context, reference: &str) -> CliResult {
    let store = ctx.open_store()?;
    let held = views::lead_detail(&store, reference)?;
    if ctx.json {
        // The audit timeline is `switchboard history`'s to show.
        return output::json(&serde_json::json!({
            "lead": held.lead,
            "local_time": held.local_time,
            "registrations": held.registrations,
            "follow_ups": held.follow_ups,
            "consent": held.consent,
            "channels": held.channels,
            "subscriber_requests": held.subscriber_requests,
            "corrected_fields": held.corrected_fields,
            "disclosures": held.disclosures,
        }));
    }
    let mut fields = lead_fields(&held.lead);
    fields.add(
        "local time",
        held.local_time.clone().unwrap_or_else(|| "unknown".into()),
    );
    fields.add("channels now", queue_cmd::channel_summary(&held.channels));
    let opt_outs: Vec<String> = held
        .consent
        .active_opt_outs
        .iter()
        .map(|o| format!("{} since {}", o.scope, output::time(o.since)))
        .collect();
    fields.add(
        "opted out",
        if opt_outs.is_empty() {
            "no".to_string()
        } else {
            opt_outs.join(", ")
        },
    );
    if !held.corrected_fields.is_empty() {
        fields.add("corrected", held.corrected_fields.join(", "));
    }
    fields.print()?;

    output::line(format!("\nRegistrations ({})", held.registrations.len()))?;
    if !held.registrations.is_empty() {
        let mut table = Table::new(&["SUBMITTED", "KIND", "PRODUCT", "IP", "REFERRER", "PAGES"]);
        for r in &held.registrations {
            table.row(vec![
                output::time(r.submitted_at),
                r.kind.to_string(),
                output::opt(r.product.as_deref()),
                output::opt(r.details.ip.as_deref()),
                output::opt(r.details.referrer.as_deref()),
                r.details.pages_visited.len().to_string(),
            ]);
        }
        table.print()?;
    }
    output::line(format!("\nFollow-ups ({})", held.follow_ups.len()))?;
    if !held.follow_ups.is_empty() {
        let mut table = Table::new(&["WHEN", "CHANNEL", "DIR", "OUTCOME", "REP", "NEXT", "NOTE"]);
        for f in &held.follow_ups {
            table.row(vec![
                output::time(f.occurred_at),
                f.channel.to_string(),
                f.direction.to_string(),
                f.outcome.to_string(),
                f.rep.clone(),
                output::opt_time(f.next_follow_up_at),
                output::opt(f.note.as_deref()),
            ]);
        }
        table.print()?;
    }
    output::line(format!(
        "\nShared with partners ({})",
        held.disclosures.len()
    ))?;
    if !held.disclosures.is_empty() {
        let mut table = Table::new(&["WHEN", "PARTNER", "COUNTRY", "BASIS", "FIELDS", "BY"]);
        for d in &held.disclosures {
            table.row(vec![
                output::time(d.disclosed_at),
                d.partner_name.clone(),
                d.country.clone(),
                d.basis.to_string(),
                switchboard_core::partners::fields_text(&d.fields),
                d.disclosed_by.clone(),
            ]);
        }
        table.print()?;
    }
    Ok(())
}

/// One lead's fields as a block.
fn lead_fields(lead: &Lead) -> Fields {
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
    fields
}
