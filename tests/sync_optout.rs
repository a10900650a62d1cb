//! Opt-out beats offline calls: the central office records an opt-out while a BER rep, offline,
//! keeps calling the same lead. After sync the lead is opted out everywhere, the rep's queue no
//! longer offers the phone, and the rep's calls are kept.

use crate::sync_support;

use switchboard_core::gate::Decision;
use switchboard_core::protocol::{Channel, ConsentScope};
use switchboard_core::queue;
use sync_support::{Hub, NowUtc};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opt_out_wins_over_offline_calls_and_the_calls_are_kept() {
    let hub = Hub::start().await;
    let mut ada = hub.replica("ada").await; // admin: the central office, sees every office
    let mut rita = hub.replica("rita").await; // rep in BER
    let lead = rita.add_lead("Ann Example", "ann@example.com", "+4930123456", "DE");
    rita.sync().await;
    ada.sync().await;
    assert!(ada.may_call(&lead) && rita.may_call(&lead));

    // Offline at the same time: ada takes the opt-out, rita calls twice.
    ada.opt_out(&lead, ConsentScope::Phone);
    let first = rita.call(&lead, "no answer, try later");
    let second = rita.call(&lead, "voicemail left");
    assert!(!ada.may_call(&lead));

    ada.sync().await;
    rita.sync().await;
    ada.sync().await;

    for r in [&ada, &rita] {
        assert!(!r.may_call(&lead), "{} still may call", r.user);
        let ids = r.follow_up_ids();
        assert!(
            ids.contains(&first) && ids.contains(&second),
            "{}: {ids:?}",
            r.user
        );
    }
    assert_eq!(ada.snapshot(), rita.snapshot());
    // Email was not opted out and stays allowed.
    let l = switchboard_core::leads::get(rita.store.conn(), &lead).unwrap();
    assert!(switchboard_core::gate::check(
        rita.store.conn(),
        &l,
        Channel::Email,
        rita.clock.now_utc()
    )
    .unwrap()
    .is_allowed());
    // The rep's queue still lists the lead, but no longer offers the phone.
    let page = queue::page(rita.store.conn(), "new", 0, 50, rita.clock.now_utc()).unwrap();
    for entry in page.iter().filter(|e| e.lead.id == lead) {
        let phone = entry
            .channels
            .iter()
            .find(|c| c.channel == Channel::Phone)
            .unwrap();
        assert!(matches!(phone.decision, Decision::Blocked(_)), "{entry:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opt_in_that_did_not_see_the_opt_out_does_not_lift_it() {
    let hub = Hub::start().await;
    let mut ada = hub.replica("ada").await;
    let mut rita = hub.replica("rita").await;
    let lead = rita.add_lead("Ben Example", "ben@example.com", "+4930654321", "DE");
    rita.sync().await;
    ada.sync().await;
    // Concurrently: ada records an opt-out, rita (not having seen it) records an opt-in.
    ada.opt_out(&lead, ConsentScope::All);
    rita.opt_in(&lead, ConsentScope::All);
    rita.sync().await;
    ada.sync().await;
    rita.sync().await;
    assert!(!ada.may_call(&lead) && !rita.may_call(&lead));
    // An opt-in made after seeing the opt-out lifts it everywhere.
    rita.opt_in(&lead, ConsentScope::All);
    rita.sync().await;
    ada.sync().await;
    assert!(ada.may_call(&lead) && rita.may_call(&lead));
}
