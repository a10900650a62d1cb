//! `switchboard export leads|history FILE`: CSV for spreadsheets, formulas neutralised by the core.

use crate::commands::history::HistoryFilters;
use crate::context::Context;
use crate::failure::{CliResult, Failure};
use crate::output;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use switchboard_app::jobs::{self, Dataset, JobControl};

/// What to export.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportKind {
    /// Every lead (erased ones as their skeleton)
    Leads,
    /// Follow-ups (the history filters apply)
    History,
}

/// Arguments of `export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// leads or history
    pub kind: ExportKind,
    /// The CSV file to write ('-' for stdout)
    pub file: PathBuf,
    #[command(flatten)]
    pub filters: HistoryFilters,
}

/// Writes the export whole or not at all (the application layer's export job): FILE is either the
/// complete export or untouched.
pub fn run(ctx: &Context, args: ExportArgs) -> CliResult {
    let store = ctx.open_store()?;
    let dataset = match args.kind {
        ExportKind::Leads => Dataset::Leads,
        ExportKind::History => Dataset::History(args.filters.query(&store)?),
    };
    if args.file.as_os_str() == "-" {
        let mut out = BufWriter::new(std::io::stdout().lock());
        dataset.write(&store, &mut out)?;
        return out.flush().map_err(|e| Failure::io("writing to stdout", e));
    }
    let control = JobControl::default();
    let written = jobs::export_file(&Mutex::new(store), &dataset, &args.file, &control, |_| {})?;
    // Nothing cancels the command's job; Ctrl-C ends the process, leaving FILE untouched.
    let rows = written.unwrap_or_default();
    if ctx.json {
        return output::json(&serde_json::json!({ "rows": rows, "file": args.file }));
    }
    let what = match args.kind {
        ExportKind::Leads => "leads",
        ExportKind::History => "follow-ups",
    };
    output::line(format!(
        "Exported {rows} {what} to {}.",
        args.file.display()
    ))
}
