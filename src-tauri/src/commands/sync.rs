//! Commands of the sign-in screen and the sync status indicator. The work happens in
//! `background_sync` over `switchboard-sync`; no token ever crosses to the window.

use super::Desk;
use crate::background_sync::{ServerProbe, SyncEvent, SyncFailure, SyncService, SyncView};
use crate::error::error_body;
use switchboard_core::protocol::{Device, ErrorBody};
use switchboard_sync::Secret;
use tauri::ipc::Channel;
use tauri::State;

fn failure(f: SyncFailure) -> ErrorBody {
    ErrorBody {
        code: f.code.to_string(),
        message: f.message,
    }
}

/// Online or not, pending changes, last sync, rejected operations and why. Off the main
/// thread, like every command that takes the store's lock.
#[tauri::command(async)]
pub fn sync_status(
    desk: State<'_, Desk>,
    sync: State<'_, SyncService>,
) -> Result<SyncView, ErrorBody> {
    sync.view(&desk.lock()).map_err(error_body)
}

/// The certificate fingerprint the server presents, for the user to confirm.
#[tauri::command]
pub async fn sync_probe(
    sync: State<'_, SyncService>,
    server_url: String,
) -> Result<ServerProbe, ErrorBody> {
    sync.probe(&server_url).await.map_err(failure)
}

/// Signs in pinned to the confirmed fingerprint; the token goes to the keychain; sync starts.
#[tauri::command]
pub async fn sync_sign_in(
    desk: State<'_, Desk>,
    sync: State<'_, SyncService>,
    server_url: String,
    fingerprint: String,
    user: String,
    password: String,
    first_run: State<'_, switchboard_app::first_run::FirstRunControl>,
) -> Result<SyncView, ErrorBody> {
    // The sign-in is recorded in the real replica, which the demo has set aside.
    if first_run.in_demo() {
        return Err(ErrorBody {
            code: "demo".into(),
            message: "This window is working on the demo. Throw the demo away first, then join \
                      your office from the welcome screen."
                .into(),
        });
    }
    sync.sign_in(&server_url, &fingerprint, &user, Secret::new(password))
        .await
        .map_err(failure)?;
    let view = sync.view(&desk.lock()).map_err(error_body)?;
    // From now on the window's writes carry the account's name, as the rest of the office sees it.
    if let (Some(user), Some(role)) = (&view.user, &view.role) {
        desk.acting().signed_in(user, role);
    }
    Ok(view)
}

/// Syncs now instead of at the next change.
#[tauri::command(async)]
pub fn sync_now(sync: State<'_, SyncService>) {
    sync.sync_now();
}

/// Stops syncing and removes the token from the keychain; local data stays.
#[tauri::command]
pub async fn sync_sign_out(
    sync: State<'_, SyncService>,
    desk: State<'_, Desk>,
) -> Result<(), ErrorBody> {
    sync.sign_out().await.map_err(failure)?;
    desk.acting().signed_out();
    Ok(())
}

/// The devices signed in to the manager's office (admins: every office).
#[tauri::command]
pub async fn sync_devices(sync: State<'_, SyncService>) -> Result<Vec<Device>, ErrorBody> {
    sync.devices().await.map_err(failure)
}

/// Revokes a device: refused at once, it erases its data at its next contact.
#[tauri::command]
pub async fn sync_revoke_device(
    sync: State<'_, SyncService>,
    id: String,
) -> Result<Device, ErrorBody> {
    sync.revoke_device(&id).await.map_err(failure)
}

/// Sends the window every sync event (changes applied, status moved) over `on_event`.
#[tauri::command(async)]
pub fn sync_subscribe(sync: State<'_, SyncService>, on_event: Channel<SyncEvent>) {
    sync.subscribe(move |event| on_event.send(event.clone()).is_ok());
}
