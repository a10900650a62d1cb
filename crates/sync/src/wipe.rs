//! Remote wipe: what a device does when the server answers `device_revoked`. It forgets its
//! keys (the sync token, the database key, the mailbox password) and then deletes its replica:
//! the database file and every file named after it (`-wal`, `-shm`, `-journal`, the `.replica`
//! sidecar, an encryption in progress) and exports in progress (`*.partial`) in its folder.
//! Keys go first: if a file cannot be deleted, what stays is unreadable without them.

use crate::keychain::Keychain;
use serde::Serialize;
use std::path::{Path, PathBuf};
use switchboard_core::mail::mailbox;
use switchboard_core::{replica, Store};

/// What the wipe did, for the message the user reads and for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WipeReport {
    /// Files deleted.
    pub files: Vec<PathBuf>,
    /// Keychain accounts forgotten (names only, never values).
    pub keys: Vec<String>,
    /// What could not be done (a file still there, a keychain that failed), in words.
    pub problems: Vec<String>,
}

/// The keychain accounts a replica's keys live under: its token, its database key and its
/// mailbox password (read from the replica before it goes).
fn key_accounts(store: &Store, db: &Path) -> Vec<String> {
    let mut accounts = vec![Keychain::database_account(db)];
    if let Ok(state) = replica::state(store.conn()) {
        if let (Some(user), Some(server)) = (state.user, state.server_url) {
            accounts.push(Keychain::account(&user, &server));
        }
    }
    if let Ok(Some(m)) = mailbox::load(store.conn()) {
        // The mail crate's naming (`switchboard_mail::secret`): `mailbox:<user>` on the host.
        accounts.push(Keychain::account(
            &format!("mailbox:{}", m.username.trim()),
            &m.smtp_host,
        ));
    }
    accounts
}

/// The files of the replica at `db`: itself, every file whose name starts with its name, and
/// exports in progress in its folder.
fn replica_files(db: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (db.parent(), db.file_name()) else {
        return vec![db.to_path_buf()];
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let name = name.to_string_lossy().into_owned();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.path())
                .filter(|p| {
                    let file = p
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    file.starts_with(&name) || file.ends_with(".partial")
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Erases the replica `store` opened and its keys in `keychain` (none: `SWITCHBOARD_TOKEN` or
/// no keychain; only the files go). Consumes the store: its connection closes first.
pub fn erase_replica(store: Store, keychain: Option<&Keychain>) -> WipeReport {
    let mut report = WipeReport::default();
    let Some(db) = store.path().map(Path::to_path_buf) else {
        report
            .problems
            .push("the replica is in memory: nothing to erase".into());
        return report;
    };
    let accounts = key_accounts(&store, &db);
    drop(store);
    if let Some(keychain) = keychain {
        for account in accounts {
            match keychain.delete_account(&account) {
                Ok(()) => report.keys.push(account),
                Err(e) => report.problems.push(format!("{account}: {e}")),
            }
        }
    }
    for file in replica_files(&db) {
        match std::fs::remove_file(&file) {
            Ok(()) => report.files.push(file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => report
                .problems
                .push(format!("could not delete {}: {e}", file.display())),
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_protocol::Secret;

    #[test]
    fn the_replica_its_companions_and_its_keys_go_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("switchboard.db");
        // Encrypted as a real replica is; its key as the replica's encryption keeps it.
        let key = switchboard_core::DatabaseKey::from_bytes([0x3c; 32]);
        let mut store = Store::open(&db, Some(&key)).unwrap();
        store
            .conn()
            .execute_batch("PRAGMA journal_mode=WAL;")
            .unwrap();
        std::fs::write(dir.path().join("switchboard.db.replica"), "marker").unwrap();
        std::fs::write(dir.path().join("leads.csv.partial"), "half").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        let server = "https://sb.example.com:8443";
        store
            .with_tx(|tx| {
                replica::record_login(
                    tx,
                    &replica::ServerLogin {
                        server_url: server.into(),
                        fingerprint: None,
                        ca_file: None,
                        user: "rita".into(),
                        role: "rep".into(),
                        office: Some("BER".into()),
                    },
                )
            })
            .unwrap();
        let mock: std::sync::Arc<keyring_core::CredentialStore> =
            keyring_core::mock::Store::new().unwrap();
        let keychain = Keychain::with_store(mock.clone());
        let raw = |account: &str| {
            keyring_core::Entry::new_in_store(&mock, crate::keychain::SERVICE, account).unwrap()
        };
        keychain.save("rita", server, &Secret::new("t")).unwrap();
        keychain
            .save("rita", "https://other:1", &Secret::new("u"))
            .unwrap();
        let db_key = Keychain::database_account(&db);
        keychain
            .save_database_key(&db, key.to_hex().as_str())
            .unwrap();
        // The mailbox password as `switchboard_mail::secret` keeps it.
        let mailbox = mailbox::Mailbox {
            address: "rita@sales.example".into(),
            display_name: None,
            username: "rita@sales.example".into(),
            smtp_host: "smtp.sales.example".into(),
            smtp_port: 587,
            smtp_security: mailbox::SmtpSecurity::StartTls,
            imap_host: "imap.sales.example".into(),
            imap_port: 993,
            ca_file: None,
            signature: "Rita".into(),
        };
        mailbox::save(store.conn(), &mailbox).unwrap();
        let mail_account = "mailbox:rita@sales.example@smtp.sales.example";
        raw(mail_account).set_password("mail-secret").unwrap();

        let report = erase_replica(store, Some(&keychain));
        assert!(report.problems.is_empty(), "{report:?}");
        assert!(!db.exists());
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["notes.txt"], "{report:?}");
        assert_eq!(keychain.load("rita", server).unwrap(), None);
        for account in [db_key.as_str(), mail_account] {
            assert!(
                matches!(
                    raw(account).get_password(),
                    Err(keyring_core::Error::NoEntry)
                ),
                "{account}"
            );
        }
        assert_eq!(report.keys.len(), 3, "{report:?}");
        // Another server's token is not this replica's.
        assert!(keychain.load("rita", "https://other:1").unwrap().is_some());
    }
}
