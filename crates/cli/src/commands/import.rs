//! `switchboard import FILE [--format csv|jsonl] [--progress] [--cadence NAME]`: registrations
//! from a form tool's or CRM's export. Good rows are imported, bad rows are listed with their line
//! number; with `--cadence`, every imported lead is enrolled in that cadence as its batch commits.

use crate::context::Context;
use crate::failure::{CliResult, Failure};
use crate::output::{self, Table};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use switchboard_app::jobs::{CadenceEnrolment, ImportEnrolment};
use switchboard_core::import::{
    self, Format, ImportOptions, ImportProgress, ImportReport, DEFAULT_BATCH_SIZE,
};

/// How many row errors the text output lists; `--json` lists them all.
const SHOWN_ERRORS: usize = 20;

/// File formats on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    Csv,
    Jsonl,
}

/// Arguments of `import`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exits 0 when every row was imported, merged or recognised (duplicates, \
    suppressed), and 2 when some rows were rejected: the good rows are imported all the same, \
    and re-running the same file imports nothing twice."
)]
pub struct ImportArgs {
    /// A CSV file (header row; UTF-8 with or without BOM) or JSON Lines
    pub file: PathBuf,
    /// The file's format [default: from the extension: .jsonl/.ndjson/.json are JSON Lines]
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Show progress on stderr even when it is not a terminal
    #[arg(long)]
    pub progress: bool,
    /// The office new leads belong to
    #[arg(long)]
    pub office: Option<String>,
    /// Enrol every lead the file brings (new or merged) in this cadence (name or id)
    #[arg(long, value_name = "NAME")]
    pub cadence: Option<String>,
    /// Rows per transaction
    #[arg(long, default_value_t = DEFAULT_BATCH_SIZE, hide = true)]
    pub batch_size: usize,
}

/// Imports the file and prints the counts and the rejected rows.
pub fn run(ctx: &Context, args: ImportArgs) -> CliResult {
    if !args.file.is_file() {
        return Err(Failure::not_found(format!(
            "no file {} to import",
            args.file.display()
        )));
    }
    let mut store = ctx.create_store()?;
    let enrolment = args
        .cadence
        .as_deref()
        .map(|c| CadenceEnrolment::new(&store, c, ctx.actor(), store.now()))
        .transpose()?;
    let options = ImportOptions {
        office: args.office,
        actor: ctx.actor().to_string(),
        batch_size: args.batch_size,
        longest_batch: import::LONGEST_BATCH,
        format: args.format.map(|f| match f {
            FormatArg::Csv => Format::Csv,
            FormatArg::Jsonl => Format::Jsonl,
        }),
        // Ctrl+C needs no flag here: a killed import leaves whole batches, and a re-run skips them.
        cancel: None,
        after_batch: enrolment.as_ref().map(CadenceEnrolment::hook),
    };
    let mut meter = Meter::new(args.progress || std::io::stderr().is_terminal());
    let report = import::import_file(&mut store, &args.file, &options, &mut |p| meter.show(p))?;
    meter.finish();
    let enrolment = enrolment.as_ref().map(CadenceEnrolment::done);
    if ctx.json {
        output::json(&Imported {
            report: &report,
            enrolment,
        })?;
    } else {
        print_report(&report)?;
        if let Some(e) = enrolment {
            output::line(format!(
                "Enrolled {} lead(s) in the cadence '{}' ({} already in it, {} could not be \
                 enrolled: `switchboard cadence enroll` names why).",
                e.enrolled,
                output::clean(&e.cadence),
                e.already,
                e.skipped
            ))?;
        }
    }
    if report.counts.rejected > 0 {
        return Err(Failure::bad_input(format!(
            "{} of {} rows rejected (the others were imported)",
            report.counts.rejected, report.counts.read
        )));
    }
    Ok(())
}

/// What `--json` prints: the import's report, and the enrolment when `--cadence` was given.
#[derive(Serialize)]
struct Imported<'a> {
    #[serde(flatten)]
    report: &'a ImportReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    enrolment: Option<ImportEnrolment>,
}

fn print_report(report: &ImportReport) -> CliResult {
    output::line(format!(
        "Read {} rows: {} new leads, {} merged into existing leads, {} duplicates, \
         {} suppressed (erased people), {} rejected.",
        report.counts.read,
        report.counts.created,
        report.counts.merged,
        report.counts.duplicates,
        report.counts.suppressed,
        report.counts.rejected
    ))?;
    for (title, list) in [("Rejected", &report.errors), ("Warnings", &report.warnings)] {
        if list.is_empty() {
            continue;
        }
        output::line(format!("\n{title}:"))?;
        let mut table = Table::new(&["LINE", "REASON"]);
        for item in list.iter().take(SHOWN_ERRORS) {
            table.row(vec![item.line.to_string(), item.reason.clone()]);
        }
        table.print()?;
        if list.len() > SHOWN_ERRORS {
            output::line(format!(
                "… and {} more (--json lists them all)",
                list.len() - SHOWN_ERRORS
            ))?;
        }
    }
    if report.omitted > 0 {
        output::line(format!(
            "{} more errors and warnings were counted but not listed.",
            report.omitted
        ))?;
    }
    Ok(())
}

/// Progress on stderr: redrawn in place on a terminal, a line at most every few seconds elsewhere.
struct Meter {
    enabled: bool,
    terminal: bool,
    last: Option<Instant>,
    drew: bool,
}

impl Meter {
    fn new(enabled: bool) -> Meter {
        Meter {
            enabled,
            terminal: std::io::stderr().is_terminal(),
            last: None,
            drew: false,
        }
    }

    fn show(&mut self, p: ImportProgress) {
        if !self.enabled {
            return;
        }
        let every = if self.terminal {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(2)
        };
        if self.last.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        self.last = Some(Instant::now());
        let percent = if p.bytes_total > 0 {
            format!(
                " ({:.0}%)",
                p.bytes_read as f64 * 100.0 / p.bytes_total as f64
            )
        } else {
            String::new()
        };
        let text = format!(
            "imported {} rows{percent}: {} new, {} merged, {} duplicates, {} rejected",
            p.counts.read,
            p.counts.created,
            p.counts.merged,
            p.counts.duplicates,
            p.counts.rejected
        );
        let mut err = std::io::stderr().lock();
        // Progress is a courtesy: a closed stderr must not fail the import.
        let _ = if self.terminal {
            write!(err, "\r\x1b[2K{text}").and_then(|_| err.flush())
        } else {
            writeln!(err, "{text}")
        };
        self.drew = true;
    }

    fn finish(&mut self) {
        if self.drew && self.terminal {
            let _ = writeln!(std::io::stderr());
        }
    }
}
