//! `switchboard`: the command-line client. Every command is a thin layer over the core: parse the
//! arguments, call one or two core functions, print the answer for a person or (`--json`) for a
//! script, and map the core's error code to an exit code.

mod args;
mod commands;
mod context;
mod dates;
mod failure;
mod output;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Usage errors exit 2 from inside clap, help and version exit 0.
    let cli = args::Cli::parse();
    let json = cli.global.json;
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(json),
    }
}
