//! `switchboard demo-activity [--reps A,B] [--seed S] [--leads N]`: follow-up history for the
//! leads already in the database, so a demo opens on a working office (see
//! `switchboard_core::demo::activity`).

use crate::context::Context;
use crate::failure::CliResult;
use crate::output;
use switchboard_core::demo::activity;

/// Arguments of `demo-activity`.
#[derive(Debug, clap::Args)]
pub struct DemoActivityArgs {
    /// The reps who made the follow-ups, comma-separated [default: you, sam, lee]
    #[arg(long, value_delimiter = ',', value_name = "USERS")]
    pub reps: Vec<String>,
    /// The same database, reps and seed always give the same history
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Work at most this many leads, oldest first
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub leads: usize,
}

/// Records the history up to now (the store's clock).
pub fn run(ctx: &Context, args: DemoActivityArgs) -> CliResult {
    let mut store = ctx.open_store()?;
    let reps = if args.reps.is_empty() {
        vec![ctx.actor().to_string(), "sam".into(), "lee".into()]
    } else {
        args.reps
    };
    let end = store.now();
    let report = activity::generate(&mut store, &reps, args.seed, end, args.leads)?;
    if ctx.json {
        return output::json(&report);
    }
    output::line(format!(
        "Recorded {} follow-ups on {} leads by {} ({} attempts refused by the gate), {} opt-outs and {} access requests.",
        report.follow_ups,
        report.leads_worked,
        reps.join(", "),
        report.refused,
        report.opt_outs,
        report.requests
    ))
}
