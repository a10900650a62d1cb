//! `switchboard init`: create the database where the other commands will look for it.

use crate::context::Context;
use crate::failure::CliResult;
use crate::output;
use serde_json::json;

/// Creates (or upgrades) the database and says where it is.
pub fn run(ctx: &Context) -> CliResult {
    let existed = ctx.db.exists();
    let store = ctx.create_store()?;
    let replica = store.replica_id()?;
    if ctx.json {
        return output::json(&json!({
            "db": ctx.db,
            "created": !existed,
            "replica_id": replica,
        }));
    }
    let verb = if existed {
        "Opened existing"
    } else {
        "Created"
    };
    output::line(format!("{verb} database {}", ctx.db.display()))
}
