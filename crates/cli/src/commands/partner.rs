//! `switchboard partner add|list`: the registered recipients of personal information.

use crate::context::Context;
use crate::failure::CliResult;
use crate::output::{self, Table};
use clap::Subcommand;
use switchboard_core::partners::{self, NewPartner, Partner};

/// The `partner` subcommands.
#[derive(Debug, Subcommand)]
pub enum PartnerCommand {
    /// Register a reseller, distributor or regional office on this (standalone) database
    Add {
        /// The partner's name, as users will type it in `share --with`
        name: String,
        /// reseller, distributor or office
        #[arg(long)]
        kind: String,
        /// The partner's country (ISO 3166-1 alpha-2, e.g. DE)
        #[arg(long)]
        country: String,
        /// Transfer basis for that country: none_needed (same country/EEA), adequacy, scc
        /// (standard contractual clauses) or bcr (binding corporate rules, intra-group)
        #[arg(long)]
        basis: String,
        /// Fields the partner may receive, comma-separated: name, company, email, phone,
        /// address, country, registration (kind and product), consent
        #[arg(long, value_name = "F1,F2…")]
        fields: String,
    },
    /// The registered partners
    List,
}

/// Runs a `partner` subcommand.
pub fn run(ctx: &Context, command: PartnerCommand) -> CliResult {
    match command {
        PartnerCommand::Add {
            name,
            kind,
            country,
            basis,
            fields,
        } => {
            let new = NewPartner {
                name,
                kind: partners::parse_kind(&kind)?,
                country,
                basis: partners::parse_basis(&basis)?,
                fields: partners::parse_fields(&fields)?,
            };
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
