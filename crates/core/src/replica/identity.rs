//! Which replica this database file is, so push sequences are never reused.
//!
//! The server applies a pushed operation once per (replica id, sequence). A copied or restored
//! database file carries the replica id and the outbox counter of its original, so two files
//! would push different operations under the same keys and the server would drop one as a
//! duplicate. Before every push we therefore check that the file is still the one the replica id
//! was minted for, and mint a new id when it is not:
//!
//! - the database records (in `setting` `replica_file`) the canonical path, the device and inode
//!   of the file, and a random marker;
//! - a sidecar file next to it (`<db>.replica`) holds the same marker, the replica id and the
//!   highest outbox entry ever pushed under that id (`pushed_through`), written before a batch
//!   is sent.
//!
//! A copy elsewhere has another path or inode; a copy without its sidecar has no matching
//! marker; a backup restored in place has an outbox counter below `pushed_through` whenever
//! anything was pushed after the backup was taken (and if nothing was, reusing the id cannot
//! collide). Any mismatch mints a new id; minting needlessly (after a move, or a crash between
//! the two writes) costs nothing, so every doubt resolves towards a new id.
//!
//! What the file cannot see: a backup restored in place *with* its sidecar (the whole data
//! folder, a VM snapshot, a disk image) carries a `pushed_through` as old as its outbox. The
//! server can: it keeps a digest of every operation it answered, refuses a push that reuses a
//! key for another operation (`replica_reused`), and the engine then calls `force_new`.

use crate::clock::new_id;
use crate::error::{CoreError, Result};
use crate::store::settings::{get_setting, set_setting};
use crate::store::Store;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What the database remembers about the file its replica id belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FileRecord {
    path: String,
    dev: u64,
    inode: u64,
    marker: String,
}

/// What the sidecar file next to the database holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Sidecar {
    replica_id: String,
    marker: String,
    /// The highest outbox entry pushed under `replica_id`.
    pushed_through: i64,
}

/// The outcome of checking the file's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityCheck {
    /// The file is the one the replica id was minted for.
    Kept { replica_id: String },
    /// A new replica id was minted; `reason` says why (first sync, copied, restored, …).
    Minted {
        replica_id: String,
        reason: &'static str,
    },
}

impl IdentityCheck {
    /// The replica id to push under.
    pub fn replica_id(&self) -> &str {
        match self {
            IdentityCheck::Kept { replica_id } | IdentityCheck::Minted { replica_id, .. } => {
                replica_id
            }
        }
    }
}

/// The sidecar path for a database file.
pub fn sidecar_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(".replica");
    PathBuf::from(name)
}

/// Checks that the database file is the one its replica id belongs to, minting a new id when it
/// is not. Call before every push. An in-memory store keeps its id.
pub fn ensure_fresh(store: &mut Store) -> Result<IdentityCheck> {
    let Some(path) = store.path().map(Path::to_path_buf) else {
        return Ok(IdentityCheck::Kept {
            replica_id: store.replica_id()?,
        });
    };
    let current = file_facts(&path)?;
    let recorded: Option<FileRecord> =
        get_setting(store.conn(), "replica_file")?.and_then(|t| serde_json::from_str(&t).ok());
    let sidecar = read_sidecar(&sidecar_path(&path));
    let replica_id = store.replica_id()?;
    let counter = outbox_counter(store.conn())?;
    let reason = match (&recorded, &sidecar) {
        (None, _) => Some("first sync from this file"),
        (Some(_), None) => Some("the replica sidecar file is missing (copied database?)"),
        (Some(r), Some(s)) => {
            if r.path != current.path || r.dev != current.dev || r.inode != current.inode {
                Some("the database file was copied or moved")
            } else if r.marker != s.marker || s.replica_id != replica_id {
                Some("the database does not match its replica sidecar file")
            } else if counter < s.pushed_through {
                Some("the database was restored from an older copy")
            } else {
                None
            }
        }
    };
    let Some(reason) = reason else {
        return Ok(IdentityCheck::Kept { replica_id });
    };
    mint(store, Some((&path, current)), reason)
}

/// Why `force_new` is called after the server refused a push with `replica_reused`.
pub const REUSED_ON_SERVER: &str =
    "the server has seen these sequence numbers before (restored backup?)";

/// Mints a new replica id whatever the local checks say: the server saw this replica's
/// sequence numbers with other operations, so the file is an older copy whose sidecar came
/// along (a backup or disk image restored in place) and the local checks could not tell.
pub fn force_new(store: &mut Store, reason: &'static str) -> Result<IdentityCheck> {
    let file = match store.path().map(Path::to_path_buf) {
        Some(path) => {
            let facts = file_facts(&path)?;
            Some((path, facts))
        }
        None => None,
    };
    mint(store, file.as_ref().map(|(p, f)| (p, f.clone())), reason)
}

/// Records a new replica id (and, for a file, a new marker in the database and the sidecar).
fn mint(
    store: &mut Store,
    file: Option<(&PathBuf, FileRecord)>,
    reason: &'static str,
) -> Result<IdentityCheck> {
    let now = store.now();
    let replica_id = new_id(now);
    let Some((path, current)) = file else {
        store.with_tx(|tx| set_setting(tx, "replica_id", &replica_id))?;
        return Ok(IdentityCheck::Minted { replica_id, reason });
    };
    let record = FileRecord {
        marker: uuid::Uuid::new_v4().simple().to_string(),
        ..current
    };
    let json = serde_json::to_string(&record).expect("a file record serialises");
    // The database first: a crash before the sidecar is written leaves a mismatch, which only
    // mints once more.
    store.with_tx(|tx| {
        set_setting(tx, "replica_id", &replica_id)?;
        set_setting(tx, "replica_file", &json)
    })?;
    write_sidecar(
        &sidecar_path(path),
        &Sidecar {
            replica_id: replica_id.clone(),
            marker: record.marker,
            pushed_through: 0,
        },
    )?;
    Ok(IdentityCheck::Minted { replica_id, reason })
}

/// Records, before a batch is sent, the highest outbox entry it contains, so a restored older
/// copy of this database is recognised and gets a new id.
pub fn note_pushing(store: &Store, through_entry: i64) -> Result<()> {
    let Some(path) = store.path() else {
        return Ok(());
    };
    let side = sidecar_path(path);
    let Some(mut sidecar) = read_sidecar(&side) else {
        return Err(CoreError::Conflict(
            "the replica sidecar file vanished during sync; sync again".into(),
        ));
    };
    if through_entry > sidecar.pushed_through {
        sidecar.pushed_through = through_entry;
        write_sidecar(&side, &sidecar)?;
    }
    Ok(())
}

/// The highest push sequence this file can have sent (every part of its newest outbox entry):
/// what its pull names so the server leaves out its own changes up to there, and no further
/// (an older copy restored with its identity still receives what it pushed after the copy).
pub fn push_horizon(conn: &rusqlite::Connection) -> Result<i64> {
    let parts = super::materialize::PARTS;
    Ok((outbox_counter(conn)? + 1) * parts - 1)
}

/// The highest outbox sequence ever handed out in this file (AUTOINCREMENT never reuses one).
fn outbox_counter(conn: &rusqlite::Connection) -> Result<i64> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

fn file_facts(path: &Path) -> Result<FileRecord> {
    let canonical = std::fs::canonicalize(path)
        .map_err(|e| CoreError::io(format!("resolving {}", path.display()), e))?;
    let meta = std::fs::metadata(&canonical)
        .map_err(|e| CoreError::io(format!("reading {}", canonical.display()), e))?;
    let (dev, inode) = device_and_inode(&meta);
    Ok(FileRecord {
        path: canonical.to_string_lossy().into_owned(),
        dev,
        inode,
        marker: String::new(),
    })
}

#[cfg(unix)]
fn device_and_inode(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn device_and_inode(_meta: &std::fs::Metadata) -> (u64, u64) {
    // Path, marker and counter still detect copies and restores where inodes are not exposed.
    (0, 0)
}

fn read_sidecar(path: &Path) -> Option<Sidecar> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_sidecar(path: &Path, sidecar: &Sidecar) -> Result<()> {
    let tmp = path.with_extension("replica.tmp");
    let json = serde_json::to_vec(sidecar).expect("a sidecar serialises");
    let io = |e| CoreError::io(format!("writing {}", path.display()), e);
    {
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        file.write_all(&json).map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{file_store_at, nine};
    use crate::store::outbox::{self, Entity};

    fn open(path: &Path) -> Store {
        file_store_at(path, nine())
    }

    fn write_entries(store: &mut Store, n: usize) -> Vec<i64> {
        store
            .with_tx(|tx| {
                for i in 0..n {
                    outbox::enqueue(tx, Entity::Audit, &format!("a{i}"), None)?;
                }
                Ok(())
            })
            .unwrap();
        store
            .conn()
            .prepare("SELECT seq FROM outbox ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn the_same_file_keeps_its_id_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let mut store = open(&path);
        let first = ensure_fresh(&mut store).unwrap();
        assert!(matches!(first, IdentityCheck::Minted { .. }));
        drop(store);
        let mut store = open(&path);
        let again = ensure_fresh(&mut store).unwrap();
        assert_eq!(
            again,
            IdentityCheck::Kept {
                replica_id: first.replica_id().to_string()
            }
        );
    }

    #[test]
    fn a_copied_file_gets_a_new_id_and_its_sequences_never_collide() {
        let dir = tempfile::tempdir().unwrap();
        let original = dir.path().join("a.db");
        let copy = dir.path().join("copy").join("a.db");
        let mut store = open(&original);
        write_entries(&mut store, 3);
        let id = ensure_fresh(&mut store).unwrap().replica_id().to_string();
        note_pushing(&store, 3).unwrap();
        drop(store);
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::copy(&original, &copy).unwrap();
        // Worst case: the sidecar is copied along with the database.
        std::fs::copy(sidecar_path(&original), sidecar_path(&copy)).unwrap();

        let mut a = open(&original);
        let mut b = open(&copy);
        let a_id = ensure_fresh(&mut a).unwrap();
        let b_id = ensure_fresh(&mut b).unwrap();
        assert_eq!(a_id.replica_id(), id, "the original keeps its id");
        assert!(matches!(b_id, IdentityCheck::Minted { .. }));
        assert_ne!(b_id.replica_id(), id);
        // Both go on writing: the same sequence numbers, but never under the same replica id.
        let a_keys: Vec<(String, i64)> = write_entries(&mut a, 2)
            .into_iter()
            .map(|s| (a_id.replica_id().to_string(), s))
            .collect();
        let b_keys: Vec<(String, i64)> = write_entries(&mut b, 2)
            .into_iter()
            .map(|s| (b_id.replica_id().to_string(), s))
            .collect();
        assert!(a_keys.iter().all(|k| !b_keys.contains(k)));
        assert_eq!(b.replica_id().unwrap(), b_id.replica_id());
    }

    #[test]
    fn a_backup_restored_in_place_gets_a_new_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let backup = dir.path().join("backup.db");
        let mut store = open(&path);
        let id = ensure_fresh(&mut store).unwrap().replica_id().to_string();
        drop(store);
        std::fs::copy(&path, &backup).unwrap();
        // After the backup, more is written and pushed.
        let mut store = open(&path);
        write_entries(&mut store, 4);
        assert_eq!(ensure_fresh(&mut store).unwrap().replica_id(), id);
        note_pushing(&store, 4).unwrap();
        drop(store);
        // Restored over the original, in place (same path, same inode).
        std::fs::write(&path, std::fs::read(&backup).unwrap()).unwrap();
        let mut store = open(&path);
        let check = ensure_fresh(&mut store).unwrap();
        assert!(
            matches!(check, IdentityCheck::Minted { reason, .. } if reason.contains("restored")),
            "{check:?}"
        );
        assert_ne!(check.replica_id(), id);
    }

    #[test]
    fn a_forced_new_id_is_kept_by_the_next_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let mut store = open(&path);
        write_entries(&mut store, 2);
        let id = ensure_fresh(&mut store).unwrap().replica_id().to_string();
        note_pushing(&store, 2).unwrap();
        let forced = force_new(&mut store, REUSED_ON_SERVER).unwrap();
        assert!(
            matches!(&forced, IdentityCheck::Minted { reason, .. } if *reason == REUSED_ON_SERVER)
        );
        assert_ne!(forced.replica_id(), id);
        assert_eq!(store.replica_id().unwrap(), forced.replica_id());
        // The sidecar follows, so the next push keeps the new id instead of minting again.
        assert_eq!(
            ensure_fresh(&mut store).unwrap(),
            IdentityCheck::Kept {
                replica_id: forced.replica_id().to_string()
            }
        );
    }

    #[test]
    fn a_copy_without_its_sidecar_gets_a_new_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let mut store = open(&path);
        let id = ensure_fresh(&mut store).unwrap().replica_id().to_string();
        drop(store);
        std::fs::remove_file(sidecar_path(&path)).unwrap();
        let mut store = open(&path);
        let check = ensure_fresh(&mut store).unwrap();
        assert_ne!(check.replica_id(), id);
    }
}
