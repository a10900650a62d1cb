//! Shared fixtures for the integration tests: find the built `switchboard` binary, run it against
//! a database file in a fresh temporary folder, and read what it printed.
// Each test file uses a different part of the support module (`unused` rather than `dead_code`
// so that files that also allow `dead_code` on `mod support` do not repeat the attribute).
#![allow(unused)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// "Now" for every run, so calling hours and due dates do not depend on when the tests run:
/// a Monday, 10:00 in Berlin.
pub const NOW: &str = "2026-03-02T09:00:00Z";

/// The built `switchboard` binary. Test executables live in `<target>/<profile>/deps/`, so the
/// binary of the same build is two folders up; `CARGO_TARGET_DIR` and `target/debug` are the
/// fallbacks.
pub fn binary() -> PathBuf {
    let name = format!("switchboard{}", std::env::consts::EXE_SUFFIX);
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        if let Some(profile_dir) = exe.parent().and_then(Path::parent) {
            candidates.push(profile_dir.join(&name));
        }
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(dir).join("debug").join(&name));
    }
    candidates.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/debug")
            .join(&name),
    );
    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "the switchboard binary was not found (looked at {candidates:?}); build it first \
                 with `cargo build --workspace --bins` (or `make test`, which does)"
            )
        })
}

/// The test process's database key (the one in every sandbox's key file), for opening a
/// sandbox's database through the core.
pub fn test_key() -> switchboard_core::DatabaseKey {
    switchboard_core::DatabaseKey::from_hex(switchboard_test_support::test_db_key_hex())
        .expect("64 hex digits")
}

/// Opens a SQLite file for a test's own checks (an encrypted replica with the test key).
pub fn open_sqlite_read_only(path: &Path) -> rusqlite::Connection {
    switchboard_test_support::open_sqlite(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code and that nothing panicked; returns self for chaining.
    pub fn expect(&self, code: i32) -> &Run {
        self.no_panic();
        assert_eq!(
            self.code, code,
            "expected exit {code}, got {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// The `--json` error's code and message from the last line of stderr.
    pub fn json_error(&self) -> (String, String) {
        let line = self.stderr.lines().last().unwrap_or_default();
        let error: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("no JSON error on stderr ({e}):\n{}", self.stderr));
        let text = |field: &str| {
            error["error"][field]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        (text("code"), text("message"))
    }

    /// Asserts success.
    pub fn ok(&self) -> &Run {
        self.expect(0)
    }

    /// Asserts that stderr does not show a panic.
    pub fn no_panic(&self) -> &Run {
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("RUST_BACKTRACE"),
            "the binary panicked:\n{}",
            self.stderr
        );
        self
    }

    /// Parses stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Asserts stderr mentions every one of `words` (case-insensitive).
    pub fn stderr_mentions(&self, words: &[&str]) -> &Run {
        let text = self.stderr.to_lowercase();
        for word in words {
            assert!(
                text.contains(&word.to_lowercase()),
                "stderr does not mention {word:?}:\n{}",
                self.stderr
            );
        }
        self
    }
}

/// A temporary folder with a database path in it, and a way to run the binary against it.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    env: Vec<(String, String)>,
    unset: Vec<String>,
}

impl Sandbox {
    /// A fresh folder; the database is not created until a command creates it. The binary gets
    /// the test key through a key file of mode 0600 (`SWITCHBOARD_DB_KEY_FILE`), as a headless
    /// use does; tests of the keychain itself unset it.
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("temporary folder");
        let db = dir.path().join("switchboard.db");
        let key_file = switchboard_test_support::write_test_key_file(dir.path());
        Sandbox {
            dir,
            db,
            env: vec![
                ("SWITCHBOARD_NOW".into(), NOW.into()),
                ("SWITCHBOARD_USER".into(), "rep.anna".into()),
                ("TZ".into(), "UTC".into()),
                (
                    "SWITCHBOARD_DB_KEY_FILE".into(),
                    key_file.display().to_string(),
                ),
            ],
            unset: vec!["SWITCHBOARD_DB_KEY".into()],
        }
    }

    /// A fresh folder with an initialised database.
    pub fn init() -> Sandbox {
        let sandbox = Sandbox::new();
        sandbox.run(&["init"]).ok();
        sandbox
    }

    /// Sets (or replaces) an environment variable for later runs.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.into(), value.into()));
    }

    /// Leaves an environment variable unset for later runs (also if the test runner has it).
    pub fn unset_env(&mut self, name: &str) {
        self.env.retain(|(n, _)| n != name);
        self.unset.push(name.into());
    }

    /// A path inside the sandbox folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file into the sandbox folder and returns its path.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("writing a fixture file");
        path
    }

    /// The command for `args` against this sandbox's database, not yet started.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary());
        command
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .env_remove("SWITCHBOARD_DB")
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in &self.unset {
            command.env_remove(name);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
    }

    /// Runs the binary with `args` and no standard input (so it is not on a terminal).
    pub fn run(&self, args: &[&str]) -> Run {
        finish(self.command(args).output().expect("starting switchboard"))
    }

    /// Runs the binary with `args`, feeding `input` on standard input.
    pub fn run_with_input(&self, args: &[&str], input: &[u8]) -> Run {
        let mut command = self.command(args);
        command.stdin(Stdio::piped());
        let mut child = command.spawn().expect("starting switchboard");
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(input)
            .expect("writing stdin");
        finish(child.wait_with_output().expect("waiting for switchboard"))
    }

    /// Runs `args` with `--json`, asserts success and parses stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let run = self.run(&all);
        run.ok();
        run.json()
    }

    /// Opens the database directly (with the test key), for checks the CLI does not offer.
    pub fn sql(&self) -> rusqlite::Connection {
        switchboard_test_support::open_sqlite(&self.db, rusqlite::OpenFlags::default())
    }

    /// `PRAGMA integrity_check` on the database file.
    pub fn integrity(&self) -> String {
        self.sql()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity check")
    }

    /// Counts rows with a SQL query returning one integer.
    pub fn count(&self, query: &str) -> i64 {
        self.sql()
            .query_row(query, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{query}: {e}"))
    }

    /// The database file and its -wal and -shm companions that exist, with their bytes.
    pub fn database_bytes(&self) -> Vec<(PathBuf, Vec<u8>)> {
        ["", "-wal", "-shm", "-journal"]
            .iter()
            .map(|suffix| PathBuf::from(format!("{}{suffix}", self.db.display())))
            .filter(|path| path.exists())
            .map(|path| {
                let bytes = std::fs::read(&path).expect("reading a database file");
                (path, bytes)
            })
            .collect()
    }

    /// Where `needle` occurs: in the raw database files (encrypted: never) or in a plaintext copy
    /// exported with the key (the last entry, `<db>.decrypted`, so a test can show the database
    /// holds a string before it must be gone) — as given or lowercased (the full-text index
    /// stores lowercase tokens), in UTF-8 or UTF-16.
    pub fn files_containing(&self, needle: &str) -> Vec<PathBuf> {
        let mut spellings = Vec::new();
        for text in [needle.to_string(), needle.to_lowercase()] {
            spellings.push(text.as_bytes().to_vec());
            spellings.push(text.encode_utf16().flat_map(u16::to_le_bytes).collect());
        }
        let decrypted = (
            PathBuf::from(format!("{}.decrypted", self.db.display())),
            switchboard_test_support::decrypted_bytes(&self.db),
        );
        self.database_bytes()
            .into_iter()
            .chain([decrypted])
            .filter(|(_, bytes)| spellings.iter().any(|s| contains(bytes, s)))
            .map(|(path, _)| path)
            .collect()
    }
}

/// Runs the binary with exactly `args` (no `--db` added) and the sandbox environment, the test
/// key given as the variable `SWITCHBOARD_DB_KEY` (the sandboxes use the key file).
pub fn run_plain(args: &[&str]) -> Run {
    let output = Command::new(binary())
        .args(args)
        .env_remove("SWITCHBOARD_DB")
        .env_remove("SWITCHBOARD_DB_KEY_FILE")
        .env(
            "SWITCHBOARD_DB_KEY",
            switchboard_test_support::test_db_key_hex(),
        )
        .env("SWITCHBOARD_NOW", NOW)
        .env("SWITCHBOARD_USER", "rep.anna")
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .output()
        .expect("starting switchboard");
    finish(output)
}

/// What a finished child process did.
pub fn finish(output: std::process::Output) -> Run {
    Run {
        // A signal leaves no exit code; -1 never matches an expected one.
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Whether `haystack` contains `needle` as a byte sequence.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The lines of a CSV header plus rows, joined with CRLF as spreadsheet exports write them.
pub fn csv(lines: &[&str]) -> String {
    let mut text = lines.join("\r\n");
    text.push_str("\r\n");
    text
}

/// When a test on the system clock may log a phone call to its Central European leads (calls
/// allowed 08:00–21:00 there): `None` at 09:00–19:00 UTC (inside calling hours summer and
/// winter: call now), otherwise the last 12:00 UTC, to pass as `SWITCHBOARD_NOW` so a run in
/// the evening is not refused for the hour. Always in the past: the server clamps stamps from
/// the future.
pub fn calling_time_in_central_europe() -> Option<String> {
    use chrono::{Duration, Timelike};
    let now = chrono::Utc::now();
    if (9..19).contains(&now.hour()) {
        return None;
    }
    let noon = now.date_naive().and_hms_opt(12, 0, 0).unwrap().and_utc();
    let at = if noon < now {
        noon
    } else {
        noon - Duration::days(1)
    };
    Some(at.to_rfc3339())
}
