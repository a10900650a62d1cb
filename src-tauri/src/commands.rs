//! The commands the window may invoke. Each takes the store, calls the core, maps the error.
//! Screens with several commands keep them in a submodule.

mod dialogs;
pub mod first_run;
pub mod letters;
pub mod mail;
pub mod review;
pub mod subscriber_requests;
pub mod sync;
pub mod updates;

use crate::error::error_body;
use serde::Serialize;
use switchboard_app::{jobs, views};
use switchboard_core::audience::{self, Export, Preview, Segment};
use switchboard_core::followup::{self, LogFollowUp};
use switchboard_core::history::{HistoryPage, HistoryQuery};
use switchboard_core::partners::{self, Partner};
use switchboard_core::protocol::{
    Channel, ConsentEvent, Direction, ErrorBody, FollowUp, Lead, Outcome,
};
use switchboard_core::queue::{self, NextLead, QueueDef};
use switchboard_core::search::{self, SearchHit};
use switchboard_core::share::{self, NotShared};
use switchboard_core::{requests, Store};
use tauri::ipc::Channel as Progress;
use tauri::State;
use ts_rs::TS;

// Who acts lives in the application layer; the window's commands and tests name it here.
pub use switchboard_app::session::{Acting, Session, SessionInfo};

// The window's store and who acts on it are one desk, the application layer's.
pub use switchboard_app::desk::Desk;

// The lead page's view is assembled in the application layer, for the CLI too.
pub use switchboard_app::views::LeadDetail;

/// Runs `read` on the desk's store and maps its error for the window.
fn read<T>(
    desk: &Desk,
    read: impl FnOnce(&Store) -> switchboard_core::Result<T>,
) -> Result<T, ErrorBody> {
    desk.read(read).map_err(error_body)
}

/// One page of the `new` queue: unworked leads, newest registration first.
#[tauri::command(async)]
pub fn new_queue_page(
    desk: State<'_, Desk>,
    offset: u32,
    limit: u32,
) -> Result<Vec<Lead>, ErrorBody> {
    read(&desk, |store| views::queue::new_leads(store, offset, limit))
}

/// Who the window acts as: the account signed in on the replica now, and the offices it holds.
/// The window asks again after every change, so after a remote wipe erased the replica the header
/// stops naming the account and its offices.
#[tauri::command(async)]
pub fn session_info(desk: State<'_, Desk>) -> SessionInfo {
    desk.acting().info(desk.lock().conn())
}

/// The named queues, built-in ones included.
#[tauri::command(async)]
pub fn queue_list(desk: State<'_, Desk>) -> Result<Vec<QueueDef>, ErrorBody> {
    read(&desk, |store| queue::list(store.conn()))
}

/// Claims the queue's top lead for this rep, giving back `previous` (the lead the call session
/// is done with); `null` when the queue has nothing to offer now.
#[tauri::command(async)]
pub fn queue_next(
    desk: State<'_, Desk>,
    queue: String,
    previous: Option<String>,
) -> Result<Option<NextLead>, ErrorBody> {
    let session = desk.acting().get();
    views::queue::claim_next_after(
        &mut desk.lock(),
        &queue,
        &session.actor,
        previous.as_deref(),
    )
    .map_err(error_body)
}

/// The lead's whole story and what the gate allows now.
#[tauri::command(async)]
pub fn lead_detail(desk: State<'_, Desk>, id: String) -> Result<LeadDetail, ErrorBody> {
    read(&desk, |store| views::lead_detail(store, &id))
}

/// Logs a contact by this rep now: outbound unless `inbound` (the person got in touch), and the
/// gate refuses an outbound contact on a blocked channel.
#[allow(clippy::too_many_arguments)]
#[tauri::command(async)]
pub fn log_follow_up(
    desk: State<'_, Desk>,
    lead: String,
    channel: Channel,
    outcome: Outcome,
    note: Option<String>,
    next_follow_up_at: Option<chrono::DateTime<chrono::Utc>>,
    inbound: Option<bool>,
) -> Result<FollowUp, ErrorBody> {
    let direction = if inbound == Some(true) {
        Direction::In
    } else {
        Direction::Out
    };
    desk.act(|tx, actor, at| {
        let input = LogFollowUp {
            lead,
            channel,
            direction,
            outcome,
            note,
            occurred_at: at,
            rep: actor.to_string(),
            next_follow_up_at,
        };
        followup::log(tx, &input, at)
    })
    .map_err(error_body)
}

/// Records the person's opt-out of `scope` (effective at once) and its fulfilled request.
#[tauri::command(async)]
pub fn opt_out(
    desk: State<'_, Desk>,
    lead: String,
    scope: switchboard_core::protocol::ConsentScope,
) -> Result<ConsentEvent, ErrorBody> {
    desk.act(|tx, actor, at| {
        requests::opt_out_request(tx, &lead, scope, "request to a rep", actor, at)
    })
    .map(|done| done.event)
    .map_err(error_body)
}

/// Leads matching the text (name, company, email, phone, notes), best first.
#[tauri::command(async)]
pub fn search_leads(
    desk: State<'_, Desk>,
    text: String,
    limit: u32,
) -> Result<Vec<SearchHit>, ErrorBody> {
    read(&desk, |store| {
        search::search(store.conn(), &text, limit as usize)
    })
}

/// A page of follow-up history and the summary of everything the query matches.
#[tauri::command(async)]
pub fn history_page(desk: State<'_, Desk>, query: HistoryQuery) -> Result<HistoryPage, ErrorBody> {
    read(&desk, |store| views::history::page(store, &query))
}

// The import job (progress, cancel, its own connection) lives in the application layer.
pub use switchboard_app::jobs::{
    ImportControl, ImportEnrolment, ImportProblem, ImportStatus, ImportSummary,
};

/// Imports a CSV or JSON Lines file of registrations, reporting progress after each batch, and
/// enrols every imported lead in `cadence` when one is named.
///
/// The import writes through its own connection to the database file, so the window's other
/// commands and background sync go on between its batches instead of waiting minutes for the
/// shared one.
#[tauri::command(async)]
pub fn import_file(
    desk: State<'_, Desk>,
    control: State<'_, ImportControl>,
    path: String,
    cadence: Option<String>,
    on_progress: Progress<ImportStatus>,
) -> Result<ImportSummary, ErrorBody> {
    let session = desk.acting().get();
    // A closed window cannot take progress; the import itself goes on.
    let report = |p: ImportStatus| {
        let _ = on_progress.send(p);
    };
    jobs::import_file(
        desk.shared(),
        std::path::Path::new(&path),
        &session.actor,
        cadence.as_deref().filter(|c| !c.trim().is_empty()),
        &control,
        report,
    )
    .map_err(error_body)
}

/// Stops the running import after the batch it is writing; what was committed stays.
#[tauri::command]
pub fn import_cancel(control: State<'_, ImportControl>) {
    control.cancel();
}

/// What a share did: how many people went to the partner, and who was refused and why.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ShareOutcome {
    pub partner: String,
    pub shared: u32,
    pub blocked: Vec<NotShared>,
    /// The file the minimised records were written to.
    pub out: String,
}

/// The registered recipients: the only ones anything can be shared with.
#[tauri::command(async)]
pub fn partner_list(desk: State<'_, Desk>) -> Result<Vec<Partner>, ErrorBody> {
    read(&desk, |store| partners::list(store.conn()))
}

/// Shares leads with a registered partner through the gate, records the disclosures and writes
/// the partner's allowed fields to `out` (`.json`, else CSV).
#[tauri::command(async)]
pub fn share_leads(
    desk: State<'_, Desk>,
    leads: Vec<String>,
    partner: String,
    out: String,
) -> Result<ShareOutcome, ErrorBody> {
    let result = desk
        .act(|tx, actor, at| share::share(tx, &leads, &partner, actor, at))
        .map_err(error_body)?;
    share::write_file(&result, std::path::Path::new(&out)).map_err(error_body)?;
    Ok(ShareOutcome {
        partner: result.partner.name.clone(),
        shared: result.shared.len() as u32,
        blocked: result.blocked,
        out,
    })
}

/// How many people of a segment may receive promotional email now, and why the rest may not.
#[tauri::command(async)]
pub fn audience_preview(desk: State<'_, Desk>, segment: String) -> Result<Preview, ErrorBody> {
    let segment = Segment::parse(&segment).map_err(error_body)?;
    read(&desk, |store| {
        audience::preview(store.conn(), &segment, store.now())
    })
}

/// Exports a segment's audience to a CSV file for an email service, and records the export.
#[tauri::command(async)]
pub fn audience_export(
    desk: State<'_, Desk>,
    segment: String,
    out: String,
) -> Result<Export, ErrorBody> {
    let session = desk.acting().get();
    let segment = Segment::parse(&segment).map_err(error_body)?;
    // The audience export job on its own connection; the window offers no Cancel for it.
    let out = std::path::Path::new(&out);
    let control = jobs::JobControl::default();
    jobs::export_audience(
        desk.shared(),
        &segment,
        out,
        &session.actor,
        &control,
        |_| {},
    )
    .map_err(error_body)?
    .ok_or_else(|| ErrorBody {
        code: "cancelled".into(),
        message: "the export was cancelled; nothing was written or recorded".into(),
    })
}

/// The app's version, shown in the keyboard-shortcuts dialog so a user can say what they run.
#[tauri::command]
pub fn app_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
