//! The desktop shell: opens the local database, hands it to the commands and shows the window.
//! Everything that is not window glue lives in `switchboard-core`.

pub mod commands;
pub mod error;

use std::path::PathBuf;
use std::sync::Mutex;
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

/// Puts the store and the command handlers on a builder (the real runtime or the tests' mock).
pub fn with_app_state<R: Runtime>(builder: tauri::Builder<R>, store: Store) -> tauri::Builder<R> {
    builder
        .manage(Mutex::new(store))
        .invoke_handler(tauri::generate_handler![commands::new_queue_page])
}

/// Opens the database and runs the window until the user closes it.
pub fn run() -> Result<(), String> {
    let path = db_path().map_err(|e| e.to_string())?;
    let store = Store::open(&path).map_err(|e| format!("opening {}: {e}", path.display()))?;
    with_app_state(tauri::Builder::default(), store)
        .run(tauri::generate_context!())
        .map_err(|e| format!("the window failed: {e}"))
}
