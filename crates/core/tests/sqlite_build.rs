//! The bundled SQLite is built the way `.cargo/config.toml` asks (`LIBSQLITE3_FLAGS`): one page
//! cache per connection and no global memory statistics, so connections of one process (the
//! central store's pool, the desktop's sync beside its window) do not queue on global mutexes
//! for every page they read. A build that lost the setting (cargo run from outside the
//! workspace, an overriding environment) would still pass every other test, only slower.

use switchboard_core::Store;

fn compile_options() -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("options.db"), None).unwrap();
    let mut stmt = store.conn().prepare("PRAGMA compile_options").unwrap();
    let options = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap();
    options
}

#[test]
fn every_connection_has_its_own_page_cache_and_allocations_take_no_global_lock() {
    let options = compile_options();
    assert!(
        !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
        "SQLite was built with SQLITE_ENABLE_MEMORY_MANAGEMENT (one page cache shared by every \
         connection, behind a global mutex): LIBSQLITE3_FLAGS from .cargo/config.toml was not \
         applied. Options: {options:?}"
    );
    assert!(
        options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
        "SQLite keeps memory statistics (a global mutex on every allocation): LIBSQLITE3_FLAGS \
         from .cargo/config.toml was not applied. Options: {options:?}"
    );
    // The features the replica relies on are still compiled in.
    for needed in [
        "ENABLE_FTS5",
        "ENABLE_DBSTAT_VTAB",
        "HAS_CODEC",
        "THREADSAFE=1",
    ] {
        assert!(
            options.iter().any(|o| o == needed),
            "{needed} missing from {options:?}"
        );
    }
}
