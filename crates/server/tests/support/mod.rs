//! Fixtures shared by the server's tests: a world of two offices, operation builders, and a
//! macro that runs one test body against SQLite and PostgreSQL.
#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use switchboard_protocol::*;
use switchboard_test_support::{fresh_pg_url, ApiClient, TestOptions, TestServer};

pub const PASSWORD: &str = "correct horse battery";

/// Runs `$body(options)` once on SQLite and once on PostgreSQL (skipped loudly without a
/// PostgreSQL URL, failing in CI).
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$body(switchboard_test_support::TestOptions::default()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(options) = $crate::support::pg_options(stringify!($name)).await {
                    super::$body(options).await;
                }
            }
        }
    };
}

/// Options for a server on a fresh PostgreSQL schema, if PostgreSQL is configured.
pub async fn pg_options(test: &str) -> Option<TestOptions> {
    fresh_pg_url(test).await.map(|url| TestOptions {
        store: Some(url),
        ..TestOptions::default()
    })
}

/// A server with offices A (Germany) and B (France), a rep and a manager in each, an admin.
pub struct World {
    pub server: TestServer,
    pub rep_a: ApiClient,
    pub mgr_a: ApiClient,
    pub rep_b: ApiClient,
    pub mgr_b: ApiClient,
    pub admin: ApiClient,
}

impl World {
    pub async fn start(options: TestOptions) -> World {
        let server = TestServer::start(options).await.expect("server starts");
        server.add_office("A", "DE").await.unwrap();
        server.add_office("B", "FR").await.unwrap();
        server.add_route("DE", "A").await.unwrap();
        server.add_route("FR", "B").await.unwrap();
        for (name, role, office) in [
            ("rep_a", Role::Rep, Some("A")),
            ("mgr_a", Role::Manager, Some("A")),
            ("rep_b", Role::Rep, Some("B")),
            ("mgr_b", Role::Manager, Some("B")),
            ("admin", Role::Admin, None),
        ] {
            server.add_user(name, role, office, PASSWORD).await.unwrap();
        }
        let login = |n: &'static str| {
            let s = &server;
            async move { s.login(n, PASSWORD).await.expect("login") }
        };
        World {
            rep_a: login("rep_a").await,
            mgr_a: login("mgr_a").await,
            rep_b: login("rep_b").await,
            mgr_b: login("mgr_b").await,
            admin: login("admin").await,
            server,
        }
    }
}

pub fn t0() -> DateTime<Utc> {
    Utc::now() - Duration::hours(1)
}

static COUNTER: AtomicI64 = AtomicI64::new(0);

/// A unique id for test records.
pub fn id(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        COUNTER.fetch_add(1, Ordering::SeqCst),
        uuid::Uuid::new_v4().simple()
    )
}

/// An HLC stamp `millis_offset` ms after `t0()` on `node`.
pub fn hlc(at: DateTime<Utc>, counter: u32, node: &str) -> String {
    format!("{:013}-{:05}-{node}", at.timestamp_millis(), counter)
}

pub fn set(lead: &str, fields: LeadFields, stamp: String) -> Op {
    Op::LeadFieldsSet(LeadFieldsSet {
        lead_id: lead.into(),
        fields,
        hlc: stamp,
        created_at: t0(),
    })
}

pub fn identity(lead: &str, name: &str, stamp: String) -> Op {
    set(
        lead,
        LeadFields::Identity {
            name: Some(name.into()),
            company: Some("Acme".into()),
        },
        stamp,
    )
}

pub fn email(lead: &str, address: &str, stamp: String) -> Op {
    set(
        lead,
        LeadFields::Email {
            email: Some(address.into()),
            email_invalid: false,
        },
        stamp,
    )
}

pub fn office(lead: &str, code: &str, stamp: String) -> Op {
    set(
        lead,
        LeadFields::Office {
            office: Some(code.into()),
        },
        stamp,
    )
}

pub fn follow_up(lead: &str, note: Option<&str>, rep: &str) -> Op {
    Op::FollowUpLogged(FollowUp {
        id: id("fu"),
        lead_id: lead.into(),
        channel: Channel::Phone,
        direction: Direction::Out,
        outcome: Outcome::NoAnswer,
        note: note.map(str::to_string),
        occurred_at: t0(),
        rep: rep.into(),
        next_follow_up_at: None,
    })
}

/// A consent event recorded by `by` (who must be the pushing user).
pub fn consent(
    lead: &str,
    action: ConsentAction,
    supersedes: Option<String>,
    by: &str,
) -> (String, Op) {
    let cid = id("consent");
    (
        cid.clone(),
        Op::ConsentRecorded(ConsentEvent {
            id: cid,
            lead_id: lead.into(),
            scope: ConsentScope::Phone,
            action,
            source: "rep".into(),
            evidence: Some("call".into()),
            occurred_at: t0(),
            supersedes,
            recorded_by: by.into(),
        }),
    )
}

/// Numbers operations 1.. as one push.
pub fn numbered(ops: Vec<Op>) -> Vec<PushOp> {
    numbered_from(1, ops)
}

pub fn numbered_from(first: i64, ops: Vec<Op>) -> Vec<PushOp> {
    ops.into_iter()
        .enumerate()
        .map(|(i, op)| PushOp {
            seq: first + i as i64,
            op,
        })
        .collect()
}

/// Every operation `client` can pull, from the start.
pub async fn everything(client: &ApiClient) -> Vec<Op> {
    client
        .pull_all(0)
        .await
        .expect("pull")
        .0
        .into_iter()
        .map(|c| c.op)
        .collect()
}

/// Whether any pulled operation touches `lead`.
pub fn mentions(ops: &[Op], lead: &str) -> bool {
    ops.iter().any(|o| o.lead_id() == Some(lead))
}

/// Creates a lead in the pusher's office with a name and an email; returns its id.
pub async fn new_lead(
    client: &ApiClient,
    replica: &str,
    seq: i64,
    name: &str,
    mail: &str,
) -> String {
    let lead = id("lead");
    let r = client
        .push(
            replica,
            numbered_from(
                seq,
                vec![
                    identity(&lead, name, hlc(t0(), 0, replica)),
                    email(&lead, mail, hlc(t0(), 1, replica)),
                ],
            ),
        )
        .await
        .expect("push");
    assert!(
        r.results.iter().all(|r| r.status == PushStatus::Applied),
        "{r:?}"
    );
    lead
}
