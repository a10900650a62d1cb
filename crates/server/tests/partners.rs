//! Partners and disclosures through a real HTTPS server: an admin registers a partner and every
//! replica learns it; a rep's share is recorded on its laptop, pushed, and reaches the manager's
//! replica of the same office — and no other office.

use crate::support;

use std::sync::Arc;
use support::*;
use switchboard_core::clock::new_id;
use switchboard_core::leads::{self, NewLead};
use switchboard_core::partners::{self, NewPartner, PartnerKind, TransferBasis};
use switchboard_core::{disclosure, replica, share, FixedClock, Store};
use switchboard_protocol::*;
use switchboard_server::admin;
use switchboard_test_support::TestOptions;

fn nordic() -> Partner {
    let new = NewPartner {
        name: "Nordic Resale".into(),
        kind: PartnerKind::Reseller,
        country: "NO".into(),
        basis: TransferBasis::NoneNeeded,
        fields: partners::parse_fields("name,email").unwrap(),
    };
    partners::validate(&new, "admin", t0()).unwrap()
}

/// A laptop: a core store that applies what `client` pulls.
fn laptop() -> Store {
    Store::open_in_memory(Arc::new(FixedClock::at(t0()))).unwrap()
}

async fn pull_into(store: &mut Store, client: &switchboard_test_support::ApiClient) {
    let (changes, cursor) = client.pull_all(0).await.expect("pull");
    replica::apply_page(store.conn_mut(), &changes, cursor).unwrap();
}

both_backends!(partners_and_disclosures_sync, partners_sync);
async fn partners_sync(options: TestOptions) {
    let w = World::start(options).await;
    let partner = nordic();
    let p = partner.clone();
    w.server
        .admin(move |tx| admin::add_partner(tx, &p))
        .await
        .unwrap();
    let p = partner.clone();
    let again = w.server.admin(move |tx| admin::add_partner(tx, &p)).await;
    assert!(again.is_err(), "names are unique");

    // Every office learns the partner.
    for client in [&w.rep_a, &w.rep_b] {
        let ops = everything(client).await;
        assert!(
            ops.contains(&Op::PartnerRegistered(partner.clone())),
            "{ops:?}"
        );
    }
    // A replica cannot register one.
    let pushed = w
        .rep_a
        .push("ra", numbered(vec![Op::PartnerRegistered(partner.clone())]))
        .await
        .unwrap();
    assert_eq!(pushed.results[0].code.as_deref(), Some("server_only"));

    // Rep A's laptop: learns the partner by sync, holds a lead, shares it.
    let mut rep = laptop();
    pull_into(&mut rep, &w.rep_a).await;
    assert_eq!(partners::list(rep.conn()).unwrap(), vec![partner.clone()]);
    let lead_id = new_id(t0());
    rep.with_tx(|tx| {
        leads::insert(
            tx,
            &lead_id,
            &NewLead {
                office: Some("A".into()),
                name: Some("Ada Lovelace".into()),
                email: Some("ada@example.com".into()),
                phone: Some("+4930123456".into()),
                country: Some("DE".into()),
                ..NewLead::default()
            },
            t0(),
        )
    })
    .unwrap();
    let shared = rep
        .with_tx(|tx| {
            share::share(
                tx,
                std::slice::from_ref(&lead_id),
                "Nordic Resale",
                "rep_a",
                t0(),
            )
        })
        .unwrap();
    assert_eq!(shared.disclosures.len(), 1);
    let ops = replica::pending_ops(rep.conn(), 100).unwrap();
    assert!(ops
        .iter()
        .any(|(_, op)| matches!(op, Op::DisclosureRecorded(d) if d.lead_id == lead_id)));
    let push = ops
        .iter()
        .map(|(seq, op)| PushOp {
            seq: *seq,
            op: op.clone(),
        })
        .collect();
    let result = w.rep_a.push("rep-a-laptop", push).await.unwrap();
    assert!(
        result
            .results
            .iter()
            .all(|r| r.status == PushStatus::Applied),
        "{result:?}"
    );

    // The manager of office A sees it on the lead's timeline; office B never hears of it.
    let mut manager = laptop();
    pull_into(&mut manager, &w.mgr_a).await;
    let ledger = disclosure::for_lead(manager.conn(), &lead_id).unwrap();
    assert_eq!(ledger, shared.disclosures);
    assert_eq!(ledger[0].fields, vec![ShareField::Name, ShareField::Email]);
    let other = everything(&w.mgr_b).await;
    assert!(!mentions(&other, &lead_id));
    assert!(other.contains(&Op::PartnerRegistered(partner)));
}

both_backends!(
    feedback_opt_out_reaches_another_replica_within_seconds,
    feedback_latency
);
/// The measurement: an email service's unsubscribe imported on the admin's laptop at
/// head office, until the rep's online laptop in office A refuses email to the person.
async fn feedback_latency(options: TestOptions) {
    use std::time::{Duration, Instant};
    use switchboard_core::{feedback, gate};

    let w = World::start(options).await;
    let mut rep = laptop();
    let lead_id = new_id(t0());
    rep.with_tx(|tx| {
        leads::insert(
            tx,
            &lead_id,
            &NewLead {
                office: Some("A".into()),
                name: Some("Ada Lovelace".into()),
                email: Some("ada@example.com".into()),
                country: Some("DE".into()),
                ..NewLead::default()
            },
            t0(),
        )
    })
    .unwrap();
    let push: Vec<PushOp> = replica::pending_ops(rep.conn(), 100)
        .unwrap()
        .into_iter()
        .map(|(seq, op)| PushOp { seq, op })
        .collect();
    w.rep_a.push("rep-a-laptop", push).await.unwrap();
    let (changes, mut cursor) = w.rep_a.pull_all(0).await.unwrap();
    replica::apply_page(rep.conn_mut(), &changes, cursor).unwrap();
    let mut head_office = laptop();
    pull_into(&mut head_office, &w.admin).await;
    let at = t0() + chrono::Duration::hours(1);
    let email_allowed = |store: &Store| {
        let lead = leads::get(store.conn(), &lead_id).unwrap();
        gate::check(store.conn(), &lead, Channel::Email, at)
            .unwrap()
            .is_allowed()
    };
    assert!(email_allowed(&rep));

    let watch = async {
        loop {
            let page = w.rep_a.pull(cursor, 500, 10).await.unwrap();
            replica::apply_page(rep.conn_mut(), &page.changes, page.next_cursor).unwrap();
            cursor = page.next_cursor;
            if !email_allowed(&rep) {
                return Instant::now();
            }
        }
    };
    let import = async {
        // Let the rep's laptop settle into its long poll first.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        let file =
            "Email Address,Event,Timestamp\nada@example.com,unsubscribe,2026-03-01 12:00:00\n";
        let report = head_office
            .with_tx(|tx| feedback::import(tx, file.as_bytes(), "mailchimp", "admin", at))
            .unwrap();
        assert_eq!(report.opted_out, 1);
        let push: Vec<PushOp> = replica::pending_ops(head_office.conn(), 100)
            .unwrap()
            .into_iter()
            .map(|(seq, op)| PushOp { seq, op })
            .collect();
        let result = w.admin.push("head-office-laptop", push).await.unwrap();
        assert!(
            result
                .results
                .iter()
                .all(|r| r.status == PushStatus::Applied),
            "{result:?}"
        );
        started
    };
    let (enforced, started) = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::join!(watch, import)
    })
    .await
    .expect("the opt-out reached the rep's laptop");
    let latency = enforced.duration_since(started);
    eprintln!("feedback import → opt-out enforced on another office's replica: {latency:?}");
    assert!(latency < Duration::from_secs(5), "{latency:?}");
}
