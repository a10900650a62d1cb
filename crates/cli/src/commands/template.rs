//! `switchboard template add|list|show|preview`: email templates with merge fields.

use crate::context::Context;
use crate::failure::{CliResult, Failure};
use crate::output::{self, Table};
use clap::Subcommand;
use std::path::PathBuf;
use switchboard_core::mail::{mailbox, templates};

/// The `template` subcommands.
#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Save an email template (replaces the one of that name); merge fields are {{first_name}},
    /// {{last_name}}, {{name}}, {{company}}, {{product}}, {{country}}, {{email}}, {{rep}},
    /// {{signature}}
    Add {
        /// The template's name
        name: String,
        /// The subject line (merge fields allowed)
        #[arg(long)]
        subject: String,
        /// The file holding the body's text
        #[arg(long)]
        file: PathBuf,
    },
    /// The saved email templates
    List,
    /// One template's subject and body
    Show {
        /// The template's name or id
        name: String,
    },
    /// The mail a template makes for a lead, with the lead's real data
    Preview {
        /// The template's name or id
        name: String,
        /// The lead's id or email address
        lead: String,
    },
}

/// Runs a `template` subcommand.
pub fn run(ctx: &Context, command: TemplateCommand) -> CliResult {
    match command {
        TemplateCommand::Add {
            name,
            subject,
            file,
        } => {
            let body = std::fs::read_to_string(&file)
                .map_err(|e| Failure::io(format!("reading {}", file.display()), e))?;
            let mut store = ctx.open_store()?;
            let saved = store.with_tx_now(|tx, at| {
                templates::save(tx, &name, &subject, &body, ctx.actor(), at)
            })?;
            if ctx.json {
                return output::json(&saved);
            }
            output::line(format!(
                "Saved the email template '{}'.",
                output::clean(&saved.name)
            ))
        }
        TemplateCommand::List => {
            let store = ctx.open_store()?;
            let all = templates::list(store.conn())?;
            if ctx.json {
                return output::json(&all);
            }
            let mut table = Table::new(&["ID", "NAME", "SUBJECT", "UPDATED", "BY"]);
            for t in &all {
                table.row(vec![
                    t.id.clone(),
                    output::clean(&t.name),
                    output::clean(&t.subject),
                    output::time(t.updated_at),
                    output::clean(&t.updated_by),
                ]);
            }
            table.print()
        }
        TemplateCommand::Show { name } => {
            let store = ctx.open_store()?;
            let t = templates::find(store.conn(), &name)?;
            if ctx.json {
                return output::json(&t);
            }
            output::line(format!(
                "Subject: {}\n\n{}",
                output::clean(&t.subject),
                t.body
            ))
        }
        TemplateCommand::Preview { name, lead } => {
            let store = ctx.open_store()?;
            let signature = mailbox::load(store.conn())?
                .map(|m| m.signature)
                .unwrap_or_default();
            let mail = templates::preview(store.conn(), &name, &lead, ctx.actor(), &signature)?;
            if ctx.json {
                return output::json(&mail);
            }
            output::line(format!(
                "To: {}\nSubject: {}\n\n{}",
                output::opt(mail.to.as_deref()),
                output::clean(&mail.subject),
                text_for_terminal(&mail.body)
            ))
        }
    }
}

/// A multi-line body for a terminal: control characters but line breaks replaced.
pub fn text_for_terminal(text: &str) -> String {
    text.lines()
        .map(output::clean)
        .collect::<Vec<_>>()
        .join("\n")
}
