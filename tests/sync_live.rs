//! Live changes through the real binaries: a `switchboard-server` process (SQLite, or
//! PostgreSQL with `SWITCHBOARD_TEST_PG_URL`) and laptops running `switchboard sync --watch`.
//! A follow-up logged by a `switchboard` command on rita's laptop reaches mona's watching laptop
//! through the server's live stream; revoking a watching device ends its stream at once (the
//! watcher erases its replica and exits long before any keep-alive or poll); a SIGKILLed and
//! restarted server is reconnected to; the stream shows a user only their offices' changes and
//! closes when their role changes; held streams that nobody reads do not slow pushes, and a
//! device past its stream limit, garbled requests and missing tokens are refused. No process
//! may panic.

use crate::cli_replica;
use crate::server_process;
use crate::sync_support;
use crate::watcher;

use cli_replica::CliReplica;
use server_process::ServerProcess;
use std::path::Path;
use std::time::{Duration, Instant};
use switchboard_sync::live::LiveEvent;
use switchboard_sync::{Client, Secret, TrustAnchor};
use sync_support::PASSWORD;
use watcher::{laptops_sharing_one_lead, next_change, Watcher};

/// What `sync --watch` prints when it holds the live stream.
const HOLDING: &str = "holding the server's live stream";

/// How long a change may take from one watching laptop to the other in these tests (the
/// figure, tens of milliseconds, is in docs/BENCHMARKS.md; this bound only catches a fall back
/// to polling or a lost wake-up without flaking on a loaded machine).
const LIVE_LIMIT: Duration = Duration::from_secs(2);

fn read_only(db: &Path) -> rusqlite::Connection {
    let conn =
        switchboard_test_support::open_sqlite(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY);
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn
}

/// How long until follow-up `id` is in the replica `conn` reads, or `None` after `limit`.
fn arrival(conn: &rusqlite::Connection, id: &str, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    loop {
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM follow_up WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap();
        if n > 0 {
            return Some(started.elapsed());
        }
        if started.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// rita's and mona's laptops of office BER, both holding one lead rita imported.
fn office(server: &ServerProcess) -> (CliReplica, CliReplica, String) {
    laptops_sharing_one_lead(
        server,
        "Live Person,live@example.com,+49 30 5550100,DE,demo,2026-03-01T10:00:00Z",
    )
}

/// Follow-ups logged on rita's laptop reach mona's through the stream, within `LIVE_LIMIT`
/// each; then a SIGKILLed server is reconnected to after its restart and still carries them.
fn reaches_the_other_laptop(store: Option<&str>) {
    let mut server = ServerProcess::start_on(store, |_| Vec::new());
    let (rita, mona, lead) = office(&server);
    let logs = tempfile::tempdir().unwrap();
    let rita_watch = Watcher::start(&rita, logs.path().join("rita.log"));
    let mona_watch = Watcher::start(&mona, logs.path().join("mona.log"));
    for w in [&rita_watch, &mona_watch] {
        w.wait_for(HOLDING, 1, Duration::from_secs(20));
    }
    let conn = read_only(&mona.sandbox.db);
    for i in 0..5 {
        let id = rita.call(&lead, &format!("live note {i}"));
        let took = arrival(&conn, &id, LIVE_LIMIT);
        assert!(
            took.is_some(),
            "follow-up {i} did not reach mona within {LIVE_LIMIT:?}:\n{}",
            mona_watch.printed()
        );
    }

    // The server dies mid-stream and comes back on the same port: both watchers connect again
    // and changes flow as before.
    server.kill();
    server.restart();
    for w in [&rita_watch, &mona_watch] {
        w.wait_for(HOLDING, 2, Duration::from_secs(30));
    }
    let id = rita.call(&lead, "after the restart");
    assert!(
        arrival(&conn, &id, LIVE_LIMIT).is_some(),
        "no change through the reconnected stream:\n{}",
        mona_watch.printed()
    );
    rita_watch.finish();
    mona_watch.finish();
    server.assert_no_panic();
}

#[test]
fn a_change_reaches_the_other_watching_laptop_through_the_stream_on_sqlite() {
    reaches_the_other_laptop(None);
}

#[test]
fn a_change_reaches_the_other_watching_laptop_through_the_stream_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(url) = rt.block_on(switchboard_test_support::fresh_pg_url(
        "live_changes_on_postgres",
    )) else {
        return;
    };
    reaches_the_other_laptop(Some(&url));
}

fn client(server: &ServerProcess) -> Client {
    let anchor = TrustAnchor::fingerprint(&server.fingerprint).unwrap();
    Client::new(&server.url(), &anchor).unwrap()
}

#[test]
fn a_revoked_watching_device_is_cut_off_at_once() {
    let server = ServerProcess::start();
    let (rita, _mona, _lead) = office(&server);
    let logs = tempfile::tempdir().unwrap();
    let mut rita_watch = Watcher::start(&rita, logs.path().join("rita.log"));
    rita_watch.wait_for(HOLDING, 1, Duration::from_secs(20));

    let rt = tokio::runtime::Runtime::new().unwrap();
    let manager = client(&server);
    let mona_token = rt.block_on(async {
        manager
            .login("mona", &Secret::new(PASSWORD.to_string()))
            .await
            .unwrap()
            .token
    });
    let devices = rt.block_on(manager.devices(&mona_token)).unwrap();
    let rita_device = devices
        .iter()
        .find(|d| d.user == "rita")
        .expect("rita's laptop");
    let revoked_at = Instant::now();
    rt.block_on(manager.revoke_device(&mona_token, &rita_device.id))
        .unwrap();

    // The stream closes at the revocation; the watcher's next pull hears `device_revoked`,
    // erases the replica and exits. Without the stream it would wait out its 25 s long-poll.
    let status = rita_watch.exit_within(Duration::from_secs(10));
    let printed = rita_watch.printed();
    assert!(status.is_some(), "rita's watcher kept running:\n{printed}");
    assert!(
        revoked_at.elapsed() < Duration::from_secs(10),
        "took {:?}",
        revoked_at.elapsed()
    );
    assert!(!status.unwrap().success(), "{printed}");
    assert!(!printed.contains("panicked at"), "{printed}");
    assert!(printed.contains("erased"), "{printed}");
    assert!(
        !rita.sandbox.db.exists(),
        "the revoked laptop erased its replica:\n{printed}"
    );
    server.assert_no_panic();
}

#[test]
fn a_stream_carries_only_the_callers_offices_and_closes_when_their_role_changes() {
    let server = ServerProcess::start();
    server.admin(
        &["user", "add", "pia", "--role", "rep", "--office", "PAR"],
        Some(&format!("{PASSWORD}\n")),
    );
    let (rita, _mona, lead) = office(&server);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = client(&server);
    let pia = rt
        .block_on(api.login("pia", &Secret::new(PASSWORD.to_string())))
        .unwrap();
    let rita_token = Secret::new(rita.token.clone());
    rt.block_on(async {
        let mut pias = api.live(&pia.token, 0).await.unwrap().expect("a stream");
        let mut ritas = api.live(&rita_token, 0).await.unwrap().expect("a stream");
        // Rita's existing changes (after cursor 0) are announced at once.
        assert!(matches!(
            next_change(&mut ritas, Duration::from_secs(5)).await,
            Some(LiveEvent::Change { .. })
        ));
        // Whatever pia may already see (the global bucket) is announced first; take it.
        let _ = next_change(&mut pias, Duration::from_millis(1000)).await;
        rita.call(&lead, "for BER only");
        // A follow-up of BER: rita's stream hears it, pia's (PAR) does not.
        rita.sync();
        assert!(matches!(
            next_change(&mut ritas, Duration::from_secs(5)).await,
            Some(LiveEvent::Change { .. })
        ));
        assert_eq!(
            next_change(&mut pias, Duration::from_millis(1500)).await,
            None,
            "a PAR rep's stream announced a BER change"
        );

        // Pia moves to BER: her stream closes at the next wake (her scope changed).
        server.admin(
            &["user", "role", "pia", "--role", "rep", "--office", "BER"],
            None,
        );
        rita.call(&lead, "after pia moved");
        rita.sync();
        assert!(matches!(
            next_change(&mut pias, Duration::from_secs(20)).await,
            Some(LiveEvent::Closed { .. })
        ));
    });
    server.assert_no_panic();
}

#[test]
fn unread_streams_do_not_slow_pushes_and_bad_requests_are_refused() {
    let server = ServerProcess::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = client(&server);
    rt.block_on(async {
        let mona = api
            .login("mona", &Secret::new(PASSWORD.to_string()))
            .await
            .unwrap();
        // A device holds at most four streams; nobody reads these.
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(api.live(&mona.token, 0).await.unwrap().expect("a stream"));
        }
        assert!(
            api.live(&mona.token, 0).await.unwrap().is_none(),
            "a fifth stream of one device is refused (429)"
        );

        // Pushes go on at their usual pace while the streams sit unread.
        let mut replica =
            sync_support::Replica::login(&server.url(), &server.fingerprint, "rita").await;
        let started = Instant::now();
        for i in 0..30 {
            replica.add_lead(
                &format!("Unread {i}"),
                &format!("unread{i}@example.com"),
                &format!("+4930555{i:04}"),
                "DE",
            );
            replica.sync().await;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "30 pushes beside unread streams took {:?}",
            started.elapsed()
        );
        drop(held);

        // Garbled and unauthenticated requests.
        let raw = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .build()
            .unwrap();
        let url = format!("{}/v1/changes/live", server.url());
        let status = |r: reqwest::Response| r.status().as_u16();
        assert_eq!(status(raw.get(&url).send().await.unwrap()), 401);
        assert_eq!(
            status(raw.get(&url).bearer_auth("nonsense").send().await.unwrap()),
            401
        );
        assert_eq!(
            status(
                raw.get(format!("{url}?after=abc"))
                    .bearer_auth(mona.token.expose())
                    .send()
                    .await
                    .unwrap()
            ),
            400
        );
        assert_eq!(
            status(
                raw.post(&url)
                    .bearer_auth(mona.token.expose())
                    .send()
                    .await
                    .unwrap()
            ),
            400
        );
        let long = format!("{url}?after={}", "9".repeat(100_000));
        let answer = raw.get(&long).bearer_auth(mona.token.expose()).send().await;
        assert!(
            answer.map(|r| r.status().as_u16() != 200).unwrap_or(true),
            "an oversized request opened a stream"
        );
        // Still serving.
        assert!(api.live(&mona.token, 0).await.unwrap().is_some());
    });
    server.assert_no_panic();
}

/// Two server instances on one PostgreSQL database (as behind a load balancer): a push through
/// instance one wakes a stream held on instance two through `LISTEN/NOTIFY`, well before the
/// stream's 15 s keep-alive re-check could have found it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_on_one_instance_wakes_streams_on_another_over_postgres() {
    use switchboard_core::protocol::Role;
    use switchboard_test_support::{TestOptions, TestServer};
    let Some(url) = switchboard_test_support::fresh_pg_url("live_two_instances").await else {
        return;
    };
    let one = TestServer::start(TestOptions {
        store: Some(url),
        ..TestOptions::default()
    })
    .await
    .unwrap();
    one.add_office("BER", "DE").await.unwrap();
    one.add_route("DE", "BER").await.unwrap();
    one.add_user("rita", Role::Rep, Some("BER"), PASSWORD)
        .await
        .unwrap();
    one.add_user("mona", Role::Manager, Some("BER"), PASSWORD)
        .await
        .unwrap();
    let two = one
        .start_sibling(std::sync::Arc::new(switchboard_core::SystemClock))
        .await
        .unwrap();
    let on_two = Client::new(
        &two.url,
        &TrustAnchor::fingerprint(&two.fingerprint).unwrap(),
    )
    .unwrap();
    let mona = on_two
        .login("mona", &Secret::new(PASSWORD.to_string()))
        .await
        .unwrap();
    let mut stream = on_two
        .live(&mona.token, 0)
        .await
        .unwrap()
        .expect("a stream");
    assert!(matches!(
        stream.next().await.unwrap(),
        LiveEvent::Ready { cursor: 0 }
    ));

    let mut rita = sync_support::Replica::login(&one.url, &one.fingerprint, "rita").await;
    rita.add_lead("Ada Across", "ada@example.com", "+493012345670", "DE");
    let pushed = Instant::now();
    rita.sync().await;
    let heard = next_change(&mut stream, Duration::from_secs(10)).await;
    assert!(
        matches!(heard, Some(LiveEvent::Change { cursor }) if cursor > 0),
        "instance two's stream heard {heard:?}"
    );
    assert!(
        pushed.elapsed() < Duration::from_secs(5),
        "took {:?}: not woken by NOTIFY",
        pushed.elapsed()
    );
    assert_eq!(two.state.live.open_streams(), 1);
    drop(stream);
    // The stream's slot is given back once the server notices the client left.
    let started = Instant::now();
    while two.state.live.open_streams() > 0 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        two.state.live.open_streams(),
        0,
        "a closed stream kept its slot"
    );
}
