//! `switchboard share LEAD… --with PARTNER [--out FILE]` and `switchboard disclosures`.

use crate::context::Context;
use crate::dates;
use crate::failure::{CliResult, Failure};
use crate::output::{self, Table};
use chrono::{DateTime, Utc};
use std::io::Write;
use std::path::PathBuf;
use switchboard_core::disclosure::{self, ReportFilter};
use switchboard_core::partners::{self, fields_text};
use switchboard_core::share::{self, Format};

/// Arguments of `share`.
#[derive(Debug, clap::Args)]
pub struct ShareArgs {
    /// The leads, by id or email address
    #[arg(required = true)]
    pub leads: Vec<String>,
    /// The registered partner (name or id) to share with
    #[arg(long = "with", value_name = "PARTNER")]
    pub with: String,
    /// Write the records here (.json for JSON, anything else CSV) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Shares the leads; blocked ones are reported on stderr. Exit 3 only if none could be shared.
pub fn run(ctx: &Context, args: ShareArgs) -> CliResult {
    let mut store = ctx.open_store()?;
    // Everything is computed and recorded before anything leaves; a failed write afterwards
    // leaves a ledger entry for data that did not go, never data that went unrecorded.
    let result =
        store.with_tx_now(|tx, at| share::share(tx, &args.leads, &args.with, ctx.actor(), at))?;
    if let Some(path) = &args.out {
        share::write_file(&result, path)?;
    }
    if ctx.json {
        output::json(&serde_json::json!({
            "partner": result.partner,
            "shared": result.shared,
            "disclosures": result.disclosures,
            "blocked": result.blocked,
            "out": args.out,
        }))?;
    } else if args.out.is_none() {
        let mut out = std::io::stdout().lock();
        share::write(&result, Format::Csv, &mut out)?;
    } else {
        output::line(format!(
            "Shared {} of {} with {} ({}, basis {}): {}",
            result.shared.len(),
            args.leads.len(),
            output::clean(&result.partner.name),
            result.partner.country,
            result.partner.basis,
            fields_text(&result.partner.fields)
        ))?;
    }
    for b in &result.blocked {
        let _ = writeln!(
            std::io::stderr(),
            "not shared: {} ({}: {})",
            output::clean(&b.lead),
            b.code,
            b.message
        );
    }
    if result.shared.is_empty() && !result.blocked.is_empty() {
        return Err(Failure::refused(format!(
            "nothing was shared with {}: every lead was refused",
            output::clean(&result.partner.name)
        )));
    }
    Ok(())
}

/// Arguments of `disclosures`.
#[derive(Debug, clap::Args)]
pub struct DisclosuresArgs {
    /// Only this partner (name or id)
    #[arg(long)]
    pub partner: Option<String>,
    /// Only recipients in this country
    #[arg(long)]
    pub country: Option<String>,
    /// From this date or time (inclusive)
    #[arg(long, value_parser = dates::instant_arg)]
    pub since: Option<DateTime<Utc>>,
    /// Until this date or time (exclusive)
    #[arg(long, value_parser = dates::instant_arg)]
    pub until: Option<DateTime<Utc>>,
    /// Only this lead (id or email)
    #[arg(long)]
    pub lead: Option<String>,
}

/// The disclosure report: totals by partner, then every disclosure.
pub fn disclosures(ctx: &Context, args: DisclosuresArgs) -> CliResult {
    let store = ctx.open_store()?;
    let conn = store.conn();
    let partner_id = match &args.partner {
        Some(p) => Some(partners::find(conn, p)?.id),
        None => None,
    };
    let mut report = disclosure::report(
        conn,
        &ReportFilter {
            partner_id,
            country: args.country.clone(),
            since: args.since,
            until: args.until,
        },
    )?;
    if let Some(reference) = &args.lead {
        let lead = switchboard_core::leads::find(conn, reference)?;
        report.disclosures.retain(|d| d.lead_id == lead.id);
    }
    if ctx.json {
        return output::json(&report);
    }
    if report.disclosures.is_empty() {
        return output::line("No disclosures.");
    }
    let mut totals = Table::new(&["PARTNER", "COUNTRY", "BASIS", "DISCLOSURES", "PEOPLE"]);
    for t in &report.totals {
        totals.row(vec![
            t.partner_name.clone(),
            t.country.clone(),
            t.basis.to_string(),
            t.disclosures.to_string(),
            t.people.to_string(),
        ]);
    }
    totals.print()?;
    output::line("")?;
    let mut rows = Table::new(&[
        "WHEN", "LEAD", "PARTNER", "COUNTRY", "BASIS", "FIELDS", "BY",
    ]);
    for d in &report.disclosures {
        rows.row(vec![
            output::time(d.disclosed_at),
            d.lead_id.clone(),
            d.partner_name.clone(),
            d.country.clone(),
            d.basis.to_string(),
            fields_text(&d.fields),
            d.disclosed_by.clone(),
        ]);
    }
    rows.print()
}
