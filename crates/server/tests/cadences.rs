//! Cadences on the central store (protocol 3), on SQLite and PostgreSQL alike: an enrolment is
//! advanced only by its owner replica, a stop from another replica of the office beats any
//! advance whatever the order, a website registration matching an intake rule is enrolled once
//! with the rule's replica as owner, and a lead moving office takes its enrolments along
//! stopped.

use crate::support;

use support::*;
use switchboard_protocol::*;
use switchboard_test_support::TestOptions;

fn enrollment(id: &str, lead: &str, owner: &str, step: i64, state: EnrollmentState) -> Op {
    Op::EnrollmentSynced(EnrollmentSynced {
        id: id.into(),
        lead_id: lead.into(),
        cadence_id: "trial".into(),
        version: 1,
        owner_replica: owner.into(),
        step,
        channel: Some(Channel::Phone),
        due_at: (state == EnrollmentState::Active).then(t0),
        state,
        rep: Some("rep_a".into()),
        enrolled_at: t0(),
        enrolled_by: "rep_a".into(),
        ended_at: (state != EnrollmentState::Active).then(t0),
        stop_reason: (state == EnrollmentState::Stopped).then(|| "manual: rep_a".into()),
        changed_by: "rep_a".into(),
    })
}

/// The last state of enrolment `id` that `client` pulls.
async fn pulled(client: &switchboard_test_support::ApiClient, lead: &str) -> Vec<EnrollmentSynced> {
    let mut last: Vec<EnrollmentSynced> = Vec::new();
    for op in everything(client).await {
        if let Op::EnrollmentSynced(e) = op {
            if e.lead_id == lead {
                last.retain(|k| k.id != e.id);
                last.push(e);
            }
        }
    }
    last
}

fn codes(r: &PushResponse) -> Vec<Option<String>> {
    r.results.iter().map(|r| r.code.clone()).collect()
}

async fn cadences(options: TestOptions) {
    let w = World::start(options).await;
    let saved = Op::CadenceSaved(CadenceSaved {
        cadence_id: "trial".into(),
        name: "Trial".into(),
        version: 1,
        steps: vec![
            CadenceStep::Call {
                script: "Introduce the trial".into(),
                outcomes: vec![Outcome::Connected],
            },
            CadenceStep::Email {
                template: "recap".into(),
            },
        ],
        created_at: t0(),
        created_by: "mgr_a".into(),
    });
    let r = w
        .mgr_a
        .push("mgr-laptop", numbered(vec![saved]))
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");

    // Owner and stop rules.
    let lead = new_lead(&w.rep_a, "laptop-1", 1, "Ann", "ann@example.com").await;
    let e = id("enrollment");
    let r = w
        .rep_a
        .push(
            "laptop-2",
            numbered_from(
                10,
                vec![enrollment(
                    &e,
                    &lead,
                    "laptop-1",
                    0,
                    EnrollmentState::Active,
                )],
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        codes(&r),
        [Some("not_owner".into())],
        "a new enrolment names its pusher"
    );
    let r = w
        .rep_a
        .push(
            "laptop-1",
            numbered_from(
                10,
                vec![enrollment(
                    &e,
                    &lead,
                    "laptop-1",
                    0,
                    EnrollmentState::Active,
                )],
            ),
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");
    let r = w
        .rep_a
        .push(
            "laptop-2",
            numbered_from(
                11,
                vec![enrollment(
                    &e,
                    &lead,
                    "laptop-1",
                    1,
                    EnrollmentState::Active,
                )],
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        codes(&r),
        [Some("not_owner".into())],
        "only the owner advances"
    );
    let r = w
        .rep_a
        .push(
            "laptop-2",
            numbered_from(
                12,
                vec![enrollment(
                    &e,
                    &lead,
                    "laptop-1",
                    0,
                    EnrollmentState::Stopped,
                )],
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        r.results[0].status,
        PushStatus::Applied,
        "any laptop stops: {r:?}"
    );
    let r = w
        .rep_a
        .push(
            "laptop-1",
            numbered_from(
                11,
                vec![enrollment(
                    &e,
                    &lead,
                    "laptop-1",
                    1,
                    EnrollmentState::Active,
                )],
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        codes(&r),
        [Some("stale".into())],
        "a stop beats a later advance"
    );
    let states = pulled(&w.mgr_a, &lead).await;
    assert_eq!(states.len(), 1);
    assert_eq!(
        (
            states[0].state,
            states[0].step,
            states[0].owner_replica.as_str()
        ),
        (EnrollmentState::Stopped, 0, "laptop-1")
    );

    // The intake enrols a matching website registration once, owned by the rule's laptop.
    let rule = Op::CadenceRuleAdded(CadenceRuleAdded {
        id: id("rule"),
        cadence_id: "trial".into(),
        kind: Some(RegistrationKind::Trial),
        product: None,
        country: Some("DE".into()),
        office: None,
        created_at: t0(),
        created_by: "mgr_a".into(),
    });
    let r = w
        .mgr_a
        .push("mgr-laptop", numbered_from(2, vec![rule]))
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");
    let key = w.server.intake_key().await.unwrap();
    let mut web_lead = None;
    for (submission, kind, country) in [
        ("web-1", "trial", "DE"),
        ("web-1", "trial", "DE"), // the same submission again
        ("web-2", "trial", "DE"), // the same person again
        ("web-3", "demo", "DE"),  // another kind: no rule
    ] {
        let answer: IntakeResponse = w
            .server
            .http()
            .post(format!("{}/v1/registrations", w.server.url))
            .bearer_auth(key.expose())
            .json(&serde_json::json!({
                "submission_id": submission,
                "kind": kind,
                "submitted_at": t0(),
                "name": "Dee Web",
                "email": if kind == "demo" { "other@example.com" } else { "dee@example.com" },
                "country": country,
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if submission == "web-1" {
            web_lead = answer.lead_id;
        } else if kind == "demo" {
            let other = answer.lead_id.unwrap();
            assert!(
                pulled(&w.rep_a, &other).await.is_empty(),
                "no rule matches a demo"
            );
        }
    }
    let web_lead = web_lead.unwrap();
    let states = pulled(&w.rep_a, &web_lead).await;
    assert_eq!(states.len(), 1, "{states:?}");
    assert_eq!(states[0].owner_replica, "mgr-laptop");
    assert_eq!(
        (states[0].state, states[0].due_at),
        (EnrollmentState::Active, None)
    );
    assert!(states[0].enrolled_by.starts_with("rule:"));
    // Its owner plans it; nobody else may.
    let mut planned = states[0].clone();
    planned.due_at = Some(t0());
    planned.channel = Some(Channel::Phone);
    planned.changed_by = "rep_a".into();
    let r = w
        .rep_a
        .push(
            "laptop-1",
            numbered_from(20, vec![Op::EnrollmentSynced(planned.clone())]),
        )
        .await
        .unwrap();
    assert_eq!(codes(&r), [Some("not_owner".into())]);
    planned.changed_by = "mgr_a".into();
    let r = w
        .mgr_a
        .push(
            "mgr-laptop",
            numbered_from(3, vec![Op::EnrollmentSynced(planned)]),
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");
    assert!(pulled(&w.rep_a, &web_lead).await[0].due_at.is_some());

    // Moving the lead to office B stops its enrolment; B's replicas receive it stopped.
    let r = w
        .admin
        .push(
            "admin-laptop",
            numbered(vec![set(
                &web_lead,
                LeadFields::Office {
                    office: Some("B".into()),
                },
                hlc(chrono::Utc::now(), 0, "admin-laptop"),
            )]),
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");
    let states = pulled(&w.rep_b, &web_lead).await;
    assert_eq!(states.len(), 1, "{states:?}");
    assert_eq!(
        (states[0].state, states[0].stop_reason.as_deref()),
        (EnrollmentState::Stopped, Some("moved_office"))
    );
}

both_backends!(cadences_merge_by_owner_and_stop, cadences);
