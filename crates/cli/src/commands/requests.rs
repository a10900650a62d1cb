//! `switchboard requests list|handle`: the subscriber-request inbox.

use crate::context::Context;
use crate::failure::CliResult;
use crate::output::{self, Table};
use clap::Subcommand;
use switchboard_core::protocol::RequestStatus;
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
