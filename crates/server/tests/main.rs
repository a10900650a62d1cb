//! The server's integration tests: each module is one file of tests against a real server
//! (SQLite and PostgreSQL, real TLS on 127.0.0.1:0, the real binary where a file says so). One
//! binary for all of them: 18 that each linked the server and SQLCipher took 1 GB of a CI
//! build's disk. A file's tests run alone with its module name as the filter, e.g.
//! `cargo test -p switchboard-server --test integration sync::`.

// The fixtures, and `both_backends!` for every module after them.
#[macro_use]
mod support;

mod authz_matrix;
mod cadences;
mod cli;
mod concurrency;
mod delivery_cache;
mod devices;
mod encrypt_store;
mod erasure_forensics;
mod multi_office;
mod own_changes;
mod partners;
mod receipts;
mod security;
mod sync;
mod transport;
mod unsubscribe;
mod updates;
mod wire;
