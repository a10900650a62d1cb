//! `switchboard letters template|templates|add|batch|print|sent`: postal letters from the command
//! line, over the same core functions as the desktop's Letters screen.

use crate::context::Context;
use crate::failure::{CliResult, Failure};
use crate::output::{self, Table};
use clap::Subcommand;
use std::path::PathBuf;
use switchboard_app::views;
use switchboard_core::letters;

/// The `letters` subcommands.
#[derive(Debug, Subcommand)]
pub enum LettersCommand {
    /// Save a letter template from a text file (replaces the template of that name); merge
    /// fields are {{first_name}}, {{last_name}}, {{name}}, {{company}}, {{address}},
    /// {{country}}, {{email}}, {{rep}}, {{date}}
    Template {
        /// The template's name
        name: String,
        /// The file holding the letter's text
        #[arg(long)]
        file: PathBuf,
    },
    /// The saved templates
    Templates,
    /// Add a lead (id or email) to the next batch, if the gate allows mail now
    Add {
        /// The lead's id or email address
        lead: String,
    },
    /// The leads in the next batch and whether mail is allowed for each now
    Batch,
    /// The batch's letters from a template as plain text, one per page (form feed between)
    Print {
        /// The template's name or id
        #[arg(long)]
        template: String,
        /// Write to this file instead of stdout
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Log every letter of the batch as a sent mail follow-up (through the gate) and empty it
    Sent {
        /// The template the letters were printed from (noted on each follow-up)
        #[arg(long)]
        template: Option<String>,
    },
}

/// Runs a `letters` subcommand.
pub fn run(ctx: &Context, command: LettersCommand) -> CliResult {
    match command {
        LettersCommand::Template { name, file } => {
            let body = std::fs::read_to_string(&file)
                .map_err(|e| Failure::io(format!("reading {}", file.display()), e))?;
            let mut store = ctx.open_store()?;
            let saved = store.with_tx_now(|tx, at| {
                let existing = letters::find_template(tx, &name).ok().map(|t| t.id);
                letters::save_template(tx, existing.as_deref(), &name, &body, ctx.actor(), at)
            })?;
            if ctx.json {
                return output::json(&saved);
            }
            output::line(format!(
                "Saved the template '{}'.",
                output::clean(&saved.name)
            ))
        }
        LettersCommand::Templates => {
            let store = ctx.open_store()?;
            let all = letters::list_templates(store.conn())?;
            if ctx.json {
                return output::json(&all);
            }
            let mut table = Table::new(&["ID", "NAME", "UPDATED", "BY"]);
            for t in &all {
                table.row(vec![
                    t.id.clone(),
                    output::clean(&t.name),
                    output::time(t.updated_at),
                    output::clean(&t.updated_by),
                ]);
            }
            table.print()
        }
        LettersCommand::Add { lead } => {
            let mut store = ctx.open_store()?;
            let entry =
                store.with_tx_now(|tx, at| letters::add_to_batch(tx, &lead, ctx.actor(), at))?;
            if ctx.json {
                return output::json(&entry);
            }
            output::line(format!(
                "Added {} to the next letter batch.",
                output::opt(entry.lead.name.as_deref())
            ))
        }
        LettersCommand::Batch => {
            let store = ctx.open_store()?;
            let entries = letters::batch(store.conn(), store.now())?;
            if ctx.json {
                return output::json(&entries);
            }
            let mut table = Table::new(&["LEAD", "NAME", "ADDED", "MAIL"]);
            for e in &entries {
                table.row(vec![
                    e.lead.id.clone(),
                    output::opt(e.lead.name.as_deref()),
                    output::time(e.added_at),
                    e.mail
                        .reason()
                        .map_or("allowed".into(), |r| output::clean(&r.message())),
                ]);
            }
            table.print()
        }
        LettersCommand::Print { template, out } => {
            let store = ctx.open_store()?;
            let all = views::letters::preview(&store, &template, ctx.actor())?;
            if ctx.json {
                return output::json(&all);
            }
            // Letters are text for a printer: a form feed starts each on a new page.
            let text = all
                .iter()
                .filter(|l| l.blocked.is_none())
                .map(|l| printable(&l.text))
                .collect::<Vec<_>>()
                .join("\n\u{c}");
            for held in all.iter().filter(|l| l.blocked.is_some()) {
                eprintln!(
                    "not printed: {} ({})",
                    output::opt(held.name.as_deref()),
                    held.blocked.as_deref().unwrap_or_default()
                );
            }
            match out {
                Some(path) => std::fs::write(&path, text)
                    .map_err(|e| Failure::io(format!("writing {}", path.display()), e)),
                None => output::line(text),
            }
        }
        LettersCommand::Sent { template } => {
            let mut store = ctx.open_store()?;
            let done = views::letters::mark_sent(&mut store, template.as_deref(), ctx.actor())?;
            if ctx.json {
                return output::json(&done);
            }
            output::line(format!("Logged {} letter(s) as sent.", done.sent.len()))?;
            for s in &done.skipped {
                output::line(format!(
                    "Skipped {}: {}",
                    output::opt(s.name.as_deref()),
                    output::clean(&s.reason)
                ))?;
            }
            Ok(())
        }
    }
}

/// A letter for a terminal or printer: its lines and page breaks kept, every other control
/// character (an escape sequence hidden in registration data) replaced.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\u{c}' {
                ' '
            } else {
                c
            }
        })
        .collect()
}
