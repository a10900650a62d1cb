//! The Switchboard desktop app.

// Release builds on Windows get no console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // Hidden: check the office's server for an update and verify it, headless (tests, admins).
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--check-update") {
        std::process::exit(switchboard_desktop::updates::check_headless(&args[1..]));
    }
    if let Err(error) = switchboard_desktop::run() {
        eprintln!("switchboard: {error}");
        switchboard_desktop::startup_error::show(&error);
        std::process::exit(1);
    }
}
