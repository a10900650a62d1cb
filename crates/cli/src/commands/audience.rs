//! `switchboard audience preview|export|history`: who may receive promotional email now.

use crate::context::Context;
use crate::failure::{CliResult, Failure};
use crate::output::{self, Table};
use clap::Subcommand;
use std::path::PathBuf;
use std::sync::Mutex;
use switchboard_app::jobs::{self, JobControl};
use switchboard_core::audience::{self, Segment};

/// The `audience` subcommands.
#[derive(Debug, Subcommand)]
pub enum AudienceCommand {
    /// Count who a segment would reach now, and why the others are left out
    Preview {
        /// Filter: country=DE|AT,kind=trial,product=NAME,status=new,since=YYYY-MM-DD
        #[arg(long, default_value = "")]
        segment: String,
    },
    /// Write the audience as CSV (Email Address, First Name, Last Name, Company, Country)
    Export {
        /// Filter: country=DE|AT,kind=trial,product=NAME,status=new,since=YYYY-MM-DD
        #[arg(long, default_value = "")]
        segment: String,
        /// The CSV file to write
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Past exports: when, by whom, which filter, how many
    History,
}

/// Runs an `audience` subcommand.
pub fn run(ctx: &Context, command: AudienceCommand) -> CliResult {
    let store = ctx.open_store()?;
    let at = store.now();
    match command {
        AudienceCommand::Preview { segment } => {
            let seg = Segment::parse(&segment)?;
            let preview = audience::preview(store.conn(), &seg, at)?;
            if ctx.json {
                return output::json(&preview);
            }
            output::line(format!(
                "{} of {} people in '{}' may receive promotional email now.",
                preview.allowed, preview.candidates, preview.segment
            ))?;
            for (code, n) in &preview.blocked {
                output::line(format!("  left out, {code}: {n}"))?;
            }
            Ok(())
        }
        AudienceCommand::Export { segment, out } => {
            let seg = Segment::parse(&segment)?;
            let control = JobControl::default();
            let shared = Mutex::new(store);
            let done = jobs::export_audience(&shared, &seg, &out, ctx.actor(), &control, |_| {})?;
            // Nothing cancels the command's job (Ctrl-C ends the process before the commit).
            let export = done.ok_or_else(|| Failure::refused("the export was cancelled"))?;
            if ctx.json {
                return output::json(&export);
            }
            output::line(format!(
                "Exported {} people in '{}' to {} (export {}).",
                export.count,
                export.segment,
                out.display(),
                export.id
            ))
        }
        AudienceCommand::History => {
            let list = audience::history(store.conn())?;
            if ctx.json {
                return output::json(&list);
            }
            if list.is_empty() {
                return output::line("No audience exports.");
            }
            let mut table = Table::new(&["ID", "WHEN", "BY", "SEGMENT", "COUNT"]);
            for e in &list {
                table.row(vec![
                    e.id.clone(),
                    output::time(e.exported_at),
                    e.exported_by.clone(),
                    e.segment.clone(),
                    e.count.to_string(),
                ]);
            }
            table.print()
        }
    }
}
