//! Property: random operations on three replicas of one office, synced in random interleavings,
//! converge and keep the invariants — follow-ups are never lost, an opt-out holds unless an
//! opt-in names it, erasure is final. A bounded number of cases keeps this well under a minute.

use crate::sync_support;

use proptest::prelude::*;
use std::collections::BTreeSet;
use switchboard_core::protocol::ConsentScope;
use sync_support::{Hub, Replica};

#[derive(Debug, Clone)]
enum Action {
    AddLead(usize),
    Call(usize, usize),
    OptOut(usize, usize),
    OptIn(usize, usize),
    Rename(usize, usize),
    Erase(usize, usize),
    Sync(usize),
}

fn action() -> impl Strategy<Value = Action> {
    let who = 0..3usize;
    let lead = 0..6usize;
    prop_oneof![
        2 => who.clone().prop_map(Action::AddLead),
        4 => (who.clone(), lead.clone()).prop_map(|(w, l)| Action::Call(w, l)),
        2 => (who.clone(), lead.clone()).prop_map(|(w, l)| Action::OptOut(w, l)),
        1 => (who.clone(), lead.clone()).prop_map(|(w, l)| Action::OptIn(w, l)),
        2 => (who.clone(), lead.clone()).prop_map(|(w, l)| Action::Rename(w, l)),
        1 => (who.clone(), lead.clone()).prop_map(|(w, l)| Action::Erase(w, l)),
        4 => who.prop_map(Action::Sync),
    ]
}

fn leads(r: &Replica) -> Vec<String> {
    r.store
        .conn()
        .prepare("SELECT id FROM lead ORDER BY id")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn erased(r: &Replica, lead: &str) -> bool {
    r.count(&format!(
        "SELECT count(*) FROM lead WHERE id = '{lead}' AND status = 'erased'"
    )) == 1
}

/// The replicated state of people who are not erased, and the erased skeletons whole.
fn live(r: &Replica) -> sync_support::Snapshot {
    let erased: BTreeSet<String> = leads(r).into_iter().filter(|l| erased(r, l)).collect();
    let keep = |row: &String| !erased.iter().any(|l| row.contains(l.as_str()));
    let s = r.snapshot();
    sync_support::Snapshot {
        leads: s.leads.into_iter().filter(keep).collect(),
        follow_ups: s.follow_ups.into_iter().filter(keep).collect(),
        consent: s.consent.into_iter().filter(keep).collect(),
        // Every replica holds the same skeleton of an erased person, column for column.
        erased: s.erased,
    }
}

/// Opt-outs of the phone (own scope or `all`) that still hold by the rule of DESIGN.md, worked
/// out here from the raw events without the core's `consent::derive`: an opt-out is lifted by an
/// opt-in that names it, or by a renewal (an opt-out naming it) that is itself lifted; an opt-in
/// that named an older opt-out than the latest lifts nothing newer.
fn holding_phone_opt_outs(r: &Replica, lead: &str) -> Vec<String> {
    let events: Vec<(String, String, String, Option<String>)> = r
        .store
        .conn()
        .prepare("SELECT id, action, scope, supersedes FROM consent_event WHERE lead_id = ?1")
        .unwrap()
        .query_map([lead], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let mut lifted: BTreeSet<&str> = events
        .iter()
        .filter(|(_, action, _, _)| action == "opt_in")
        .filter_map(|(_, _, _, named)| named.as_deref())
        .collect();
    // Renewal chains: a lifted renewal lifts what it renewed, as far back as the chain goes.
    loop {
        let before = lifted.len();
        for (id, action, _, named) in &events {
            if action == "opt_out" && lifted.contains(id.as_str()) {
                if let Some(named) = named {
                    lifted.insert(named.as_str());
                }
            }
        }
        if lifted.len() == before {
            break;
        }
    }
    events
        .iter()
        .filter(|(id, action, scope, _)| {
            action == "opt_out"
                && (scope == "phone" || scope == "all")
                && !lifted.contains(id.as_str())
        })
        .map(|(id, ..)| id.clone())
        .collect()
}

/// Runs the actions, syncs everyone twice and checks the invariants; returns, per replica, how
/// many of its leads the gate lets it call at the end.
async fn run(actions: Vec<Action>) -> Vec<(String, usize)> {
    let hub = Hub::start().await;
    let mut reps = vec![
        hub.replica("rita").await,
        hub.replica("mona").await,
        hub.replica("ada").await,
    ];
    // Every replica's clock stands still between its own steps (7 s each), so the gate's calling
    // hours never depend on the wall clock. Offsetting the replicas by a millisecond keeps two
    // replicas' leads from sharing a UUIDv7 timestamp, whose random tail would make the order of
    // `leads()` (and so which lead an action picks) differ from run to run.
    for (i, r) in reps.iter().enumerate() {
        r.clock.advance(chrono::Duration::milliseconds(i as i64));
    }
    let mut calls: BTreeSet<String> = BTreeSet::new();
    let mut erasures: BTreeSet<String> = BTreeSet::new();
    let mut serial = 0;
    for a in actions {
        serial += 1;
        match a {
            Action::AddLead(w) => {
                let r = &mut reps[w];
                r.add_lead(
                    &format!("Prop Person {serial}"),
                    &format!("prop{serial}@example.com"),
                    &format!("+4930{:07}", 2_000_000 + serial),
                    "DE",
                );
            }
            Action::Sync(w) => {
                reps[w].sync().await;
            }
            Action::Call(w, l)
            | Action::OptOut(w, l)
            | Action::OptIn(w, l)
            | Action::Rename(w, l)
            | Action::Erase(w, l) => {
                let known = leads(&reps[w]);
                let Some(lead) = known.get(l % known.len().max(1)).cloned() else {
                    continue;
                };
                if erased(&reps[w], &lead) {
                    continue;
                }
                let r = &mut reps[w];
                match a {
                    Action::Call(..) => {
                        if r.may_call(&lead) {
                            calls.insert(r.call(&lead, &format!("prop call {serial}")));
                        }
                    }
                    Action::OptOut(..) => r.opt_out(&lead, ConsentScope::Phone),
                    Action::OptIn(..) => r.opt_in(&lead, ConsentScope::Phone),
                    Action::Rename(..) => r.rename(&lead, &format!("Renamed {serial}")),
                    // Rita is a rep: her laptop refuses to carry out an erasure.
                    Action::Erase(..) if r.user == "rita" => {
                        let refused = r.try_erase(&lead).unwrap_err();
                        assert_eq!(refused.code(), "role_required", "{refused}");
                    }
                    Action::Erase(..) => {
                        r.erase(&lead);
                        erasures.insert(lead);
                    }
                    _ => unreachable!("handled above"),
                }
            }
        }
    }
    for _ in 0..2 {
        for r in reps.iter_mut() {
            r.sync().await;
        }
    }
    // Erased people's follow-ups and consent are compared by the erasure checks below (a person
    // erased before their first push reaches other replicas as a bare skeleton, see the report
    // in docs/SYNC.md); their skeletons themselves are the same on every replica (`erased`).
    let first = live(&reps[0]);
    for r in &reps {
        assert_eq!(live(r), first, "{} differs", r.user);
        // Follow-ups are never lost (those of erased people: see the note on `live`).
        let held: BTreeSet<String> = r.follow_up_ids().into_iter().collect();
        let live_calls: BTreeSet<String> = reps[0]
            .follow_up_ids()
            .into_iter()
            .chain(calls.iter().cloned())
            .filter(|id| {
                reps.iter().all(|x| {
                    x.count(&format!(
                        "SELECT count(*) FROM follow_up f JOIN lead l ON l.id = f.lead_id
                         WHERE f.id = '{id}' AND l.status = 'erased'"
                    )) == 0
                })
            })
            .collect();
        assert!(live_calls.is_subset(&held), "{} lost calls", r.user);
        // Erasure is final.
        for lead in &erasures {
            assert!(erased(r, lead), "{lead} not erased on {}", r.user);
        }
        // An opt-out holds unless an opt-in names it (or names a renewal of it).
        for lead in leads(r) {
            let holding = holding_phone_opt_outs(r, &lead);
            if !holding.is_empty() {
                assert!(
                    !r.may_call(&lead),
                    "{lead} callable on {} despite opt-out {holding:?}; its consent events: {:#?}",
                    r.user,
                    switchboard_core::consent::events(r.store.conn(), &lead).unwrap()
                );
            }
        }
        assert_eq!(
            switchboard_core::replica::status(r.store.conn())
                .unwrap()
                .pending,
            0
        );
    }
    reps.iter()
        .map(|r| {
            let callable = leads(r).iter().filter(|l| r.may_call(l)).count();
            (r.user.clone(), callable)
        })
        .collect()
}

/// The counterexample recorded on 2026-11-29 (tests/sync_property.proptest-regressions): two
/// opt-outs of one lead, the second renewing the first, among erasures of unsynced people.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_renewed_opt_out_among_erasures_holds() {
    use Action::*;
    run(vec![
        OptIn(0, 2),
        AddLead(1),
        Erase(0, 3),
        AddLead(0),
        Sync(2),
        Rename(2, 4),
        Rename(1, 5),
        Sync(0),
        OptIn(1, 0),
        Sync(2),
        Erase(1, 4),
        AddLead(1),
        Call(1, 5),
        OptOut(1, 3),
        Sync(2),
        OptOut(1, 3),
        Call(0, 0),
    ])
    .await;
}

/// The same failure, shrunk again once the test was deterministic: an opt-out, its renewal, and
/// an opt-in that names the renewal. The opt-in saw both and lifts the chain, so the person may
/// be called; the old model counted the first opt-out as unlifted because no opt-in named it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_an_opt_in_naming_a_renewal_lifts_the_chain() {
    use Action::*;
    let end = run(vec![
        AddLead(2),
        OptOut(2, 3),
        OptOut(2, 0),
        OptIn(2, 1),
        AddLead(2),
        Sync(1),
        Sync(0),
    ])
    .await;
    // The first lead is callable everywhere again, and the second never had an opt-out.
    for (user, callable) in end {
        assert_eq!(callable, 2, "{user}");
    }
}

/// A renewal that an opt-in did not see keeps holding: the opt-in named the first opt-out only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_a_renewal_beats_a_concurrent_opt_in() {
    use Action::*;
    let end = run(vec![
        AddLead(0),
        OptOut(0, 0),
        Sync(0),
        Sync(1),
        OptOut(1, 0),
        OptIn(0, 0),
        Sync(0),
        Sync(1),
    ])
    .await;
    for (user, callable) in end {
        assert_eq!(callable, 0, "{user}");
    }
}

proptest! {
    // A random seed each run (PROPTEST_CASES raises the count); failures are recorded in
    // sync_property.proptest-regressions and replayed first.
    #![proptest_config(ProptestConfig {
        cases: 10,
        max_shrink_iters: 20,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_work_and_sync_orders_converge(actions in prop::collection::vec(action(), 5..40)) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(run(actions));
    }
}
