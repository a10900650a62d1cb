//! Laptops running `switchboard sync --watch` as real processes, for the tests and figures of
//! changes reaching an online laptop (live stream, cadence stops).
#![allow(dead_code)] // Each test file uses a different part of the fixtures.

use crate::cli_replica::CliReplica;
use crate::server_process::ServerProcess;
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A `switchboard sync --watch` process whose standard error goes to a file (checked for
/// panics when it is finished).
pub struct Watcher {
    child: Child,
    pub log: PathBuf,
}

impl Watcher {
    /// Starts watching `replica`'s server through the live stream.
    pub fn start(replica: &CliReplica, log: PathBuf) -> Watcher {
        Watcher::start_with(replica, log, true)
    }

    /// `start`; `live: false` sets `SWITCHBOARD_LIVE=off` (the polling of protocol 3).
    pub fn start_with(replica: &CliReplica, log: PathBuf, live: bool) -> Watcher {
        let out = std::fs::File::create(&log).unwrap();
        let mut command = replica.sandbox.command(&["sync", "--watch"]);
        if !live {
            command.env("SWITCHBOARD_LIVE", "off");
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .expect("starting switchboard sync --watch");
        Watcher { child, log }
    }

    /// The process id (for its CPU time).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// What the process printed so far.
    pub fn printed(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the watcher printed `needle` at least `times` times.
    pub fn wait_for(&self, needle: &str, times: usize, limit: Duration) {
        let started = Instant::now();
        while self.printed().matches(needle).count() < times {
            assert!(
                started.elapsed() < limit,
                "sync --watch did not print '{needle}' {times} time(s) within {limit:?}:\n{}",
                self.printed()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The exit status if the process ends within `limit`.
    pub fn exit_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Stops the process; panics if it printed a panic or had exited by itself.
    pub fn finish(mut self) {
        let exited = self.child.try_wait().unwrap();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let printed = self.printed();
        assert!(
            !printed.contains("panicked at"),
            "sync --watch panicked: {printed}"
        );
        assert!(exited.is_none(), "sync --watch exited early: {printed}");
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// rita's and mona's laptops of office BER, both holding the one lead rita imported from
/// `person` (a CSV line: name,email,phone,country,kind,submitted_at); returns the lead's id.
pub fn laptops_sharing_one_lead(
    server: &ServerProcess,
    person: &str,
) -> (CliReplica, CliReplica, String) {
    let rita = CliReplica::login(&server.url(), &server.fingerprint, "rita", None);
    let mona = CliReplica::login(&server.url(), &server.fingerprint, "mona", None);
    let file = rita.sandbox.write(
        "leads.csv",
        format!("name,email,phone,country,kind,submitted_at\n{person}\n"),
    );
    rita.run(&["import", file.to_str().unwrap()]).ok();
    rita.sync();
    mona.sync();
    let lead = rita.strings("SELECT id FROM lead").pop().expect("the lead");
    assert_eq!(mona.strings("SELECT id FROM lead"), vec![lead.clone()]);
    (rita, mona, lead)
}

/// The next event of a live stream other than `ready`, or `None` if none comes within `limit`.
pub async fn next_change(
    stream: &mut switchboard_sync::live::LiveStream,
    limit: std::time::Duration,
) -> Option<switchboard_sync::live::LiveEvent> {
    tokio::time::timeout(limit, async {
        loop {
            match stream.next().await.expect("the stream stays open") {
                switchboard_sync::live::LiveEvent::Ready { .. } => continue,
                other => return other,
            }
        }
    })
    .await
    .ok()
}
