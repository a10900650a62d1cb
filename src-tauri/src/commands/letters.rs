//! Contact through the OS opener (after the gate) and the postal letters screen: templates, the
//! batch, previews and marking a printed batch sent. Each command is a few lines over
//! `switchboard_core::{contact, letters}`.

use super::{store, Acting};
use crate::error::error_body;
use chrono::{Local, NaiveDate};
use serde::Serialize;
use std::sync::Mutex;
use switchboard_core::letters::{
    self, AddedDue, BatchEntry, Letter, LetterTemplate, MarkedSent, MergeField,
};
use switchboard_core::protocol::{Channel, ErrorBody};
use switchboard_core::{contact, Store};
use tauri::{AppHandle, Manager, Runtime, State};
use tauri_plugin_opener::Opener;
use ts_rs::TS;

/// What `contact_open` handed to the OS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ContactOpened {
    pub url: String,
}

/// Opens `tel:` or `mailto:` for the lead with the OS's handler, only if the gate allows the
/// channel now; a blocked lead gets the gate's reason and nothing is opened.
#[tauri::command(async)]
pub fn contact_open<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, Mutex<Store>>,
    lead: String,
    channel: Channel,
) -> Result<ContactOpened, ErrorBody> {
    let url = {
        let store = store(&state);
        contact::url(store.conn(), &lead, channel, store.now()).map_err(error_body)?
    };
    // The opener plugin is registered on the real app only; the tests' mock has none.
    let opener = app.try_state::<Opener<R>>().ok_or_else(|| ErrorBody {
        code: "opener_unavailable".into(),
        message: "this window cannot open other applications".into(),
    })?;
    opener
        .open_url(url.as_str(), None::<&str>)
        .map_err(|e| ErrorBody {
            code: "open_failed".into(),
            message: format!("no application opened {url}: {e}"),
        })?;
    Ok(ContactOpened { url })
}

/// The templates and the merge fields they may use.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct LetterTemplates {
    pub templates: Vec<LetterTemplate>,
    pub merge_fields: Vec<MergeField>,
}

/// Every letter template, with the merge fields for the editor's help.
#[tauri::command(async)]
pub fn letter_templates(state: State<'_, Mutex<Store>>) -> Result<LetterTemplates, ErrorBody> {
    Ok(LetterTemplates {
        templates: letters::list_templates(store(&state).conn()).map_err(error_body)?,
        merge_fields: letters::merge_fields(),
    })
}

/// Creates (`id` null) or replaces a template; an unknown merge field is refused here.
#[tauri::command(async)]
pub fn letter_template_save(
    state: State<'_, Mutex<Store>>,
    acting: State<'_, Acting>,
    id: Option<String>,
    name: String,
    body: String,
) -> Result<LetterTemplate, ErrorBody> {
    let session = acting.get();
    store(&state)
        .with_tx_now(|tx, at| {
            letters::save_template(tx, id.as_deref(), &name, &body, &session.actor, at)
        })
        .map_err(error_body)
}

/// Deletes a template.
#[tauri::command(async)]
pub fn letter_template_delete(state: State<'_, Mutex<Store>>, id: String) -> Result<(), ErrorBody> {
    letters::delete_template(store(&state).conn(), &id).map_err(error_body)
}

/// The leads waiting for the next letters, with the gate's mail decision now.
#[tauri::command(async)]
pub fn letter_batch(state: State<'_, Mutex<Store>>) -> Result<Vec<BatchEntry>, ErrorBody> {
    let store = store(&state);
    letters::batch(store.conn(), store.now()).map_err(error_body)
}

/// Adds a lead to the batch through the gate (channel mail: a postal address is required).
#[tauri::command(async)]
pub fn letter_batch_add(
    state: State<'_, Mutex<Store>>,
    acting: State<'_, Acting>,
    lead: String,
) -> Result<BatchEntry, ErrorBody> {
    let session = acting.get();
    store(&state)
        .with_tx_now(|tx, at| letters::add_to_batch(tx, &lead, &session.actor, at))
        .map_err(error_body)
}

/// Takes a lead out of the batch.
#[tauri::command(async)]
pub fn letter_batch_remove(
    state: State<'_, Mutex<Store>>,
    lead: String,
) -> Result<bool, ErrorBody> {
    letters::remove_from_batch(store(&state).conn(), &lead).map_err(error_body)
}

/// Adds the leads whose mail follow-up is due, through the gate.
#[tauri::command(async)]
pub fn letter_batch_add_due(
    state: State<'_, Mutex<Store>>,
    acting: State<'_, Acting>,
) -> Result<AddedDue, ErrorBody> {
    let session = acting.get();
    store(&state)
        .with_tx_now(|tx, at| letters::add_due(tx, &session.actor, at))
        .map_err(error_body)
}

/// The batch's letters from a template as plain text, dated today on this computer.
#[tauri::command(async)]
pub fn letter_preview(
    state: State<'_, Mutex<Store>>,
    acting: State<'_, Acting>,
    template: String,
) -> Result<Vec<Letter>, ErrorBody> {
    let session = acting.get();
    let store = store(&state);
    let at = store.now();
    letters::preview(store.conn(), &template, &session.actor, local_date(at), at)
        .map_err(error_body)
}

/// Logs every letter of the batch as a sent mail follow-up (through the gate) and empties it.
#[tauri::command(async)]
pub fn letter_mark_sent(
    state: State<'_, Mutex<Store>>,
    acting: State<'_, Acting>,
    template: Option<String>,
) -> Result<MarkedSent, ErrorBody> {
    let session = acting.get();
    store(&state)
        .with_tx_now(|tx, at| letters::mark_sent(tx, template.as_deref(), &session.actor, at))
        .map_err(error_body)
}

/// The date on the letters: the sender's calendar day, so it is this computer's zone.
fn local_date(at: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    at.with_timezone(&Local).date_naive()
}
