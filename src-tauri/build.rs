//! Build script: resolves the window's capabilities and embeds the Tauri configuration.

/// The app's own commands. Each gets an `allow-<name>` permission; capabilities grant only these.
const COMMANDS: &[&str] = &[
    "new_queue_page",
    "session_info",
    "queue_list",
    "queue_page",
    "queue_next",
    "lead_detail",
    "log_follow_up",
    "opt_out",
    "search_leads",
    "history_page",
    "import_file",
    "import_cancel",
    "partner_list",
    "share_leads",
    "audience_preview",
    "audience_export",
    // lead page actions and the requests inbox
    "correct_lead",
    "erase_preview",
    "erase_lead",
    "export_access_report",
    "save_access_report",
    "record_request",
    "request_inbox",
    "handle_request",
    // letters, contact through the OS opener, reminders
    "contact_open",
    "letter_templates",
    "letter_template_save",
    "letter_template_delete",
    "letter_batch",
    "letter_batch_add",
    "letter_batch_remove",
    "letter_batch_add_due",
    "letter_preview",
    "letter_mark_sent",
    // sign-in and background sync
    "sync_status",
    "sync_probe",
    "sync_sign_in",
    "sync_now",
    "sync_sign_out",
    "sync_subscribe",
    // manager review and import picker
    "review_stats",
    "history_rows",
    "export_history",
    "save_history_export",
    "pick_import_file",
    "pick_csv_destination",
];

fn main() {
    // The package root is the workspace root, so the capabilities live under src-tauri/.
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri build step failed: {error:#}");
    }
}
