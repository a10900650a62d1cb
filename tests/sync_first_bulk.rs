//! A fresh replica's first sync in bulk (issue 14, `replica::bulk`): the indexes no apply reads
//! are built after the load. Over a real server with real TLS:
//!
//! - a replica that first-syncs in bulk at the end holds exactly what a replica that pulled
//!   every change as it happened holds: the same rows, the same field clocks, the same search
//!   results and the same schema, over a generated history with opt-outs, an opt-in,
//!   corrections, erasures and office moves (central store on SQLite and on PostgreSQL);
//! - changes committed while the first sync runs arrive with the next sync;
//! - the real `switchboard sync` killed with SIGKILL during its bulk load leaves a file that
//!   opens with every index, and the next run ends equal to the office; no process panics;
//! - a store opened while the real `switchboard sync` loads leaves the load to it.

use crate::support;
use crate::sync_support;

use rand::{RngExt, SeedableRng};
use std::time::Duration;
use switchboard_core::leads::{self, LeadField};
use switchboard_core::protocol::ConsentScope;
use switchboard_core::replica;
use switchboard_core::replica::bulk;
use sync_support::{monday, Hub, Replica};

/// Every index's definition, sorted: the schema a bulk load must leave as it found it.
fn indexes(r: &Replica) -> Vec<String> {
    rows(
        r,
        "SELECT name || ': ' || coalesce(sql, '') FROM sqlite_schema WHERE type = 'index'
         ORDER BY name",
    )
}

fn rows(r: &Replica, sql: &str) -> Vec<String> {
    r.store
        .conn()
        .prepare(sql)
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// The ids a full-text query finds for one term, comma-joined.
fn ids(r: &Replica, sql: &str, term: &str) -> String {
    r.store
        .conn()
        .prepare(sql)
        .unwrap()
        .query_map([term], |row| row.get::<_, String>(0))
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap()
        .join(",")
}

/// What must agree beyond `Snapshot`: every field group's clock and the call columns of the
/// leads not erased (`Snapshot::erased` holds the erased ones whole), the suppression list, and
/// which leads and notes the full-text indexes find for a few terms.
fn detail(r: &Replica) -> Vec<String> {
    let mut out = rows(
        r,
        "SELECT id || '|' || clock_identity || '|' || clock_email || '|' || clock_phone || '|' ||
                clock_postal || '|' || clock_workflow || '|' || clock_office || '|' ||
                coalesce(last_attempt_at, '') || '|' || coalesce(last_outcome, '') || '|' ||
                coalesce(first_contact_at, '')
         FROM lead WHERE status <> 'erased' ORDER BY id",
    );
    let lead_search = "SELECT l.id FROM lead_search s JOIN lead l ON l.rowid = s.rowid
                       WHERE lead_search MATCH ?1 ORDER BY l.id";
    for term in ["person", "acme", "renamed", "example", "bulk*", "4930*"] {
        out.push(format!("lead_search {term}: {}", ids(r, lead_search, term)));
    }
    let note_search = "SELECT f.id FROM note_search s JOIN follow_up f ON f.rowid = s.rowid
                       WHERE note_search MATCH ?1 ORDER BY f.id";
    for term in ["call", "pricing", "second"] {
        out.push(format!("note_search {term}: {}", ids(r, note_search, term)));
    }
    out.extend(rows(
        r,
        "SELECT 'suppression ' || hash || '|' || kind FROM suppression ORDER BY hash",
    ));
    out
}

fn move_office(r: &mut Replica, lead: &str, office: &str) {
    r.clock.advance(chrono::Duration::seconds(7));
    let at = switchboard_core::Clock::now(&r.clock);
    let user = r.user.clone();
    r.store
        .with_tx(|tx| {
            leads::set_fields(
                tx,
                lead,
                &[(LeadField::Office, Some(office.to_string()))],
                &user,
                "move",
                at,
            )
        })
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_first_sync_equals_a_replica_that_pulled_every_change() {
    bulk_equals_replayed(Hub::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_first_sync_equals_a_replica_that_pulled_every_change_over_postgres() {
    let Some(url) = switchboard_test_support::fresh_pg_url("first_sync_bulk").await else {
        return;
    };
    let options = switchboard_test_support::TestOptions {
        store: Some(url),
        ..Default::default()
    };
    bulk_equals_replayed(Hub::start_with(options).await).await;
}

async fn bulk_equals_replayed(hub: Hub) {
    let mut ada = hub.replica("ada").await;
    let mut rita = hub.replica("rita").await;
    // mona pulls every change as it happens: the replayed replica to compare with.
    let mut live = hub.replica("mona").await;
    live.sync().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(14);
    let mut ber: Vec<String> = Vec::new();
    let mut erased_emails = Vec::new();
    for round in 0..6 {
        ada.clock.set(monday());
        rita.clock.set(monday());
        for i in 0..40 {
            let n = round * 40 + i;
            let country = if rng.random_range(0..4) == 0 {
                "FR"
            } else {
                "DE"
            };
            let lead = ada.add_lead(
                &format!("Bulk Person {n}"),
                &format!("bulk{n}@example.com"),
                &format!("+4930{:07}", 2_000_000 + n),
                country,
            );
            for c in 0..rng.random_range(0..4) {
                let note = if c == 1 {
                    "second call, pricing"
                } else {
                    "call"
                };
                ada.call(&lead, note);
            }
            if country == "DE" {
                ber.push(lead);
            }
        }
        ada.sync().await;
        rita.sync().await;
        // Work on the office's leads from both sides: calls, opt-outs (one taken back),
        // corrections, erasures and moves to Paris and back.
        for _ in 0..12 {
            let lead = ber[rng.random_range(0..ber.len())].clone();
            if leads::is_erased(ada.store.conn(), &lead).unwrap() {
                continue;
            }
            // rita no longer holds a lead moved to Paris once she pulled the move.
            let rita_holds = leads::exists(rita.store.conn(), &lead).unwrap();
            match rng.random_range(if rita_holds { 0 } else { 2 }..7) {
                0 => {
                    rita.call(&lead, "rita's call");
                }
                1 => rita.opt_out(&lead, ConsentScope::Phone),
                2 => {
                    ada.opt_out(&lead, ConsentScope::All);
                    ada.opt_in(&lead, ConsentScope::All);
                }
                3 => ada.rename(&lead, &format!("Renamed {round}")),
                4 => {
                    let email: String = ada
                        .store
                        .conn()
                        .query_row("SELECT email FROM lead WHERE id = ?1", [&lead], |r| {
                            r.get(0)
                        })
                        .unwrap();
                    ada.erase(&lead);
                    erased_emails.push(email);
                }
                5 => move_office(&mut ada, &lead, "PAR"),
                _ => {
                    move_office(&mut ada, &lead, "PAR");
                    move_office(&mut ada, &lead, "BER");
                }
            }
        }
        rita.sync().await;
        ada.sync().await;
        live.sync().await;
    }
    ada.sync().await;
    live.sync().await;
    assert!(!erased_emails.is_empty(), "the history erased someone");

    let mut fresh = hub.replica("mona").await;
    let report = fresh.sync().await;
    assert_eq!(
        report.bulk_load,
        bulk(),
        "a fresh replica loads in bulk: {report:?}"
    );
    assert!(report.pulled > 0);
    // Another sync is an ordinary pull.
    assert!(!fresh.sync().await.bulk_load);
    live.sync().await;

    let (a, b) = (fresh.snapshot(), live.snapshot());
    // An erased person's skeleton is the same whole row on a replica that held the lead before
    // the erasure and on one that first hears of it after (the server's log no longer carries
    // the purged groups): id, status and erasure time, nothing else (issue 13).
    same("leads", &a.leads, &b.leads);
    same("erased leads", &a.erased, &b.erased);
    assert!(
        !a.erased.is_empty(),
        "the history erased someone the replicas hold"
    );
    // The redacted follow-ups of a person erased before this replica's first sync stay on the
    // replica that pulled them before the erasure only.
    same(
        "follow-ups",
        &not_erased(&fresh, &a.follow_ups),
        &not_erased(&live, &b.follow_ups),
    );
    same("consent", &a.consent, &b.consent);
    same("detail", &detail(&fresh), &detail(&live));
    assert_eq!(indexes(&fresh), indexes(&live));
    assert_eq!(fresh.integrity(), "ok");
    let pending: i64 = fresh.count(&format!(
        "SELECT count(*) FROM setting WHERE key = '{}'",
        bulk::PENDING
    ));
    assert_eq!(pending, 0, "the bulk load is finished");
    for email in &erased_emails {
        assert_eq!(
            fresh.count(&format!(
                "SELECT count(*) FROM lead WHERE email = '{email}' OR name LIKE '%{email}%'"
            )),
            0,
            "{email} was erased before the first sync"
        );
    }
    // Opt-outs hold on the new replica.
    let opted_out: Vec<String> = rows(
        &fresh,
        "SELECT DISTINCT lead_id FROM consent_event c WHERE action = 'opt_out'
           AND NOT EXISTS (SELECT 1 FROM consent_event o WHERE o.lead_id = c.lead_id
                           AND o.action = 'opt_in' AND o.occurred_at > c.occurred_at)
           AND EXISTS (SELECT 1 FROM lead l WHERE l.id = c.lead_id AND l.status <> 'erased')",
    );
    assert!(!opted_out.is_empty(), "the history has a standing opt-out");
    let free: String = fresh
        .store
        .conn()
        .query_row(
            "SELECT id FROM lead l WHERE status <> 'erased'
               AND NOT EXISTS (SELECT 1 FROM consent_event c WHERE c.lead_id = l.id)
             LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(fresh.may_call(&free), "the gate lets other leads be called");
    for lead in &opted_out {
        assert!(!fresh.may_call(lead), "{lead} opted out");
        assert!(!live.may_call(lead), "{lead} opted out");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_committed_during_a_bulk_first_sync_arrive_with_the_next_sync() {
    let hub = Hub::start().await;
    let mut ada = hub.replica("ada").await;
    let total = 2 * switchboard_protocol::MAX_PAGE as usize / 8;
    let mut leads = Vec::new();
    for i in 0..total {
        ada.clock.set(monday());
        let lead = ada.add_lead(
            &format!("Busy Person {i}"),
            &format!("busy{i}@example.com"),
            &format!("+4930{:07}", 3_000_000 + i),
            "DE",
        );
        ada.call(&lead, "first call");
        leads.push(lead);
    }
    ada.sync().await;

    let mut fresh = hub.replica("mona").await;
    // ada keeps writing (calls, an opt-out, an erasure, new leads) while mona's first sync runs.
    let writer = async {
        for (i, lead) in leads.iter().take(30).enumerate() {
            ada.clock.set(monday());
            ada.call(lead, "during the first sync");
            match i {
                3 => ada.opt_out(lead, ConsentScope::All),
                7 => ada.erase(lead),
                _ => {}
            }
            ada.add_lead(
                &format!("Late Person {i}"),
                &format!("late{i}@example.com"),
                &format!("+4930{:07}", 4_000_000 + i),
                "DE",
            );
            ada.sync().await;
        }
    };
    let (report, ()) = tokio::join!(fresh.sync(), writer);
    assert_eq!(report.bulk_load, bulk(), "{report:?}");
    ada.sync().await;
    fresh.sync().await;
    assert_eq!(fresh.snapshot(), ada.snapshot());
    assert!(
        !fresh.may_call(&leads[3]),
        "the opt-out made during the sync"
    );
    assert_eq!(
        fresh.count(&format!(
            "SELECT count(*) FROM lead WHERE id = '{}' AND status = 'erased' AND email IS NULL",
            leads[7]
        )),
        1,
        "the erasure made during the sync"
    );
    assert_eq!(
        fresh.count("SELECT count(*) FROM lead WHERE name LIKE 'Late %'"),
        30
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sync_killed_during_its_bulk_load_opens_with_every_index_and_completes() {
    let office = Office::with_leads_for_a_fresh_file("Kill", 5_000_000).await;
    let (path, token) = (office.path.as_path(), &office.token);
    let sync = |log: &std::path::Path| spawn_sync(path, token, log);
    // Kill the sync once it has committed a page of its bulk load (the dropped indexes are
    // recorded, the cursor has moved).
    let log = office.dir.path().join("killed.log");
    let mut child = sync(&log);
    wait_for_the_load(path, &mut child).await;
    let status = std::process::Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _ = child.wait();
    let printed = std::fs::read_to_string(&log).unwrap();
    assert!(!printed.contains("panicked at"), "{printed}");
    assert!(peek(path).1, "the kill came during the bulk load");

    // Opening the file builds the dropped indexes; the next sync resumes from the cursor.
    let mut mona = office.open_mona();
    assert_eq!(indexes(&mona), office.reference);
    assert_eq!(mona.integrity(), "ok");
    assert!(!peek(path).1);
    // And every note loaded before the kill is found (the load wrote none of their entries).
    let loaded = mona.count("SELECT count(*) FROM follow_up WHERE note LIKE '%call%'");
    assert!(loaded > 0);
    assert_eq!(
        mona.count("SELECT count(*) FROM note_search WHERE note_search MATCH 'call'"),
        loaded
    );
    let resumed_at = replica::state(mona.store.conn()).unwrap().cursor;
    assert!(resumed_at > 0);
    drop(mona);
    let log = office.dir.path().join("resumed.log");
    let mut child = sync(&log);
    assert!(child.wait().unwrap().success(), "{}", read(&log));
    assert!(!read(&log).contains("panicked at"), "{}", read(&log));

    mona = office.open_mona();
    assert_eq!(indexes(&mona), office.reference);
    assert_eq!(mona.snapshot(), office.ada.snapshot());
    assert_eq!(
        mona.count("SELECT count(*) FROM follow_up"),
        office.total as i64
    );
    assert_eq!(
        detail(&mona)
            .into_iter()
            .filter(|l| l.contains("_search"))
            .collect::<Vec<_>>(),
        detail(&office.ada)
            .into_iter()
            .filter(|l| l.contains("_search"))
            .collect::<Vec<_>>()
    );
}

/// A store opened while another process's first sync loads in bulk (the window, a job) and a
/// pull ending on another connection leave what the load set aside to it: before the load's
/// lock, opening built every index and full-text entry there and then, and the rest of the load
/// kept them up to date row by row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_opened_during_a_live_bulk_load_leaves_the_set_aside_indexes_to_it() {
    let office = Office::with_leads_for_a_fresh_file("Open", 7_000_000).await;
    let (path, token) = (office.path.as_path(), &office.token);
    let log = office.dir.path().join("sync.log");
    let mut child = spawn_sync(path, token, &log);
    wait_for_the_load(path, &mut child).await;
    let window = office.open_mona();
    let pull_end = bulk::finish_if_pending(window.store.conn()).unwrap();
    let during = indexes(&window);
    // An opening that builds the indexes holds the write lock while it does, and the sync may
    // end meanwhile; one that leaves them cannot have let the sync end before the checks here
    // unless the load was too short to catch.
    let ended = match child.try_wait().unwrap() {
        Some(_) => " (the sync has ended: if before the opening, raise the lead count)",
        None => "",
    };
    for name in bulk::DEFERRED {
        assert!(
            !during.iter().any(|i| i.starts_with(&format!("{name}: "))),
            "{name} present after the opening{ended}: {during:#?}"
        );
    }
    assert!(!pull_end, "a pull's end left the live load alone");
    assert!(peek(path).1, "still set aside after the opening{ended}");
    assert!(ended.is_empty(), "{ended}");
    // Reads are correct meanwhile, only slower.
    assert_eq!(
        window.count("SELECT count(*) FROM lead WHERE email = 'open0@example.com'"),
        1
    );
    drop(window);

    assert!(child.wait().unwrap().success(), "{}", read(&log));
    assert!(!read(&log).contains("panicked at"), "{}", read(&log));
    let mona = office.open_mona();
    assert!(!peek(path).1);
    assert_eq!(indexes(&mona), office.reference);
    assert_eq!(mona.snapshot(), office.ada.snapshot());
    assert_eq!(
        mona.count("SELECT count(*) FROM note_search WHERE note_search MATCH 'call'"),
        office.total as i64,
        "the load built every note's entry"
    );
}

/// A bulk first sync applies pages faster than they arrive; it keeps its batch open while it
/// waits for the next one, and commits when the batch has added `bulk::BATCH_NEW_PAGES` pages
/// or has been open `BULK_BATCH`: each commit writes every page the batch dirtied into the WAL
/// again, and committing after every page wrote 5–7× the final file, every second 2.58×
/// (docs/BENCHMARKS.md). The replayed first sync keeps committing before every wait for the
/// network.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_first_sync_commits_by_the_batch_not_by_the_page() {
    let hub = Hub::start().await;
    let mut ada = hub.replica("ada").await;
    ada.add_called_leads(switchboard_protocol::MAX_PAGE as usize, "Batch", 6_000_000);
    ada.sync().await;
    let mut fresh = hub.replica("mona").await;
    let started = std::time::Instant::now();
    let report = fresh.sync().await;
    let elapsed = started.elapsed();
    assert!(report.pages >= 4, "{report:?}");
    assert_eq!(
        report.cursor,
        replica::state(fresh.store.conn()).unwrap().cursor
    );
    assert!(report.commits >= 1, "{report:?}");
    if bulk() {
        // These pages add far fewer than `bulk::BATCH_NEW_PAGES` pages to the file: one commit
        // per `BULK_BATCH` the sync lasted, and the last (by the second, or by the page, would
        // be more).
        let grown = fresh.count("PRAGMA page_count");
        assert!(grown < bulk::BATCH_NEW_PAGES, "{grown} pages");
        let periods = (elapsed.as_secs_f64() / switchboard_sync::engine::BULK_BATCH.as_secs_f64())
            .floor() as u64;
        assert!(
            report.commits <= 1 + periods,
            "{} commits in {elapsed:?}: {report:?}",
            report.commits
        );
    }
    assert_eq!(fresh.snapshot(), ada.snapshot());
}

/// Whether first syncs load in bulk: `SWITCHBOARD_FIRST_SYNC=replay` runs these tests with the
/// first sync as before issue 14 (the differences `not_erased` leaves out are the same then).
fn bulk() -> bool {
    std::env::var(switchboard_sync::engine::FIRST_SYNC_VAR).as_deref() != Ok("replay")
}

/// `Snapshot::follow_ups` without those of leads erased on `r`.
fn not_erased(r: &Replica, follow_ups: &[String]) -> Vec<String> {
    let erased = rows(r, "SELECT id FROM lead WHERE status = 'erased'");
    follow_ups
        .iter()
        .filter(|f| {
            !erased
                .iter()
                .any(|e| f.split('|').nth(1) == Some(e.as_str()))
        })
        .cloned()
        .collect()
}

/// Fails with the rows that only one side holds.
fn same(what: &str, fresh: &[String], live: &[String]) {
    let only_fresh: Vec<_> = fresh.iter().filter(|r| !live.contains(r)).collect();
    let only_live: Vec<_> = live.iter().filter(|r| !fresh.contains(r)).collect();
    assert!(
        only_fresh.is_empty() && only_live.is_empty(),
        "{what}: only in the bulk-loaded replica: {only_fresh:#?}\nonly in the replayed one: {only_live:#?}"
    );
}

/// An office whose one replica (ada) holds `total` leads with a call each (about eight full
/// pages), and a signed-in replica file for mona that has never synced.
struct Office {
    hub: Hub,
    ada: Replica,
    total: usize,
    /// The schema a replica has when nothing was set aside.
    reference: Vec<String>,
    dir: tempfile::TempDir,
    path: std::path::PathBuf,
    token: switchboard_sync::Secret,
}

impl Office {
    async fn with_leads_for_a_fresh_file(who: &str, first_phone: usize) -> Office {
        let hub = Hub::start().await;
        let mut ada = hub.replica("ada").await;
        let total = switchboard_protocol::MAX_PAGE as usize;
        ada.add_called_leads(total, who, first_phone);
        ada.sync().await;
        let reference = indexes(&hub.replica("mona").await);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mona.db");
        let token = hub.signed_in_file(&path, "mona").await;
        Office {
            hub,
            ada,
            total,
            reference,
            dir,
            path,
            token,
        }
    }

    /// Mona's file opened as the window or a job opens it.
    fn open_mona(&self) -> Replica {
        Replica::from_file(
            &self.path,
            &self.hub.server.url,
            &self.hub.server.fingerprint,
            "mona",
            self.token.clone(),
        )
    }
}

/// The real `switchboard sync` on the replica file `path`, its output in `log`, loading in bulk.
fn spawn_sync(
    path: &std::path::Path,
    token: &switchboard_sync::Secret,
    log: &std::path::Path,
) -> std::process::Child {
    std::process::Command::new(support::binary())
        .args(["--db", path.to_str().unwrap(), "sync"])
        // These tests are about the bulk load, also when the others run replayed.
        .env(switchboard_sync::engine::FIRST_SYNC_VAR, "bulk")
        .env("SWITCHBOARD_TOKEN", token.expose())
        .env(
            "SWITCHBOARD_DB_KEY",
            switchboard_test_support::test_db_key_hex(),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// Waits until `child`'s bulk load has committed a page (the set-aside indexes are recorded,
/// the cursor has moved) and is still running.
async fn wait_for_the_load(path: &std::path::Path, child: &mut std::process::Child) {
    let started = std::time::Instant::now();
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the first sync finished before its load could be caught; raise the lead count"
        );
        let (cursor, pending) = peek(path);
        if cursor > 0 && pending {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no page committed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The cursor and whether a bulk load is under way (indexes or full-text entries left to
/// build), as another reader sees them.
fn peek(path: &std::path::Path) -> (i64, bool) {
    if !path.exists() {
        return (0, false);
    }
    let conn =
        switchboard_test_support::open_sqlite(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY);
    let cursor = conn
        .query_row("SELECT cursor FROM sync_state WHERE id = 1", [], |r| {
            r.get(0)
        })
        .unwrap_or(0);
    let pending = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM setting WHERE key IN (?1, ?2))",
            [bulk::PENDING, bulk::SEARCH_PENDING],
            |r| r.get(0),
        )
        .unwrap_or(false);
    (cursor, pending)
}
