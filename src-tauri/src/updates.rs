//! Updates from the office's own server, for the window's banner and the headless
//! `switchboard-desktop --check-update`. The work is `switchboard_sync::updates` (through the
//! pinned client, with Tauri's minisign signature check); this module only knows the build's key.

use std::path::PathBuf;
use switchboard_app::sync_service::SyncService;

/// This app's version, compared with the office's newest.
pub const CURRENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The configuration the window is built with (its `plugins.updater.pubkey` is the office's key).
const TAURI_CONF: &str = include_str!("../../tauri.conf.json");

/// The public key updates must be signed with: `plugins.updater.pubkey` of `tauri.conf.json`,
/// which the office's build sets to the key it made with `tauri signer generate`.
pub fn build_pubkey() -> Option<String> {
    let conf: serde_json::Value = serde_json::from_str(TAURI_CONF).ok()?;
    conf["plugins"]["updater"]["pubkey"]
        .as_str()
        .map(str::to_string)
        .filter(|k| !k.trim().is_empty())
}

/// What `--check-update` does: checks the office's server for a newer version, downloads it and
/// verifies its signature, and prints the result and the command that would install it. Never
/// installs. `--pubkey KEY` checks against another key than the build's (a diagnostic for the
/// office: does the package verify under the key we meant to build with?). Returns the exit
/// code: 0 up to date or a verified update, 1 refused or failed.
pub fn check_headless(args: &[String]) -> i32 {
    let mut pubkey = build_pubkey();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--pubkey" => pubkey = rest.next().cloned(),
            other => {
                eprintln!("switchboard-desktop --check-update: unknown argument {other}");
                return 2;
            }
        }
    }
    let Some(pubkey) = pubkey else {
        eprintln!("this build has no update key (plugins.updater.pubkey in tauri.conf.json)");
        return 1;
    };
    match run_check(&pubkey) {
        Ok(None) => {
            println!("up to date: Switchboard {CURRENT_VERSION} is the newest your office offers");
            0
        }
        Ok(Some((version, notes, path))) => {
            println!("update available: Switchboard {version} (this is {CURRENT_VERSION})");
            println!("what changed: {notes}");
            println!("signature verified; package saved at {}", path.display());
            let command = switchboard_sync::updates::install_command(&path);
            println!("install with: {}", command.join(" "));
            0
        }
        Err((code, message)) => {
            eprintln!("update refused [{code}]: {message}");
            1
        }
    }
}

type Checked = Option<(String, String, PathBuf)>;

fn run_check(pubkey: &str) -> Result<Checked, (String, String)> {
    let fail = |code: &str, message: String| (code.to_string(), message);
    let path = crate::db_path().map_err(|e| fail(e.code(), e.to_string()))?;
    let key = switchboard_app::db_key::for_replica(&path)
        .map_err(|e| fail(e.code(), format!("opening {}: {e}", path.display())))?;
    let store = switchboard_core::Store::open(&path, Some(&key))
        .map_err(|e| fail(e.code(), format!("opening {}: {e}", path.display())))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| fail("runtime", e.to_string()))?;
    let sync = SyncService::for_store(&store, runtime.handle().clone());
    drop(store);
    runtime.block_on(async {
        let failure = |f: switchboard_app::sync_service::SyncFailure| fail(f.code, f.message);
        let Some(manifest) = sync.check_update(CURRENT_VERSION).await.map_err(failure)? else {
            return Ok(None);
        };
        let saved = sync
            .fetch_update(&manifest, pubkey)
            .await
            .map_err(failure)?;
        Ok(Some((manifest.version, manifest.notes, saved)))
    })
}
