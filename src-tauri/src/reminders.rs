//! Follow-up reminders: every minute, ask the core which of this user's follow-ups fell due and
//! show a desktop notification for each (`switchboard_core::reminders` decides and remembers).
//! The reminders go to whoever the window acts as (the `commands::Desk`'s `Acting`), read again each round
//! since a sign-in or sign-out changes it.

use crate::commands::Desk;
use std::time::Duration;
use switchboard_core::reminders;
use tauri::plugin::{Builder, TauriPlugin};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;

/// How often due follow-ups are looked for (the first round runs at start-up).
pub const EVERY: Duration = Duration::from_secs(60);

/// A plugin that starts the reminder loop when the app is set up. Register it after the
/// notification plugin, on the real app only (the tests' mock runtime has no notifications).
pub fn plugin<R: Runtime>() -> TauriPlugin<R> {
    Builder::new("reminders")
        .setup(|app, _api| {
            start(app);
            Ok(())
        })
        .build()
}

/// Starts the reminder loop on the async runtime's blocking pool (it waits on the store's lock).
pub fn start<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || loop {
        // A panic in one round (printed by the panic hook, which the e2e tests watch) must not
        // end reminders for the rest of the session: the next round tries again.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| notify_due(&app))) {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("reminders: {error}"),
            Err(_) => eprintln!("reminders: the round failed; trying again in {EVERY:?}"),
        }
        std::thread::sleep(EVERY);
    });
}

/// One round: take what fell due (recorded as shown in the same transaction) and show it.
fn notify_due<R: Runtime>(app: &AppHandle<R>) -> Result<(), String> {
    let due = app
        .state::<Desk>()
        .act(|tx, user, at| reminders::take_due(tx, user, at))
        .map_err(|e| e.to_string())?;
    for notice in reminders::notices(&due, &chrono::Local) {
        app.notification()
            .builder()
            .title(notice.title)
            .body(notice.body)
            .show()
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
