//! `switchboard partner add|list`: the registered recipients of personal information.

use crate::context::Context;
use crate::failure::CliResult;
use crate::output::{self, Table};
use clap::Subcommand;
use switchboard_core::partners::{self, Partner};
use switchboard_core::CoreError;
use switchboard_domain::partner_args::PartnerArgs;

/// The `partner` subcommands.
#[derive(Debug, Subcommand)]
pub enum PartnerCommand {
    /// Register a reseller, distributor or regional office on this (standalone) database
    Add(PartnerArgs),
    /// The registered partners
    List,
}

/// Runs a `partner` subcommand.
pub fn run(ctx: &Context, command: PartnerCommand) -> CliResult {
    match command {
        PartnerCommand::Add(typed) => {
            let new = typed.new_partner().map_err(CoreError::from)?;
            let mut store = ctx.open_store()?;
            let partner = store.with_tx_now(|tx, at| partners::add(tx, &new, ctx.actor(), at))?;
            if ctx.json {
                return output::json(&partner);
            }
            print(&[partner])
        }
        PartnerCommand::List => {
            let store = ctx.open_store()?;
            let all = partners::list(store.conn())?;
            if ctx.json {
                return output::json(&all);
            }
            if all.is_empty() {
                return output::line("No partners registered.");
            }
            print(&all)
        }
    }
}

fn print(partners: &[Partner]) -> CliResult {
    let mut table = Table::new(&["ID", "NAME", "KIND", "COUNTRY", "BASIS", "FIELDS"]);
    for p in partners {
        table.row(vec![
            p.id.clone(),
            p.name.clone(),
            p.kind.to_string(),
            p.country.clone(),
            p.basis.to_string(),
            partners::fields_text(&p.fields),
        ]);
    }
    table.print()
}
