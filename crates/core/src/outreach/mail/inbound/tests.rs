use super::*;
use crate::compliance::{consent, gate};
use crate::intake::{self, IntakeContext, IntakeOutcome, RegistrationInput};
use crate::outreach::mail::mailbox::{self, Mailbox, SmtpSecurity};
use crate::outreach::mail::outbox::{Claim, MailState};
use crate::outreach::mail::templates;
use crate::outreach::mail::unsubscribe;
use crate::{FixedClock, Store};
use chrono::{Duration, TimeZone};
use std::sync::Arc;
use switchboard_protocol::ConsentScope;

fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 11, 0, 0).unwrap()
}

fn setup() -> (Store, String, String) {
    let mut s = Store::open_in_memory(Arc::new(FixedClock::at(noon()))).unwrap();
    let mut ids = Vec::new();
    for (name, email) in [
        ("Ada Lovelace", "ada@example.com"),
        ("Alan Turing", "alan@example.com"),
    ] {
        ids.push(
            s.with_tx(|tx| {
                let ctx = IntakeContext::new(tx, None, noon(), "intake")?;
                let input = RegistrationInput {
                    details: switchboard_protocol::RegistrationDetails {
                        name: Some(name.into()),
                        email: Some(email.into()),
                        country: Some("GB".into()),
                        ..Default::default()
                    },
                    ..RegistrationInput::default()
                };
                match intake::record(tx, &input, &ctx)? {
                    IntakeOutcome::Created(id) => Ok(id),
                    other => panic!("{other:?}"),
                }
            })
            .unwrap(),
        );
    }
    let mailbox = Mailbox {
        address: "rita@sales.example".into(),
        display_name: Some("Rita".into()),
        username: "rita@sales.example".into(),
        smtp_host: "127.0.0.1".into(),
        smtp_port: 587,
        smtp_security: SmtpSecurity::StartTls,
        imap_host: "127.0.0.1".into(),
        imap_port: 993,
        ca_file: None,
        signature: "Rita".into(),
    };
    mailbox::save(s.conn(), &mailbox).unwrap();
    templates::save(
        s.conn(),
        "Hello",
        "Hello {{first_name}}",
        "Dear {{name}},\n{{signature}}",
        "rita",
        noon(),
    )
    .unwrap();
    (s, ids.remove(0), ids.remove(0))
}

fn claim_send(s: &mut Store, id: &str, at: DateTime<Utc>) -> outbox::Outgoing {
    match s.with_tx(|tx| outbox::claim(tx, id, at)).unwrap() {
        Claim::Send(o) => o,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_sent_mail_is_logged_with_subject_and_message_id_and_its_reply_once() {
    let (mut s, ada, _) = setup();
    let queued = s
        .with_tx(|tx| outbox::queue(tx, &ada, "hello", "rita", noon()))
        .unwrap();
    assert!(
        queued.message_id.ends_with("@sales.example>"),
        "{}",
        queued.message_id
    );
    let at = noon() + Duration::minutes(1);
    let out = claim_send(&mut s, &queued.id, at);
    assert_eq!(
        (out.to.as_str(), out.subject.as_str()),
        ("ada@example.com", "Hello Ada")
    );
    assert_eq!(out.body, "Dear Ada Lovelace,\nRita");
    assert_eq!(
        outbox::get(s.conn(), &queued.id).unwrap().state,
        MailState::Sending
    );
    // A claimed mail is not claimed again.
    assert_eq!(
        s.with_tx(|tx| outbox::claim(tx, &queued.id, at)).unwrap(),
        Claim::Gone
    );
    let sent = s.with_tx(|tx| outbox::mark_sent(tx, &out, at)).unwrap();
    assert_eq!(sent.state, MailState::Sent);
    let note: String = s
        .conn()
        .query_row(
            "SELECT note FROM follow_up WHERE id = ?1 AND channel = 'email' AND outcome = 'sent'",
            [sent.follow_up_id.as_ref().unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        note,
        format!("Email \"Hello Ada\" (Message-ID {})", queued.message_id)
    );

    let reply = "Yes please, call me.\nTomorrow works.\n\nOn Mon, Rita wrote:\n> Dear Ada";
    let named = vec!["<other@x>".to_string(), queued.message_id.clone()];
    let rec = s
        .with_tx(|tx| {
            record_for(
                tx,
                &named,
                "<r1@example.com>",
                InboundKind::Reply,
                reply,
                at,
            )
        })
        .unwrap()
        .unwrap();
    assert_eq!(rec.lead_id, ada);
    let again = s
        .with_tx(|tx| {
            record_for(
                tx,
                &named,
                "<r1@example.com>",
                InboundKind::Reply,
                reply,
                at,
            )
        })
        .unwrap();
    assert_eq!(again, None, "the same reply read twice is recorded once");
    let notes: Vec<String> = s
        .conn()
        .prepare("SELECT note FROM follow_up WHERE lead_id = ?1 AND outcome = 'replied'")
        .unwrap()
        .query_map([&ada], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].ends_with("Yes please, call me.\nTomorrow works."),
        "{}",
        notes[0]
    );
}

#[test]
fn an_opt_out_between_queueing_and_sending_cancels_the_mail() {
    let (mut s, ada, _) = setup();
    let queued = s
        .with_tx(|tx| outbox::queue(tx, &ada, "Hello", "rita", noon()))
        .unwrap();
    s.with_tx(|tx| consent::opt_out(tx, &ada, ConsentScope::Email, "phone", None, "rita", noon()))
        .unwrap();
    let claim = s
        .with_tx(|tx| outbox::claim(tx, &queued.id, noon() + Duration::minutes(1)))
        .unwrap();
    assert!(
        matches!(&claim, Claim::Cancelled { reason, .. } if reason.contains("opted out of email")),
        "{claim:?}"
    );
    let mail = outbox::get(s.conn(), &queued.id).unwrap();
    assert_eq!(
        (mail.state, mail.error_code.as_deref()),
        (MailState::Cancelled, Some("opted_out"))
    );
    assert!(outbox::queued(s.conn()).unwrap().is_empty());
    let logged: i64 = s
        .conn()
        .query_row(
            "SELECT count(*) FROM follow_up WHERE lead_id = ?1",
            [&ada],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(logged, 0);
    // Queueing is refused outright once the gate blocks.
    let err = s
        .with_tx(|tx| outbox::queue(tx, &ada, "Hello", "rita", noon()))
        .unwrap_err();
    assert_eq!(err.code(), "blocked");
}

#[test]
fn a_hard_bounce_blocks_email_for_the_address_and_a_soft_one_does_not() {
    let (mut s, ada, alan) = setup();
    let at = noon() + Duration::minutes(1);
    let mut sent = Vec::new();
    for lead in [&ada, &alan] {
        let q = s
            .with_tx(|tx| outbox::queue(tx, lead, "Hello", "rita", noon()))
            .unwrap();
        let out = claim_send(&mut s, &q.id, at);
        sent.push(s.with_tx(|tx| outbox::mark_sent(tx, &out, at)).unwrap());
    }
    let hard = s
        .with_tx(|tx| {
            record(
                tx,
                &sent[0],
                "<dsn1@x>",
                InboundKind::HardBounce,
                "5.1.1 no such user",
                at,
            )
        })
        .unwrap()
        .unwrap();
    assert!(hard.address_invalidated);
    let soft = s
        .with_tx(|tx| {
            record(
                tx,
                &sent[1],
                "<dsn2@x>",
                InboundKind::SoftBounce,
                "4.2.2 mailbox full",
                at,
            )
        })
        .unwrap()
        .unwrap();
    assert!(!soft.address_invalidated);
    let ada_lead = leads::get(s.conn(), &ada).unwrap();
    assert!(ada_lead.email_invalid);
    let decision = gate::check(s.conn(), &ada_lead, Channel::Email, at).unwrap();
    assert_eq!(decision.reason().map(|r| r.code()), Some("no_address"));
    let err = s
        .with_tx(|tx| outbox::queue(tx, &ada, "Hello", "rita", at))
        .unwrap_err();
    assert_eq!(err.code(), "blocked");
    let alan_lead = leads::get(s.conn(), &alan).unwrap();
    assert!(gate::check(s.conn(), &alan_lead, Channel::Email, at)
        .unwrap()
        .is_allowed());
    let bounced: i64 = s
        .conn()
        .query_row(
            "SELECT count(*) FROM follow_up WHERE outcome = 'bounced'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(bounced, 2);
}

#[test]
fn a_bounce_of_an_old_address_leaves_the_new_one_valid() {
    let (mut s, ada, _) = setup();
    let at = noon() + Duration::minutes(1);
    let q = s
        .with_tx(|tx| outbox::queue(tx, &ada, "Hello", "rita", noon()))
        .unwrap();
    let out = claim_send(&mut s, &q.id, at);
    let sent = s.with_tx(|tx| outbox::mark_sent(tx, &out, at)).unwrap();
    s.with_tx(|tx| {
        leads::set_fields(
            tx,
            &ada,
            &[(leads::LeadField::Email, Some("ada@new.example.com".into()))],
            "rita",
            "correct",
            at,
        )
    })
    .unwrap();
    let hard = s
        .with_tx(|tx| record(tx, &sent, "<dsn9@x>", InboundKind::HardBounce, "5.1.1", at))
        .unwrap()
        .unwrap();
    assert!(!hard.address_invalidated);
    assert!(!leads::get(s.conn(), &ada).unwrap().email_invalid);
}

#[test]
fn an_interrupted_mail_waits_for_the_rep_and_keeps_its_message_id() {
    let (mut s, ada, _) = setup();
    let q = s
        .with_tx(|tx| outbox::queue(tx, &ada, "Hello", "rita", noon()))
        .unwrap();
    claim_send(&mut s, &q.id, noon());
    // The process dies here: the mail stays `sending`, never queued again by itself.
    assert!(outbox::queued(s.conn()).unwrap().is_empty());
    assert_eq!(outbox::interrupted(s.conn()).unwrap()[0].id, q.id);
    let again = s.with_tx(|tx| outbox::resolve(tx, &q.id, true)).unwrap();
    assert_eq!(
        (again.state, again.message_id.as_str()),
        (MailState::Queued, q.message_id.as_str())
    );
    let cancelled = s.with_tx(|tx| outbox::resolve(tx, &q.id, false)).unwrap();
    assert_eq!(cancelled.state, MailState::Cancelled);
    assert_eq!(
        s.with_tx(|tx| outbox::resolve(tx, &q.id, true))
            .unwrap_err()
            .code(),
        "conflict"
    );
}

#[test]
fn the_excerpt_keeps_the_first_lines_without_the_quote() {
    let text = "One\n\nTwo\n> quoted\nThree\nFour\nFive\nSix\n";
    assert_eq!(excerpt(text), "One\nTwo\nThree\nFour\nFive");
}

/// What sign-in hands over for office BER, and the key's bytes.
fn unsubscribe_key() -> (switchboard_protocol::UnsubscribeKey, Vec<u8>) {
    let key = vec![7u8; 32];
    (
        switchboard_protocol::UnsubscribeKey {
            link_base: "https://crm.example.com/v1/unsubscribe/".into(),
            key_id: "k1".into(),
            key: switchboard_protocol::Secret::new(hex::encode(&key)),
            office: "BER".into(),
        },
        key,
    )
}

fn enroll_in_cadence(s: &mut Store, lead: &str) {
    use crate::outreach::cadence::{definition, enrollment};
    s.with_tx(|tx| {
        let steps = [definition::parse_step("email=hello")?];
        definition::save(tx, "Trial", &steps, "mona", noon())?;
        enrollment::enroll(tx, "Trial", &[lead.to_string()], "mona", noon())
    })
    .unwrap();
}

#[test]
fn a_mail_carries_the_one_click_headers_and_line_with_a_token_the_server_accepts() {
    let (mut s, ada, _) = setup();
    let (key, bytes) = unsubscribe_key();
    unsubscribe::remember(s.conn(), Some(&key)).unwrap();
    let queued = s
        .with_tx(|tx| outbox::queue(tx, &ada, "hello", "rita", noon()))
        .unwrap();
    let out = claim_send(&mut s, &queued.id, noon());
    let link = out.headers[0].1.trim_matches(['<', '>']).to_string();
    assert_eq!(out.headers[0].0, "List-Unsubscribe");
    assert_eq!(
        out.headers[1],
        (
            "List-Unsubscribe-Post".to_string(),
            "List-Unsubscribe=One-Click".to_string()
        )
    );
    assert!(
        out.body
            .ends_with(&format!("To receive no more email from us: {link}\n")),
        "{}",
        out.body
    );
    let token = link
        .strip_prefix("https://crm.example.com/v1/unsubscribe/")
        .unwrap();
    let parsed = switchboard_domain::unsubscribe::parse(token).unwrap();
    assert_eq!(
        (parsed.key_id.as_str(), parsed.lead_id.as_str()),
        ("k1", ada.as_str())
    );
    assert!(parsed.verify(&bytes));
    // Nothing of the person in the link. The token's random characters spell "ada" in about one
    // link of a hundred, so the check looks for whole values, in any case.
    let lower = link.to_lowercase();
    for revealing in [
        "ada@example.com",
        "ada%40example.com",
        "lovelace",
        "example.com/ada",
    ] {
        assert!(!lower.contains(revealing), "{link}");
    }
}

#[test]
fn cadence_mail_without_a_key_is_refused_and_a_one_off_mail_goes_without_a_link() {
    let (mut s, ada, alan) = setup();
    // A one-off mail on a laptop with no server: no link, no refusal.
    let one_off = s
        .with_tx(|tx| outbox::queue(tx, &alan, "hello", "rita", noon()))
        .unwrap();
    let out = claim_send(&mut s, &one_off.id, noon());
    assert!(out.headers.is_empty() && !out.body.contains("unsubscribe"));

    enroll_in_cadence(&mut s, &ada);
    let refused = s
        .with_tx(|tx| outbox::queue(tx, &ada, "hello", "rita", noon()))
        .unwrap_err();
    assert_eq!(refused.code(), "unsubscribe_not_configured");
    assert!(refused.to_string().contains("--public-url"), "{refused}");

    // Queued while the key was there, claimed after signing in to a server without one.
    unsubscribe::remember(s.conn(), Some(&unsubscribe_key().0)).unwrap();
    let queued = s
        .with_tx(|tx| outbox::queue(tx, &ada, "hello", "rita", noon()))
        .unwrap();
    unsubscribe::remember(s.conn(), None).unwrap();
    match s
        .with_tx(|tx| outbox::claim(tx, &queued.id, noon()))
        .unwrap()
    {
        Claim::Refused { code, reason, .. } => {
            assert_eq!(code, "unsubscribe_not_configured");
            assert!(reason.contains("switchboard login"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        outbox::get(s.conn(), &queued.id).unwrap().state,
        MailState::Failed
    );
    // Once the key is back, `mail retry` sends it with its link.
    unsubscribe::remember(s.conn(), Some(&unsubscribe_key().0)).unwrap();
    s.with_tx(|tx| outbox::resolve(tx, &queued.id, true))
        .unwrap();
    let out = claim_send(&mut s, &queued.id, noon());
    assert_eq!(out.headers.len(), 2);
}
