//! Push, pull, merge, office moves, erasure and intake against a real HTTPS server, on both
//! storage backends.

use crate::support;

use std::time::{Duration, Instant};
use support::*;
use switchboard_protocol::*;
use switchboard_test_support::TestOptions;

both_backends!(
    push_is_idempotent_and_rejections_do_not_block,
    push_idempotent
);
async fn push_idempotent(options: TestOptions) {
    let w = World::start(options).await;
    let lead = new_lead(&w.rep_a, "ra", 1, "Ada Lovelace", "ada@example.com").await;
    let foreign = new_lead(&w.rep_b, "rb", 1, "Bob", "bob@example.com").await;
    let ops = numbered_from(
        3,
        vec![
            follow_up(&lead, Some("first call"), "rep_a"),
            follow_up(&foreign, None, "rep_a"),
            Op::LeadRevoked(LeadRevoked {
                lead_id: lead.clone(),
            }),
            follow_up(&lead, None, "rep_a"),
        ],
    );
    let first = w.rep_a.push("ra", ops.clone()).await.unwrap();
    let statuses: Vec<_> = first.results.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            PushStatus::Applied,
            PushStatus::Rejected,
            PushStatus::Rejected,
            PushStatus::Applied
        ]
    );
    assert_eq!(first.results[1].code.as_deref(), Some("forbidden_office"));
    assert_eq!(first.results[2].code.as_deref(), Some("server_only"));

    // The same push again (a retry after a cut connection): every answer is a duplicate with
    // the first answer's code, and nothing is applied twice.
    let before = w.rep_a.pull_all(0).await.unwrap().0.len();
    let again = w.rep_a.push("ra", ops).await.unwrap();
    assert!(
        again
            .results
            .iter()
            .all(|r| r.status == PushStatus::Duplicate),
        "{again:?}"
    );
    assert_eq!(again.results[1].code.as_deref(), Some("forbidden_office"));
    assert_eq!(w.rep_a.pull_all(0).await.unwrap().0.len(), before);

    let follow_ups = everything(&w.mgr_a)
        .await
        .into_iter()
        .filter(|o| matches!(o, Op::FollowUpLogged(_)))
        .count();
    assert_eq!(follow_ups, 2);
}

both_backends!(pull_pages_with_cursors_and_visibility, pull_paging);
async fn pull_paging(options: TestOptions) {
    let w = World::start(options).await;
    let lead = new_lead(&w.rep_a, "ra", 1, "Ada", "ada@example.com").await;
    let ops: Vec<Op> = (0..25).map(|_| follow_up(&lead, None, "rep_a")).collect();
    w.rep_a.push("ra", numbered_from(3, ops)).await.unwrap();
    new_lead(&w.rep_b, "rb", 1, "Bob", "bob@example.com").await;

    let mut cursor = 0;
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut heads = Vec::new();
    loop {
        let page = w.mgr_a.pull(cursor, 10, 0).await.unwrap();
        pages += 1;
        heads.push((page.has_more, page.head_cursor));
        assert!(page.changes.len() <= 10);
        assert!(
            page.changes.iter().all(|c| c.server_seq > cursor),
            "cursor respected"
        );
        seen.extend(page.changes.iter().map(|c| c.server_seq));
        cursor = page.next_cursor;
        if !page.has_more {
            break;
        }
    }
    assert_eq!(
        seen.len(),
        27,
        "two field groups and 25 follow-ups of office A"
    );
    assert_eq!(pages, 3);
    assert!(seen.windows(2).all(|p| p[0] < p[1]), "server order");
    // Protocol 4: while more pages wait, each names the newest change the caller may see (office
    // B's later lead is not counted); the page that ends the pull names none.
    let last = *seen.last().unwrap();
    assert_eq!(
        heads,
        [(true, Some(last)), (true, Some(last)), (false, None)],
        "head cursors"
    );
    let admin_page = w.admin.pull(0, 10, 0).await.unwrap();
    let (_, admin_head) = w.admin.pull_all(0).await.unwrap();
    assert_eq!(
        admin_page.head_cursor,
        Some(admin_head),
        "admins: the log's head"
    );
    assert!(admin_head > last);
    // Nothing after the last cursor; office B's lead never reached office A.
    let tail = w.mgr_a.pull(cursor, 10, 0).await.unwrap();
    assert!(tail.changes.is_empty() && tail.next_cursor == cursor);
    assert_eq!(
        everything(&w.admin).await.len(),
        29,
        "admins see both offices"
    );
}

both_backends!(long_poll_wakes_within_two_seconds, long_poll);
async fn long_poll(options: TestOptions) {
    let w = World::start(options).await;
    let lead = new_lead(&w.rep_a, "ra", 1, "Ada", "ada@example.com").await;
    let (_, cursor) = w.mgr_a.pull_all(0).await.unwrap();
    let waiter = w.mgr_a.clone();
    let started = Instant::now();
    let poll = tokio::spawn(async move { waiter.pull(cursor, 100, 20).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, opt_out) = consent(&lead, ConsentAction::OptOut, None, "rep_a");
    w.rep_a
        .push("ra", numbered_from(3, vec![opt_out]))
        .await
        .unwrap();
    let pushed_at = Instant::now();
    let page = poll.await.unwrap().unwrap();
    assert_eq!(page.changes.len(), 1);
    assert!(matches!(page.changes[0].op, Op::ConsentRecorded(_)));
    assert!(
        pushed_at.elapsed() < Duration::from_secs(2),
        "heard within 2 s"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "did not wait out the poll"
    );

    // With nothing new, the poll returns an empty page when its wait is over.
    let started = Instant::now();
    let empty = w.mgr_a.pull(page.next_cursor, 100, 1).await.unwrap();
    assert!(empty.changes.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(900));
}

both_backends!(
    field_groups_merge_by_clock_and_clamp_fast_clocks,
    clock_merge
);
async fn clock_merge(options: TestOptions) {
    let w = World::start(options).await;
    let lead = id("lead");
    let base = t0();
    let ahead = chrono::Utc::now() + chrono::Duration::days(365);
    let r = w
        .rep_a
        .push(
            "ra",
            numbered(vec![
                identity(&lead, "Newer", hlc(base, 5, "x")),
                identity(&lead, "Older", hlc(base, 1, "y")),
                email(&lead, "future@example.com", hlc(ahead, 0, "fast")),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(r.results[1].code.as_deref(), Some("stale"), "{r:?}");
    // A stamp from a year ahead was clamped to server time: an honest later edit wins.
    tokio::time::sleep(Duration::from_millis(6000)).await;
    let later = hlc(chrono::Utc::now(), 0, "honest");
    let r = w
        .mgr_a
        .push(
            "ma",
            numbered(vec![email(&lead, "honest@example.com", later)]),
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied);
    assert_eq!(r.results[0].code, None, "the clamped stamp lost");

    let view: serde_json::Value = w
        .server
        .http()
        .get(format!("{}/v1/leads/{lead}", w.server.url))
        .bearer_auth(w.rep_a.token.expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let groups = view["groups"].as_array().unwrap();
    let identity = groups
        .iter()
        .find(|g| g["fields"]["group"] == "identity")
        .unwrap();
    assert_eq!(identity["fields"]["name"], "Newer");
    let email = groups
        .iter()
        .find(|g| g["fields"]["group"] == "email")
        .unwrap();
    assert_eq!(email["fields"]["email"], "honest@example.com");
    // Every pulled stamp is within the server's tolerance.
    for op in everything(&w.rep_a).await {
        if let Op::LeadFieldsSet(s) = op {
            let millis: i64 = s.hlc[..13].parse().unwrap();
            assert!(
                millis <= chrono::Utc::now().timestamp_millis() + 5_000,
                "{}",
                s.hlc
            );
        }
    }
}

both_backends!(moving_a_lead_revokes_it_from_the_old_office, office_move);
async fn office_move(options: TestOptions) {
    let w = World::start(options).await;
    let lead = new_lead(&w.rep_a, "ra", 1, "Ada Lovelace", "ada@example.com").await;
    w.rep_a
        .push(
            "ra",
            numbered_from(3, vec![follow_up(&lead, Some("likes tea"), "rep_a")]),
        )
        .await
        .unwrap();
    let (_, cursor_a) = w.rep_a.pull_all(0).await.unwrap();
    let (_, cursor_b) = w.rep_b.pull_all(0).await.unwrap();

    let r = w
        .mgr_a
        .push(
            "ma",
            numbered(vec![office(&lead, "B", hlc(chrono::Utc::now(), 0, "ma"))]),
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");

    // Office A's replicas are told to purge it.
    let (news_a, _) = w.rep_a.pull_all(cursor_a).await.unwrap();
    assert!(news_a
        .iter()
        .any(|c| matches!(&c.op, Op::LeadRevoked(r) if r.lead_id == lead)));
    // A fresh replica of office A never receives the lead's personal data.
    let fresh_a = everything(&w.rep_a).await;
    assert!(!fresh_a
        .iter()
        .any(|o| matches!(o, Op::LeadFieldsSet(s) if s.lead_id == lead)));
    // Office B's replicas receive the whole lead: fields and history.
    let (news_b, _) = w.rep_b.pull_all(cursor_b).await.unwrap();
    let ops_b: Vec<_> = news_b.into_iter().map(|c| c.op).collect();
    assert!(ops_b.iter().any(|o| matches!(o,
        Op::LeadFieldsSet(LeadFieldsSet { fields: LeadFields::Identity { name: Some(n), .. }, .. })
        if n == "Ada Lovelace")));
    assert!(ops_b.iter().any(|o| matches!(o,
        Op::LeadFieldsSet(LeadFieldsSet { fields: LeadFields::Office { office: Some(o) }, .. })
        if o == "B")));
    assert!(ops_b
        .iter()
        .any(|o| matches!(o, Op::FollowUpLogged(f) if f.lead_id == lead)));

    // Office A can no longer change the lead, but a call logged offline before the move is kept.
    let r = w
        .rep_a
        .push(
            "ra",
            numbered_from(
                4,
                vec![
                    identity(&lead, "Changed", hlc(chrono::Utc::now(), 9, "ra")),
                    follow_up(&lead, None, "rep_a"),
                ],
            ),
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].code.as_deref(), Some("forbidden_office"));
    assert_eq!(r.results[1].status, PushStatus::Applied);
    // Office B's manager reads the whole history, office A's no longer does.
    let history_b: Vec<FollowUp> = w
        .server
        .http()
        .get(format!("{}/v1/follow-ups", w.server.url))
        .bearer_auth(w.mgr_b.token.expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history_b.iter().filter(|f| f.lead_id == lead).count(), 2);
}

both_backends!(opt_outs_and_opt_ins_are_all_kept, consent_union);
async fn consent_union(options: TestOptions) {
    let w = World::start(options).await;
    let lead = new_lead(&w.rep_a, "ra", 1, "Ada", "ada@example.com").await;
    let (out_id, opt_out) = consent(&lead, ConsentAction::OptOut, None, "rep_a");
    let (_, stale_opt_in) = consent(&lead, ConsentAction::OptIn, None, "mgr_a");
    let (_, informed_opt_in) = consent(&lead, ConsentAction::OptIn, Some(out_id.clone()), "mgr_a");
    w.rep_a
        .push("ra", numbered_from(3, vec![opt_out.clone()]))
        .await
        .unwrap();
    w.mgr_a
        .push("ma", numbered(vec![stale_opt_in, informed_opt_in]))
        .await
        .unwrap();
    // The same event again from another of the rep's replicas.
    w.rep_a
        .push("ra-laptop-2", numbered(vec![opt_out]))
        .await
        .unwrap();
    let events: Vec<ConsentEvent> = everything(&w.rep_a)
        .await
        .into_iter()
        .filter_map(|o| match o {
            Op::ConsentRecorded(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), 3, "union: each event once");
    assert_eq!(
        events
            .iter()
            .filter(|e| e.supersedes.as_deref() == Some(&out_id))
            .count(),
        1
    );
}

both_backends!(erasure_purges_the_server_and_wins, erasure);
async fn erasure(options: TestOptions) {
    let sqlite = options.store.is_none();
    let w = World::start(options).await;
    let intake_key = w.server.intake_key().await.unwrap();
    let registration = IntakeRegistration {
        submission_id: id("sub"),
        kind: RegistrationKind::LicenseKey,
        product: Some("Widget".into()),
        submitted_at: t0(),
        details: switchboard_protocol::RegistrationDetails {
            name: Some("Zebediah Quuxworth".into()),
            company: Some("Quuxworth Holdings".into()),
            email: Some("  Zeb.Quux@Example.COM ".into()),
            phone: Some("030 1234567".into()),
            address: Some("Quuxstrasse 17".into()),
            country: Some("DE".into()),
            ip: Some("203.0.113.77".into()),
            user_agent: Some("QuuxBrowser/9".into()),
            referrer: Some("https://quux.example/".into()),
            pages_visited: vec!["https://shop.example/quux-widget".into()],
            form_version: Some("v3".into()),
        },
    };
    let http = w.server.http();
    let post = |body: &IntakeRegistration| {
        http.post(format!("{}/v1/registrations", w.server.url))
            .bearer_auth(intake_key.expose())
            .json(body)
            .send()
    };
    let accepted: IntakeResponse = post(&registration).await.unwrap().json().await.unwrap();
    assert_eq!(accepted.status, IntakeStatus::Accepted);
    assert_eq!(accepted.office.as_deref(), Some("A"), "routed by country");
    let lead = accepted.lead_id.clone().unwrap();
    let again: IntakeResponse = post(&registration).await.unwrap().json().await.unwrap();
    assert_eq!(again.status, IntakeStatus::Duplicate);

    let pulled = everything(&w.rep_a).await;
    let reg = pulled
        .iter()
        .find_map(|o| match o {
            Op::RegistrationAdded(r) => Some(r.clone()),
            _ => None,
        })
        .expect("the registration reaches office A");
    assert_eq!(
        reg.details.email.as_deref(),
        Some("zeb.quux@example.com"),
        "normalised"
    );
    assert_eq!(reg.details.phone.as_deref(), Some("+49301234567"), "E.164");
    assert_eq!(reg.details.ip.as_deref(), Some("203.0.113.77"));
    w.rep_a
        .push(
            "ra",
            numbered(vec![follow_up(&lead, Some("Zebediah says hi"), "rep_a")]),
        )
        .await
        .unwrap();

    // Office A erases and sends the email's keyed hash (the core's hash with the deployment
    // key); the server adds the hashes of what it holds itself (the phone).
    let key = hex::decode(w.rep_a.login.suppression_key.expose()).unwrap();
    let hashes = vec![switchboard_server::normalize::suppression_hash(
        &key,
        SuppressionKind::Email,
        "zeb.quux@example.com",
    )];
    let erase = Op::LeadErased(LeadErased {
        lead_id: lead.clone(),
        erased_at: chrono::Utc::now(),
        by: "mgr_a".into(),
        suppression_hashes: hashes,
    });
    let r = w.mgr_a.push("ma", numbered(vec![erase])).await.unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");

    // Later pushes touching the person: personal data rejected, a bare call kept.
    let r = w
        .rep_a
        .push(
            "ra",
            numbered_from(
                2,
                vec![
                    identity(&lead, "Zebediah Again", hlc(chrono::Utc::now(), 0, "ra")),
                    follow_up(&lead, Some("Zebediah called back"), "rep_a"),
                ],
            ),
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].code.as_deref(), Some("subject_erased"));
    assert_eq!(r.results[1].status, PushStatus::Applied);
    assert_eq!(r.results[1].code.as_deref(), Some("note_dropped"));

    // Every office hears of the erasure; nobody can pull the person's data any more.
    for client in [&w.rep_a, &w.rep_b, &w.admin] {
        let ops = everything(client).await;
        assert!(ops
            .iter()
            .any(|o| matches!(o, Op::LeadErased(e) if e.lead_id == lead)));
        let text = serde_json::to_string(&ops).unwrap();
        for pii in [
            "Zebediah",
            "Quuxworth",
            "zeb.quux",
            "1234567",
            "203.0.113.77",
            "Quuxstrasse",
        ] {
            assert!(!text.contains(pii), "{pii} still in the change log");
        }
    }
    // A new registration of the same person is suppressed and keeps nothing.
    let mut back = registration.clone();
    back.submission_id = id("sub");
    back.details.email = Some("zeb.quux@example.com".into());
    let suppressed: IntakeResponse = post(&back).await.unwrap().json().await.unwrap();
    assert_eq!(suppressed.status, IntakeStatus::Suppressed);
    let mut by_phone = registration.clone();
    by_phone.submission_id = id("sub");
    by_phone.details.email = None;
    by_phone.details.phone = Some("+49 30 1234567".into());
    let suppressed: IntakeResponse = post(&by_phone).await.unwrap().json().await.unwrap();
    assert_eq!(
        suppressed.status,
        IntakeStatus::Suppressed,
        "the server hashed the phone"
    );
    let erasures: Vec<LeadErased> = everything(&w.rep_b)
        .await
        .into_iter()
        .filter_map(|o| match o {
            Op::LeadErased(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(
        erasures[0].suppression_hashes,
        vec![switchboard_server::normalize::suppression_hash(
            &key,
            SuppressionKind::Email,
            "zeb.quux@example.com",
        )],
        "replicas learn the email's hash; the phone's stays on the server"
    );

    // No table holds the person's data.
    let dump = w
        .server
        .inspect(|tx| {
            let mut all = String::new();
            for table in [
                "lead",
                "record",
                "change_log",
                "receipt",
                "intake_submission",
            ] {
                for row in tx.query(&format!("SELECT * FROM {table}"), &[])? {
                    all.push_str(&format!("{row:?}\n"));
                }
            }
            Ok(all)
        })
        .await
        .unwrap();
    for pii in [
        "Zebediah",
        "Quuxworth",
        "zeb.quux",
        "1234567",
        "203.0.113.77",
        "Quuxstrasse",
        "QuuxBrowser",
    ] {
        assert!(!dump.contains(pii), "{pii} still in a table");
    }
    if sqlite {
        // Nor do the database files, WAL included.
        for entry in std::fs::read_dir(&w.server.data_dir).unwrap() {
            let path = entry.unwrap().path();
            if !path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("central.db")
            {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            for pii in [
                "Zebediah",
                "Quuxworth",
                "zeb.quux",
                "203.0.113.77",
                "Quuxstrasse",
                "QuuxBrowser",
            ] {
                assert!(
                    !bytes.windows(pii.len()).any(|w| w == pii.as_bytes()),
                    "{pii} still in {}",
                    path.display()
                );
            }
        }
    }
}

both_backends!(intake_validates_routes_and_rejects_bad_input, intake);
async fn intake(options: TestOptions) {
    let w = World::start(options).await;
    let key = w.server.intake_key().await.unwrap();
    let http = w.server.http();
    let base = IntakeRegistration {
        submission_id: id("sub"),
        kind: RegistrationKind::InfoRequest,
        product: None,
        submitted_at: t0(),
        details: switchboard_protocol::RegistrationDetails {
            name: Some("Claude Monet".into()),
            company: None,
            email: Some("claude@example.fr".into()),
            phone: None,
            address: None,
            country: Some("FR".into()),
            ip: Some("198.51.100.1".into()),
            user_agent: None,
            referrer: None,
            pages_visited: vec![],
            form_version: None,
        },
    };
    let send = |body: serde_json::Value, key: &str| {
        http.post(format!("{}/v1/registrations", w.server.url))
            .bearer_auth(key)
            .json(&body)
            .send()
    };
    let ok = send(serde_json::to_value(&base).unwrap(), key.expose())
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let ok: IntakeResponse = ok.json().await.unwrap();
    assert_eq!(ok.office.as_deref(), Some("B"));
    assert!(mentions(
        &everything(&w.rep_b).await,
        ok.lead_id.as_deref().unwrap()
    ));
    assert!(!mentions(
        &everything(&w.rep_a).await,
        ok.lead_id.as_deref().unwrap()
    ));

    let before = everything(&w.admin).await.len();
    let mut bad = serde_json::to_value(&base).unwrap();
    bad["submission_id"] = id("sub").into();
    bad["email"] = "not an address".into();
    let r = send(bad, key.expose()).await.unwrap();
    assert_eq!(r.status(), 422);
    let body: ErrorBody = r.json().await.unwrap();
    assert_eq!(body.code, "invalid");
    let r = send(serde_json::to_value(&base).unwrap(), "sbk_wrong")
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = send(serde_json::to_value(&base).unwrap(), w.rep_a.token.expose())
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a user token is not an intake key");
    assert_eq!(everything(&w.admin).await.len(), before, "nothing written");
}

/// Two server instances over one PostgreSQL database, clients alternating between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_postgres_converge() {
    let Some(options) = pg_options("two_instances_on_one_postgres_converge").await else {
        return;
    };
    let w = World::start(options).await;
    let second = w
        .server
        .start_sibling(std::sync::Arc::new(switchboard_domain::SystemClock))
        .await
        .unwrap();
    let via = |client: &switchboard_test_support::ApiClient, i: usize| {
        if i.is_multiple_of(2) {
            client.clone()
        } else {
            client.against(second.http(), &second.url)
        }
    };
    let lead = new_lead(&w.rep_a, "ra", 1, "Ada", "ada@example.com").await;
    // A long-poll on instance 2 hears a push on instance 1.
    let (_, cursor) = w.mgr_a.pull_all(0).await.unwrap();
    let waiter = via(&w.mgr_a, 1);
    let poll = tokio::spawn(async move { waiter.pull(cursor, 100, 20).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pushed = Instant::now();
    w.rep_a
        .push(
            "ra",
            numbered_from(3, vec![follow_up(&lead, None, "rep_a")]),
        )
        .await
        .unwrap();
    let page = poll.await.unwrap().unwrap();
    assert_eq!(page.changes.len(), 1);
    assert!(pushed.elapsed() < Duration::from_secs(2));

    // Concurrent pushes through both instances, then retries through the other one.
    let mut tasks = Vec::new();
    for i in 0..8usize {
        let client = via(&w.rep_a, i);
        let lead = lead.clone();
        tasks.push(tokio::spawn(async move {
            let replica = format!("replica-{i}");
            let ops = numbered((0..10).map(|_| follow_up(&lead, None, "rep_a")).collect());
            let first = client.push(&replica, ops.clone()).await.unwrap();
            assert!(first
                .results
                .iter()
                .all(|r| r.status == PushStatus::Applied));
            (replica, ops)
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        let (replica, ops) = task.await.unwrap();
        let retry = via(&w.rep_a, i + 1).push(&replica, ops).await.unwrap();
        assert!(retry
            .results
            .iter()
            .all(|r| r.status == PushStatus::Duplicate));
    }
    let one = w.mgr_a.pull_all(0).await.unwrap().0;
    let two = via(&w.mgr_a, 1).pull_all(0).await.unwrap().0;
    assert_eq!(one, two, "both instances serve the same log");
    let seqs: Vec<i64> = one.iter().map(|c| c.server_seq).collect();
    assert!(seqs.windows(2).all(|p| p[0] < p[1]));
    let follow_ups = one
        .iter()
        .filter(|c| matches!(c.op, Op::FollowUpLogged(_)))
        .count();
    assert_eq!(follow_ups, 81, "every follow-up exactly once");
    second.stop().await;
}

/// Readers never pass a change that commits later with a lower number: many concurrent
/// writers, a reader following the log, and every change arrives.
async fn no_skipped_changes(options: TestOptions) {
    let w = World::start(options).await;
    let lead = new_lead(&w.rep_a, "ra", 1, "Ada", "ada@example.com").await;
    let reader = w.mgr_a.clone();
    let follow = tokio::spawn(async move {
        let mut cursor = 0;
        let mut seen = std::collections::BTreeSet::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while seen.len() < 2 + 200 && Instant::now() < deadline {
            let page = reader.pull(cursor, 7, 1).await.unwrap();
            for c in &page.changes {
                assert!(seen.insert(c.server_seq), "no change twice");
            }
            cursor = page.next_cursor;
        }
        seen.len()
    });
    let mut tasks = Vec::new();
    for i in 0..20 {
        let client = w.rep_a.clone();
        let lead = lead.clone();
        tasks.push(tokio::spawn(async move {
            let ops = numbered((0..10).map(|_| follow_up(&lead, None, "rep_a")).collect());
            client.push(&format!("w{i}"), ops).await.unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(follow.await.unwrap(), 202, "the follower saw every change");
}
both_backends!(
    concurrent_writers_never_let_a_reader_skip,
    no_skipped_changes
);

/// A server restarted between a push and the next pull: cursors, receipts and tokens survive.
async fn restart(options: TestOptions) {
    let w = World::start(options).await;
    let lead = new_lead(&w.rep_a, "ra", 1, "Ada", "ada@example.com").await;
    let (_, cursor) = w.rep_a.pull_all(0).await.unwrap();
    let pushed = numbered_from(3, vec![follow_up(&lead, None, "rep_a")]);
    w.rep_a.push("ra", pushed.clone()).await.unwrap();
    let World { server, rep_a, .. } = w;
    let again = server
        .start_sibling(std::sync::Arc::new(switchboard_domain::SystemClock))
        .await
        .unwrap();
    server.stop().await;
    let rep_a = rep_a.against(again.http(), &again.url);
    let (news, _) = rep_a.pull_all(cursor).await.unwrap();
    assert_eq!(news.len(), 1, "the pull resumes at the cursor");
    let retry = rep_a.push("ra", pushed).await.unwrap();
    assert_eq!(retry.results[0].status, PushStatus::Duplicate);
    again.stop().await;
}
both_backends!(a_restarted_server_resumes_where_it_stopped, restart);
