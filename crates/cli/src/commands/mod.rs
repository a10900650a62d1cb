//! One module per command; `run` hands the parsed command line to the right one.

pub mod init;
pub mod leads;

use crate::args::{Cli, Command};
use crate::context::Context;
use crate::failure::CliResult;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> CliResult {
    let ctx = Context::new(cli.global)?;
    match cli.command {
        Command::Init => init::run(&ctx),
        Command::Leads(command) => leads::run(&ctx, command),
    }
}
