//! Stops reaching an online owner, through the real binaries: a `switchboard-server` process on
//! 127.0.0.1, two laptops of office BER each running `switchboard sync --watch`; mona (manager)
//! owns the enrolments, rita records replies and opt-outs with the `switchboard` command, and
//! the time from rita's command returning to the enrolment being stopped in mona's file is
//! measured. Used by the figure (`tests/bench/cadence_stop_bench.rs`) and its smoke test.
#![allow(dead_code)] // Each test file uses a different part of the fixtures.

use crate::cli_replica::CliReplica;
use crate::server_process::ServerProcess;
use crate::watcher::Watcher;
use std::path::Path;
use std::time::{Duration, Instant};

/// The office set up for the measurement: the server, rita's and mona's laptops, the leads
/// (each enrolled in mona's cadence, owned by mona's laptop), and the watchers.
pub struct Office {
    pub server: ServerProcess,
    pub rita: CliReplica,
    pub mona: CliReplica,
    pub leads: Vec<String>,
    watchers: Vec<Watcher>,
    _logs: tempfile::TempDir,
}

impl Office {
    /// Starts the server, sets up `leads` enrolled leads and both laptops' `sync --watch`.
    pub fn start(leads: usize) -> Office {
        let server = ServerProcess::start();
        let rita = CliReplica::login(&server.url(), &server.fingerprint, "rita", None);
        let mona = CliReplica::login(&server.url(), &server.fingerprint, "mona", None);
        let mut csv = String::from("name,email,phone,country,kind,submitted_at\n");
        for i in 0..leads {
            csv.push_str(&format!(
                "Stop Person {i},stop{i}@example.com,+49 30 {:07},DE,demo,2026-03-01T10:00:00Z\n",
                2_000_000 + i
            ));
        }
        let file = rita.sandbox.write("leads.csv", csv);
        rita.run(&["import", file.to_str().unwrap()]).ok();
        rita.sync();
        mona.sync();
        mona.run(&[
            "cadence",
            "add",
            "Stops",
            "--step",
            "call=Introduce the trial",
            "--step",
            "wait=2",
            "--step",
            "email=recap",
        ])
        .ok();
        let enrolled = mona.sandbox.json(&[
            "cadence",
            "enroll",
            "Stops",
            "--file",
            file.to_str().unwrap(),
        ]);
        assert_eq!(
            enrolled["enrolled"].as_u64(),
            Some(leads as u64),
            "{enrolled}"
        );
        mona.sync();
        rita.sync();
        let leads = rita.strings("SELECT id FROM lead ORDER BY id");
        assert_eq!(
            rita.strings("SELECT id FROM cadence_enrollment WHERE owner_replica IS NOT NULL")
                .len(),
            leads.len(),
            "rita shows every enrolment, owned by mona's laptop"
        );
        let logs = tempfile::tempdir().unwrap();
        let watchers = vec![
            Watcher::start(&rita, logs.path().join("rita.log")),
            Watcher::start(&mona, logs.path().join("mona.log")),
        ];
        Office {
            server,
            rita,
            mona,
            leads,
            watchers,
            _logs: logs,
        }
    }

    /// Records a stop for lead `i` on rita's laptop (even: an inbound reply; odd: an opt-out of
    /// the phone, the channel of the step due) and returns how long it took until the
    /// enrolment was stopped in mona's file, or `None` after `limit`.
    pub fn stop_and_wait(&self, i: usize, limit: Duration) -> Option<Duration> {
        let lead = &self.leads[i];
        if i.is_multiple_of(2) {
            self.rita
                .run(&[
                    "log",
                    lead,
                    "--channel",
                    "email",
                    "--outcome",
                    "replied",
                    "--inbound",
                ])
                .ok();
        } else {
            self.rita.run(&["optout", lead, "--channel", "phone"]).ok();
        }
        self.wait_stopped_on_owner(lead, limit)
    }

    /// How long until lead's enrolment reads `stopped` in mona's file, counted from now, or
    /// `None` after `limit`.
    pub fn wait_stopped_on_owner(&self, lead: &str, limit: Duration) -> Option<Duration> {
        let recorded = Instant::now();
        let conn = read_only(&self.mona.sandbox.db);
        loop {
            let state: String = conn
                .query_row(
                    "SELECT state FROM cadence_enrollment WHERE lead_id = ?1",
                    [lead],
                    |r| r.get(0),
                )
                .unwrap();
            if state == "stopped" {
                return Some(recorded.elapsed());
            }
            if recorded.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Stops the watchers, checking that neither panicked nor exited.
    pub fn finish(mut self) {
        for w in self.watchers.drain(..) {
            w.finish();
        }
    }
}

fn read_only(db: &Path) -> rusqlite::Connection {
    // The replica is encrypted with the test key (every sandbox's key file).
    let conn =
        switchboard_test_support::open_sqlite(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY);
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn
}
