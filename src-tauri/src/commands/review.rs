//! Commands for the manager's review charts and the import screen's file picker.

use super::store;
use crate::error::error_body;
use std::sync::Mutex;
use switchboard_core::history::{self, HistoryQuery, ReviewStats};
use switchboard_core::protocol::ErrorBody;
use switchboard_core::Store;
use tauri::{AppHandle, Manager, Runtime, State, WebviewWindow};
use tauri_plugin_dialog::{Dialog, DialogExt};

/// The review's charts for the history filters: follow-ups per day by channel, speed-to-lead
/// distribution, and subscriber requests with their handling time, as of now.
#[tauri::command(async)]
pub fn review_stats(
    state: State<'_, Mutex<Store>>,
    query: HistoryQuery,
) -> Result<ReviewStats, ErrorBody> {
    let store = store(&state);
    history::review_stats(store.conn(), &query, store.now()).map_err(error_body)
}

/// Opens the OS file picker for a CSV or JSON Lines file; `null` when the user cancels.
/// The picker runs in Rust, so the webview needs no dialog permission.
#[tauri::command]
pub async fn pick_import_file<R: Runtime>(
    app: AppHandle<R>,
    window: WebviewWindow<R>,
) -> Result<Option<String>, ErrorBody> {
    // Only the real app registers the dialog plugin; say so instead of panicking elsewhere.
    if app.try_state::<Dialog<R>>().is_none() {
        return Err(ErrorBody {
            code: "unavailable".into(),
            message: "no file picker in this window; type the file's path instead".into(),
        });
    }
    let picked = app
        .dialog()
        .file()
        .set_title("Import registrations")
        .set_parent(&window)
        .add_filter(
            "Registrations (CSV, JSON Lines)",
            &["csv", "jsonl", "ndjson"],
        )
        .add_filter("All files", &["*"])
        .blocking_pick_file();
    Ok(picked
        .and_then(|file| file.into_path().ok())
        .map(|path| path.to_string_lossy().into_owned()))
}
