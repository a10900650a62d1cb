//! `switchboard export leads|history FILE`: CSV for spreadsheets, formulas neutralised by the core.

use crate::commands::history::HistoryFilters;
use crate::context::Context;
use crate::failure::{CliResult, Failure};
use crate::output;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use switchboard_core::export;

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

/// Writes the export whole or not at all (`export::write_whole`): FILE is either the complete
/// export or untouched.
pub fn run(ctx: &Context, args: ExportArgs) -> CliResult {
    let store = ctx.open_store()?;
    let conn = store.conn();
    let query = args.filters.query(conn)?;
    let write = |out: &mut dyn Write| match args.kind {
        ExportKind::Leads => export::export_leads(conn, out),
        ExportKind::History => export::export_history(conn, &query, out),
    };
    if args.file.as_os_str() == "-" {
        let mut out = BufWriter::new(std::io::stdout().lock());
        write(&mut out)?;
        return out.flush().map_err(|e| Failure::io("writing to stdout", e));
    }
    let rows = export::write_whole(&args.file, write)?;
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
