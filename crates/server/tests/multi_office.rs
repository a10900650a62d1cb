//! Managers of several offices (issue 13, "Managers see their offices"), on both stores through
//! a real HTTPS server: a manager of A and B pulls, pushes to and manages the devices of both
//! offices and nothing of C, from their next request after the admin adds B; taking an office
//! away revokes every device they signed in on; reps, the privacy officer and admins cannot be
//! given a second office; the idle limit is the strictest of the manager's offices; and a store
//! from before migration 0010 keeps every account's office.

use crate::support;

use chrono::Duration;
use reqwest::StatusCode;
use std::sync::Arc;
use support::*;
use switchboard_domain::{Clock, FixedClock};
use switchboard_protocol::*;
use switchboard_server::store::{col_text, schema, Val};
use switchboard_server::{admin, roles};
use switchboard_test_support::{ApiClient, TestOptions};

/// A pull from the start with a raw token: status and body.
async fn pull(w: &World, token: &Secret) -> (StatusCode, String) {
    let r = w
        .server
        .http()
        .get(format!("{}/v1/changes?after=0&limit=1000", w.server.url))
        .bearer_auth(token.expose())
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.text().await.unwrap())
}

fn code(body: &str) -> String {
    serde_json::from_str::<ErrorBody>(body)
        .map(|b| b.code)
        .unwrap_or_default()
}

async fn devices_of(w: &World, client: &ApiClient) -> Vec<Device> {
    let r = w
        .server
        .http()
        .get(format!("{}/v1/devices", w.server.url))
        .bearer_auth(client.token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// Offices A and B of the world plus C (Italy) with its rep.
async fn three_offices(options: TestOptions) -> (World, ApiClient) {
    let w = World::start(options).await;
    w.server.add_office("C", "IT").await.unwrap();
    w.server
        .add_user("rep_c", Role::Rep, Some("C"), PASSWORD)
        .await
        .unwrap();
    let rep_c = w.server.login("rep_c", PASSWORD).await.unwrap();
    (w, rep_c)
}

async fn managers_see_their_offices(options: TestOptions) {
    let (w, rep_c) = three_offices(options).await;
    let lead_a = new_lead(&w.rep_a, "ra", 1, "Ada A", "ada@example.com").await;
    let lead_b = new_lead(&w.rep_b, "rb", 1, "Bea B", "bea@example.com").await;
    let lead_c = new_lead(&rep_c, "rc", 1, "Cid C", "cid@example.com").await;

    let leaves_b = new_lead(&w.rep_b, "rb2", 1, "Lea Leaving", "lea@example.com").await;
    // Before: office A's manager sees office A only.
    let (before, cursor) = w.mgr_a.pull_all(0).await.unwrap();
    let before: Vec<Op> = before.into_iter().map(|c| c.op).collect();
    assert!(mentions(&before, &lead_a) && !mentions(&before, &lead_b));
    assert_eq!(
        w.mgr_a.login.offices.as_deref(),
        Some(&["A".to_string()][..])
    );

    // The admin gives mgr_a office B too: it holds from the next request, same token, and a
    // replica whose cursor is past office B's changes still receives them (copied for mgr_a).
    w.server
        .admin(|tx| roles::add_office(tx, "mgr_a", "B"))
        .await
        .unwrap();
    let (since, _) = w.mgr_a.pull_all(cursor).await.unwrap();
    let since: Vec<Op> = since.into_iter().map(|c| c.op).collect();
    assert!(
        mentions(&since, &lead_b),
        "office B's lead after the cursor"
    );
    assert!(mentions(&since, &leaves_b));
    assert!(!mentions(&since, &lead_c));
    // A lead that leaves office B for C after the add: its copies are no longer served, only
    // its revocation.
    let moved = w
        .admin
        .push(
            "adm",
            numbered(vec![office(
                &leaves_b,
                "C",
                hlc(chrono::Utc::now(), 0, "adm"),
            )]),
        )
        .await
        .unwrap();
    assert_eq!(moved.results[0].status, PushStatus::Applied, "{moved:?}");
    let all = everything(&w.mgr_a).await;
    let about_leaver: Vec<&Op> = all
        .iter()
        .filter(|op| op.lead_id() == Some(leaves_b.as_str()))
        .collect();
    assert!(
        !about_leaver.is_empty()
            && about_leaver
                .iter()
                .all(|op| matches!(op, Op::LeadRevoked(_))),
        "{about_leaver:?}"
    );
    let after = everything(&w.mgr_a).await;
    assert!(mentions(&after, &lead_a), "office A's lead");
    assert!(mentions(&after, &lead_b), "office B's lead, now managed");
    assert!(
        !mentions(&after, &lead_c),
        "office C's lead leaked to a manager of A and B"
    );
    // The page's head counts both buckets: a first sync's progress ends where its pull ends.
    let first = w.mgr_a.pull(0, 1, 0).await.unwrap();
    let newest_b = w.rep_b.pull_all(0).await.unwrap().1;
    assert!(first.head_cursor.unwrap_or(0) >= newest_b, "{first:?}");

    // Pushes: office B's lead is the manager's to work on, office C's is not.
    let r = w
        .mgr_a
        .push(
            "ma",
            numbered(vec![
                follow_up(&lead_b, Some("called B"), "mgr_a"),
                follow_up(&lead_c, Some("called C"), "mgr_a"),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");
    assert_eq!(r.results[1].status, PushStatus::Rejected, "{r:?}");
    assert_eq!(r.results[1].code.as_deref(), Some("forbidden_office"));
    // Office B's rep sees the manager's follow-up; office C's rep never sees office B.
    assert!(everything(&w.rep_b)
        .await
        .iter()
        .any(|op| matches!(op, Op::FollowUpLogged(f) if f.lead_id == lead_b && f.rep == "mgr_a")));
    assert!(!mentions(&everything(&rep_c).await, &lead_b));

    // Devices: both offices' users, not office C's.
    let users: Vec<String> = devices_of(&w, &w.mgr_a)
        .await
        .into_iter()
        .map(|d| d.user)
        .collect();
    for user in ["rep_a", "rep_b", "mgr_b", "mgr_a"] {
        assert!(users.iter().any(|u| u == user), "{user} in {users:?}");
    }
    assert!(!users.iter().any(|u| u == "rep_c"), "{users:?}");
    // Office B's history.
    let r = w
        .server
        .http()
        .get(format!("{}/v1/follow-ups?office=B", w.server.url))
        .bearer_auth(w.mgr_a.token.expose())
        .send()
        .await
        .unwrap();
    let history: Vec<FollowUp> = r.json().await.unwrap();
    assert!(history.iter().any(|f| f.lead_id == lead_b), "{history:?}");

    // A new sign-in says which offices; `user list` shows them.
    let again = w.server.login("mgr_a", PASSWORD).await.unwrap();
    assert_eq!(again.login.office.as_deref(), Some("A"));
    assert_eq!(
        again.login.offices,
        Some(vec!["A".to_string(), "B".to_string()])
    );
    let listed = w.server.admin(roles::list).await.unwrap();
    let mgr = listed.iter().find(|a| a.name == "mgr_a").unwrap();
    assert_eq!(mgr.offices, ["A", "B"]);
    let admin_row = listed.iter().find(|a| a.name == "admin").unwrap();
    assert!(admin_row.offices.is_empty());
}
both_backends!(
    a_manager_of_two_offices_sees_both_and_not_a_third,
    managers_see_their_offices
);

async fn only_managers(options: TestOptions) {
    let (w, _) = three_offices(options).await;
    w.server
        .add_user("officer", Role::PrivacyOfficer, None, PASSWORD)
        .await
        .unwrap();
    w.server
        .add_user("privacy_a", Role::Privacy, Some("A"), PASSWORD)
        .await
        .unwrap();
    for (user, says) in [
        ("rep_a", "exactly one office"),
        ("privacy_a", "exactly one office"),
        ("officer", "every office and holds none"),
        ("admin", "every office already"),
    ] {
        let refused = w
            .server
            .admin(move |tx| roles::add_office(tx, user, "B"))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), "invalid", "{user}: {refused}");
        assert!(refused.to_string().contains(says), "{user}: {refused}");
    }
    // The rep still sees office A only.
    let lead_b = new_lead(&w.rep_b, "rb", 1, "Bea B", "bea@example.com").await;
    assert!(!mentions(&everything(&w.rep_a).await, &lead_b));
    // Unknown office, twice the same office, unknown user.
    let unknown = w
        .server
        .admin(|tx| roles::add_office(tx, "mgr_a", "Z"))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), "not_found", "{unknown}");
    let twice = w
        .server
        .admin(|tx| roles::add_office(tx, "mgr_a", "A"))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), "conflict", "{twice}");
    let nobody = w
        .server
        .admin(|tx| roles::add_office(tx, "nobody", "A"))
        .await
        .unwrap_err();
    assert_eq!(nobody.code(), "not_found", "{nobody}");
}
both_backends!(only_managers_hold_several_offices, only_managers);

async fn removal(options: TestOptions) {
    let (w, _) = three_offices(options).await;
    w.server
        .admin(|tx| roles::add_office(tx, "mgr_a", "B"))
        .await
        .unwrap();
    let laptop = w.server.login("mgr_a", PASSWORD).await.unwrap();
    assert_eq!(pull(&w, &laptop.token).await.0, StatusCode::OK);

    // Taking office A (the primary) away revokes both of the manager's devices.
    let now = chrono::Utc::now();
    let revoked = w
        .server
        .admin(move |tx| roles::remove_office(tx, "mgr_a", "A", now))
        .await
        .unwrap();
    assert_eq!(revoked, 2, "the world's session and the laptop");
    for token in [&laptop.token, &w.mgr_a.token] {
        let (status, body) = pull(&w, token).await;
        assert_eq!(
            (status, code(&body).as_str()),
            (StatusCode::UNAUTHORIZED, DEVICE_REVOKED),
            "{body}"
        );
        assert!(body.contains("removed from office A"), "{body}");
    }
    // Signed in again, office B is the only (and primary) one; office A's leads are gone.
    let lead_a = new_lead(&w.rep_a, "ra", 1, "Ada A", "ada@example.com").await;
    let fresh = w.server.login("mgr_a", PASSWORD).await.unwrap();
    assert_eq!(fresh.login.office.as_deref(), Some("B"));
    assert_eq!(fresh.login.offices, Some(vec!["B".to_string()]));
    assert!(!mentions(&everything(&fresh).await, &lead_a));

    // The last office stays; an office the manager does not hold is not found.
    let last = w
        .server
        .admin(move |tx| roles::remove_office(tx, "mgr_a", "B", now))
        .await
        .unwrap_err();
    assert_eq!(last.code(), "invalid", "{last}");
    assert!(last.to_string().contains("last office"), "{last}");
    let not_held = w
        .server
        .admin(move |tx| roles::remove_office(tx, "mgr_a", "C", now))
        .await
        .unwrap_err();
    assert_eq!(not_held.code(), "not_found", "{not_held}");
    assert_eq!(
        pull(&w, &fresh.token).await.0,
        StatusCode::OK,
        "refusals revoke nothing"
    );

    // `user role` makes the account a manager of exactly one office again: dropping B revokes.
    w.server
        .admin(|tx| roles::add_office(tx, "mgr_a", "C"))
        .await
        .unwrap();
    let moved = w
        .server
        .admin(move |tx| roles::set_role(tx, "mgr_a", Role::Manager, Some("C"), now))
        .await
        .unwrap();
    assert!(moved >= 1);
    let (status, body) = pull(&w, &fresh.token).await;
    assert_eq!(code(&body), DEVICE_REVOKED, "{status} {body}");
}
both_backends!(removing_an_office_revokes_the_managers_devices, removal);

async fn idle(options: TestOptions) {
    let clock = FixedClock::at(chrono::Utc::now());
    let (w, _) = three_offices(TestOptions {
        clock: Arc::new(clock.clone()),
        ..options
    })
    .await;
    w.server
        .admin(|tx| admin::set_idle_limit(tx, "A", Some(60)))
        .await
        .unwrap();
    w.server
        .admin(|tx| admin::set_idle_limit(tx, "B", Some(7)))
        .await
        .unwrap();
    let one = w.server.login("mgr_a", PASSWORD).await.unwrap();
    assert_eq!(one.login.expires_at, clock.now() + Duration::days(60));
    w.server
        .admin(|tx| roles::add_office(tx, "mgr_a", "B"))
        .await
        .unwrap();
    let both = w.server.login("mgr_a", PASSWORD).await.unwrap();
    assert_eq!(both.login.expires_at, clock.now() + Duration::days(7));
    // Office C keeps the server's 30 days; with A (60) it is the stricter.
    w.server
        .admin(|tx| roles::add_office(tx, "mgr_b", "C"))
        .await
        .unwrap();
    w.server
        .admin(|tx| admin::set_idle_limit(tx, "B", Some(90)))
        .await
        .unwrap();
    let b_and_c = w.server.login("mgr_b", PASSWORD).await.unwrap();
    assert_eq!(b_and_c.login.expires_at, clock.now() + Duration::days(30));
    // The limit applies to the token already held: idle 8 days past a 7-day office.
    w.server
        .admin(|tx| admin::set_idle_limit(tx, "A", Some(7)))
        .await
        .unwrap();
    clock.advance(Duration::days(8));
    let (status, body) = pull(&w, &both.token).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, TOKEN_EXPIRED),
        "{body}"
    );
    assert!(body.contains("7 days"), "{body}");
}
both_backends!(
    a_managers_idle_limit_is_the_strictest_of_their_offices,
    idle
);

/// A store as a server before migration 0010 left it: no `account_office` table and the schema
/// version one short. Opening it (running the migrations) gives every account its office.
async fn old_store(options: TestOptions) {
    let w = World::start(options).await;
    w.server
        .add_user("officer", Role::PrivacyOfficer, None, PASSWORD)
        .await
        .unwrap();
    let lead_a = new_lead(&w.rep_a, "ra", 1, "Ada A", "ada@example.com").await;
    let before = schema::MIGRATIONS.len() - 1;
    assert_eq!(schema::MIGRATIONS[before].0, "0010_account_offices");
    w.server
        .admin(move |tx| {
            tx.exec("DROP TABLE account_office", &[])?;
            tx.exec(
                "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
                &[Val::Text(before.to_string())],
            )
        })
        .await
        .unwrap();
    w.server.admin(schema::migrate).await.unwrap();
    let rows = w
        .server
        .inspect(|tx| {
            tx.query(
                "SELECT account, office FROM account_office ORDER BY account, office",
                &[],
            )
        })
        .await
        .unwrap();
    let rows: Vec<(String, String)> = rows
        .iter()
        .map(|r| (col_text(r, 0).unwrap(), col_text(r, 1).unwrap()))
        .collect();
    let expected: Vec<(String, String)> = [
        ("mgr_a", "A"),
        ("mgr_b", "B"),
        ("rep_a", "A"),
        ("rep_b", "B"),
    ]
    .iter()
    .map(|(a, o)| (a.to_string(), o.to_string()))
    .collect();
    assert_eq!(rows, expected);
    // The sessions signed in before keep working and see what they saw.
    assert!(mentions(&everything(&w.mgr_a).await, &lead_a));
    assert!(!mentions(&everything(&w.rep_b).await, &lead_a));
    let again = w.server.login("rep_a", PASSWORD).await.unwrap();
    assert_eq!(again.login.offices, Some(vec!["A".to_string()]));
    let officer = w.server.login("officer", PASSWORD).await.unwrap();
    assert_eq!(officer.login.offices, None);
}
both_backends!(a_store_from_before_0010_keeps_every_office, old_store);
