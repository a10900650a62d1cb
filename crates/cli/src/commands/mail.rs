//! `switchboard mail setup|test|sync|outbox|retry|cancel` and `switchboard email send`: email
//! from the rep's own mailbox, over `switchboard-mail` (SMTP, IMAP) and the core's outbox.

use crate::commands::sync::runtime;
use crate::context::Context;
use crate::failure::{CliResult, Failure};
use crate::output::{self, Table};
use clap::Subcommand;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use switchboard_core::mail::mailbox::{self, Mailbox, SmtpSecurity};
use switchboard_core::mail::outbox;
use switchboard_core::Store;
use switchboard_mail::run::{self, SendReport};
use switchboard_mail::{secret, MailError};
use switchboard_sync::keychain::Keychain;
use switchboard_sync::Secret;

/// The `mail` subcommands.
#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Set up this laptop's mailbox; the password goes to the OS keychain, never the database
    Setup(SetupArgs),
    /// Connect and log in to both servers and say exactly what failed (exit 1 if anything did)
    Test,
    /// Send the queued mail, then read replies and bounces of sent mail from the inbox
    Sync,
    /// The mail outbox: queued, sending (interrupted), sent, cancelled and failed mails
    Outbox,
    /// Queue an interrupted or failed mail again, with the same Message-ID
    Retry {
        /// The mail's outbox id
        id: String,
    },
    /// Cancel a queued, interrupted or failed mail
    Cancel {
        /// The mail's outbox id
        id: String,
    },
}

/// Arguments of `mail setup`.
#[derive(Debug, clap::Args)]
pub struct SetupArgs {
    /// The address mail is sent from
    #[arg(long)]
    pub address: String,
    /// The name shown beside it
    #[arg(long)]
    pub name: Option<String>,
    /// The user name the servers know [default: the address]
    #[arg(long)]
    pub username: Option<String>,
    #[arg(long)]
    pub smtp_host: String,
    #[arg(long, default_value_t = 587)]
    pub smtp_port: u16,
    /// starttls (port 587) or tls (port 465)
    #[arg(long, default_value = "starttls")]
    pub smtp_security: String,
    #[arg(long)]
    pub imap_host: String,
    #[arg(long, default_value_t = 993)]
    pub imap_port: u16,
    /// Also trust the certificate authorities in this PEM file (a private server)
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Your signature, for {{signature}}
    #[arg(long, default_value = "")]
    pub signature: String,
    /// Read the password (or app password) from standard input and store it in the keychain
    #[arg(long)]
    pub password_stdin: bool,
}

/// Arguments of `email send`.
#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// The lead's id or email address
    pub lead: String,
    /// The template's name or id
    #[arg(long)]
    pub template: String,
    /// Only queue it; `mail sync` sends it
    #[arg(long)]
    pub queue_only: bool,
}

/// The `email` subcommands.
#[derive(Debug, Subcommand)]
pub enum EmailCommand {
    /// Queue a mail from a template to a lead (through the gate) and send it now if the server
    /// is reachable; otherwise it waits in the outbox for `mail sync`
    Send(SendArgs),
}

/// Maps a mail error to the command's failure (codes stay the mail crate's).
fn failure(e: MailError) -> Failure {
    match e {
        MailError::Core(core) => Failure::from(core),
        other => Failure::from_sync_code(other.code(), other.to_string()),
    }
}

fn password(mailbox: &Mailbox) -> CliResult<Secret> {
    secret::resolve(
        std::env::var(secret::PASSWORD_VAR).ok(),
        Keychain::system,
        mailbox,
    )
    .map_err(failure)
}

fn no_headers() -> run::ExtraHeaders<'static> {
    &|_| Vec::new()
}

/// Runs an `email` subcommand.
pub fn run_email(ctx: &Context, command: EmailCommand) -> CliResult {
    let EmailCommand::Send(args) = command;
    let mut store = ctx.open_store()?;
    let queued = store
        .with_tx_now(|tx, at| outbox::queue(tx, &args.lead, &args.template, ctx.actor(), at))?;
    let report = if args.queue_only {
        None
    } else {
        Some(send(&mut store)?)
    };
    let mail = outbox::get(store.conn(), &queued.id)?;
    if ctx.json {
        return output::json(&serde_json::json!({ "mail": mail, "send": report }));
    }
    let state = match mail.state {
        outbox::MailState::Sent => "sent".to_string(),
        outbox::MailState::Queued => "queued (`switchboard mail sync` sends it)".to_string(),
        other => format!("{other:?}: {}", output::opt(mail.error.as_deref())).to_lowercase(),
    };
    output::line(format!("Mail {} {} — {state}.", mail.id, mail.message_id))
}

/// Sends the queue once, printing nothing.
fn send(store: &mut Store) -> CliResult<SendReport> {
    let mailbox = mailbox::require(store.conn())?;
    let password = password(&mailbox)?;
    runtime()?
        .block_on(run::send_queued(store, &mailbox, &password, no_headers()))
        .map_err(failure)
}

/// Runs a `mail` subcommand.
pub fn run(ctx: &Context, command: MailCommand) -> CliResult {
    match command {
        MailCommand::Setup(args) => setup(ctx, args),
        MailCommand::Test => {
            let store = ctx.open_store()?;
            let mailbox = mailbox::require(store.conn())?;
            let password = password(&mailbox)?;
            let report = runtime()?.block_on(run::test(&mailbox, &password));
            if ctx.json {
                output::json(&report)?;
            } else {
                for (server, result) in [("SMTP", &report.smtp), ("IMAP", &report.imap)] {
                    output::line(match result {
                        None => format!("{server}: ok"),
                        Some(f) => format!("{server}: {} — {}", f.code, f.message),
                    })?;
                }
            }
            match report.smtp.or(report.imap) {
                None => Ok(()),
                Some(first) => Err(Failure {
                    message: String::new(),
                    ..Failure::from_sync_code("mail_test_failed", first.message)
                }),
            }
        }
        MailCommand::Sync => {
            let mut store = ctx.open_store()?;
            let mailbox = mailbox::require(store.conn())?;
            let password = password(&mailbox)?;
            let rt = runtime()?;
            let sent = rt
                .block_on(run::send_queued(
                    &mut store,
                    &mailbox,
                    &password,
                    no_headers(),
                ))
                .map_err(failure)?;
            let read = rt
                .block_on(run::read_inbox(&mut store, &mailbox, &password))
                .map_err(failure)?;
            // Mails whose exchange broke off, in this run or an earlier one: the rep decides.
            let waiting = outbox::interrupted(store.conn())?;
            if ctx.json {
                return output::json(
                    &serde_json::json!({ "send": sent, "read": read, "interrupted": waiting }),
                );
            }
            output::line(format!(
                "Sent {}, cancelled by the gate {}, refused {}, interrupted {}, still queued {}; \
                 replies {}, bounces {}.",
                sent.sent.len(),
                sent.cancelled.len(),
                sent.failed.len(),
                sent.interrupted.len(),
                sent.queued,
                read.replies.len(),
                read.bounces.len()
            ))?;
            for n in sent.cancelled.iter().chain(&sent.failed) {
                output::line(format!("  {}: {}", n.outbox_id, output::clean(&n.reason)))?;
            }
            for m in &waiting {
                output::line(format!(
                    "  {} {} was interrupted mid-send and may have arrived: check your Sent \
                     folder, then `switchboard mail retry {}` or `mail cancel {}`",
                    m.id, m.message_id, m.id, m.id
                ))?;
            }
            Ok(())
        }
        MailCommand::Outbox => {
            let store = ctx.open_store()?;
            let all = outbox::list(store.conn())?;
            if ctx.json {
                return output::json(&all);
            }
            let mut table = Table::new(&["ID", "LEAD", "STATE", "QUEUED", "SENT", "WHY"]);
            for m in &all {
                table.row(vec![
                    m.id.clone(),
                    m.lead_id.clone(),
                    format!("{:?}", m.state).to_lowercase(),
                    output::time(m.queued_at),
                    output::opt_time(m.sent_at),
                    output::opt(m.error.as_deref()),
                ]);
            }
            table.print()
        }
        MailCommand::Retry { id } | MailCommand::Cancel { id } if id.trim().is_empty() => {
            Err(Failure::bad_input("name the mail's outbox id"))
        }
        MailCommand::Retry { id } => resolve(ctx, &id, true),
        MailCommand::Cancel { id } => resolve(ctx, &id, false),
    }
}

fn resolve(ctx: &Context, id: &str, send_again: bool) -> CliResult {
    let mut store = ctx.open_store()?;
    let mail = store.with_tx(|tx| outbox::resolve(tx, id, send_again))?;
    if ctx.json {
        return output::json(&mail);
    }
    output::line(format!("Mail {} is {:?}.", mail.id, mail.state).to_lowercase())
}

fn setup(ctx: &Context, args: SetupArgs) -> CliResult {
    let mailbox = Mailbox {
        username: args
            .username
            .clone()
            .unwrap_or_else(|| args.address.clone()),
        address: args.address,
        display_name: args.name,
        smtp_host: args.smtp_host,
        smtp_port: args.smtp_port,
        smtp_security: SmtpSecurity::parse(&args.smtp_security)?,
        imap_host: args.imap_host,
        imap_port: args.imap_port,
        ca_file: args.ca_file,
        signature: args.signature.replace("\\n", "\n"),
    };
    let mut store = ctx.create_store()?;
    store.with_tx(|tx| mailbox::save(tx, &mailbox))?;
    let stored = if args.password_stdin {
        let password = read_password()?;
        let keychain = Keychain::system().map_err(|e| {
            Failure::from_sync_code(
                "mail_no_password",
                format!("{e}: the password was not stored"),
            )
        })?;
        secret::save(&keychain, &mailbox, &password).map_err(failure)?;
        true
    } else {
        false
    };
    if ctx.json {
        return output::json(&serde_json::json!({ "mailbox": mailbox, "password_stored": stored }));
    }
    output::line(format!(
        "Saved the mailbox {}{}. Check it with `switchboard mail test`.",
        output::clean(&mailbox.address),
        if stored {
            " (password in the keychain)"
        } else {
            ""
        }
    ))
}

fn read_password() -> CliResult<Secret> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(Failure::bad_input(
            "--password-stdin reads the password from a pipe, e.g. `pass show mail | switchboard mail setup … --password-stdin`",
        ));
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::io("reading the password", e))?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(Failure::bad_input(
            "the password on standard input is empty",
        ));
    }
    Ok(Secret::new(password))
}
