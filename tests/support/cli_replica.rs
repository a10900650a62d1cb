//! A laptop driven through the real `switchboard` binary: every action is a separate process
//! over the replica's database file, logged in to a real server with a pinned certificate.
#![allow(dead_code)] // Each test file uses a different part of the fixtures.

use crate::support::{Run, Sandbox};
use crate::sync_support::PASSWORD;
use std::path::{Path, PathBuf};

/// One replica folder (`switchboard.db` and its companions) used through the CLI.
pub struct CliReplica {
    pub sandbox: Sandbox,
    pub user: String,
    pub token: String,
    pub now: Option<String>,
}

impl CliReplica {
    /// A new replica of `user`, logged in to `url` (token printed and kept for
    /// `SWITCHBOARD_TOKEN`). `now` pins the replica's clock (`SWITCHBOARD_NOW`); `None` runs on
    /// the system clock.
    pub fn login(url: &str, fingerprint: &str, user: &str, now: Option<&str>) -> CliReplica {
        let mut replica = CliReplica::in_folder(Sandbox::new(), user, now, None);
        let sandbox = &mut replica.sandbox;
        sandbox.run(&["init"]).ok();
        let run = sandbox.run_with_input(
            &[
                "login",
                "--server",
                url,
                "--user",
                user,
                "--fingerprint",
                fingerprint,
                "--print-token",
                "--password-stdin",
            ],
            format!("{PASSWORD}\n").as_bytes(),
        );
        run.ok();
        let token = run.stdout.trim().to_string();
        assert!(!token.is_empty(), "login printed no token");
        sandbox.set_env("SWITCHBOARD_TOKEN", &token);
        replica.token = token;
        replica
    }

    fn in_folder(
        mut sandbox: Sandbox,
        user: &str,
        now: Option<&str>,
        token: Option<&str>,
    ) -> CliReplica {
        sandbox.set_env("SWITCHBOARD_USER", user);
        match now {
            Some(at) => sandbox.set_env("SWITCHBOARD_NOW", at),
            None => sandbox.unset_env("SWITCHBOARD_NOW"),
        }
        match token {
            Some(t) => sandbox.set_env("SWITCHBOARD_TOKEN", t),
            None => sandbox.unset_env("SWITCHBOARD_TOKEN"),
        }
        CliReplica {
            sandbox,
            user: user.to_string(),
            token: token.unwrap_or_default().to_string(),
            now: now.map(str::to_string),
        }
    }

    /// The same database copied (with every companion file) into a new folder: another
    /// laptop made from this one's files.
    pub fn copy_to_new_folder(&self) -> CliReplica {
        let sandbox = Sandbox::new();
        for (from, suffix) in companions(&self.sandbox.db) {
            std::fs::copy(&from, format!("{}{suffix}", sandbox.db.display())).unwrap();
        }
        CliReplica::in_folder(sandbox, &self.user, self.now.as_deref(), Some(&self.token))
    }

    /// Runs the binary with `args` against this replica.
    pub fn run(&self, args: &[&str]) -> Run {
        self.sandbox.run(args)
    }

    /// `switchboard sync --json`; panics on failure.
    pub fn sync(&self) -> serde_json::Value {
        self.sandbox.json(&["sync"])
    }

    /// `switchboard status --json`.
    pub fn status(&self) -> serde_json::Value {
        self.sandbox.json(&["status"])
    }

    /// Logs an outbound phone call; returns the follow-up's id.
    pub fn call(&self, lead: &str, note: &str) -> String {
        let args = [
            "log",
            lead,
            "--channel",
            "phone",
            "--outcome",
            "no_answer",
            "--note",
            note,
            "--json",
        ];
        let mut command = self.sandbox.command(&args);
        if self.now.is_none() {
            if let Some(at) = crate::support::calling_time_in_central_europe() {
                command.env("SWITCHBOARD_NOW", at);
            }
        }
        let run = crate::support::finish(command.output().expect("starting switchboard"));
        run.ok();
        let logged = run.json();
        logged["id"]
            .as_str()
            .expect("the follow-up's id")
            .to_string()
    }

    /// Records an opt-out of `scope` (phone, email, mail or all); returns its consent event's id.
    pub fn opt_out(&self, lead: &str, scope: &str) -> String {
        let done = self.sandbox.json(&["optout", lead, "--channel", scope]);
        done["event"]["id"]
            .as_str()
            .expect("the consent event's id")
            .to_string()
    }

    /// Whether the gate lets this replica phone the lead now (`can-contact` exits 0 or 3).
    pub fn may_call(&self, lead: &str) -> bool {
        let run = self.run(&["can-contact", lead, "--channel", "phone"]);
        run.no_panic();
        match run.code {
            0 => true,
            3 => false,
            other => panic!("can-contact exited {other}: {}", run.stderr),
        }
    }

    /// Sorted values of a one-column query on the replica's file.
    pub fn strings(&self, sql: &str) -> Vec<String> {
        strings_at(&self.sandbox.db, sql)
    }

    /// Ids of every follow-up, sorted.
    pub fn follow_up_ids(&self) -> Vec<String> {
        self.strings("SELECT id FROM follow_up ORDER BY id")
    }

    /// Ids of every consent event, sorted.
    pub fn consent_ids(&self) -> Vec<String> {
        self.strings("SELECT id FROM consent_event ORDER BY id")
    }

    /// The replica id the database holds now.
    pub fn replica_id(&self) -> String {
        self.strings("SELECT value FROM setting WHERE key = 'replica_id'")
            .pop()
            .expect("a replica id")
    }
}

/// The database file and its companions (`-wal`, `-shm`, the `.replica` sidecar) that exist,
/// with their suffixes.
pub fn companions(db: &Path) -> Vec<(PathBuf, &'static str)> {
    ["", "-wal", "-shm", ".replica"]
        .into_iter()
        .map(|suffix| (PathBuf::from(format!("{}{suffix}", db.display())), suffix))
        .filter(|(path, _)| path.exists())
        .collect()
}

/// A backup of a replica's whole folder, as a backup tool takes it.
pub struct FolderBackup {
    files: Vec<(&'static str, Vec<u8>)>,
}

impl FolderBackup {
    /// Reads the database and every companion file.
    pub fn take(db: &Path) -> FolderBackup {
        FolderBackup {
            files: companions(db)
                .into_iter()
                .map(|(path, suffix)| (suffix, std::fs::read(path).unwrap()))
                .collect(),
        }
    }

    /// Whether the backup holds the companion file with `suffix` (`-wal`, `.replica`, …).
    pub fn has(&self, suffix: &str) -> bool {
        self.files.iter().any(|(s, _)| *s == suffix)
    }

    /// Restores in place: each file is overwritten where it is (same path, same inode, as `cp`
    /// over the original does), and a companion the backup does not have is removed.
    pub fn restore_in_place(&self, db: &Path) {
        for (path, suffix) in companions(db) {
            if !self.files.iter().any(|(s, _)| *s == suffix) {
                std::fs::remove_file(path).unwrap();
            }
        }
        for (suffix, bytes) in &self.files {
            let path = format!("{}{suffix}", db.display());
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .unwrap();
            std::io::Write::write_all(&mut file, bytes).unwrap();
            file.sync_all().unwrap();
        }
    }
}

/// Sorted values of a one-column query on a SQLite file (a replica's or the server's).
pub fn strings_at(db: &Path, sql: &str) -> Vec<String> {
    let conn = crate::support::open_sqlite_read_only(db);
    let mut values: Vec<String> = conn
        .prepare(sql)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    values.sort();
    values
}

/// Sorted values of a one-column query on the server's SQLite store in `data_dir`.
pub fn server_strings(data_dir: &Path, sql: &str) -> Vec<String> {
    let db = crate::sync_support::find_sqlite(data_dir).expect("the server keeps a SQLite file");
    strings_at(&db, sql)
}
