//! When the window cannot start (most often: the database cannot be opened), someone who launched
//! the app from a desktop menu sees no terminal. They get the reason in a message box too.

/// Set to any value to print the reason only (tests and scripts that expect the process to exit).
pub const NO_DIALOG: &str = "SWITCHBOARD_NO_ERROR_DIALOG";

/// What the message box says: the reason and what the person can do about it.
pub fn message(error: &str) -> String {
    format!(
        "{error}\n\nNothing was changed. If the database is in use by another Switchboard, close that \
         one first; to use another database file, start Switchboard with SWITCHBOARD_DB set to its path."
    )
}

/// Whether a message box can and should be shown here.
pub fn wanted() -> bool {
    let graphical = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    graphical && std::env::var_os(NO_DIALOG).is_none()
}

/// Shows the reason in a modal message box and waits for OK.
pub fn show(error: &str) {
    if !wanted() {
        return;
    }
    rfd::MessageDialog::new()
        .set_level(rfd::MessageLevel::Error)
        .set_title("Switchboard cannot start")
        .set_description(message(error))
        .set_buttons(rfd::MessageButtons::Ok)
        .show();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_keeps_the_reason_and_says_what_to_do() {
        let text = message("opening /x/switchboard.db: file is not a database");
        assert!(text.starts_with("opening /x/switchboard.db: file is not a database\n\n"));
        assert!(text.contains("SWITCHBOARD_DB"));
        assert!(text.contains("Nothing was changed"));
    }
}
