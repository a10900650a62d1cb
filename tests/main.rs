//! The integration tests: each module is one file of tests that drive the real `switchboard`
//! binary, real servers and real database files; the support modules are their shared fixtures.
//! One binary for all of them (see Cargo.toml); a file's tests run alone with its module name
//! as the filter, e.g. `cargo test -p switchboard-tests --test integration sync_live::`.

// Fixtures, named as every file refers to them (`crate::support`, `crate::sync_support`, …).
#[path = "support/cli_replica.rs"]
mod cli_replica;
#[path = "support/server_process.rs"]
mod server_process;
mod support;
#[path = "support/sync.rs"]
mod sync_support;
#[path = "support/test_mail.rs"]
mod test_mail;
#[path = "support/watch_stops.rs"]
mod watch_stops;
#[path = "support/watcher.rs"]
mod watcher;

mod admin_live;
mod cli_audience;
mod cli_bad_input;
mod cli_cadence;
mod cli_cadence_report;
mod cli_flow;
mod cli_import_kill;
mod cli_letters;
mod cli_partners;
mod cli_roles;
mod mail_cli;
mod scaleout_haproxy;
mod sync_cadence;
mod sync_clock;
mod sync_convergence;
mod sync_devices;
mod sync_erasure;
mod sync_errors;
mod sync_faults;
mod sync_first_bulk;
mod sync_keychain;
mod sync_limits;
mod sync_live;
mod sync_multi_office;
mod sync_optout;
mod sync_own_changes;
mod sync_property;
mod sync_restore;
mod sync_unsubscribe_offices;
mod sync_wire_forms;
mod unsubscribe_e2e;
mod update_check;
