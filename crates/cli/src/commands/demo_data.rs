//! `switchboard demo-data --registrations N [--seed S] [--out FILE]`: a deterministic CSV of
//! realistic registrations for demos, tests and benchmarks.

use crate::context::Context;
use crate::dates;
use crate::failure::{CliResult, Failure};
use crate::output;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use switchboard_core::demo;

/// Arguments of `demo-data`.
#[derive(Debug, clap::Args)]
pub struct DemoDataArgs {
    /// How many registrations to generate
    #[arg(long, value_name = "N")]
    pub registrations: usize,
    /// The same seed always gives the same file
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write to this file instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The registrations span the four weeks before this instant: RFC 3339, YYYY-MM-DD or `now`
    /// [default: 2026-03-01, so the file depends on the seed alone]
    #[arg(long, value_name = "TIME")]
    pub end: Option<String>,
}

/// Writes the CSV. Needs no database.
pub fn run(ctx: &Context, args: DemoDataArgs) -> CliResult {
    let end = match args.end.as_deref().map(str::trim) {
        None => demo::default_end(),
        Some("now") => ctx.now(),
        Some(text) => dates::parse_instant(text)
            .map_err(|e| Failure::bad_input(format!("--end: {e}, or now")))?,
    };
    let Some(path) = args.out else {
        let mut out = BufWriter::with_capacity(256 * 1024, std::io::stdout().lock());
        demo::generate_ending(args.registrations, args.seed, end, &mut out)?;
        return out.flush().map_err(|e| Failure::io("writing to stdout", e));
    };
    let file = std::fs::File::create(&path)
        .map_err(|e| Failure::io(format!("creating {}", path.display()), e))?;
    let mut out = BufWriter::with_capacity(256 * 1024, file);
    demo::generate_ending(args.registrations, args.seed, end, &mut out)?;
    out.flush()
        .map_err(|e| Failure::io(format!("writing {}", path.display()), e))?;
    if ctx.json {
        return output::json(&serde_json::json!({
            "registrations": args.registrations,
            "seed": args.seed,
            "out": path,
        }));
    }
    output::line(format!(
        "Wrote {} registrations (seed {}) to {}.",
        args.registrations,
        args.seed,
        path.display()
    ))
}
