//! Contact through the OS opener (after the gate) and the postal letters screen: templates, the
//! batch, previews and marking a printed batch sent. Each command is a few lines over
//! `switchboard_core::{contact, letters}`.

use super::{read, Desk};
use crate::error::error_body;
use serde::Serialize;
use switchboard_app::views;
use switchboard_core::contact;
use switchboard_core::letters::{self, AddedDue, BatchEntry, Letter, LetterTemplate, MarkedSent};
use switchboard_core::protocol::{Channel, ErrorBody};
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
    desk: State<'_, Desk>,
    lead: String,
    channel: Channel,
) -> Result<ContactOpened, ErrorBody> {
    let url = read(&desk, |store| {
        contact::url(store.conn(), &lead, channel, store.now())
    })?;
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

// The Letters screen's views are assembled in the application layer, for the CLI too.
pub use switchboard_app::views::letters::LetterTemplates;

/// Every letter template, with the merge fields for the editor's help.
#[tauri::command(async)]
pub fn letter_templates(desk: State<'_, Desk>) -> Result<LetterTemplates, ErrorBody> {
    read(&desk, views::letters::templates)
}

/// Creates (`id` null) or replaces a template; an unknown merge field is refused here.
#[tauri::command(async)]
pub fn letter_template_save(
    desk: State<'_, Desk>,
    id: Option<String>,
    name: String,
    body: String,
) -> Result<LetterTemplate, ErrorBody> {
    desk.act(|tx, actor, at| letters::save_template(tx, id.as_deref(), &name, &body, actor, at))
        .map_err(error_body)
}

/// Deletes a template.
#[tauri::command(async)]
pub fn letter_template_delete(desk: State<'_, Desk>, id: String) -> Result<(), ErrorBody> {
    read(&desk, |store| letters::delete_template(store.conn(), &id))
}

/// The leads waiting for the next letters, with the gate's mail decision now.
#[tauri::command(async)]
pub fn letter_batch(desk: State<'_, Desk>) -> Result<Vec<BatchEntry>, ErrorBody> {
    read(&desk, |store| letters::batch(store.conn(), store.now()))
}

/// Adds a lead to the batch through the gate (channel mail: a postal address is required).
#[tauri::command(async)]
pub fn letter_batch_add(desk: State<'_, Desk>, lead: String) -> Result<BatchEntry, ErrorBody> {
    desk.act(|tx, actor, at| letters::add_to_batch(tx, &lead, actor, at))
        .map_err(error_body)
}

/// Takes a lead out of the batch.
#[tauri::command(async)]
pub fn letter_batch_remove(desk: State<'_, Desk>, lead: String) -> Result<bool, ErrorBody> {
    read(&desk, |store| {
        letters::remove_from_batch(store.conn(), &lead)
    })
}

/// Adds the leads whose mail follow-up is due, through the gate.
#[tauri::command(async)]
pub fn letter_batch_add_due(desk: State<'_, Desk>) -> Result<AddedDue, ErrorBody> {
    desk.act(|tx, actor, at| letters::add_due(tx, actor, at))
        .map_err(error_body)
}

/// The batch's letters from a template as plain text, dated today on this computer.
#[tauri::command(async)]
pub fn letter_preview(desk: State<'_, Desk>, template: String) -> Result<Vec<Letter>, ErrorBody> {
    let session = desk.acting().get();
    read(&desk, |store| {
        views::letters::preview(store, &template, &session.actor)
    })
}

/// Logs every letter of the batch as a sent mail follow-up (through the gate) and empties it.
#[tauri::command(async)]
pub fn letter_mark_sent(
    desk: State<'_, Desk>,
    template: Option<String>,
) -> Result<MarkedSent, ErrorBody> {
    let session = desk.acting().get();
    views::letters::mark_sent(&mut desk.lock(), template.as_deref(), &session.actor)
        .map_err(error_body)
}
