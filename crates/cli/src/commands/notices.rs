//! `switchboard notices list|write|ack`: notices owed to partners after a correction or erasure.

use crate::context::Context;
use crate::failure::CliResult;
use crate::output::{self, Table};
use clap::Subcommand;
use std::path::PathBuf;
use switchboard_core::notices;
use switchboard_core::partners::fields_text;

/// The `notices` subcommands.
#[derive(Debug, Subcommand)]
pub enum NoticesCommand {
    /// Notices not yet acknowledged by their partner
    List {
        /// Include acknowledged and superseded notices
        #[arg(long)]
        all: bool,
    },
    /// Write one file per partner with its unacknowledged notices into DIR
    Write {
        /// The folder to write into (created if needed)
        dir: PathBuf,
    },
    /// Record that the partner acknowledged a notice
    Ack {
        /// The notice's id
        id: String,
    },
}

/// Runs a `notices` subcommand.
pub fn run(ctx: &Context, command: NoticesCommand) -> CliResult {
    let mut store = ctx.open_store()?;
    let at = store.now();
    match command {
        NoticesCommand::List { all } => {
            let list = notices::list(store.conn(), all)?;
            if ctx.json {
                return output::json(&list);
            }
            if list.is_empty() {
                return output::line("No open notices.");
            }
            let mut table = Table::new(&[
                "ID", "PARTNER", "LEAD", "KIND", "FIELDS", "STATUS", "CREATED",
            ]);
            for n in &list {
                table.row(vec![
                    n.id.clone(),
                    n.partner_name.clone(),
                    n.lead_id.clone(),
                    n.kind.as_str().into(),
                    fields_text(&n.fields),
                    n.status.as_str().into(),
                    output::time(n.created_at),
                ]);
            }
            table.print()
        }
        NoticesCommand::Write { dir } => {
            let files = store.with_tx(|tx| notices::write(tx, &dir, at))?;
            if ctx.json {
                let list: Vec<_> = files
                    .iter()
                    .map(|f| {
                        serde_json::json!({
                            "partner": f.partner,
                            "path": f.path,
                            "notices": f.notices.len(),
                        })
                    })
                    .collect();
                return output::json(&list);
            }
            if files.is_empty() {
                return output::line("No open notices to write.");
            }
            for f in &files {
                output::line(format!(
                    "{}: {} notice(s) → {}",
                    output::clean(&f.partner),
                    f.notices.len(),
                    f.path.display()
                ))?;
            }
            Ok(())
        }
        NoticesCommand::Ack { id } => {
            let notice = store.with_tx(|tx| notices::ack(tx, &id, ctx.actor(), at))?;
            if ctx.json {
                return output::json(&notice);
            }
            output::line(format!(
                "Notice {} to {} acknowledged.",
                notice.id,
                output::clean(&notice.partner_name)
            ))
        }
    }
}
