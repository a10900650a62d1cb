//! The postal letters as the Letters screen and `switchboard letters` show and send them: the
//! templates, the batch's letters dated on this computer, and marking a printed batch sent.

use chrono::{DateTime, Local, NaiveDate, Utc};
use serde::Serialize;
use switchboard_core::letters::{self, Letter, LetterTemplate, MarkedSent, MergeField};
use switchboard_core::{Result, Store};
use ts_rs::TS;

/// The templates and the merge fields they may use.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct LetterTemplates {
    pub templates: Vec<LetterTemplate>,
    pub merge_fields: Vec<MergeField>,
}

/// Every letter template, with the merge fields for the editor's help.
pub fn templates(store: &Store) -> Result<LetterTemplates> {
    Ok(LetterTemplates {
        templates: letters::list_templates(store.conn())?,
        merge_fields: letters::merge_fields(),
    })
}

/// The batch's letters from `template` (its id or name) as plain text, signed by `rep` and
/// dated today on this computer; blocked leads carry the gate's reason instead.
pub fn preview(store: &Store, template: &str, rep: &str) -> Result<Vec<Letter>> {
    let at = store.now();
    let template = letters::find_template(store.conn(), template)?;
    letters::preview(store.conn(), &template.id, rep, local_date(at), at)
}

/// Logs every letter of the batch as a mail follow-up `rep` sent now (through the gate), noting
/// `template` (its id or name) when given, and empties the batch.
pub fn mark_sent(store: &mut Store, template: Option<&str>, rep: &str) -> Result<MarkedSent> {
    store.with_tx_now(|tx, at| {
        let id = match template {
            Some(t) => Some(letters::find_template(tx, t)?.id),
            None => None,
        };
        letters::mark_sent(tx, id.as_deref(), rep, at)
    })
}

/// The date on the letters: the sender's calendar day, so it is this computer's zone.
fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Local).date_naive()
}
