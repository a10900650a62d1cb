//! `switchboard dsar LEAD [--out FILE]`: the access report, everything held about a person.

use crate::context::Context;
use crate::failure::CliResult;
use crate::output;
use std::path::PathBuf;
use switchboard_core::protocol::RequestKind;
use switchboard_core::{access, leads, requests};

/// Arguments of `dsar`.
#[derive(Debug, clap::Args)]
pub struct DsarArgs {
    /// The lead's id or email address
    pub lead: String,
    /// Write the report to this file instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Records the access request as fulfilled and writes the report (always JSON: it is the
/// document handed to the person). With `--out`, a file that cannot be written rolls the
/// request back, so it is never on file as done without a report.
pub fn run(ctx: &Context, args: DsarArgs) -> CliResult {
    let mut store = ctx.open_store()?;
    let Some(path) = args.out else {
        let report = store.with_tx_now(|tx, at| {
            let lead = leads::find(tx, &args.lead)?;
            requests::fulfil(tx, &lead.id, RequestKind::Access, None, ctx.actor(), at)?;
            access::report(tx, &lead.id)
        })?;
        return output::json(&report);
    };
    let export = store
        .with_tx_now(|tx, at| access::export_to_file(tx, &args.lead, &path, ctx.actor(), at))?;
    if ctx.json {
        return output::json(&serde_json::json!({ "lead_id": export.lead_id, "out": path }));
    }
    output::line(format!(
        "Wrote the access report for lead {} to {}.",
        export.lead_id,
        path.display()
    ))
}
