//! Crypto-shredding: a person's personal data is stored only sealed under that person's own
//! key, so destroying the key (one row) leaves every copy of the data unreadable — heap pages,
//! indexes, the write-ahead log, backups — where the store cannot overwrite the bytes
//! themselves (PostgreSQL has no secure delete).
//!
//! Per-person keys are stored in `person_key` wrapped by the deployment's master key, which
//! lives in the data folder (`master.key`, mode 0600) and never in the database, so the
//! database files alone reveal nothing. `rotate` re-wraps the live keys under a new master so
//! the old one (and with it every erased person's key still in old WAL or backups) can be
//! destroyed. Lookups by email go through a keyed hash (`email_index`), never the plaintext.

use crate::error::{Result, ServerError};
use crate::store::{col_text, Tx, Val};
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::Rng;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// The master key file in the data folder.
pub const MASTER_KEY_FILE: &str = "master.key";

/// Where `rotate-keys` writes the new master before the database is re-wrapped.
pub const NEXT_MASTER_KEY_FILE: &str = "master.key.new";

/// Marks sealed text; stored JSON bodies (plain: PII-free or erased) start with `{`.
const SEALED: &str = "s1:";

/// `master.key` as written on disk.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    id: String,
    master: String,
    index: String,
}

/// The deployment's keys: the master that wraps per-person keys, and the index key for keyed
/// hashes of lookup values.
pub struct Keyring {
    id: String,
    master: [u8; 32],
    index: [u8; 32],
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keyring({})", self.id)
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::rand_core::UnwrapErr(rand::rngs::SysRng).fill_bytes(&mut out);
    out
}

fn sealing_error(what: &str) -> ServerError {
    ServerError::Internal(format!("sealed data: {what}"))
}

fn aead_key(key: &[u8; 32]) -> Result<LessSafeKey> {
    UnboundKey::new(&CHACHA20_POLY1305, key)
        .map(LessSafeKey::new)
        .map_err(|_| sealing_error("bad key"))
}

fn seal_bytes(key: &[u8; 32], aad: &str, plaintext: &[u8]) -> Result<String> {
    let nonce: [u8; NONCE_LEN] = random();
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + 16);
    out.extend_from_slice(&nonce);
    let mut sealed = plaintext.to_vec();
    aead_key(key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad.as_bytes()),
            &mut sealed,
        )
        .map_err(|_| sealing_error("encryption failed"))?;
    out.extend_from_slice(&sealed);
    Ok(format!("{SEALED}{}", B64.encode(out)))
}

fn open_bytes(key: &[u8; 32], aad: &str, sealed: &str) -> Result<Vec<u8>> {
    let mut raw = sealed
        .strip_prefix(SEALED)
        .and_then(|b| B64.decode(b).ok())
        .filter(|b| b.len() > NONCE_LEN)
        .ok_or_else(|| sealing_error("not sealed text"))?;
    let nonce: [u8; NONCE_LEN] = raw[..NONCE_LEN]
        .try_into()
        .map_err(|_| sealing_error("not sealed text"))?;
    let plain = aead_key(key)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad.as_bytes()),
            &mut raw[NONCE_LEN..],
        )
        .map_err(|_| sealing_error("a value does not open with its key"))?;
    Ok(plain.to_vec())
}

impl Keyring {
    /// New random keys.
    pub fn generate() -> Keyring {
        Keyring {
            id: hex::encode(random::<8>()),
            master: random(),
            index: random(),
        }
    }

    /// A new master (and id) with the same index key: what a rotation installs.
    pub fn rotated(&self) -> Keyring {
        Keyring {
            id: hex::encode(random::<8>()),
            master: random(),
            index: self.index,
        }
    }

    /// Identifies the master key (recorded in the database and beside every wrapped key).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Reads a key file.
    pub fn load(path: &Path) -> Result<Keyring> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServerError::io(format!("reading {}", path.display()), e))?;
        let file: KeyFile = serde_json::from_str(&text)
            .map_err(|e| ServerError::Invalid(format!("{}: {e}", path.display())))?;
        let key = |hex_text: &str| -> Result<[u8; 32]> {
            hex::decode(hex_text)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| {
                    ServerError::Invalid(format!(
                        "{}: a key is not 32 bytes of hex",
                        path.display()
                    ))
                })
        };
        Ok(Keyring {
            master: key(&file.master)?,
            index: key(&file.index)?,
            id: file.id,
        })
    }

    /// Writes the key file (mode 0600, complete or not at all).
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string(&KeyFile {
            id: self.id.clone(),
            master: hex::encode(self.master),
            index: hex::encode(self.index),
        })?;
        let mut temp = path.as_os_str().to_os_string();
        temp.push(".tmp");
        let temp = std::path::PathBuf::from(temp);
        write_private_synced(&temp, text.as_bytes())?;
        std::fs::rename(&temp, path)
            .map_err(|e| ServerError::io(format!("writing {}", path.display()), e))?;
        sync_parent(path);
        Ok(())
    }

    /// The keyed hash under which a normalised email is indexed.
    pub fn email_index(&self, email: &str) -> String {
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.index)
            .expect("HMAC takes a key of any length");
        mac.update(b"lead.email\0");
        mac.update(email.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn wrap(&self, lead_id: &str, key: &PersonKey) -> Result<String> {
        seal_bytes(&self.master, lead_id, &key.0)
    }

    /// Unwraps a stored person key (what an attacker holding this master and an old copy of
    /// the row could do; `tests/erasure_forensics.rs` shows rotation ends it).
    pub fn unwrap(&self, lead_id: &str, wrapped: &str) -> Result<PersonKey> {
        let bytes = open_bytes(&self.master, lead_id, wrapped)?;
        Ok(PersonKey(bytes.try_into().map_err(|_| {
            sealing_error("a wrapped person key has the wrong length")
        })?))
    }
}

fn write_private_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| ServerError::io(format!("writing {}", path.display()), e))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| ServerError::io(format!("writing {}", path.display()), e))
}

fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// Overwrites a key file's bytes in place and removes it (best effort against the filesystem
/// keeping the old blocks; see docs/SYNC.md).
pub fn destroy_key_file(path: &Path) -> Result<()> {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) as usize;
    write_private_synced(path, &vec![0u8; len])?;
    std::fs::remove_file(path)
        .map_err(|e| ServerError::io(format!("removing {}", path.display()), e))?;
    sync_parent(path);
    Ok(())
}

/// One person's data key.
#[derive(Clone)]
pub struct PersonKey([u8; 32]);

/// Person keys unwrapped within one transaction, by lead id.
pub type KeyCache = HashMap<String, PersonKey>;

impl PersonKey {
    /// Seals `plaintext` about `lead_id` (bound to it: a value cannot be moved to another lead).
    pub fn seal(&self, lead_id: &str, plaintext: &str) -> Result<String> {
        seal_bytes(&self.0, lead_id, plaintext.as_bytes())
    }

    /// Opens what `seal` made for `lead_id`.
    pub fn open(&self, lead_id: &str, sealed: &str) -> Result<String> {
        String::from_utf8(open_bytes(&self.0, lead_id, sealed)?)
            .map_err(|_| sealing_error("a value is not UTF-8"))
    }

    /// Seals an optional value (NULL stays NULL).
    pub fn seal_opt(&self, lead_id: &str, value: &Option<String>) -> Result<Val> {
        Ok(match value {
            Some(v) => Val::Text(self.seal(lead_id, v)?),
            None => Val::Null,
        })
    }
}

/// Whether stored text is sealed (plain stored bodies are JSON objects).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED)
}

/// The key of `lead_id`, if it has one (erased people have none).
pub fn person_key(tx: &mut dyn Tx, lead_id: &str) -> Result<Option<PersonKey>> {
    if let Some(key) = tx.key_cache().get(lead_id) {
        return Ok(Some(key.clone()));
    }
    let Some(row) = tx.query_opt(
        "SELECT master_id, wrapped FROM person_key WHERE lead_id = ?1",
        &[lead_id.into()],
    )?
    else {
        return Ok(None);
    };
    let keyring = tx.keyring();
    if col_text(&row, 0).as_deref() != Some(keyring.id()) {
        return Err(stale_master());
    }
    let key = keyring.unwrap(lead_id, &col_text(&row, 1).unwrap_or_default())?;
    tx.key_cache().insert(lead_id.to_string(), key.clone());
    Ok(Some(key))
}

fn stale_master() -> ServerError {
    ServerError::Conflict(
        "the master key was rotated by another instance: copy the new master.key from that \
         instance's data folder and restart this one"
            .into(),
    )
}

/// The key to seal new data about `lead_id` with: its key, a new one if it has none, or `None`
/// once the person is erased (what is still accepted about them then is PII-free).
pub fn key_for_write(tx: &mut dyn Tx, lead_id: &str) -> Result<Option<PersonKey>> {
    if let Some(key) = person_key(tx, lead_id)? {
        return Ok(Some(key));
    }
    let erased = tx
        .query_opt(
            "SELECT 1 FROM lead WHERE id = ?1 AND erased_at IS NOT NULL",
            &[lead_id.into()],
        )?
        .is_some();
    if erased {
        return Ok(None);
    }
    // A key wrapped under a master this database no longer uses would be lost at the next
    // restart: refuse instead (an instance that missed a rotation).
    let current = tx
        .query_opt("SELECT value FROM meta WHERE key = 'master_key_id'", &[])?
        .and_then(|r| col_text(&r, 0));
    if current.as_deref() != Some(tx.keyring().id()) {
        return Err(stale_master());
    }
    let key = PersonKey(random());
    let wrapped = tx.keyring().wrap(lead_id, &key)?;
    let id = tx.keyring().id().to_string();
    tx.exec(
        "INSERT INTO person_key (lead_id, master_id, wrapped) VALUES (?1, ?2, ?3)",
        &[lead_id.into(), id.into(), wrapped.into()],
    )?;
    tx.key_cache().insert(lead_id.to_string(), key.clone());
    Ok(Some(key))
}

/// Destroys the key of `lead_id`: everything sealed under it becomes unreadable.
pub fn forget(tx: &mut dyn Tx, lead_id: &str) -> Result<()> {
    tx.key_cache().remove(lead_id);
    tx.exec(
        "DELETE FROM person_key WHERE lead_id = ?1",
        &[lead_id.into()],
    )?;
    Ok(())
}

/// Seals a JSON body about `lead_id` if the person has (or gets) a key; PII-free bodies about
/// no lead or an erased lead stay plain.
pub fn seal_body(tx: &mut dyn Tx, lead_id: Option<&str>, json: String) -> Result<String> {
    match lead_id {
        Some(id) => match key_for_write(tx, id)? {
            Some(key) => key.seal(id, &json),
            None => Ok(json),
        },
        None => Ok(json),
    }
}

/// Opens stored bodies, remembering each person's key for the rest of a page or listing.
#[derive(Default)]
pub struct Opener {
    keys: HashMap<String, Option<PersonKey>>,
}

impl Opener {
    /// Like `open`, with the person's key row already read alongside (`master_id`, `wrapped`;
    /// NULLs when the key is gone), so a page costs no query per person.
    pub fn open_joined(
        &mut self,
        keyring: &Keyring,
        lead_id: Option<&str>,
        stored: &str,
        key_row: (Option<&str>, Option<&str>),
    ) -> Result<Option<String>> {
        self.open_with(lead_id, stored, |id| match key_row {
            (Some(master), Some(wrapped)) if master == keyring.id() => {
                Ok(Some(keyring.unwrap(id, wrapped)?))
            }
            (Some(_), Some(_)) => Err(stale_master()),
            _ => Ok(None),
        })
    }

    /// The plain JSON of a stored body, or `None` when its person's key was destroyed.
    pub fn open(
        &mut self,
        tx: &mut dyn Tx,
        lead_id: Option<&str>,
        stored: &str,
    ) -> Result<Option<String>> {
        self.open_with(lead_id, stored, |id| person_key(tx, id))
    }

    /// Opens `stored` with its person's key, read by `key_of` the first time that person comes.
    fn open_with(
        &mut self,
        lead_id: Option<&str>,
        stored: &str,
        key_of: impl FnOnce(&str) -> Result<Option<PersonKey>>,
    ) -> Result<Option<String>> {
        if !is_sealed(stored) {
            return Ok(Some(stored.to_string()));
        }
        let Some(id) = lead_id else {
            return Err(sealing_error("a sealed body names no lead"));
        };
        if !self.keys.contains_key(id) {
            let key = key_of(id)?;
            self.keys.insert(id.to_string(), key);
        }
        match &self.keys[id] {
            Some(key) => key.open(id, stored).map(Some),
            None => Ok(None),
        }
    }
}

/// Checks that the master key is the one this database's person keys are wrapped with
/// (recording it on first use), so an instance with another data folder cannot write keys
/// the others cannot read.
pub fn bind_master(tx: &mut dyn Tx) -> Result<()> {
    let id = tx.keyring().id().to_string();
    tx.exec(
        "INSERT INTO meta (key, value) VALUES ('master_key_id', ?1) ON CONFLICT (key) DO NOTHING",
        &[id.as_str().into()],
    )?;
    let recorded = tx
        .query_opt("SELECT value FROM meta WHERE key = 'master_key_id'", &[])?
        .and_then(|r| col_text(&r, 0));
    if recorded.as_deref() != Some(id.as_str()) {
        return Err(ServerError::Conflict(format!(
            "this database's personal data is sealed under master key {} but {MASTER_KEY_FILE} \
             holds key {id}: copy {MASTER_KEY_FILE} from the data folder of an instance that \
             serves this database",
            recorded.unwrap_or_default()
        )));
    }
    Ok(())
}

/// Re-wraps every live person key under `next` and records it as the database's master;
/// returns how many keys were re-wrapped. Keys of erased people are gone already, so after the
/// old master is destroyed nothing left in old WAL or backups can be unwrapped.
pub fn rotate(tx: &mut dyn Tx, next: &Keyring) -> Result<usize> {
    let rows = tx.query("SELECT lead_id FROM person_key ORDER BY lead_id", &[])?;
    for row in &rows {
        let lead_id = col_text(row, 0).unwrap_or_default();
        let key = person_key(tx, &lead_id)?
            .ok_or_else(|| sealing_error("a person key vanished during rotation"))?;
        tx.exec(
            "UPDATE person_key SET master_id = ?2, wrapped = ?3 WHERE lead_id = ?1",
            &[
                lead_id.as_str().into(),
                next.id().into(),
                next.wrap(&lead_id, &key)?.into(),
            ],
        )?;
    }
    tx.exec(
        "UPDATE meta SET value = ?1 WHERE key = 'master_key_id'",
        &[next.id().into()],
    )?;
    Ok(rows.len())
}

/// Migration step of `0004_person_keys`: seals what an older server stored in plaintext — the
/// personal columns of every live lead, its records and its changes — under a new key per
/// person, and indexes its email by keyed hash. (The old plaintext stays in free pages and,
/// on PostgreSQL, in WAL written before the upgrade: see docs/SYNC.md.)
pub fn seal_existing(tx: &mut dyn Tx) -> Result<()> {
    let leads = tx.query(
        "SELECT id, name, company, email, phone, address FROM lead \
         WHERE erased_at IS NULL AND id NOT IN (SELECT lead_id FROM person_key)",
        &[],
    )?;
    for row in leads {
        let id = col_text(&row, 0).unwrap_or_default();
        let key = key_for_write(tx, &id)?.ok_or_else(|| sealing_error("a live lead got no key"))?;
        let email = col_text(&row, 3);
        let hash = email.as_deref().map(|e| tx.keyring().email_index(e));
        tx.exec(
            "UPDATE lead SET name = ?2, company = ?3, email = ?4, phone = ?5, address = ?6, \
             email_hash = ?7 WHERE id = ?1",
            &[
                id.as_str().into(),
                key.seal_opt(&id, &col_text(&row, 1))?,
                key.seal_opt(&id, &col_text(&row, 2))?,
                key.seal_opt(&id, &email)?,
                key.seal_opt(&id, &col_text(&row, 4))?,
                key.seal_opt(&id, &col_text(&row, 5))?,
                hash.into(),
            ],
        )?;
        for record in tx.query(
            "SELECT kind, id, body FROM record WHERE lead_id = ?1",
            &[id.as_str().into()],
        )? {
            let body = col_text(&record, 2).unwrap_or_default();
            if is_sealed(&body) {
                continue;
            }
            tx.exec(
                "UPDATE record SET body = ?3 WHERE kind = ?1 AND id = ?2",
                &[
                    record[0].clone(),
                    record[1].clone(),
                    key.seal(&id, &body)?.into(),
                ],
            )?;
        }
        for change in tx.query(
            "SELECT server_seq, op FROM change_log WHERE lead_id = ?1",
            &[id.as_str().into()],
        )? {
            let op = col_text(&change, 1).unwrap_or_default();
            if is_sealed(&op) || op.contains("\"type\":\"lead_erased\"") {
                continue;
            }
            tx.exec(
                "UPDATE change_log SET op = ?2 WHERE server_seq = ?1",
                &[change[0].clone(), key.seal(&id, &op)?.into()],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Actor;
    use crate::store::{self, schema, sqlite::SqliteStore};
    use std::sync::Arc;
    use switchboard_protocol::Role;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_lead() {
        let key = PersonKey(random());
        let sealed = key.seal("lead-1", "Ada Lovelace").unwrap();
        assert!(is_sealed(&sealed) && !sealed.contains("Ada"));
        assert_ne!(
            sealed,
            key.seal("lead-1", "Ada Lovelace").unwrap(),
            "random nonces"
        );
        assert_eq!(key.open("lead-1", &sealed).unwrap(), "Ada Lovelace");
        assert!(key.open("lead-2", &sealed).is_err(), "bound to its lead");
        assert!(PersonKey(random()).open("lead-1", &sealed).is_err());

        let keys = Keyring::generate();
        let wrapped = keys.wrap("lead-1", &key).unwrap();
        assert_eq!(keys.unwrap("lead-1", &wrapped).unwrap().0, key.0);
        assert!(keys.unwrap("lead-2", &wrapped).is_err());
        assert!(keys.rotated().unwrap("lead-1", &wrapped).is_err());
        assert_eq!(
            keys.rotated().email_index("a@example.com"),
            keys.email_index("a@example.com"),
            "rotation keeps the index key"
        );
    }

    #[test]
    fn the_key_file_is_private_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MASTER_KEY_FILE);
        let keys = Keyring::generate();
        keys.save(&path).unwrap();
        let back = Keyring::load(&path).unwrap();
        assert_eq!((back.id(), back.master), (keys.id(), keys.master));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        destroy_key_file(&path).unwrap();
        assert!(!path.exists());
    }

    /// A store written before sealing (schema 1, plaintext) is sealed by migration 0004 and
    /// reads back the same.
    #[test]
    fn the_upgrade_seals_plaintext_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("central.db");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(schema::MIGRATIONS[0].1).unwrap();
            conn.execute_batch(
                r#"INSERT INTO meta (key, value) VALUES ('schema_version', '1');
                INSERT INTO lead (id, office, name, email, status, created_at, clock_identity)
                  VALUES ('L1', 'A', 'Old Plainname', 'old@plain.example', 'new',
                          '2026-01-01T00:00:00Z', '0000000000001-00000-x');
                INSERT INTO record (kind, id, lead_id, body) VALUES ('follow_up', 'F1', 'L1',
                  '{"id":"F1","lead_id":"L1","channel":"phone","direction":"out","outcome":"no_answer","note":"plain note","occurred_at":"2026-01-01T00:00:00Z","rep":"r","next_follow_up_at":null}');
                INSERT INTO change_log (server_seq, bucket, lead_id, op) VALUES (1, 'A', 'L1',
                  '{"type":"lead_fields_set","lead_id":"L1","fields":{"group":"identity","name":"Old Plainname","company":null},"hlc":"0000000000001-00000-x","created_at":"2026-01-01T00:00:00Z"}');
                UPDATE change_counter SET value = 1;"#,
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path, Arc::new(Keyring::generate())).unwrap();
        let admin = Actor {
            user: "admin".into(),
            role: Role::Admin,
            office: None,
            offices: Vec::new(),
        };
        store::read(&store, |tx| {
            let raw = tx.query(
                "SELECT l.name, l.email, r.body, c.op FROM lead l, record r, change_log c",
                &[],
            )?;
            for value in &raw[0] {
                let text = value.text().unwrap();
                assert!(is_sealed(&text), "{text}");
            }
            let (id, _) = crate::leads::find_by_email(tx, "old@plain.example")?.expect("by hash");
            let lead = crate::leads::load(tx, &id)?.unwrap();
            assert_eq!(
                lead.group(switchboard_protocol::FieldGroup::Identity).0,
                switchboard_protocol::LeadFields::Identity {
                    name: Some("Old Plainname".into()),
                    company: None
                }
            );
            let (page, count) = crate::changelog::page_json(tx, &admin, 0, 10)?;
            assert_eq!(count, 1);
            assert!(page.contains("\"name\":\"Old Plainname\""), "{page}");
            Ok(())
        })
        .unwrap();
    }
}
