//! `switchboard cadence report [--office O] [--since DATE] [--until DATE] [--cadence NAME]`: the
//! managers' cadence review — per cadence and per step, enrolled, completed, replied, meetings,
//! opt-outs, bounces, and the time from registration to first touch.

use crate::context::Context;
use crate::dates;
use crate::failure::CliResult;
use crate::output::{self, Table};
use chrono::{DateTime, Utc};
use switchboard_app::views::cadences;
use switchboard_core::review::cadences::CadenceReviewQuery;

/// Arguments of `cadence report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Only leads of this office
    #[arg(long)]
    pub office: Option<String>,
    /// Enrolled from this instant on, inclusive (YYYY-MM-DD is local midnight)
    #[arg(long, value_parser = dates::instant_arg, value_name = "DATE")]
    pub since: Option<DateTime<Utc>>,
    /// Enrolled before this instant, exclusive (YYYY-MM-DD is local midnight)
    #[arg(long, value_parser = dates::instant_arg, value_name = "DATE")]
    pub until: Option<DateTime<Utc>>,
    /// Only this cadence (name or id)
    #[arg(long)]
    pub cadence: Option<String>,
}

/// Prints the review as a table, or its lines as JSON.
pub fn run(ctx: &Context, args: ReportArgs) -> CliResult {
    let store = ctx.open_store()?;
    let query = CadenceReviewQuery {
        office: args.office,
        since: args.since,
        until: args.until,
        cadence: args.cadence,
    };
    let lines = cadences::review(&store, &query)?;
    if ctx.json {
        return output::json(&lines);
    }
    if lines.is_empty() {
        return output::line("No lead was enrolled in a cadence in this period and office.");
    }
    let mut table = Table::new(&[
        "CADENCE",
        "STEP",
        "ENROLLED",
        "ACTIVE",
        "COMPLETED",
        "REPLIED",
        "MEETINGS",
        "OPTED OUT",
        "BOUNCED",
        "OTHER STOPS",
        "FIRST TOUCH MEDIAN",
        "P90",
    ]);
    for line in &lines {
        let f = &line.figures;
        table.row(vec![
            output::clean(&line.cadence),
            output::clean(line.step.as_deref().unwrap_or("All steps")),
            f.enrolled.to_string(),
            f.active.to_string(),
            f.completed.to_string(),
            f.replied.to_string(),
            f.meetings.to_string(),
            f.opted_out.to_string(),
            f.bounced.to_string(),
            f.other_stops.to_string(),
            output::opt(line.first_touch_median.as_deref()),
            output::opt(line.first_touch_p90.as_deref()),
        ]);
    }
    table.print()
}
