//! `switchboard feedback import FILE [--source NAME] [--event KIND]`: an email service's
//! unsubscribe, complaint and bounce export.

use crate::context::Context;
use crate::failure::{CliResult, Failure};
use crate::output::{self, Fields};
use clap::Subcommand;
use std::path::PathBuf;
use switchboard_core::feedback::{self, FeedbackEvent};

/// The `feedback` subcommands.
#[derive(Debug, Subcommand)]
pub enum FeedbackCommand {
    /// Import unsubscribes, complaints and bounces (CSV); importing the same file again changes
    /// nothing
    Import {
        /// The CSV file exported by the email service
        file: PathBuf,
        /// The email service, recorded as the source of each opt-out [default: the file name]
        #[arg(long)]
        source: Option<String>,
        /// What every row means when the file has no Event/Type/Status column: unsubscribe,
        /// complaint, hard_bounce or soft_bounce
        #[arg(long)]
        event: Option<String>,
    },
}

/// Runs a `feedback` subcommand.
pub fn run(ctx: &Context, command: FeedbackCommand) -> CliResult {
    let FeedbackCommand::Import {
        file,
        source,
        event,
    } = command;
    let default_event = event.as_deref().map(FeedbackEvent::parse).transpose()?;
    let source = source.unwrap_or_else(|| {
        file.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "feedback".into())
    });
    let reader = std::fs::File::open(&file)
        .map_err(|e| Failure::io(format!("opening {}", file.display()), e))?;
    let mut store = ctx.open_store()?;
    let report = store.with_tx_now(|tx, at| {
        feedback::import_with(tx, reader, &source, default_event, ctx.actor(), at)
    })?;
    if ctx.json {
        return output::json(&report);
    }
    if report.already_imported {
        return output::line(format!(
            "{} was imported before (same content); nothing changed.",
            file.display()
        ));
    }
    let mut fields = Fields::new();
    fields
        .add("rows", report.rows.to_string())
        .add("opted out of email", report.opted_out.to_string())
        .add("already opted out", report.already_opted_out.to_string())
        .add("addresses invalidated", report.invalidated.to_string())
        .add("already invalid", report.already_invalid.to_string())
        .add("soft bounces ignored", report.soft_bounces.to_string())
        .add("other events ignored", report.other_events.to_string())
        .add("erased people", report.erased.to_string())
        .add("unknown addresses", report.unknown.len().to_string());
    fields.print()?;
    for u in &report.unknown {
        output::line(format!(
            "  line {}: {} (no such lead)",
            u.line,
            output::clean(&u.email)
        ))?;
    }
    Ok(())
}
