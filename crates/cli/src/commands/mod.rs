//! One module per command; `run` hands the parsed command line to the right one.

pub mod audience;
pub mod cadence;
pub mod cadence_report;
pub mod can_contact;
pub mod correct;
pub mod demo_activity;
pub mod demo_data;
pub mod device;
pub mod dsar;
pub mod erase;
pub mod export;
pub mod feedback;
pub mod history;
pub mod import;
pub mod init;
pub mod leads;
pub mod letters;
pub mod log;
pub mod login;
pub mod mail;
pub mod manpage;
pub mod notices;
pub mod optout;
pub mod partner;
pub mod queue;
pub mod requests;
pub mod share;
pub mod status;
pub mod sync;
pub mod template;

use crate::args::{Cli, Command};
use crate::context::Context;
use crate::failure::CliResult;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> CliResult {
    let ctx = Context::new(cli.global)?;
    match cli.command {
        Command::Init => init::run(&ctx),
        Command::Import(args) => import::run(&ctx, args),
        Command::Leads(command) => leads::run(&ctx, command),
        Command::Queue(command) => queue::run(&ctx, command),
        Command::CanContact(args) => can_contact::run(&ctx, args),
        Command::Log(args) => log::run(&ctx, args),
        Command::Optout(args) => optout::run(&ctx, args),
        Command::Correct(args) => correct::run(&ctx, args),
        Command::Erase(args) => erase::run(&ctx, args),
        Command::Dsar(args) => dsar::run(&ctx, args),
        Command::History(args) => history::run(&ctx, args),
        Command::Export(args) => export::run(&ctx, args),
        Command::DemoData(args) => demo_data::run(&ctx, args),
        Command::DemoActivity(args) => demo_activity::run(&ctx, args),
        Command::Requests(command) => requests::run(&ctx, command),
        Command::Partner(command) => partner::run(&ctx, command),
        Command::Share(args) => share::run(&ctx, args),
        Command::Disclosures(args) => share::disclosures(&ctx, args),
        Command::Notices(command) => notices::run(&ctx, command),
        Command::Audience(command) => audience::run(&ctx, command),
        Command::Feedback(command) => feedback::run(&ctx, command),
        Command::Login(args) => login::run(&ctx, args),
        Command::Sync(args) => sync::run(&ctx, args),
        Command::Device(command) => device::run(&ctx, command),
        Command::Status => status::run(&ctx),
        Command::Letters(command) => letters::run(&ctx, command),
        Command::Template(command) => template::run(&ctx, command),
        Command::Email(command) => mail::run_email(&ctx, command),
        Command::Mail(command) => mail::run(&ctx, command),
        Command::Cadence(command) => cadence::run(&ctx, command),
        Command::Manpage => manpage::run(),
    }
}
