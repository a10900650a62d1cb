//! `switchboard status`: the server this replica syncs with, the last sync, what waits to be
//! pushed, and what the server rejected and why.

use crate::context::Context;
use crate::failure::CliResult;
use crate::output;
use switchboard_core::{replica, roles};

/// Prints the replica's sync status.
pub fn run(ctx: &Context) -> CliResult {
    let store = ctx.open_store()?;
    let status = replica::status(store.conn())?;
    if ctx.json {
        return output::json(&status);
    }
    let s = &status.state;
    let mut lines = vec![
        format!("Server:        {}", output::opt(s.server_url.as_deref())),
        format!(
            "User:          {}{}",
            output::opt(s.user.as_deref()),
            s.office
                .as_deref()
                .map(|o| format!(" (office {o})"))
                .unwrap_or_default()
        ),
        format!(
            "Role:          {}",
            role_line(&roles::permissions(store.conn())?)
        ),
        format!("Replica:       {}", status.replica_id),
        format!("Last sync:     {}", output::opt_time(s.last_sync_at)),
        format!("Pending:       {} local changes to push", status.pending),
        format!("Cursor:        {}", s.cursor),
    ];
    if let Some(error) = &s.last_error {
        lines.push(format!("Last error:    {}", output::clean(error)));
    }
    lines.push(format!("Rejected:      {}", status.rejected_total));
    for r in &status.rejected {
        lines.push(format!(
            "  #{} {} {} {}: {}",
            r.seq,
            r.op_kind,
            output::opt(r.lead_id.as_deref()),
            output::opt(r.code.as_deref()),
            output::clean(&r.reason)
        ));
    }
    output::line(lines.join("\n"))
}

/// The signed-in role and what it may do with subscriber requests.
fn role_line(p: &roles::RequestPermissions) -> String {
    match (p.role, &p.reason) {
        (None, _) => "- (not signed in; the server checks each push)".into(),
        (Some(role), None) => format!("{role} (carries out erasures, access exports, corrections)"),
        (Some(role), Some(reason)) => format!("{role} ({reason})"),
    }
}
