//! The first run: which screen a window opens on (the welcome screen for an empty replica no
//! account is signed in to), and the demo — a separate database beside the real one, seeded
//! with the demo generator, that the window works on until it is thrown away. The real replica
//! stays open, untouched, the whole time.

use crate::desk::Desk;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use switchboard_core::demo::{self, activity};
use switchboard_core::import::{self, Format, ImportOptions};
use switchboard_core::{sync_state, CoreError, Result, Store};
use ts_rs::TS;

/// How many registrations the demo database starts with.
pub const DEMO_REGISTRATIONS: usize = 300;

/// The one line the welcome screen says about personal data (the window adds the file's place).
pub const DATA_NOTE: &str = "Switchboard keeps the people who register, and every contact with \
them, in an encrypted database on this computer; it shares them only with your office's own \
server once you join, and never with anyone else.";

/// Which screen the window opens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Stage {
    /// Nothing here yet and no office joined: offer joining, importing and the demo.
    Welcome,
    /// The window works on the demo database.
    Demo,
    /// The replica has data or an office: the usual screens.
    Ready,
}

/// What the window needs to know to open on the right screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct FirstRun {
    pub stage: Stage,
    /// Where the real replica's file is (none: in memory).
    pub database: Option<String>,
    /// What Switchboard does with personal data and where it keeps it.
    pub data_note: String,
    /// The leads in the database the window works on now: the first sync's progress counts them.
    pub leads: u32,
}

/// The stage of a replica that is not a demo: welcome while it holds no lead and has never
/// been signed in to a server (a signed-in replica waiting for its first sync is `Ready`: its
/// queue fills as the sync brings pages).
pub fn stage_of(store: &Store) -> Result<Stage> {
    let state = sync_state::state(store.conn())?;
    if state.server_url.is_some() || sync_state::signed_in_account(&state).is_some() {
        return Ok(Stage::Ready);
    }
    let any_lead: bool = store
        .conn()
        .query_row("SELECT EXISTS (SELECT 1 FROM lead)", [], |r| r.get(0))?;
    Ok(if any_lead {
        Stage::Ready
    } else {
        Stage::Welcome
    })
}

/// The demo database beside the real one: `switchboard.db` → `switchboard.demo.db`.
pub fn demo_path(real: &Path) -> PathBuf {
    let stem = real
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "switchboard".into());
    real.with_file_name(format!("{stem}.demo.db"))
}

/// Opens the demo database at `path`, filling it with demo registrations and a history of
/// follow-ups by `actor` and two colleagues when it is new. Unencrypted: it holds made-up
/// people only, and throwing it away needs no keychain.
pub fn open_demo(path: &Path, like: &Store, actor: &str) -> Result<Store> {
    let mut store = Store::open_with_clock(path, None, like.clock())?;
    let empty: bool =
        store
            .conn()
            .query_row("SELECT NOT EXISTS (SELECT 1 FROM lead)", [], |r| r.get(0))?;
    if empty {
        let mut csv = Vec::new();
        demo::generate_ending(DEMO_REGISTRATIONS, 1, store.now(), &mut csv)?;
        let options = ImportOptions {
            actor: actor.to_string(),
            ..ImportOptions::default()
        };
        let size = csv.len() as u64;
        import::import_reader(
            &mut store,
            csv.as_slice(),
            size,
            Format::Csv,
            &options,
            &mut |_| {},
        )?;
        let reps = [actor.to_string(), "sam".into(), "lee".into()];
        let end = store.now();
        activity::generate(&mut store, &reps, 1, end, DEMO_REGISTRATIONS)?;
    }
    Ok(store)
}

/// Deletes the demo database at `path` with its journal files and the lock file of a bulk load
/// (`deferred_indexes::LoadLock`); a file already gone is fine.
pub fn remove_demo(path: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm", "-load"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(CoreError::io(
                    format!("removing {}", Path::new(&name).display()),
                    e,
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// The window's first-run state: the real replica set aside while the demo runs.
#[derive(Default)]
pub struct FirstRunControl {
    real: Mutex<Option<Store>>,
}

impl FirstRunControl {
    /// Whether the window works on the demo now.
    pub fn in_demo(&self) -> bool {
        self.real
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// What the window opens on now.
    pub fn view(&self, desk: &Desk) -> Result<FirstRun> {
        let real = self.real.lock().unwrap_or_else(PoisonError::into_inner);
        let window = desk.lock();
        let (stage, database) = match real.as_ref() {
            Some(store) => (Stage::Demo, store.path().map(Path::to_path_buf)),
            None => (stage_of(&window)?, window.path().map(Path::to_path_buf)),
        };
        let leads: i64 = window.conn().query_row(
            "SELECT COUNT(*) FROM lead WHERE status <> 'erased'",
            [],
            |r| r.get(0),
        )?;
        Ok(FirstRun {
            stage,
            database: database.map(|p| p.display().to_string()),
            data_note: DATA_NOTE.to_string(),
            leads: u32::try_from(leads).unwrap_or(u32::MAX),
        })
    }

    /// Puts the demo database in the desk's place (seeding it first), keeping the real replica
    /// aside. Refused for a replica with data or an office: the demo is for trying it out first.
    pub fn start_demo(&self, desk: &Desk) -> Result<FirstRun> {
        let mut real = self.real.lock().unwrap_or_else(PoisonError::into_inner);
        if real.is_none() {
            let mut window = desk.lock();
            if stage_of(&window)? != Stage::Welcome {
                return Err(CoreError::BadInput(
                    "the demo is offered only before this computer holds any lead or joins an \
                     office"
                        .into(),
                ));
            }
            let Some(path) = window.path().map(demo_path) else {
                return Err(CoreError::BadInput(
                    "the demo needs the window's database to be a file".into(),
                ));
            };
            // A demo left behind by a crash starts over.
            remove_demo(&path)?;
            let demo = open_demo(&path, &window, &desk.acting().get().actor)?;
            *real = Some(std::mem::replace(&mut *window, demo));
        }
        drop(real);
        self.view(desk)
    }

    /// Throws the demo away: the real replica goes back to the desk as it was and the demo
    /// database's files are deleted. Nothing to do outside a demo.
    pub fn end_demo(&self, desk: &Desk) -> Result<FirstRun> {
        let taken = self
            .real
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(real) = taken {
            let demo = std::mem::replace(&mut *desk.lock(), real);
            let path = demo.path().map(Path::to_path_buf);
            drop(demo);
            if let Some(path) = path {
                remove_demo(&path)?;
            }
        }
        self.view(desk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Acting, Session};
    use switchboard_core::protocol::Role;

    fn desk_on(path: &Path) -> Desk {
        let store = Store::open(path, None).unwrap();
        let acting = Acting::new(
            Session {
                actor: "ann".into(),
                role: Role::Rep,
            },
            true,
        );
        Desk::new(store, acting)
    }

    fn leads(desk: &Desk) -> i64 {
        desk.lock()
            .conn()
            .query_row("SELECT COUNT(*) FROM lead", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn the_demo_file_sits_beside_the_real_one() {
        assert_eq!(
            demo_path(Path::new("/data/switchboard.db")),
            Path::new("/data/switchboard.demo.db")
        );
        assert_eq!(demo_path(Path::new("x")), Path::new("x.demo.db"));
    }

    #[test]
    fn an_empty_replica_opens_on_the_welcome_screen_until_it_holds_a_lead_or_an_office() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db"), None).unwrap();
        assert_eq!(stage_of(&store).unwrap(), Stage::Welcome);

        store
            .conn()
            .execute(
                "UPDATE sync_state SET server_url = 'https://office:8443' WHERE id = 1",
                [],
            )
            .unwrap();
        assert_eq!(stage_of(&store).unwrap(), Stage::Ready, "joined an office");

        let mut other = Store::open(&dir.path().join("b.db"), None).unwrap();
        let csv = dir.path().join("one.csv");
        std::fs::write(&csv, "email,first_name\nzoe@example.com,Zoe\n").unwrap();
        let options = ImportOptions {
            actor: "ann".into(),
            ..ImportOptions::default()
        };
        import::import_file(&mut other, &csv, &options, &mut |_| {}).unwrap();
        assert_eq!(stage_of(&other).unwrap(), Stage::Ready, "imported a lead");
        drop(store);
    }

    #[test]
    fn the_demo_runs_on_its_own_file_and_throwing_it_away_leaves_the_real_replica_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("switchboard.db");
        let desk = desk_on(&real);
        let control = FirstRunControl::default();
        let wal = dir.path().join("switchboard.db-wal");
        let files = || (std::fs::read(&real).unwrap(), std::fs::read(&wal).ok());
        let before = files();
        assert_eq!(control.view(&desk).unwrap().stage, Stage::Welcome);

        let view = control.start_demo(&desk).unwrap();
        assert_eq!(view.stage, Stage::Demo);
        assert!(control.in_demo());
        assert_eq!(view.database.as_deref(), Some(real.to_str().unwrap()));
        let demo = dir.path().join("switchboard.demo.db");
        assert!(demo.is_file());
        assert!(leads(&desk) > 100, "the demo is seeded");
        assert_eq!(
            i64::from(view.leads),
            leads(&desk),
            "the view counts the demo's leads"
        );
        let worked: i64 = desk
            .lock()
            .conn()
            .query_row("SELECT COUNT(*) FROM follow_up", [], |r| r.get(0))
            .unwrap();
        assert!(worked > 0, "the demo has a history");
        // Starting again while in the demo keeps the same demo.
        let seeded = leads(&desk);
        control.start_demo(&desk).unwrap();
        assert_eq!(leads(&desk), seeded);

        let view = control.end_demo(&desk).unwrap();
        assert_eq!(view.stage, Stage::Welcome);
        assert_eq!(view.leads, 0);
        assert!(!control.in_demo());
        assert_eq!(leads(&desk), 0);
        assert!(!demo.exists());
        assert!(!dir.path().join("switchboard.demo.db-wal").exists());
        assert!(
            files() == before,
            "the real file and its journal are as they were"
        );
    }

    #[test]
    fn the_demo_is_refused_once_the_replica_holds_data() {
        let dir = tempfile::tempdir().unwrap();
        let desk = desk_on(&dir.path().join("switchboard.db"));
        desk.lock()
            .conn()
            .execute(
                "UPDATE sync_state SET server_url = 'https://office:8443' WHERE id = 1",
                [],
            )
            .unwrap();
        let control = FirstRunControl::default();
        assert!(matches!(
            control.start_demo(&desk),
            Err(CoreError::BadInput(_))
        ));
        assert!(!control.in_demo());
        assert!(!dir.path().join("switchboard.demo.db").exists());
        assert_eq!(control.end_demo(&desk).unwrap().stage, Stage::Ready);
    }
}
