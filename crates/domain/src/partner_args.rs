//! A partner as an administrator types it on a command line (`switchboard partner add` on a
//! standalone replica, `switchboard-server partner add` on the server): one set of arguments,
//! read into a `NewPartner` by the same parsers. Behind the `clap` feature, so the replicas'
//! and the server's libraries do not link a command-line parser.

use crate::error::Result;
use crate::partners::{self, NewPartner};

/// The arguments that describe a partner to register.
#[derive(Debug, Clone, clap::Args)]
pub struct PartnerArgs {
    /// The partner's name, as users will type it in `share --with`
    pub name: String,
    /// reseller, distributor or office
    #[arg(long)]
    pub kind: String,
    /// The partner's country (ISO 3166-1 alpha-2, e.g. DE)
    #[arg(long)]
    pub country: String,
    /// Transfer basis for that country: none_needed (same country/EEA), adequacy, scc
    /// (standard contractual clauses) or bcr (binding corporate rules, intra-group)
    #[arg(long)]
    pub basis: String,
    /// Fields the partner may receive, comma-separated: name, company, email, phone,
    /// address, country, registration (kind and product), consent
    #[arg(long, value_name = "F1,F2…")]
    pub fields: String,
}

impl PartnerArgs {
    /// The partner these arguments describe, its kind, basis and fields parsed (not yet
    /// validated: `partners::validate` does that where it is registered).
    pub fn new_partner(self) -> Result<NewPartner> {
        Ok(NewPartner {
            kind: partners::parse_kind(&self.kind)?,
            basis: partners::parse_basis(&self.basis)?,
            fields: partners::parse_fields(&self.fields)?,
            name: self.name,
            country: self.country,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Line {
        #[command(flatten)]
        partner: PartnerArgs,
    }

    #[test]
    fn a_typed_partner_is_parsed_and_a_bad_basis_refused() {
        let typed = |basis: &str| {
            let words = [
                "add",
                "Acme GmbH",
                "--kind",
                "reseller",
                "--country",
                "DE",
                "--basis",
                basis,
                "--fields",
                "email,name",
            ];
            Line::try_parse_from(words).unwrap().partner.new_partner()
        };
        let new = typed("scc").unwrap();
        assert_eq!(new.name, "Acme GmbH");
        assert_eq!(new.kind, partners::PartnerKind::Reseller);
        assert_eq!(new.basis, partners::TransferBasis::Scc);
        assert_eq!(new.fields.len(), 2);
        assert!(typed("handshake").is_err());
    }
}
