//! Email from the window (compose with a template and a preview, send through the outbox, the
//! mailbox settings and their connection test, mail sync) and cadences (enrol, a lead's
//! enrolments, stop). Each command is a few lines over `switchboard_app::{mail, views::cadences}`.

use super::{read, Desk};
use crate::error::error_body;
use switchboard_app::mail::{
    self, Compose, ConnectionTest, MailSent, MailService, MailSync, Problem,
};
use switchboard_app::views::cadences::{self, LeadCadence};
// Named as the window knows it (ts-rs exports `Enrolled` as `CadenceEnrolled`).
use switchboard_core::cadence::enrollment::Enrolled as CadenceEnrolled;
use switchboard_core::cadence::Cadence;
use switchboard_core::mail::mailbox::Mailbox;
use switchboard_core::mail::outbox::OutboxMail;
use switchboard_core::mail::templates::RenderedMail;
use switchboard_core::protocol::ErrorBody;
use switchboard_sync::Secret;
use tauri::State;

pub use switchboard_app::mail::MailboxSettings;

/// A mail error's stable code (the core's, or `mail_*`) and what to do.
fn mail_error(e: impl Into<Problem>) -> ErrorBody {
    let Problem { code, message } = e.into();
    ErrorBody { code, message }
}

/// The templates, the sending address and the lead's mails in the outbox.
#[tauri::command(async)]
pub fn mail_compose(desk: State<'_, Desk>, lead: String) -> Result<Compose, ErrorBody> {
    read(&desk, |store| mail::compose(store, &lead))
}

/// The edited subject and body with the lead's real data; an unknown merge field is refused
/// with the known ones listed.
#[tauri::command(async)]
pub fn mail_preview(
    desk: State<'_, Desk>,
    lead: String,
    subject: String,
    body: String,
) -> Result<RenderedMail, ErrorBody> {
    let rep = desk.acting().get().actor;
    read(&desk, |store| {
        mail::preview(store, &lead, &subject, &body, &rep)
    })
}

/// Queues the mail (through the gate) and sends the queue now if the server is reachable.
#[tauri::command(async)]
pub fn mail_send(
    desk: State<'_, Desk>,
    mail: State<'_, MailService>,
    lead: String,
    template: String,
    subject: String,
    body: String,
) -> Result<MailSent, ErrorBody> {
    mail.send(&desk, &lead, &template, &subject, &body)
        .map_err(mail_error)
}

/// Queues an interrupted or failed mail again (`sendAgain`) or cancels it.
#[tauri::command(async)]
pub fn mail_resolve(
    desk: State<'_, Desk>,
    id: String,
    send_again: bool,
) -> Result<OutboxMail, ErrorBody> {
    mail::resolve(&desk, &id, send_again).map_err(error_body)
}

/// The mailbox settings and whether its password is known.
#[tauri::command(async)]
pub fn mailbox_settings(
    desk: State<'_, Desk>,
    mail: State<'_, MailService>,
) -> Result<MailboxSettings, ErrorBody> {
    mail.settings(&desk).map_err(mail_error)
}

/// Saves the mailbox settings; a password goes to the keychain, never the database.
#[tauri::command(async)]
pub fn mailbox_save(
    desk: State<'_, Desk>,
    mail: State<'_, MailService>,
    mailbox: Mailbox,
    password: Option<String>,
) -> Result<MailboxSettings, ErrorBody> {
    mail.save(&desk, &mailbox, password.map(Secret::new))
        .map_err(mail_error)
}

/// Connects and logs in to both servers, naming the step that failed.
#[tauri::command(async)]
pub fn mailbox_test(
    desk: State<'_, Desk>,
    mail: State<'_, MailService>,
) -> Result<ConnectionTest, ErrorBody> {
    mail.test(&desk).map_err(mail_error)
}

/// Sends the queued mail, then reads replies and bounces of sent mail.
#[tauri::command(async)]
pub fn mail_sync(
    desk: State<'_, Desk>,
    mail: State<'_, MailService>,
) -> Result<MailSync, ErrorBody> {
    mail.sync(&desk).map_err(mail_error)
}

/// The cadences with their current steps.
#[tauri::command(async)]
pub fn cadence_list(desk: State<'_, Desk>) -> Result<Vec<Cadence>, ErrorBody> {
    read(&desk, cadences::list)
}

/// A lead's enrolments with the step each is on and the next.
#[tauri::command(async)]
pub fn lead_cadences(desk: State<'_, Desk>, lead: String) -> Result<Vec<LeadCadence>, ErrorBody> {
    read(&desk, |store| cadences::for_lead(store, &lead))
}

/// Enrols the leads in the cadence; leads that cannot be are listed with the reason.
#[tauri::command(async)]
pub fn cadence_enroll(
    desk: State<'_, Desk>,
    cadence: String,
    leads: Vec<String>,
) -> Result<CadenceEnrolled, ErrorBody> {
    cadences::enroll(&desk, &cadence, &leads).map_err(error_body)
}

/// Stops the lead's enrolment in the cadence by hand.
#[tauri::command(async)]
pub fn cadence_stop(
    desk: State<'_, Desk>,
    lead: String,
    cadence: String,
) -> Result<u32, ErrorBody> {
    cadences::stop(&desk, &lead, &cadence).map_err(error_body)
}
