//! Commands of the update banner: what the office's server offers, and installing it on the
//! user's word. The package is downloaded and verified in Rust; the window only names the
//! version it agreed to.

use crate::background_sync::{SyncFailure, SyncService};
use crate::updates::{build_pubkey, CURRENT_VERSION};
use switchboard_core::protocol::updates::UpdateManifest;
use switchboard_core::protocol::ErrorBody;
use tauri::State;

fn failure(f: SyncFailure) -> ErrorBody {
    ErrorBody {
        code: f.code.to_string(),
        message: f.message,
    }
}

/// The office's newest version when it is newer than this app (none when up to date or signed
/// out).
#[tauri::command]
pub async fn update_check(
    sync: State<'_, SyncService>,
) -> Result<Option<UpdateManifest>, ErrorBody> {
    match sync.check_update(CURRENT_VERSION).await {
        Err(f) if f.code == "no_token" => Ok(None),
        other => other.map_err(failure),
    }
}

/// Downloads `version`, verifies its signature under the build's key and runs the installer
/// (`pkexec dpkg -i`, which asks for an administrator's password). Refuses when the server now
/// offers another version than the one the user agreed to.
#[tauri::command]
pub async fn update_install(
    sync: State<'_, SyncService>,
    version: String,
) -> Result<String, ErrorBody> {
    let manifest = sync
        .check_update(CURRENT_VERSION)
        .await
        .map_err(failure)?
        .filter(|m| m.version == version)
        .ok_or_else(|| ErrorBody {
            code: "update_gone".into(),
            message: format!("Your office no longer offers version {version}; check again."),
        })?;
    let pubkey = build_pubkey().ok_or_else(|| ErrorBody {
        code: "update_refused".into(),
        message: "This build has no update key; ask your administrator for the package.".into(),
    })?;
    let saved = sync
        .fetch_update(&manifest, &pubkey)
        .await
        .map_err(failure)?;
    tauri::async_runtime::spawn_blocking(move || switchboard_sync::updates::install(&saved))
        .await
        .map_err(|e| ErrorBody {
            code: "update_refused".into(),
            message: e.to_string(),
        })?
        .map_err(|e| ErrorBody {
            code: e.code().into(),
            message: e.to_string(),
        })?;
    Ok(format!(
        "Switchboard {version} is installed; restart Switchboard to use it."
    ))
}
