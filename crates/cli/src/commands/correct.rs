//! `switchboard correct LEAD FIELD=VALUE…`: rectify a person's information as they asked.

use crate::context::Context;
use crate::failure::{CliResult, Failure};
use crate::output::{self, Table};
use switchboard_core::correct;

/// Arguments of `correct`.
#[derive(Debug, clap::Args)]
pub struct CorrectArgs {
    /// The lead's id or email address
    pub lead: String,
    /// Fields to change, e.g. name="Ann Smith" phone=+4930123456 (an empty value clears it)
    #[arg(required = true, value_name = "FIELD=VALUE")]
    pub changes: Vec<String>,
}

/// Applies the correction in one transaction: every value is checked before anything changes.
pub fn run(ctx: &Context, args: CorrectArgs) -> CliResult {
    let changes = args
        .changes
        .iter()
        .map(|pair| split_pair(pair))
        .collect::<CliResult<Vec<_>>>()?;
    let mut store = ctx.open_store()?;
    let done =
        store.with_tx_now(|tx, at| correct::correct(tx, &args.lead, &changes, ctx.actor(), at))?;
    if ctx.json {
        return output::json(&done);
    }
    if done.changed.is_empty() {
        output::line(format!(
            "Nothing changed for lead {}; the named fields are now locked against registrations.",
            done.lead_id
        ))?;
    } else {
        let mut table = Table::new(&["FIELD", "OLD", "NEW"]);
        for change in &done.changed {
            table.row(vec![
                change.field.clone(),
                output::opt(change.old.as_deref()),
                output::opt(change.new.as_deref()),
            ]);
        }
        table.print()?;
    }
    output::line(format!(
        "Corrected lead {} (request {}).",
        done.lead_id, done.request_id
    ))
}

fn split_pair(pair: &str) -> CliResult<(String, String)> {
    match pair.split_once('=') {
        Some((field, value)) if !field.trim().is_empty() => {
            Ok((field.trim().to_string(), value.to_string()))
        }
        _ => Err(Failure::bad_input(format!(
            "'{pair}' is not FIELD=VALUE (for example email=ann@example.com)"
        ))),
    }
}
