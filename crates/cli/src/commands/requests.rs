//! `switchboard requests list|open|handle`: the subscriber-request inbox. Anyone records a
//! request; closing an erasure, access or correction request is for roles that carry them out
//! (`switchboard_core::roles`).

use crate::context::Context;
use crate::failure::CliResult;
use crate::output::{self, Table};
use clap::Subcommand;
use switchboard_core::leads;
use switchboard_core::protocol::{RequestKind, RequestStatus};
use switchboard_core::requests::{self, RequestFilter};

/// The `requests` subcommands.
#[derive(Debug, Subcommand)]
pub enum RequestsCommand {
    /// Subscriber requests, soonest due first
    List {
        /// Only open requests past their due date
        #[arg(long)]
        overdue: bool,
        /// Only requests with this status (open, done, rejected)
        #[arg(long)]
        status: Option<RequestStatus>,
    },
    /// Record what a person asked for (opt_out, erase, correct, access), due in one month
    Open {
        /// The lead's id or email address
        lead: String,
        /// What they asked for: opt_out, erase, correct, access
        kind: RequestKind,
        /// What exactly they asked (e.g. the fields to correct)
        #[arg(long)]
        detail: Option<String>,
    },
    /// Mark a request handled (done, or rejected with --reject)
    Handle {
        /// The request's id
        id: String,
        /// Reject the request instead of marking it done
        #[arg(long)]
        reject: bool,
    },
}

/// Runs a `requests` subcommand.
pub fn run(ctx: &Context, command: RequestsCommand) -> CliResult {
    match command {
        RequestsCommand::List { overdue, status } => list(ctx, overdue, status),
        RequestsCommand::Open { lead, kind, detail } => open(ctx, &lead, kind, detail.as_deref()),
        RequestsCommand::Handle { id, reject } => handle(ctx, &id, reject),
    }
}

fn list(ctx: &Context, overdue: bool, status: Option<RequestStatus>) -> CliResult {
    let store = ctx.open_store()?;
    let filter = RequestFilter {
        status,
        overdue_only: overdue,
        lead_id: None,
    };
    let items = requests::list(store.conn(), &filter, store.now())?;
    if ctx.json {
        return output::json(&items);
    }
    if items.is_empty() {
        return output::line("No subscriber requests.");
    }
    let mut table = Table::new(&[
        "ID",
        "KIND",
        "LEAD",
        "RECEIVED",
        "DUE",
        "STATUS",
        "HANDLED BY",
    ]);
    for item in &items {
        let r = &item.request;
        let status = if item.overdue {
            format!("{} (OVERDUE)", r.status)
        } else {
            r.status.to_string()
        };
        table.row(vec![
            r.id.clone(),
            r.kind.to_string(),
            r.lead_id.clone(),
            output::time(r.received_at),
            output::time(r.due_at),
            status,
            output::opt(r.handled_by.as_deref()),
        ]);
    }
    table.print()
}

fn open(ctx: &Context, lead: &str, kind: RequestKind, detail: Option<&str>) -> CliResult {
    let mut store = ctx.open_store()?;
    let request = store.with_tx_now(|tx, at| {
        let lead = leads::find(tx, lead)?;
        requests::open(tx, &lead.id, kind, detail, at, ctx.actor())
    })?;
    if ctx.json {
        return output::json(&request);
    }
    output::line(format!(
        "Recorded the {} request {} about lead {}, due {}.",
        request.kind,
        request.id,
        request.lead_id,
        output::time(request.due_at)
    ))
}

fn handle(ctx: &Context, id: &str, reject: bool) -> CliResult {
    let mut store = ctx.open_store()?;
    let status = if reject {
        RequestStatus::Rejected
    } else {
        RequestStatus::Done
    };
    let request =
        store.with_tx_now(|tx, at| requests::handle(tx, id.trim(), status, ctx.actor(), at))?;
    if ctx.json {
        return output::json(&request);
    }
    output::line(format!(
        "Request {} ({}) marked {} by {}.",
        request.id,
        request.kind,
        request.status,
        ctx.actor()
    ))
}
