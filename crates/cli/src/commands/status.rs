//! `switchboard status`: the server this replica syncs with, the last sync, what waits to be
//! pushed, and what the server rejected and why.

use crate::context::Context;
use crate::failure::CliResult;
use crate::output;
use switchboard_core::store::get_setting;
use switchboard_core::{replica, roles};
use switchboard_sync::engine::OFFICES_SETTING;

/// Prints the replica's sync status.
pub fn run(ctx: &Context) -> CliResult {
    let store = ctx.open_store()?;
    let status = replica::status(store.conn())?;
    if ctx.json {
        return output::json(&status);
    }
    let s = &status.state;
    let offices = get_setting(store.conn(), OFFICES_SETTING)?.unwrap_or_default();
    let mut lines = vec![
        format!("Server:        {}", output::opt(s.server_url.as_deref())),
        format!(
            "User:          {}{}",
            output::opt(s.user.as_deref()),
            office_text(s.office.as_deref(), &offices)
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

/// ` (office BER)`, or ` (offices BER, PAR)` for a manager of several (the `offices` setting
/// the sign-in wrote, comma-separated); nothing without an office.
fn office_text(office: Option<&str>, offices: &str) -> String {
    let all: Vec<&str> = offices.split(',').filter(|o| !o.is_empty()).collect();
    match (office, all.len()) {
        (_, 2..) => format!(" (offices {})", all.join(", ")),
        (Some(o), _) => format!(" (office {o})"),
        (None, _) => String::new(),
    }
}

/// The signed-in role and what it may do with subscriber requests.
fn role_line(p: &roles::RequestPermissions) -> String {
    match (p.role, &p.reason) {
        (None, _) => "- (not signed in; the server checks each push)".into(),
        (Some(role), None) => format!("{role} (carries out erasures, access exports, corrections)"),
        (Some(role), Some(reason)) => format!("{role} ({reason})"),
    }
}

#[cfg(test)]
mod tests {
    use super::office_text;

    #[test]
    fn a_manager_of_several_offices_sees_them_all() {
        assert_eq!(office_text(Some("BER"), "BER,PAR"), " (offices BER, PAR)");
        assert_eq!(office_text(Some("BER"), "BER"), " (office BER)");
        assert_eq!(office_text(Some("BER"), ""), " (office BER)");
        assert_eq!(office_text(None, ""), "");
    }
}
