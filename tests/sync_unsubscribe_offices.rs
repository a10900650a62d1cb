//! Unsubscribe links of a manager of several offices (issue 13 follow-up), through a real
//! HTTPS server (SQLite, or PostgreSQL with `SWITCHBOARD_TEST_PG_URL`) with a public URL and
//! replicas that sign in and sync through the real engine. mona manages BER and PAR: her sign-in
//! hands over one key per office, her laptop queues cadence mail for a PAR lead and a BER lead,
//! and each mail's one-click link, POSTed to the real server, opts that person out — the opt-out
//! syncs back to her laptop and to the office's rep; a token of BER's key for a PAR lead opts
//! nobody out. A rep gets exactly their office's key, an admin none. Her laptop after a sign-in
//! without per-office keys (an older server) behaves as before: a PAR lead's cadence mail is
//! refused for want of a key, a BER lead's carries the primary's link.

use crate::sync_support;

use switchboard_core::mail::mailbox::{self, Mailbox, SmtpSecurity};
use switchboard_core::mail::outbox::{self, Claim};
use switchboard_core::mail::{templates, unsubscribe};
use switchboard_core::protocol::{Channel, UnsubscribeKey};
use switchboard_core::{leads, Store};
use switchboard_server::roles;
use switchboard_test_support::TestOptions;
use sync_support::{Hub, NowUtc, Replica, PASSWORD};

/// A mailbox and the template "Hello" on `replica`, and a cadence whose first step mails it.
fn mail_setup(replica: &mut Replica) {
    let mailbox = Mailbox {
        address: "mona@sales.example".into(),
        display_name: Some("Mona".into()),
        username: "mona@sales.example".into(),
        smtp_host: "127.0.0.1".into(),
        smtp_port: 587,
        smtp_security: SmtpSecurity::StartTls,
        imap_host: "127.0.0.1".into(),
        imap_port: 993,
        ca_file: None,
        signature: "Mona".into(),
    };
    let at = replica.clock.now_utc();
    replica
        .store
        .with_tx(|tx| {
            mailbox::save(tx, &mailbox)?;
            templates::save(
                tx,
                "Hello",
                "Hello {{first_name}}",
                "Dear {{name}},\n{{signature}}",
                "mona",
                at,
            )?;
            let steps = [switchboard_core::cadence::definition::parse_step(
                "email=hello",
            )?];
            switchboard_core::cadence::definition::save(tx, "Trial", &steps, "mona", at)?;
            Ok(())
        })
        .unwrap();
}

/// Enrols `lead` in the cadence, queues and claims its mail: the claim.
fn queue_cadence_mail(store: &mut Store, lead: &str, at: chrono::DateTime<chrono::Utc>) -> Claim {
    store
        .with_tx(|tx| {
            switchboard_core::cadence::enrollment::enroll(
                tx,
                "Trial",
                &[lead.to_string()],
                "mona",
                at,
            )?;
            Ok(())
        })
        .unwrap();
    let queued = store
        .with_tx(|tx| outbox::queue(tx, lead, "hello", "mona", at))
        .unwrap_or_else(|e| panic!("queueing the mail for {lead}: {e}"));
    store
        .with_tx(|tx| outbox::claim(tx, &queued.id, at))
        .unwrap()
}

/// The link of a claimed mail's `List-Unsubscribe` header (checking the text line too).
fn link_of(claim: Claim) -> String {
    let Claim::Send(out) = claim else {
        panic!("the mail was not sent: {claim:?}");
    };
    let (name, value) = &out.headers[0];
    assert_eq!(name, "List-Unsubscribe");
    let link = value.trim_matches(['<', '>']).to_string();
    assert!(
        out.body
            .ends_with(&format!("To receive no more email from us: {link}\n")),
        "{}",
        out.body
    );
    link
}

fn key_id_of(link: &str) -> String {
    let token = link.rsplit('/').next().unwrap();
    switchboard_domain::unsubscribe::parse(token)
        .unwrap_or_else(|| panic!("not a token: {link}"))
        .key_id
}

fn may_email(replica: &Replica, lead_id: &str) -> bool {
    let lead = leads::get(replica.store.conn(), lead_id).unwrap();
    switchboard_core::gate::check(
        replica.store.conn(),
        &lead,
        Channel::Email,
        replica.clock.now_utc(),
    )
    .unwrap()
    .is_allowed()
}

async fn post_one_click(hub: &Hub, link: &str) {
    let answer = hub
        .server
        .http()
        .post(link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200, "{link}");
}

/// The keys a sign-in of `user` hands over: `unsubscribe` and `unsubscribe_keys`.
async fn keys_at_sign_in(hub: &Hub, user: &str) -> (UnsubscribeKey, Vec<UnsubscribeKey>) {
    let login = hub.server.login(user, PASSWORD).await.unwrap().login;
    (
        login.unsubscribe.expect("a primary key"),
        login.unsubscribe_keys.expect("per-office keys"),
    )
}

/// mona manages PAR besides BER; rita (BER) and paul (PAR) each added and synced one lead.
/// Returns their replicas and the Berlin and Paris leads.
async fn mona_of_ber_and_par_with_a_lead_in_each(hub: &Hub) -> (Replica, Replica, String, String) {
    hub.server
        .admin(|tx| roles::add_office(tx, "mona", "PAR"))
        .await
        .unwrap();
    let mut rita = hub.replica("rita").await;
    let mut paul = hub.replica("paul").await;
    let berlin = rita.add_lead("Bert Berlin", "bert@example.com", "+49 30 5550101", "DE");
    let paris = paul.add_lead(
        "Paula Paris",
        "paula@example.com",
        "+33 1 55 50 01 02",
        "FR",
    );
    rita.sync().await;
    paul.sync().await;
    (rita, paul, berlin, paris)
}

async fn a_manager_of_two_offices_unsubscribes_the_leads_of_both(hub: Hub) {
    let (mut rita, mut paul, berlin, paris) = mona_of_ber_and_par_with_a_lead_in_each(&hub).await;

    // A rep gets exactly their office's key; mona one per office, the primary's as before.
    let (paul_primary, paul_keys) = keys_at_sign_in(&hub, "paul").await;
    assert_eq!(paul_keys, vec![paul_primary.clone()]);
    assert_eq!(paul_primary.office, "PAR");
    let (mona_primary, mona_keys) = keys_at_sign_in(&hub, "mona").await;
    assert_eq!(mona_primary.office, "BER");
    let offices: Vec<&str> = mona_keys.iter().map(|k| k.office.as_str()).collect();
    assert_eq!(offices, ["BER", "PAR"]);
    assert_eq!(mona_keys[0], mona_primary);
    assert_eq!(
        mona_keys[1].key_id, paul_primary.key_id,
        "an office has one current key, whoever signs in"
    );

    // An admin (no office) gets none, as before.
    let ada = hub.server.login("ada", PASSWORD).await.unwrap().login;
    assert!(ada.unsubscribe.is_none() && ada.unsubscribe_keys.is_none());

    let mut mona = hub.replica("mona").await;
    mona.sync().await;
    mail_setup(&mut mona);
    let at = mona.clock.now_utc();

    // PAR's lead: the link is made with PAR's key, and its one-click POST opts her out.
    let par_link = link_of(queue_cadence_mail(&mut mona.store, &paris, at));
    assert_eq!(key_id_of(&par_link), mona_keys[1].key_id, "{par_link}");
    assert!(par_link.contains(&paris), "{par_link}");
    assert!(may_email(&mona, &paris));
    post_one_click(&hub, &par_link).await;
    mona.sync().await;
    paul.sync().await;
    assert!(
        !may_email(&mona, &paris),
        "the PAR lead's opt-out did not reach mona"
    );
    assert!(
        !may_email(&paul, &paris),
        "the PAR lead's opt-out did not reach PAR's rep"
    );
    let refused = mona
        .store
        .with_tx(|tx| outbox::queue(tx, &paris, "hello", "mona", at))
        .unwrap_err();
    assert!(refused.to_string().contains("opted out"), "{refused}");
    // The BER lead is untouched by it.
    assert!(may_email(&mona, &berlin));

    // BER's lead: BER's key, opted out likewise, and rita hears of it.
    let ber_link = link_of(queue_cadence_mail(&mut mona.store, &berlin, at));
    assert_eq!(key_id_of(&ber_link), mona_keys[0].key_id, "{ber_link}");
    post_one_click(&hub, &ber_link).await;
    mona.sync().await;
    rita.sync().await;
    assert!(!may_email(&mona, &berlin));
    assert!(!may_email(&rita, &berlin));

    // A token of BER's key for PAR's lead (a link moved between leads) opts nobody out.
    let carol = paul.add_lead(
        "Carol Paris",
        "carol@example.com",
        "+33 1 55 50 09 09",
        "FR",
    );
    paul.sync().await;
    let key = switchboard_domain::unsubscribe::make(
        &mona_keys[0].key_id,
        &hex_key(&mona_keys[0]),
        &carol,
    )
    .unwrap();
    post_one_click(&hub, &format!("{}{key}", mona_keys[0].link_base)).await;
    paul.sync().await;
    assert!(may_email(&paul, &carol), "BER's key opted out a PAR lead");
}

fn hex_key(key: &UnsubscribeKey) -> Vec<u8> {
    let text = key.key.expose();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_of_two_offices_unsubscribes_the_leads_of_both_on_sqlite() {
    a_manager_of_two_offices_unsubscribes_the_leads_of_both(Hub::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_of_two_offices_unsubscribes_the_leads_of_both_on_postgres() {
    let Some(url) = switchboard_test_support::fresh_pg_url("unsubscribe_offices").await else {
        return;
    };
    let options = TestOptions {
        store: Some(url),
        ..Default::default()
    };
    a_manager_of_two_offices_unsubscribes_the_leads_of_both(Hub::start_with(options).await).await;
}

/// A sign-in without per-office keys (what an older server answers) leaves today's behaviour:
/// the primary office's key for its leads, and none for another office's — cadence mail to it
/// refused with `unsubscribe_not_configured`, as before this change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_per_office_keys_the_primary_key_serves_as_before() {
    let hub = Hub::start().await;
    let (_rita, _paul, berlin, paris) = mona_of_ber_and_par_with_a_lead_in_each(&hub).await;
    let mut mona = hub.replica("mona").await;
    mona.sync().await;
    mail_setup(&mut mona);
    unsubscribe::remember_offices(mona.store.conn(), None).unwrap();
    let at = mona.clock.now_utc();

    let ber_link = link_of(queue_cadence_mail(&mut mona.store, &berlin, at));
    post_one_click(&hub, &ber_link).await;
    mona.sync().await;
    assert!(!may_email(&mona, &berlin));

    mona.store
        .with_tx(|tx| {
            switchboard_core::cadence::enrollment::enroll(
                tx,
                "Trial",
                std::slice::from_ref(&paris),
                "mona",
                at,
            )?;
            Ok(())
        })
        .unwrap();
    let refused = mona
        .store
        .with_tx(|tx| outbox::queue(tx, &paris, "hello", "mona", at))
        .unwrap_err();
    assert_eq!(refused.code(), "unsubscribe_not_configured", "{refused}");
    assert!(refused.to_string().contains("office PAR"), "{refused}");
}
