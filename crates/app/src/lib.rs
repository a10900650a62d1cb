//! The application layer between the core and its two front ends (the CLI and the desktop
//! shell): who acts, the views the screens and commands show, sign-in with background sync, and
//! the window's email (compose, send, the mailbox settings and its connection test).
//! Neither front end holds SQL or a domain rule; both call this crate, which calls the core.
//! Tauri-free: the shell passes in its runtime handle and listens through callbacks.

pub mod db_key;
pub mod desk;
pub mod first_run;
pub mod jobs;
pub mod mail;
pub mod session;
pub mod signin;
pub mod sync_service;
pub mod views;
