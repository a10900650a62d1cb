//! Seeds a database for the window tests: `e2e_seed <db> <leads.json>`, where the JSON is an
//! array of `{name, company, email, phone?, country, registered_at}` objects. Each becomes a `new` lead.
//! The file is encrypted with the key the app resolves (the harness passes a key file).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::path::PathBuf;
use switchboard_core::clock::new_id;
use switchboard_core::leads::{self, NewLead};
use switchboard_core::Store;

#[derive(Deserialize)]
struct SeedLead {
    name: String,
    company: Option<String>,
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    country: Option<String>,
    registered_at: DateTime<Utc>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let (Some(db), Some(json)) = (args.next(), args.next()) else {
        return Err("usage: e2e_seed <db> <leads.json>".into());
    };
    let seeds: Vec<SeedLead> = serde_json::from_slice(&std::fs::read(PathBuf::from(json))?)?;
    // The same key the window will open the file with (the harness's key file).
    let db = PathBuf::from(db);
    let key = switchboard_app::db_key::for_replica(&db)?;
    let mut store = Store::open(&db, Some(&key))?;
    store.with_tx(|tx| {
        for seed in &seeds {
            let lead = NewLead {
                name: Some(seed.name.clone()),
                company: seed.company.clone(),
                email: seed.email.clone(),
                phone: seed.phone.clone(),
                country: seed.country.clone(),
                last_registered_at: Some(seed.registered_at),
                ..NewLead::default()
            };
            leads::insert(tx, &new_id(seed.registered_at), &lead, seed.registered_at)?;
        }
        Ok(())
    })?;
    println!("seeded {} leads", seeds.len());
    Ok(())
}
