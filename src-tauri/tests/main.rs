//! The shell's tests: each module drives the Tauri commands of one area through the mock
//! runtime with the real capabilities (see `common`). One binary for all of them: six that
//! each linked Tauri, the server and SQLCipher filled a CI build's disk. A module's tests run
//! alone with its name as the filter, e.g. `cargo test --test integration commands::`.

mod common;

mod commands;
mod letters;
mod mail;
mod requests;
mod review;
mod sync;
