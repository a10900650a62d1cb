//! `switchboard dsar LEAD [--out FILE]`: the access report, everything held about a person.

use crate::context::Context;
use crate::failure::{CliResult, Failure};
use crate::output;
use std::io::Write;
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
/// document handed to the person).
pub fn run(ctx: &Context, args: DsarArgs) -> CliResult {
    let mut store = ctx.open_store()?;
    let at = store.now();
    let report = store.with_tx(|tx| {
        let lead = leads::find(tx, &args.lead)?;
        requests::fulfil(tx, &lead.id, RequestKind::Access, None, &ctx.actor, at)?;
        access::report(tx, &lead.id)
    })?;
    let Some(path) = args.out else {
        return output::json(&report);
    };
    let text = serde_json::to_vec_pretty(&report)?;
    let mut file = std::fs::File::create(&path)
        .map_err(|e| Failure::io(format!("creating {}", path.display()), e))?;
    file.write_all(&text)
        .and_then(|_| file.write_all(b"\n"))
        .and_then(|_| file.sync_all())
        .map_err(|e| Failure::io(format!("writing {}", path.display()), e))?;
    if ctx.json {
        return output::json(&serde_json::json!({ "lead_id": report.lead.id, "out": path }));
    }
    output::line(format!(
        "Wrote the access report for lead {} to {}.",
        report.lead.id,
        path.display()
    ))
}
