//! Commands for the manager's review (charts, the history list as it scrolls, the CSV export,
//! the cadence review) and the native file pickers: the import's source, the share and audience files' destination.

use super::{dialogs, read, Desk};
use crate::error::error_body;
use serde::Serialize;
use switchboard_app::jobs::{self, Dataset, JobControl};
use switchboard_app::views;
use switchboard_app::views::cadences::CadenceReviewLine;
use switchboard_core::cadence::definition;
use switchboard_core::history::{HistoryQuery, HistoryRow, ReviewStats};
use switchboard_core::protocol::ErrorBody;
use switchboard_core::review::cadences::CadenceReviewQuery;
use tauri::{AppHandle, Manager, Runtime, State, WebviewWindow};
use tauri_plugin_dialog::{Dialog, DialogExt};
use ts_rs::TS;

/// A finished history export: where the CSV went and how many follow-ups it holds.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct HistoryExport {
    pub path: String,
    pub rows: u32,
}

/// The review's charts for the history filters: follow-ups per day by channel, speed-to-lead
/// distribution, and subscriber requests with their handling time, as of now.
#[tauri::command(async)]
pub fn review_stats(desk: State<'_, Desk>, query: HistoryQuery) -> Result<ReviewStats, ErrorBody> {
    read(&desk, |store| views::history::review_stats(store, &query))
}

/// The cadence review: per cadence and step, enrolled, completed, replied, meetings, opt-outs,
/// bounces and the time from registration to first touch, for the enrolments `query` selects.
#[tauri::command(async)]
pub fn cadence_review(
    desk: State<'_, Desk>,
    query: CadenceReviewQuery,
) -> Result<Vec<CadenceReviewLine>, ErrorBody> {
    read(&desk, |store| views::cadences::review(store, &query))
}

/// The cadences' names, for the review's filter and the import's "enrol in" choice.
#[tauri::command(async)]
pub fn cadence_names(desk: State<'_, Desk>) -> Result<Vec<String>, ErrorBody> {
    read(&desk, |store| {
        Ok(definition::list(store.conn())?
            .into_iter()
            .map(|c| c.name)
            .collect())
    })
}

/// The next page of the history list (`query.offset` rows in), without the summary the first
/// page brought.
#[tauri::command(async)]
pub fn history_rows(
    desk: State<'_, Desk>,
    query: HistoryQuery,
) -> Result<Vec<HistoryRow>, ErrorBody> {
    read(&desk, |store| views::history::rows(store, &query))
}

/// Asks where to save the history CSV (a native save dialog), then writes it there; `null` when
/// the user cancels.
#[tauri::command(async)]
pub fn save_history_export<R: Runtime>(
    app: AppHandle<R>,
    window: WebviewWindow<R>,
    desk: State<'_, Desk>,
    query: HistoryQuery,
) -> Result<Option<HistoryExport>, ErrorBody> {
    let Some(path) = dialogs::ask_save_path(
        &app,
        &window,
        "Export the follow-up history",
        "follow-up-history.csv",
        ("CSV", &["csv"]),
    )?
    else {
        return Ok(None);
    };
    // The history export job on its own connection; the window offers no Cancel for it.
    let rows = jobs::export_file(
        desk.shared(),
        &Dataset::History(query),
        &path,
        &JobControl::default(),
        |_| {},
    )
    .map_err(error_body)?;
    Ok(rows.map(|rows| HistoryExport {
        path: path.display().to_string(),
        rows: jobs::count(rows),
    }))
}

/// Opens the OS file picker for a CSV or JSON Lines file; `null` when the user cancels.
/// The picker runs in Rust, so the webview needs no dialog permission.
#[tauri::command]
pub async fn pick_import_file<R: Runtime>(
    app: AppHandle<R>,
    window: WebviewWindow<R>,
) -> Result<Option<String>, ErrorBody> {
    // Say so instead of panicking elsewhere; the import screen then asks for a typed path.
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

/// Opens the OS save dialog for a CSV file (`file_name` suggested); the chosen path, or `null`
/// when the user cancels. The screen then writes there through its own command, so the file's
/// contents never pass through the webview.
#[tauri::command]
pub async fn pick_csv_destination<R: Runtime>(
    app: AppHandle<R>,
    window: WebviewWindow<R>,
    title: String,
    file_name: String,
) -> Result<Option<String>, ErrorBody> {
    let path = dialogs::ask_save_path(&app, &window, &title, &file_name, ("CSV", &["csv"]))?;
    Ok(path.map(|path| path.to_string_lossy().into_owned()))
}
