//! Commands for the lead page actions (edit, correct, erase, access export) and the requests inbox.

use super::{dialogs, read, Desk};
use crate::error::error_body;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use switchboard_core::access::{self, AccessExport};
use switchboard_core::correct::{self, Correction};
use switchboard_core::erase::{self, ErasurePreview, ErasureReport};
use switchboard_core::protocol::{ErrorBody, RequestKind, RequestStatus, SubscriberRequest};
use switchboard_core::requests::{self, InboxEntry, RequestFilter};
use tauri::{AppHandle, Runtime, State, WebviewWindow};

/// Corrects a lead's fields (`{field: value}`, an empty value clears it) as the person asked:
/// normalised, audited, dedup keys follow, and a `correct` request is on file as done.
#[tauri::command(async)]
pub fn correct_lead(
    desk: State<'_, Desk>,
    lead: String,
    changes: BTreeMap<String, String>,
) -> Result<Correction, ErrorBody> {
    let changes: Vec<(String, String)> = changes.into_iter().collect();
    desk.act(|tx, actor, at| correct::correct(tx, &lead, &changes, actor, at))
        .map_err(error_body)
}

/// What erasing the lead would delete, in counts, with the identity being purged; changes nothing.
#[tauri::command(async)]
pub fn erase_preview(desk: State<'_, Desk>, lead: String) -> Result<ErasurePreview, ErrorBody> {
    erase::preview(&mut desk.lock(), &lead, &desk.acting().get().actor).map_err(error_body)
}

/// Erases the person for good: purges their personal information and suppresses their
/// identifiers; the lead stays as a skeleton so counts stay right.
#[tauri::command(async)]
pub fn erase_lead(desk: State<'_, Desk>, lead: String) -> Result<ErasureReport, ErrorBody> {
    erase::erase(&mut desk.lock(), &lead, &desk.acting().get().actor).map_err(error_body)
}

/// Asks where to save the lead's access report (a native save dialog), then writes it there;
/// `null` when the user cancels.
#[tauri::command(async)]
pub fn save_access_report<R: Runtime>(
    app: AppHandle<R>,
    window: WebviewWindow<R>,
    desk: State<'_, Desk>,
    lead: String,
) -> Result<Option<AccessExport>, ErrorBody> {
    // The lead's id, not their name, so no personal data lands in recent-file lists.
    let file_name = format!("access-report-{lead}.json");
    let title = "Save the access report";
    let Some(path) = dialogs::ask_save_path(&app, &window, title, &file_name, ("JSON", &["json"]))?
    else {
        return Ok(None);
    };
    desk.act(|tx, actor, at| access::export_to_file(tx, &lead, &path, actor, at))
        .map(Some)
        .map_err(error_body)
}

/// Records a request the person made (by letter, phone, email) as open, due one calendar month
/// after `received_at`.
#[tauri::command(async)]
pub fn record_request(
    desk: State<'_, Desk>,
    lead: String,
    kind: RequestKind,
    detail: Option<String>,
    received_at: DateTime<Utc>,
) -> Result<SubscriberRequest, ErrorBody> {
    let detail = detail.filter(|d| !d.trim().is_empty());
    desk.act(|tx, actor, _| requests::open(tx, &lead, kind, detail.as_deref(), received_at, actor))
        .map_err(error_body)
}

/// The subscriber requests inbox, soonest due first (all statuses when `status` is null).
#[tauri::command(async)]
pub fn request_inbox(
    desk: State<'_, Desk>,
    status: Option<RequestStatus>,
) -> Result<Vec<InboxEntry>, ErrorBody> {
    let filter = RequestFilter {
        status,
        ..RequestFilter::default()
    };
    read(&desk, |store| {
        requests::inbox(store.conn(), &filter, store.now())
    })
}

/// Marks an open request done or rejected, recording this user and now.
#[tauri::command(async)]
pub fn handle_request(
    desk: State<'_, Desk>,
    id: String,
    status: RequestStatus,
) -> Result<SubscriberRequest, ErrorBody> {
    desk.act(|tx, actor, at| requests::handle(tx, &id, status, actor, at))
        .map_err(error_body)
}
