//! The native save dialog behind every command that writes a file the user places. It runs in
//! Rust, so the webview needs no dialog permission and a file's contents never pass through it.

use std::path::PathBuf;
use switchboard_core::protocol::ErrorBody;
use tauri::{AppHandle, Manager, Runtime, WebviewWindow};
use tauri_plugin_dialog::{Dialog, DialogExt};

/// Asks where to save a file, over `window`: `title`, the suggested `file_name` and one filter
/// (`name`, extensions). `None` when the user cancels.
pub fn ask_save_path<R: Runtime>(
    app: &AppHandle<R>,
    window: &WebviewWindow<R>,
    title: &str,
    file_name: &str,
    filter: (&str, &[&str]),
) -> Result<Option<PathBuf>, ErrorBody> {
    // Only the real app registers the dialog plugin; the mock runtime has none.
    if app.try_state::<Dialog<R>>().is_none() {
        return Err(ErrorBody {
            code: "unavailable".into(),
            message: "no file dialog is available in this window".into(),
        });
    }
    let picked = app
        .dialog()
        .file()
        .set_title(title)
        .set_parent(window)
        .set_file_name(file_name)
        .add_filter(filter.0, filter.1)
        .blocking_save_file();
    let Some(picked) = picked else {
        return Ok(None);
    };
    picked.into_path().map(Some).map_err(|e| ErrorBody {
        code: "bad_input".into(),
        message: format!("the chosen location is not a local file: {e}"),
    })
}
