//! The command line: global options and the subcommands. Each subcommand's own arguments live
//! next to its code in `commands/`.

use crate::commands;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Switchboard: a local-first CRM for following up on website registrations.
///
/// Exit codes: 0 ok, 2 bad input or usage, 3 refused by the compliance gate (reason on stderr),
/// 4 not found, 5 conflict, 1 anything else.
///
/// Dates and times accept RFC 3339 (2026-03-02T14:30:00Z, 2026-03-02T15:30:00+01:00) or a plain
/// date YYYY-MM-DD, which means local midnight of that day, converted to UTC.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts, before or after the subcommand.
#[derive(Debug, clap::Args)]
pub struct Global {
    /// The database file [default: switchboard/switchboard.db in the OS data folder]
    #[arg(long, global = true, env = "SWITCHBOARD_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Print machine-readable JSON on stdout instead of text for people
    #[arg(long, global = true)]
    pub json: bool,
    /// The acting user, recorded on follow-ups and in the audit log [default: the OS user name]
    #[arg(
        long = "as",
        global = true,
        env = "SWITCHBOARD_USER",
        value_name = "USER"
    )]
    pub actor: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the database (and its folder) if it does not exist yet
    Init,
    /// Import registrations from a CSV or JSON Lines file (exit 2 if some rows were rejected)
    Import(commands::import::ImportArgs),
    /// Leads: list, show, search
    #[command(subcommand)]
    Leads(commands::leads::LeadsCommand),
    /// Lead queues: list them, take the next lead, look at a page
    #[command(subcommand)]
    Queue(commands::queue::QueueCommand),
    /// Ask the compliance gate whether a lead may be contacted on a channel (exit 0 or 3)
    CanContact(commands::can_contact::CanContactArgs),
    /// Log a follow-up (a call, email or letter, or an inbound contact with --inbound)
    Log(commands::log::LogArgs),
    /// Record an opt-out (of one channel or all), effective at once
    Optout(commands::optout::OptOutArgs),
    /// Correct a person's information as they asked: FIELD=VALUE…
    Correct(commands::correct::CorrectArgs),
    /// Erase a person: purge their personal information and suppress their email and phone
    Erase(commands::erase::EraseArgs),
    /// The access report (data subject access request): everything held about a person, as JSON
    Dsar(commands::dsar::DsarArgs),
    /// Follow-up history for managers: by lead, rep, dates, channel and outcome, with counts
    History(commands::history::HistoryArgs),
    /// Export leads or follow-up history to CSV (spreadsheet formulas neutralised)
    Export(commands::export::ExportArgs),
    /// Generate a deterministic CSV of realistic registrations (to stdout unless --out)
    DemoData(commands::demo_data::DemoDataArgs),
    /// Record demo follow-up history (calls, emails, opt-outs, requests) for the leads in the database
    DemoActivity(commands::demo_activity::DemoActivityArgs),
    /// Subscriber requests (opt-out, erase, correct, access) and their due dates
    #[command(subcommand)]
    Requests(commands::requests::RequestsCommand),
    /// Partners (resellers, distributors, offices): the only possible recipients of shared data
    #[command(subcommand)]
    Partner(commands::partner::PartnerCommand),
    /// Share leads with a registered partner: only its allowed fields, each disclosure recorded
    Share(commands::share::ShareArgs),
    /// The disclosure report: what went to which partner, country and basis, when
    Disclosures(commands::share::DisclosuresArgs),
    /// Notices owed to partners after a correction or erasure of a person they received
    #[command(subcommand)]
    Notices(commands::notices::NoticesCommand),
    /// Promotional-email audiences: preview, export (recorded), history
    #[command(subcommand)]
    Audience(commands::audience::AudienceCommand),
    /// Import an email service's unsubscribe, complaint and bounce feedback
    #[command(subcommand)]
    Feedback(commands::feedback::FeedbackCommand),
    /// Log in to the central store; the token goes to the OS keychain
    Login(commands::login::LoginArgs),
    /// Push local changes to the central store and pull everyone else's (--watch: keep going)
    Sync(commands::sync::SyncArgs),
    /// Sync status: server, last sync, pending and rejected operations
    Status,
    /// Devices signed in to your office (managers): list them, revoke a lost one
    #[command(subcommand)]
    Device(commands::device::DeviceCommand),
    /// Postal letters: templates, the next batch (through the gate), printing, logging as sent
    #[command(subcommand)]
    Letters(commands::letters::LettersCommand),
    /// Email templates with merge fields: add, list, show, preview for a lead
    #[command(subcommand)]
    Template(commands::template::TemplateCommand),
    /// Email from your own mailbox: send a template to a lead (through the gate)
    #[command(subcommand)]
    Email(commands::mail::EmailCommand),
    /// Your mailbox: setup, test, sync (send queued, read replies and bounces), the outbox
    #[command(subcommand)]
    Mail(commands::mail::MailCommand),
    /// Cadences: planned steps by email, phone and letter that stop when the person answers
    #[command(subcommand)]
    Cadence(commands::cadence::CadenceCommand),
    /// The manual page as roff, from this definition (packaging builds switchboard.1 with it)
    #[command(hide = true)]
    Manpage,
}
