//! The Switchboard desktop app.

// Release builds on Windows get no console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    if let Err(error) = switchboard_desktop::run() {
        eprintln!("switchboard: {error}");
        switchboard_desktop::startup_error::show(&error);
        std::process::exit(1);
    }
}
