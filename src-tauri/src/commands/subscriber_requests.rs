//! Commands for the lead page actions (edit, correct, erase, access export) and the requests inbox.

use super::{dialogs, store, Acting, Session};
use crate::error::error_body;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use switchboard_core::access::{self, AccessExport};
use switchboard_core::correct::{self, Correction};
use switchboard_core::erase::{self, ErasurePreview, ErasureReport};
use switchboard_core::protocol::{ErrorBody, RequestKind, RequestStatus, SubscriberRequest};
use switchboard_core::requests::{self, InboxEntry, RequestFilter};
use switchboard_core::Store;
use tauri::{AppHandle, Runtime, State, WebviewWindow};

/// Corrects a lead's fields (`{field: value}`, an empty value clears it) as the person asked:
/// normalised, audited, dedup keys follow, and a `correct` request is on file as done.
#[tauri::command(async)]
pub fn correct_lead(
    state: State<'_, Mutex<Store>>,
    acting: State<'_, Acting>,
    lead: String,
    changes: BTreeMap<String, String>,
) -> Result<Correction, ErrorBody> {
    let session = acting.get();
    let changes: Vec<(String, String)> = changes.into_iter().collect();
    store(&state)
        .with_tx_now(|tx, at| correct::correct(tx, &lead, &changes, &session.actor, at))
        .map_err(error_body)
}

/// What erasing the lead would delete, in counts, with the identity being purged; changes nothing.
#[tauri::command(async)]
pub fn erase_preview(
    state: State<'_, Mutex<Store>>,
    acting: State<'_, Acting>,
    lead: String,
) -> Result<ErasurePreview, ErrorBody> {
    let session = acting.get();
    erase::preview(&mut store(&state), &lead, &session.actor).map_err(error_body)
}

/// Erases the person for good: purges their personal information and suppresses their
/// identifiers; the lead stays as a skeleton so counts stay right.
#[tauri::command(async)]
pub fn erase_lead(
    state: State<'_, Mutex<Store>>,
    acting: State<'_, Acting>,
    lead: String,
) -> Result<ErasureReport, ErrorBody> {
    let session = acting.get();
    erase::erase(&mut store(&state), &lead, &session.actor).map_err(error_body)
}

/// Asks where to save the lead's access report (a native save dialog), then writes it there;
/// `null` when the user cancels.
#[tauri::command(async)]
pub fn save_access_report<R: Runtime>(
    app: AppHandle<R>,
    window: WebviewWindow<R>,
    state: State<'_, Mutex<Store>>,
    acting: State<'_, Acting>,
    lead: String,
) -> Result<Option<AccessExport>, ErrorBody> {
    let session = acting.get();
    // The lead's id, not their name, so no personal data lands in recent-file lists.
    let file_name = format!("access-report-{lead}.json");
    let title = "Save the access report";
    let Some(path) = dialogs::ask_save_path(&app, &window, title, &file_name, ("JSON", &["json"]))?
    else {
        return Ok(None);
    };
    export_to(&state, &session, &lead, &path).map(Some)
}

fn export_to(
    state: &State<'_, Mutex<Store>>,
    session: &Session,
    lead: &str,
    path: &Path,
) -> Result<AccessExport, ErrorBody> {
    store(state)
        .with_tx_now(|tx, at| access::export_to_file(tx, lead, path, &session.actor, at))
        .map_err(error_body)
}

/// Records a request the person made (by letter, phone, email) as open, due one calendar month
/// after `received_at`.
#[tauri::command(async)]
pub fn record_request(
    state: State<'_, Mutex<Store>>,
    acting: State<'_, Acting>,
    lead: String,
    kind: RequestKind,
    detail: Option<String>,
    received_at: DateTime<Utc>,
) -> Result<SubscriberRequest, ErrorBody> {
    let session = acting.get();
    let mut store = store(&state);
    let detail = detail.filter(|d| !d.trim().is_empty());
    store
        .with_tx(|tx| {
            requests::open(
                tx,
                &lead,
                kind,
                detail.as_deref(),
                received_at,
                &session.actor,
            )
        })
        .map_err(error_body)
}

/// The subscriber requests inbox, soonest due first (all statuses when `status` is null).
#[tauri::command(async)]
pub fn request_inbox(
    state: State<'_, Mutex<Store>>,
    status: Option<RequestStatus>,
) -> Result<Vec<InboxEntry>, ErrorBody> {
    let store = store(&state);
    let filter = RequestFilter {
        status,
        ..RequestFilter::default()
    };
    requests::inbox(store.conn(), &filter, store.now()).map_err(error_body)
}

/// Marks an open request done or rejected, recording this user and now.
#[tauri::command(async)]
pub fn handle_request(
    state: State<'_, Mutex<Store>>,
    acting: State<'_, Acting>,
    id: String,
    status: RequestStatus,
) -> Result<SubscriberRequest, ErrorBody> {
    let session = acting.get();
    store(&state)
        .with_tx_now(|tx, at| requests::handle(tx, &id, status, &session.actor, at))
        .map_err(error_body)
}
