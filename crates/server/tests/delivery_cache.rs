//! The delivery cache (`switchboard_server::delivery_cache`): a page served from an instance's
//! cache is the page built without it, for every actor, cursor and page size; an erasure
//! through one instance is never served from another instance's warm cache; the memory bound
//! holds. On both storage backends.

use crate::support;

use std::sync::Arc;
use support::*;
use switchboard_protocol::packed::{self, PACKED_CONTENT_TYPE};
use switchboard_protocol::*;
use switchboard_server::accounts::{self, Actor};
use switchboard_server::changelog::{self, Own, PageParts};
use switchboard_server::delivery_cache::DeliveryCache;
use switchboard_server::store::{self, Store};
use switchboard_test_support::{ApiClient, TestOptions};

/// A small deterministic generator (xorshift64*), so a failing case can be replayed by seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The actor the server would see for `user`.
async fn actor(w: &World, user: &'static str) -> Actor {
    w.server
        .inspect(move |tx| accounts::account_for_login(tx, user))
        .await
        .unwrap()
        .expect("account")
        .0
}

/// A page of `actor` built in one read transaction, with `cache` or without any.
fn page(
    store: &dyn Store,
    actor: &Actor,
    own: Option<(&str, i64)>,
    after: i64,
    limit: u32,
    cache: Option<&DeliveryCache>,
) -> PageParts {
    // The blocking PostgreSQL client may not run on an async worker as it is.
    tokio::task::block_in_place(|| {
        store::read(store, |tx| {
            let own = own.map(|(replica, through)| Own { replica, through });
            changelog::page_parts_for(tx, actor, own, after, limit, cache)
        })
    })
    .unwrap()
}

/// The packed body of a page, read back as its JSON tree.
fn packed_tree(page: &PageParts) -> serde_json::Value {
    packed::decode_value(&packed::compress(&page.packed()), 1 << 30).unwrap()
}

both_backends!(
    a_page_from_the_cache_is_the_page_built_without_it,
    cached_pages_equal_fresh_ones
);
async fn cached_pages_equal_fresh_ones(options: TestOptions) {
    let w = World::start(options).await;
    w.server
        .add_user("privacy", Role::PrivacyOfficer, None, PASSWORD)
        .await
        .unwrap();
    let users: [(&ApiClient, &'static str); 5] = [
        (&w.rep_a, "rep_a"),
        (&w.mgr_a, "mgr_a"),
        (&w.rep_b, "rep_b"),
        (&w.mgr_b, "mgr_b"),
        (&w.admin, "admin"),
    ];
    let mut actors = Vec::new();
    for (_, name) in users {
        actors.push((name, actor(&w, name).await));
    }
    actors.push(("privacy", actor(&w, "privacy").await));
    let store = w.server.store();
    // One cache shared by every actor (what one instance holds), and one so small that most
    // pages are served partly from it and partly opened (evictions on every fill).
    let warm = DeliveryCache::with_limit(8 << 20);
    let tiny = DeliveryCache::with_limit(6 * 1024);
    let mut rng = Rng(0x5eed_0014_c0de_cafe);
    let mut leads: Vec<(String, usize)> = Vec::new();
    let mut seqs = [1i64; 5];
    let mut compared = 0;
    for round in 0..12 {
        // A few pushes by random users: new leads, notes, moves between offices, a request,
        // an erasure now and then.
        for _ in 0..4 {
            let u = rng.below(5) as usize;
            let (client, name) = users[u];
            let replica = format!("laptop-{name}");
            let mut ops = Vec::new();
            let choice = rng.below(10);
            if leads.is_empty() || choice < 3 {
                let lead = id("lead");
                ops.push(identity(
                    &lead,
                    &format!("Person {round}"),
                    hlc(t0(), 0, &replica),
                ));
                ops.push(email(
                    &lead,
                    &format!("p{}@example.com", rng.next()),
                    hlc(t0(), 1, &replica),
                ));
                if name == "admin" {
                    ops.push(office(&lead, "A", hlc(t0(), 2, &replica)));
                }
                leads.push((lead, u));
            } else {
                let (lead, _) = leads[rng.below(leads.len() as u64) as usize].clone();
                match choice {
                    3..=6 => {
                        for n in 0..1 + rng.below(4) {
                            ops.push(follow_up(&lead, Some(&format!("note {round}.{n}")), name));
                        }
                    }
                    7 | 8 => {
                        let to = if rng.below(2) == 0 { "A" } else { "B" };
                        let stamp = hlc(t0() + chrono::Duration::seconds(round), 3, &replica);
                        ops.push(office(&lead, to, stamp));
                    }
                    _ => ops.push(Op::LeadErased(LeadErased {
                        lead_id: lead.clone(),
                        erased_at: t0(),
                        by: name.into(),
                        suppression_hashes: vec![],
                    })),
                }
            }
            let first = seqs[u];
            seqs[u] += ops.len() as i64;
            // Refusals (a rep touching another office's lead) are part of the mix.
            client
                .push(&replica, numbered_from(first, ops))
                .await
                .unwrap();
        }
        let head = w
            .server
            .inspect(|tx| tx.query_opt("SELECT MAX(server_seq) FROM change_log", &[]))
            .await
            .unwrap()
            .and_then(|r| store::col_int(&r, 0))
            .unwrap_or(0);
        // Every actor, at random cursors, page sizes and own-change filters.
        for (name, actor) in &actors {
            for _ in 0..4 {
                let after = if rng.below(3) == 0 {
                    0
                } else {
                    rng.below(head as u64 + 1) as i64
                };
                let limit = [1, 3, 25, MAX_PAGE][rng.below(4) as usize];
                let replica = format!("laptop-{name}");
                let own = (rng.below(2) == 0).then_some((replica.as_str(), rng.below(40) as i64));
                let fresh = page(&*store, actor, own, after, limit, None);
                for cache in [&warm, &tiny] {
                    // Twice: the first fills, the second is served from what it filled.
                    for _ in 0..2 {
                        let cached = page(&*store, actor, own, after, limit, Some(cache));
                        assert_eq!(
                            cached.json(),
                            fresh.json(),
                            "{name} after {after} limit {limit} own {own:?}"
                        );
                        let tree: serde_json::Value = serde_json::from_str(&fresh.json()).unwrap();
                        assert_eq!(packed_tree(&cached), tree, "{name} after {after}");
                        assert!(cache.bytes() <= cache.limit(), "{}", cache.bytes());
                        compared += 1;
                    }
                }
            }
        }
    }
    assert!(compared >= 500, "{compared}");
    assert!(!warm.is_empty() && !tiny.is_empty());
    // The typed page (`page_for`) reads the same changes the cached JSON carries.
    let (_, admin) = &actors[4];
    let typed = tokio::task::block_in_place(|| {
        store::read(&*store, |tx| {
            changelog::page_for(tx, admin, None, 0, MAX_PAGE)
        })
    })
    .unwrap();
    let cached: ChangesPage =
        serde_json::from_str(&page(&*store, admin, None, 0, MAX_PAGE, Some(&warm)).json()).unwrap();
    assert_eq!(cached, typed);
}

/// `GET /v1/changes` of one whole page, asking for `accept` (JSON when none); fails unless 2xx.
async fn changes_response(
    client: &ApiClient,
    after: i64,
    accept: Option<&str>,
) -> reqwest::Response {
    let mut request = client.http.get(format!(
        "{}/v1/changes?after={after}&limit={MAX_PAGE}",
        client.base
    ));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request
        .bearer_auth(client.token.expose())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response
}

/// `GET /v1/changes` in the packed form, as `switchboard_sync::Client` asks for it.
async fn pull_packed(client: &ApiClient, after: i64) -> ChangesPage {
    let response = changes_response(client, after, Some(PACKED_CONTENT_TYPE)).await;
    assert_eq!(response.headers()["content-type"], PACKED_CONTENT_TYPE);
    packed::decode(&response.bytes().await.unwrap(), 1 << 30).unwrap()
}

/// `GET /v1/changes` as JSON text.
async fn pull_text(client: &ApiClient, after: i64) -> String {
    changes_response(client, after, None)
        .await
        .text()
        .await
        .unwrap()
}

both_backends!(
    an_erasure_on_one_instance_is_not_served_from_another_instances_cache,
    erasure_across_instances
);
async fn erasure_across_instances(options: TestOptions) {
    let w = World::start(options).await;
    let b = w
        .server
        .start_sibling(Arc::new(switchboard_domain::SystemClock))
        .await
        .expect("second instance");
    let rep_a_at_b = b.login("rep_a", PASSWORD).await.unwrap();
    let mgr_a_at_b = b.login("mgr_a", PASSWORD).await.unwrap();

    // Through instance A: a person with a note, and another who stays.
    let lead = new_lead(
        &w.rep_a,
        "laptop-1",
        1,
        "Grace Erasable",
        "grace@example.com",
    )
    .await;
    let kept = new_lead(&w.rep_a, "laptop-1", 3, "Kept Person", "kept@example.com").await;
    let noted = w
        .rep_a
        .push(
            "laptop-1",
            numbered_from(
                5,
                vec![
                    follow_up(&lead, Some("secret-note-of-grace"), "rep_a"),
                    follow_up(&kept, Some("note-that-stays"), "rep_a"),
                ],
            ),
        )
        .await
        .unwrap();
    assert!(noted
        .results
        .iter()
        .all(|r| r.status == PushStatus::Applied));

    // Instance B serves the office's pulls and so holds the person's changes, opened.
    let packed_page = pull_packed(&rep_a_at_b, 0).await;
    let json_page = pull_text(&mgr_a_at_b, 0).await;
    assert!(json_page.contains("secret-note-of-grace"), "{json_page}");
    assert_eq!(
        packed_page,
        serde_json::from_str::<ChangesPage>(&pull_text(&rep_a_at_b, 0).await).unwrap(),
        "the packed page from the cache reads as the JSON page"
    );
    let warm = b.state.delivery.len();
    let generation = b.state.delivery.generation();
    assert!(warm >= 6, "B's cache holds the office's changes: {warm}");
    assert_eq!(w.server.state.delivery.len(), 0, "A served no pull");

    // The erasure commits through instance A.
    let erased = w
        .mgr_a
        .push(
            "laptop-2",
            numbered(vec![Op::LeadErased(LeadErased {
                lead_id: lead.clone(),
                erased_at: t0(),
                by: "mgr_a".into(),
                suppression_hashes: vec![],
            })]),
        )
        .await
        .unwrap();
    assert_eq!(erased.results[0].status, PushStatus::Applied, "{erased:?}");

    // B's next pulls, from the start, in both forms: nothing of the person but the erasure.
    let after_json = pull_text(&rep_a_at_b, 0).await;
    for text in [
        "secret-note-of-grace",
        "Grace Erasable",
        "grace@example.com",
    ] {
        assert!(!after_json.contains(text), "{text} served after erasure");
    }
    assert!(after_json.contains("note-that-stays"), "{after_json}");
    let after_packed = pull_packed(&mgr_a_at_b, 0).await;
    let about_lead: Vec<_> = after_packed
        .changes
        .iter()
        .filter(|c| c.op.lead_id() == Some(lead.as_str()))
        .collect();
    assert!(
        about_lead.iter().all(|c| matches!(c.op, Op::LeadErased(_))) && !about_lead.is_empty(),
        "{about_lead:?}"
    );
    // And B read the erasure's generation with its next page, dropping what it held.
    assert!(b.state.delivery.generation() > generation);
    b.stop().await;
}

both_backends!(
    pulls_racing_erasures_never_serve_an_erased_person_after_the_erasure_commits,
    pulls_racing_erasures
);
async fn pulls_racing_erasures(options: TestOptions) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;
    let w = World::start(options).await;
    let b = w
        .server
        .start_sibling(Arc::new(switchboard_domain::SystemClock))
        .await
        .expect("second instance");
    let mut people = Vec::new();
    for n in 0..5 {
        let lead = new_lead(
            &w.rep_a,
            "laptop-1",
            1 + 3 * n,
            &format!("Racer {n}"),
            &format!("racer{n}@example.com"),
        )
        .await;
        let noted = w
            .rep_a
            .push(
                "laptop-1",
                numbered_from(
                    3 + 3 * n,
                    vec![follow_up(
                        &lead,
                        Some(&format!("racing-secret-{n}")),
                        "rep_a",
                    )],
                ),
            )
            .await
            .unwrap();
        assert_eq!(noted.results[0].status, PushStatus::Applied);
        people.push(lead);
    }
    // Replicas of office A keep pulling from instance B, both forms, from the start.
    let stop = Arc::new(AtomicBool::new(false));
    let mut pullers = Vec::new();
    for p in 0..4 {
        let client = b
            .login(if p % 2 == 0 { "rep_a" } else { "mgr_a" }, PASSWORD)
            .await
            .unwrap();
        let stop = stop.clone();
        pullers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                let text = if p < 2 {
                    pull_text(&client, 0).await
                } else {
                    serde_json::to_string(&pull_packed(&client, 0).await).unwrap()
                };
                seen.push((started, text));
            }
            seen
        }));
    }
    // Through instance A, one erasure after another while they pull.
    let mut committed = Vec::new();
    for (n, lead) in people.iter().enumerate() {
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        let erased = w
            .mgr_a
            .push(
                "laptop-2",
                numbered_from(
                    1 + n as i64,
                    vec![Op::LeadErased(LeadErased {
                        lead_id: lead.clone(),
                        erased_at: t0(),
                        by: "mgr_a".into(),
                        suppression_hashes: vec![],
                    })],
                ),
            )
            .await
            .unwrap();
        assert_eq!(erased.results[0].status, PushStatus::Applied, "{erased:?}");
        committed.push(Instant::now());
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    stop.store(true, Ordering::SeqCst);
    let mut after_some_erasure = 0;
    let mut before_any = 0;
    for puller in pullers {
        for (started, text) in puller.await.unwrap() {
            for (n, done) in committed.iter().enumerate() {
                if started > *done {
                    after_some_erasure += 1;
                    assert!(
                        !text.contains(&format!("racing-secret-{n}"))
                            && !text.contains(&format!("racer{n}@example.com")),
                        "person {n} served by a pull started after the erasure committed"
                    );
                }
            }
            if started < committed[0] && text.contains("racing-secret-0") {
                before_any += 1;
            }
        }
    }
    // The race was real: pulls saw the people before and pulls ran after each erasure.
    assert!(
        before_any > 0 && after_some_erasure > 10,
        "{before_any} {after_some_erasure}"
    );
    b.stop().await;
}
