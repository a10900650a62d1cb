//! `switchboard history [--lead LEAD] [--rep USER] [--since DATE] [--until DATE] …`: who was
//! contacted, how and with what result, with summary counts.

use crate::context::Context;
use crate::dates;
use crate::failure::CliResult;
use crate::output::{self, Fields, Table};
use chrono::{DateTime, Utc};
use switchboard_app::views;
use switchboard_core::history::{Count, HistoryQuery};
use switchboard_core::protocol::{Channel, Direction, Outcome};
use switchboard_core::Store;

/// The filters of `history` (and `export history`).
#[derive(Debug, Clone, clap::Args)]
pub struct HistoryFilters {
    /// Only this lead (id or email)
    #[arg(long)]
    pub lead: Option<String>,
    /// Only follow-ups by this rep
    #[arg(long, value_name = "USER")]
    pub rep: Option<String>,
    /// Only leads of this office
    #[arg(long)]
    pub office: Option<String>,
    /// From this instant on, inclusive (YYYY-MM-DD is local midnight)
    #[arg(long, value_parser = dates::instant_arg, value_name = "DATE")]
    pub since: Option<DateTime<Utc>>,
    /// Before this instant, exclusive (YYYY-MM-DD is local midnight, so that day is left out)
    #[arg(long, value_parser = dates::instant_arg, value_name = "DATE")]
    pub until: Option<DateTime<Utc>>,
    /// Only this channel
    #[arg(long)]
    pub channel: Option<Channel>,
    /// Only this outcome
    #[arg(long)]
    pub outcome: Option<Outcome>,
    /// Only this direction (out or in)
    #[arg(long)]
    pub direction: Option<Direction>,
}

impl HistoryFilters {
    /// The core's query for these filters (a lead given by email is resolved to its id).
    pub fn query(&self, store: &Store) -> CliResult<HistoryQuery> {
        let lead_id = match &self.lead {
            Some(reference) => Some(views::history::lead_id(store, reference)?),
            None => None,
        };
        Ok(HistoryQuery {
            lead_id,
            rep: self.rep.clone(),
            office: self.office.clone(),
            since: self.since,
            until: self.until,
            channel: self.channel,
            outcome: self.outcome,
            direction: self.direction,
            offset: 0,
            limit: 0,
        })
    }
}

/// Arguments of `history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub filters: HistoryFilters,
    /// Rows to show (1 to 1000); the summary counts every match
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Rows to skip
    #[arg(long, default_value_t = 0)]
    pub offset: u32,
}

/// Prints the matching follow-ups, newest first, and the summary of all that match.
pub fn run(ctx: &Context, args: HistoryArgs) -> CliResult {
    let store = ctx.open_store()?;
    let mut query = args.filters.query(&store)?;
    query.limit = args.limit;
    query.offset = args.offset;
    let page = views::history::page(&store, &query)?;
    if ctx.json {
        return output::json(&page);
    }
    if page.rows.is_empty() {
        output::line("No follow-ups match.")?;
    } else {
        let mut table = Table::new(&[
            "WHEN", "LEAD", "NAME", "CHANNEL", "DIR", "OUTCOME", "REP", "NOTE",
        ]);
        for row in &page.rows {
            let f = &row.follow_up;
            table.row(vec![
                output::time(f.occurred_at),
                f.lead_id.clone(),
                output::opt(row.lead_name.as_deref()),
                f.channel.to_string(),
                f.direction.to_string(),
                f.outcome.to_string(),
                f.rep.clone(),
                output::opt(f.note.as_deref()),
            ]);
        }
        table.print()?;
    }
    let s = &page.summary;
    let mut fields = Fields::new();
    fields
        .add("total", s.total.to_string())
        .add("by channel", counts(&s.by_channel))
        .add("by outcome", counts(&s.by_outcome))
        .add("by rep", counts(&s.by_rep));
    let speed = &s.speed_to_lead;
    if let Some(median) = speed.median_seconds {
        fields.add(
            "speed to lead",
            format!(
                "median {} over {} leads (first contact after registration)",
                duration(median),
                speed.leads
            ),
        );
    }
    output::line("")?;
    fields.print()
}

fn counts(counts: &[Count]) -> String {
    if counts.is_empty() {
        return "-".into();
    }
    counts
        .iter()
        .map(|c| format!("{} {}", c.key, c.count))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "42s", "17m", "3h 5m", "2d 4h".
fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_like_people_say_them() {
        assert_eq!(duration(42), "42s");
        assert_eq!(duration(17 * 60 + 3), "17m");
        assert_eq!(duration(3 * 3600 + 5 * 60), "3h 5m");
        assert_eq!(duration(2 * 86400 + 4 * 3600), "2d 4h");
    }
}
