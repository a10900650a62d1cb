//! What the tests of every Switchboard crate share, kept out of the production builds: a real
//! server on 127.0.0.1:0 with real TLS and a client that pins it (`server`), and a raw byte scan
//! of a SQLite file and its companions (`scan`) that proves an erasure left nothing on disk, and
//! a reader of the workspace's own source for the tests of its shape (`source`), and the database
//! key the tests encrypt replicas with (`db_key`).

pub mod db_key;
pub mod scan;
pub mod server;
pub mod source;

pub use db_key::{decrypted_bytes, open_sqlite, test_db_key_hex, write_test_key_file};
pub use scan::{copy_tree_skipping_vanished, scan_files_for, scan_tree_for, Found};
pub use server::{
    fresh_pg_url, pinned_http, read_served_address, served_address, ApiClient, TestOptions,
    TestServer, PG_URL_VAR,
};
