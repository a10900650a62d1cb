//! `switchboard erase LEAD [--yes]`: remove a person's personal information for good.

use crate::context::Context;
use crate::failure::{CliResult, Failure};
use crate::output::{self, Fields};
use std::io::{BufRead, IsTerminal, Write};
use switchboard_core::{erase, leads};

/// Arguments of `erase`.
#[derive(Debug, clap::Args)]
pub struct EraseArgs {
    /// The lead's id or email address
    pub lead: String,
    /// Do not ask for confirmation (required when not run on a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// Erases the lead after confirmation, then reports what was purged (counts only, no PII).
pub fn run(ctx: &Context, args: EraseArgs) -> CliResult {
    let mut store = ctx.open_store()?;
    let lead = leads::find(store.conn(), &args.lead)?;
    if !args.yes && !confirm(&lead.id, lead.name.as_deref())? {
        return Err(Failure::bad_input("erasure cancelled; nothing was changed"));
    }
    let report = erase::erase(&mut store, &lead.id, ctx.actor())?;
    if ctx.json {
        return output::json(&report);
    }
    let mut fields = Fields::new();
    fields
        .add("erased lead", &report.lead_id)
        .add("lead fields", report.lead_fields.to_string())
        .add("registrations", report.registrations.to_string())
        .add("follow-up notes", report.follow_up_notes.to_string())
        .add("consent evidence", report.consent_evidence.to_string())
        .add("request details", report.request_details.to_string())
        .add("audit entries", report.audit_entries.to_string())
        .add("suppressed ids", report.hashes.len().to_string())
        .add(
            "WAL truncated",
            if report.wal_truncated {
                "yes"
            } else {
                "no (another program has the database open; its next checkpoint finishes it)"
            },
        );
    fields.print()
}

/// Asks on the terminal; off a terminal there is nobody to ask, so `--yes` is required.
fn confirm(lead_id: &str, name: Option<&str>) -> CliResult<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Failure::bad_input(
            "erase is permanent; not on a terminal, so pass --yes to confirm",
        ));
    }
    let who = name
        .map(output::clean)
        .unwrap_or_else(|| lead_id.to_string());
    let mut err = std::io::stderr().lock();
    write!(
        err,
        "Erase {who} ({lead_id}) and all their personal information for good? Type 'yes': "
    )
    .and_then(|_| err.flush())
    .map_err(|e| Failure::io("writing to the terminal", e))?;
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::io("reading the answer", e))?;
    Ok(answer.trim().eq_ignore_ascii_case("yes"))
}
