//! The desktop shell: opens the local database, hands it to the commands and shows the window.
//! Everything that is not window glue lives in `switchboard-core`.

pub mod background_sync;
pub mod commands;
pub mod error;
pub mod reminders;
pub mod startup_error;
pub mod updates;
pub mod webview_tuning;

use std::path::PathBuf;
use switchboard_app::desk::Desk;
use switchboard_app::session::{Acting, Inputs};
use switchboard_core::{store, CoreError, Store};
use tauri::Runtime;

/// The environment variable that names the database file instead of the OS default.
pub const DB_ENV: &str = "SWITCHBOARD_DB";

/// The database this app opens: `$SWITCHBOARD_DB` when set and not empty, else the OS default.
pub fn db_path() -> Result<PathBuf, CoreError> {
    match std::env::var_os(DB_ENV) {
        Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
        _ => store::default_db_path(),
    }
}

/// Who the window acts as at start: `$SWITCHBOARD_USER` (else the OS user) with
/// `$SWITCHBOARD_ROLE` (`rep` unless `manager` or `admin`).
pub fn session_from_env() -> commands::Session {
    Inputs::from_env().at_start()
}

/// Puts the store and the command handlers on a builder (the real runtime or the tests' mock).
/// The window acts as the environment's user until an account is signed in, which then takes
/// over — unless `SWITCHBOARD_USER` named the user on purpose.
pub fn with_app_state<R: Runtime>(builder: tauri::Builder<R>, store: Store) -> tauri::Builder<R> {
    with_acting(builder, store, Acting::from_inputs(&Inputs::from_env()))
}

/// `with_app_state` acting as the given user, whoever signs in.
pub fn with_session<R: Runtime>(
    builder: tauri::Builder<R>,
    store: Store,
    session: commands::Session,
) -> tauri::Builder<R> {
    with_acting(builder, store, Acting::new(session, true))
}

/// `with_app_state` with the identity given; an account already signed in on this replica takes
/// over at once when the identity allows it.
pub fn with_acting<R: Runtime>(
    builder: tauri::Builder<R>,
    store: Store,
    acting: Acting,
) -> tauri::Builder<R> {
    acting.follow_replica(store.conn());
    // A demo left behind when the window closed (or crashed) is thrown away, as its title says.
    if let Some(path) = store.path() {
        let demo = switchboard_app::first_run::demo_path(path);
        if let Err(e) = switchboard_app::first_run::remove_demo(&demo) {
            eprintln!("switchboard: could not remove the old demo database: {e}");
        }
    }
    let sync = background_sync::SyncService::for_store(
        &store,
        tauri::async_runtime::handle().inner().clone(),
    );
    let desk = Desk::new(store, acting);
    sync.share_window_store(desk.shared_handle());
    builder
        .manage(sync)
        .manage(desk)
        // The window's email: the mailbox password from the keychain, or this override.
        .manage(switchboard_app::mail::MailService::new(
            std::env::var(switchboard_app::mail::PASSWORD_VAR).ok(),
        ))
        .manage(commands::ImportControl::default())
        .manage(switchboard_app::first_run::FirstRunControl::default())
        // Every command declared in src-tauri/commands.txt (build.rs writes the list).
        .invoke_handler(include!(concat!(env!("OUT_DIR"), "/invoke_handler.rs")))
}

/// Opens the database and runs the window until the user closes it.
pub fn run() -> Result<(), String> {
    let path = db_path().map_err(|e| e.to_string())?;
    let key = switchboard_app::db_key::for_replica(&path)
        .map_err(|e| format!("opening {}: {e} ({})", path.display(), e.code()))?;
    let store =
        Store::open(&path, Some(&key)).map_err(|e| format!("opening {}: {e}", path.display()))?;
    webview_tuning::prepare_environment();
    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        // Follow-up reminders as desktop notifications (after the notification plugin).
        .plugin(reminders::plugin())
        // Sign-in and background sync: resume syncing when this replica is already signed in.
        .setup(|app| {
            // Off the main thread: starting may open the keychain over D-Bus.
            let sync = tauri::Manager::state::<background_sync::SyncService>(app)
                .inner()
                .clone();
            tauri::async_runtime::spawn_blocking(move || sync.start());
            Ok(())
        });
    with_app_state(builder, store)
        .run(tauri::generate_context!())
        .map_err(|e| format!("the window failed: {e}"))
}
