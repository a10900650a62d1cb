//! `switchboard export leads|history FILE`: CSV for spreadsheets, formulas neutralised by the core.

use crate::commands::history::HistoryFilters;
use crate::context::Context;
use crate::failure::{CliResult, Failure};
use crate::output;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
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

/// Writes the export to a temporary file beside FILE and renames it into place, so FILE is
/// either the complete export or untouched.
pub fn run(ctx: &Context, args: ExportArgs) -> CliResult {
    let store = ctx.open_store()?;
    let conn = store.conn();
    let query = args.filters.query(conn)?;
    let write = |out: &mut dyn Write| -> CliResult<u64> {
        Ok(match args.kind {
            ExportKind::Leads => export::export_leads(conn, out)?,
            ExportKind::History => export::export_history(conn, &query, out)?,
        })
    };
    if args.file.as_os_str() == "-" {
        let mut out = BufWriter::new(std::io::stdout().lock());
        write(&mut out)?;
        return out.flush().map_err(|e| Failure::io("writing to stdout", e));
    }
    let rows = write_whole(&args.file, write)?;
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

/// Runs `write` into `FILE.partial`, syncs it and renames it to `file`; removes the partial file
/// on failure.
fn write_whole(
    file: &Path,
    write: impl FnOnce(&mut dyn Write) -> CliResult<u64>,
) -> CliResult<u64> {
    let partial = partial_path(file);
    let result = (|| -> CliResult<u64> {
        let created = std::fs::File::create(&partial)
            .map_err(|e| Failure::io(format!("creating {}", partial.display()), e))?;
        let mut out = BufWriter::new(created);
        let rows = write(&mut out)?;
        let created = out
            .into_inner()
            .map_err(|e| Failure::io(format!("writing {}", partial.display()), e.into_error()))?;
        created
            .sync_all()
            .map_err(|e| Failure::io(format!("writing {}", partial.display()), e))?;
        std::fs::rename(&partial, file)
            .map_err(|e| Failure::io(format!("creating {}", file.display()), e))?;
        Ok(rows)
    })();
    if result.is_err() {
        // Best effort: the failure being reported matters more than a leftover partial file.
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn partial_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_os_string();
    name.push(".partial");
    PathBuf::from(name)
}
