//! The public one-click unsubscribe endpoint on a real HTTPS server, SQLite and PostgreSQL: keys
//! handed out at sign-in (office accounts only, and only with a public URL), GET changing
//! nothing, the one-click POST recording one server-signed opt-out of email that the office
//! pulls, replays recording nothing more, an opt-in followed by a new click recording again,
//! erased people and near-miss tokens changing nothing with the same page, a rotated key's
//! old links still working, a moved lead's old links too, and the tight body limit.

use crate::support;

use reqwest::StatusCode;
use support::*;
use switchboard_domain::unsubscribe as token;
use switchboard_protocol::*;
use switchboard_test_support::{TestOptions, TestServer};

/// The key an account received at sign-in: (key id, key bytes).
fn key_of(client: &switchboard_test_support::ApiClient) -> (String, Vec<u8>) {
    let key = client
        .login
        .unsubscribe
        .as_ref()
        .expect("an unsubscribe key");
    (key.key_id.clone(), hex::decode(key.key.expose()).unwrap())
}

fn link(server: &TestServer, key: &(String, Vec<u8>), lead: &str) -> String {
    format!(
        "{}/v1/unsubscribe/{}",
        server.url,
        token::make(&key.0, &key.1, lead).unwrap()
    )
}

async fn post(server: &TestServer, url: &str, body: &str) -> (StatusCode, String) {
    let r = server
        .http()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// The opt-outs of email an unsubscribe link recorded for `lead`, as `client` pulls them.
async fn unsubscribes(
    client: &switchboard_test_support::ApiClient,
    lead: &str,
) -> Vec<ConsentEvent> {
    everything(client)
        .await
        .into_iter()
        .filter_map(|op| match op {
            Op::ConsentRecorded(c) if c.lead_id == lead && c.source == "email unsubscribe" => {
                Some(c)
            }
            _ => None,
        })
        .collect()
}

async fn one_click_opts_out_once(options: TestOptions) {
    let w = World::start(options).await;
    assert!(
        w.admin.login.unsubscribe.is_none(),
        "an account of no office"
    );
    let key_a = key_of(&w.rep_a);
    assert_eq!(key_of(&w.mgr_a), key_a, "one key per office");
    assert_ne!(key_of(&w.rep_b).0, key_a.0);
    let base = &w.rep_a.login.unsubscribe.as_ref().unwrap().link_base;
    assert_eq!(base, &format!("{}/v1/unsubscribe/", w.server.url));

    let lead = new_lead(&w.rep_a, "laptop-a", 1, "Ada", "ada@example.com").await;
    let url = link(&w.server, &key_a, &lead);

    // GET: a page with the button; nothing recorded.
    let page = w.server.http().get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("One-Click"));
    // A POST without the one-click body records nothing either.
    let (status, _) = post(&w.server, &url, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(unsubscribes(&w.mgr_a, &lead).await.is_empty());

    // An online replica of the office long-polls; the click wakes it.
    let (_, cursor) = w.mgr_a.pull_all(0).await.unwrap();
    let listener = w.mgr_a.clone();
    let listening = tokio::spawn(async move { listener.pull(cursor, 100, 20).await.unwrap() });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let clicked = std::time::Instant::now();
    let (status, done) = post(&w.server, &url, ONE_CLICK_BODY).await;
    assert_eq!(status, StatusCode::OK);
    let heard = listening.await.unwrap();
    println!(
        "one-click POST to a long-polling replica receiving the opt-out: {} ms",
        clicked.elapsed().as_millis()
    );
    assert!(
        heard.changes.iter().any(|c| matches!(&c.op,
            Op::ConsentRecorded(e) if e.lead_id == lead && e.source == "email unsubscribe")),
        "{heard:?}"
    );
    let events = unsubscribes(&w.mgr_a, &lead).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(
        (e.scope, e.action, e.recorded_by.as_str()),
        (
            ConsentScope::Email,
            ConsentAction::OptOut,
            "switchboard-server"
        )
    );
    assert!(e.evidence.as_deref().unwrap().contains(&key_a.0));
    // Office B never sees it.
    assert!(unsubscribes(&w.rep_b, &lead).await.is_empty());

    // A replay and a multipart click record nothing more, and answer the same page.
    assert_eq!(
        post(&w.server, &url, ONE_CLICK_BODY).await,
        (StatusCode::OK, done.clone())
    );
    let multipart = "--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n";
    let r = w
        .server
        .http()
        .post(&url)
        .header("content-type", "multipart/form-data; boundary=b")
        .body(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), done);
    assert_eq!(unsubscribes(&w.mgr_a, &lead).await.len(), 1);

    // The person opts in again (having seen the opt-out); a new click opts out again.
    let opt_in = Op::ConsentRecorded(ConsentEvent {
        id: id("optin"),
        lead_id: lead.clone(),
        scope: ConsentScope::Email,
        action: ConsentAction::OptIn,
        source: "rep".into(),
        evidence: Some("asked on the phone".into()),
        occurred_at: chrono::Utc::now(),
        supersedes: Some(e.id.clone()),
        recorded_by: "rep_a".into(),
    });
    let r = w
        .rep_a
        .push("laptop-a", numbered_from(3, vec![opt_in]))
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");
    post(&w.server, &url, ONE_CLICK_BODY).await;
    assert_eq!(unsubscribes(&w.mgr_a, &lead).await.len(), 2);

    // Near misses of the good token, one character changed or cut: the same page, nothing new.
    let other = new_lead(&w.rep_a, "laptop-a", 10, "Bob", "bob@example.com").await;
    let other_good = link(&w.server, &key_a, &other);
    let other_token = other_good.rsplit('/').next().unwrap();
    for at in 0..other_token.len() {
        let mut bytes = other_token.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
        let changed = String::from_utf8(bytes).unwrap();
        let cut = &other_token[..at];
        for bad in [changed.as_str(), cut] {
            let url = format!("{}/v1/unsubscribe/{bad}", w.server.url);
            let answer = post(&w.server, &url, ONE_CLICK_BODY).await;
            assert_eq!(answer, (StatusCode::OK, done.clone()), "{bad}");
        }
    }
    assert!(unsubscribes(&w.mgr_a, &other).await.is_empty());

    // Office B's key makes no token for office A's lead.
    let forged = link(&w.server, &key_of(&w.rep_b), &other);
    assert_eq!(post(&w.server, &forged, ONE_CLICK_BODY).await.1, done);
    assert!(unsubscribes(&w.admin, &other).await.is_empty());

    // A lead the laptop made and mailed before pushing it: the click is kept, and the lead's
    // fields join it when the laptop pushes.
    let unpushed = id("lead");
    post(
        &w.server,
        &link(&w.server, &key_a, &unpushed),
        ONE_CLICK_BODY,
    )
    .await;
    assert_eq!(unsubscribes(&w.mgr_a, &unpushed).await.len(), 1);
    let r = w
        .rep_a
        .push(
            "laptop-a",
            numbered_from(
                20,
                vec![identity(
                    &unpushed,
                    "Una",
                    hlc(chrono::Utc::now(), 0, "laptop-a"),
                )],
            ),
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");
    assert!(unsubscribes(&w.rep_b, &unpushed).await.is_empty());

    // Bodies over 1 KiB are refused before anything is read into a transaction.
    let (status, _) = post(&w.server, &other_good, &"x".repeat(2048)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(unsubscribes(&w.admin, &other).await.is_empty());
}

both_backends!(
    one_click_opts_out_once_and_nothing_else,
    one_click_opts_out_once
);

async fn old_links_keep_working(options: TestOptions) {
    let w = World::start(options).await;
    let old_key = key_of(&w.rep_a);
    let lead = new_lead(&w.rep_a, "laptop-a", 1, "Ada", "ada@example.com").await;
    let moved = new_lead(&w.rep_a, "laptop-a", 3, "Max", "max@example.com").await;
    let erased = new_lead(&w.rep_a, "laptop-a", 5, "Eve", "eve@example.com").await;
    let old_link = link(&w.server, &old_key, &lead);
    let moved_link = link(&w.server, &old_key, &moved);
    let erased_link = link(&w.server, &old_key, &erased);

    // A rotation: new logins get the new key; links made with the old one still work.
    let new_id = w
        .server
        .admin(|tx| switchboard_server::unsubscribe::rotate(tx, "A", chrono::Utc::now()))
        .await
        .unwrap();
    let again = w.server.login("rep_a", PASSWORD).await.unwrap();
    assert_eq!(key_of(&again).0, new_id);
    assert_ne!(new_id, old_key.0);
    post(&w.server, &old_link, ONE_CLICK_BODY).await;
    assert_eq!(unsubscribes(&w.mgr_a, &lead).await.len(), 1);

    // A lead moved to office B keeps the links its office A mail carried; B's replicas pull it.
    let r = w
        .admin
        .push(
            "laptop-admin",
            numbered(vec![office(
                &moved,
                "B",
                hlc(chrono::Utc::now(), 0, "laptop-admin"),
            )]),
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");
    post(&w.server, &moved_link, ONE_CLICK_BODY).await;
    assert_eq!(unsubscribes(&w.mgr_b, &moved).await.len(), 1);

    // An erased person's link answers the same page and records nothing.
    let erase = Op::LeadErased(LeadErased {
        lead_id: erased.clone(),
        erased_at: chrono::Utc::now(),
        by: "mgr_a".into(),
        suppression_hashes: vec![],
    });
    // (Carried out by the office's manager: a rep records erasure requests only.)
    let r = w
        .mgr_a
        .push("manager-a", numbered_from(1, vec![erase]))
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");
    let (_, done) = post(&w.server, &old_link, ONE_CLICK_BODY).await;
    assert_eq!(post(&w.server, &erased_link, ONE_CLICK_BODY).await.1, done);
    assert!(unsubscribes(&w.admin, &erased).await.is_empty());
}

both_backends!(rotated_moved_and_erased, old_links_keep_working);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_public_url_nobody_gets_a_key() {
    let server = TestServer::start(TestOptions {
        public_url: false,
        ..TestOptions::default()
    })
    .await
    .unwrap();
    server.add_office("A", "DE").await.unwrap();
    server
        .add_user("rep_a", Role::Rep, Some("A"), PASSWORD)
        .await
        .unwrap();
    let rep = server.login("rep_a", PASSWORD).await.unwrap();
    assert!(rep.login.unsubscribe.is_none());
}
