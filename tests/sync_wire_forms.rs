//! Protocol 5's packed form beside the older forms, through the real engine against a real
//! HTTPS server: a laptop speaking the packed form (the default), one without the dictionary
//! (the compact form of protocol 4, as a laptop not yet updated) and a JSON-only one exchange
//! leads and follow-ups in every direction and end with the same data, each in its own form.

use crate::sync_support;

use sync_support::Hub;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packed_compact_and_json_laptops_converge() {
    let hub = Hub::start().await;
    let mut rita = hub.replica("rita").await;
    let mut mona = hub.replica("mona").await;
    mona.client = mona.client.clone().without_dictionary();
    let mut ada = hub.replica("ada").await;
    ada.client = ada.client.clone().json_only();

    let lead = rita.add_lead("Ada Lovelace", "ada@example.com", "+493012345678", "DE");
    for note in [
        "left a voicemail",
        "call back next week",
        "Herr Brämer, ref #88213",
    ] {
        rita.call(&lead, note);
    }
    rita.sync().await;
    mona.sync().await;
    assert_eq!(mona.follow_up_ids(), rita.follow_up_ids());
    mona.call(&lead, "spoke to the assistant");
    mona.sync().await;
    ada.sync().await;
    assert_eq!(ada.follow_up_ids().len(), 4);
    ada.call(&lead, "admin check");
    ada.sync().await;
    rita.sync().await;
    mona.sync().await;

    let mut expected = rita.follow_up_ids();
    expected.sort();
    assert_eq!(expected.len(), 5, "{expected:?}");
    for (name, replica) in [("mona", &mona), ("ada", &ada)] {
        let mut ids = replica.follow_up_ids();
        ids.sort();
        assert_eq!(ids, expected, "{name}'s follow-ups");
    }
    // Nobody was pushed down a form: the server read each laptop's own.
    assert!(rita.client.is_packed());
    assert!(mona.client.is_compact() && !mona.client.is_packed());
    assert!(!ada.client.is_compact());
}
