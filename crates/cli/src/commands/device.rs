//! `switchboard device list|revoke`: the devices signed in to a manager's office, and revoking
//! one (a lost laptop): the server refuses it at once, and at its next contact it erases its
//! replica and keys.

use crate::commands::sync::{failure, runtime, token_for};
use crate::context::Context;
use crate::failure::{CliResult, Failure};
use crate::output;
use switchboard_core::protocol::Device;
use switchboard_core::replica;
use switchboard_sync::engine;

/// The `device` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum DeviceCommand {
    /// The devices of your office's users (admins: every office): name, user, version, last sync
    List,
    /// Revoke a device by its id: it is refused at once and erases its data at its next contact
    Revoke {
        /// The device's id, as `device list` shows it
        id: String,
    },
}

/// Runs a `device` subcommand against the server this replica signed in to.
pub fn run(ctx: &Context, command: DeviceCommand) -> CliResult {
    let store = ctx.open_store()?;
    let state = replica::state(store.conn())?;
    let (Some(server), Some(user)) = (state.server_url.clone(), state.user.clone()) else {
        return Err(Failure::from_sync_code(
            "no_token",
            "this replica has no server yet: run `switchboard login --server URL --user NAME`"
                .to_string(),
        ));
    };
    let token = token_for(&user, &server)?;
    let client = engine::client_for(&store).map_err(failure)?;
    drop(store);
    let rt = runtime()?;
    match command {
        DeviceCommand::List => {
            let devices = rt.block_on(client.devices(&token)).map_err(failure)?;
            if ctx.json {
                return output::json(&devices);
            }
            if devices.is_empty() {
                return output::line("No devices have signed in.");
            }
            for d in &devices {
                output::line(row(d))?;
            }
            Ok(())
        }
        DeviceCommand::Revoke { id } => {
            let device = rt
                .block_on(client.revoke_device(&token, &id))
                .map_err(failure)?;
            if ctx.json {
                return output::json(&device);
            }
            output::line(format!(
                "Revoked {} ({}'s {}): it is refused from now on and erases its data and keys the \
                 next time it reaches the server.",
                device.id, device.user, device.name
            ))
        }
    }
}

fn row(d: &Device) -> String {
    let last = d.last_sync.map_or_else(
        || "never synced".to_string(),
        |t| format!("last sync {}", output::time(t)),
    );
    let status = d
        .revoked_at
        .map(|t| {
            format!(
                "  REVOKED {} by {}",
                output::time(t),
                d.revoked_by.as_deref().unwrap_or("?")
            )
        })
        .unwrap_or_default();
    format!(
        "{}  {}  {} ({})  version {}  {}{}",
        d.id,
        d.user,
        d.name,
        d.office.as_deref().unwrap_or("no office"),
        d.app_version.as_deref().unwrap_or("?"),
        last,
        status
    )
}
