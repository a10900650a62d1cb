//! The life of one lead through the real binary: import, dedup, queue, log, opt-out, the gate's
//! refusal, correction, access report, erasure (with the database bytes scanned), suppression.

use crate::support;

use serde_json::Value;
use support::Sandbox;

/// Greta registers twice (and the form tool sends the first submission twice); Bo once, earlier.
const REGISTRATIONS: &[&str] = &[
    "Submission ID,Type,Product,Submitted At,First Name,Last Name,Company,E-mail,Phone Number,\
     Country,IP Address,User Agent,Referrer,Pages Visited",
    "S-1,license_key,Widget Pro,2026-03-01T10:00:00Z,Greta,Lindqvist,Nordlicht AB,\
     Greta.Lindqvist@Nordlicht.example ,030 1234567,DE,203.0.113.77,Mozilla/5.0 (X11; Quokka),\
     https://search.example/?q=widgets,/pricing;/download",
    "S-2,info_request,Widget Pro,2026-03-01T11:00:00Z,Greta,Lindqvist,,\
     greta.lindqvist@nordlicht.example,,DE,203.0.113.77,Mozilla/5.0 (X11; Quokka),,/docs",
    "S-1,license_key,Widget Pro,2026-03-01T10:00:00Z,Greta,Lindqvist,Nordlicht AB,\
     Greta.Lindqvist@Nordlicht.example ,030 1234567,DE,203.0.113.77,Mozilla/5.0 (X11; Quokka),\
     https://search.example/?q=widgets,/pricing;/download",
    "S-3,trial,Widget,2026-03-01T08:00:00Z,Bo,Berg,=SUM(A1:A9) Consulting,bo@berg.example,\
     +46 8 123 456 78,SE,198.51.100.4,Mozilla/5.0,,",
];

const GRETA: &str = "greta.lindqvist@nordlicht.example";

/// What must be gone from the database files once Greta is erased.
const GRETA_PII: &[&str] = &[
    "Greta",
    "Lindqvist",
    "Greta Lind",
    GRETA,
    "nordlicht.example",
    "+49301234567",
    "030 1234567",
    "+4940987654",
    "203.0.113.77",
    "Quokka",
    "rang twice",
];

fn import(sandbox: &Sandbox, file: &std::path::Path) -> Value {
    let run = sandbox.run(&["import", file.to_str().unwrap(), "--json"]);
    run.ok();
    run.json()
}

fn show(sandbox: &Sandbox, lead: &str) -> Value {
    sandbox.json(&["leads", "show", lead])
}

#[test]
fn init_creates_the_database_and_an_empty_list() {
    let sandbox = Sandbox::new();
    sandbox.run(&["init"]).ok();
    assert!(sandbox.db.exists());
    let leads = sandbox.json(&["leads", "list"]);
    assert_eq!(leads, serde_json::json!([]));
    assert_eq!(sandbox.integrity(), "ok");
}

#[test]
fn init_without_arguments_uses_the_os_data_folder() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let output = std::process::Command::new(support::binary())
        .arg("init")
        .env_remove("SWITCHBOARD_DB")
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", &data)
        .env_remove("SWITCHBOARD_DB_KEY_FILE")
        .env(
            "SWITCHBOARD_DB_KEY",
            switchboard_test_support::test_db_key_hex(),
        )
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(data.join("switchboard").join("switchboard.db").is_file());
}

/// A database written before encryption (unencrypted, as the previous version left it) is
/// encrypted in place by the first command that opens it, with the key the app resolves, and
/// keeps its data; from then on no plaintext is left in the file or its companions.
#[test]
fn a_plaintext_database_from_before_is_encrypted_on_first_open() {
    use switchboard_core::import::{import_file, ImportOptions};
    let sandbox = Sandbox::new();
    let file = sandbox.write("registrations.csv", support::csv(REGISTRATIONS));
    {
        let mut old = switchboard_core::Store::open(&sandbox.db, None).unwrap();
        import_file(&mut old, &file, &ImportOptions::default(), &mut |_| {}).unwrap();
    }
    let raw_hits = |needle: &str| {
        sandbox
            .database_bytes()
            .into_iter()
            .filter(|(_, bytes)| support::contains(bytes, needle.as_bytes()))
            .count()
    };
    assert!(raw_hits("Lindqvist") > 0, "the old file is plaintext");
    let found = sandbox.json(&["leads", "search", "Lindqvist"]);
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert!(!switchboard_core::store::is_plaintext(&sandbox.db).unwrap());
    assert_eq!(
        raw_hits("Lindqvist"),
        0,
        "plaintext left after the conversion"
    );
    assert_eq!(sandbox.integrity(), "ok");
}

/// Whether the replica at `path` opens with the test key in the current SQLCipher format
/// (HMAC-SHA256), rather than only in the legacy one (SQLCipher 4's default, HMAC-SHA512).
fn in_current_format(path: &std::path::Path) -> bool {
    let conn = rusqlite::Connection::open(path).unwrap();
    switchboard_core::store::apply_key(&conn, &support::test_key()).unwrap();
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .is_ok()
}

/// A replica as versions before HMAC-SHA256 left it, at `path`: `leads` generated registrations
/// imported into a plaintext file, exported under the test key with SQLCipher's default
/// settings (HMAC-SHA512), as those versions' conversion did.
fn legacy_replica(path: &std::path::Path, leads: usize) {
    use switchboard_core::import::{import_file, ImportOptions};
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("registrations.csv");
    switchboard_core::demo::generate(leads, 1, std::fs::File::create(&csv).unwrap()).unwrap();
    let plain = dir.path().join("plain.db");
    {
        let mut store = switchboard_core::Store::open(&plain, None).unwrap();
        import_file(&mut store, &csv, &ImportOptions::default(), &mut |_| {}).unwrap();
    }
    let conn = rusqlite::Connection::open(&plain).unwrap();
    conn.query_row("PRAGMA journal_mode = DELETE", [], |r| {
        r.get::<_, String>(0)
    })
    .unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let raw_key = format!("x'{}'", switchboard_test_support::test_db_key_hex());
    conn.execute(
        "ATTACH DATABASE ?1 AS old KEY ?2",
        rusqlite::params![path.to_string_lossy(), raw_key],
    )
    .unwrap();
    conn.query_row("SELECT sqlcipher_export('old')", [], |_| Ok(()))
        .unwrap();
    conn.execute_batch(&format!(
        "PRAGMA old.user_version = {version}; DETACH DATABASE old;"
    ))
    .unwrap();
    assert!(!in_current_format(path));
}

/// A replica encrypted before HMAC-SHA256 is re-encrypted by the first command that opens it,
/// killed (SIGKILL) at random moments first: after every kill the file holds every lead in the
/// old format or the new one, and the next command finishes the job. A wrong key opens neither
/// format, says so, and leaves the file as it was.
#[test]
fn a_replica_encrypted_with_hmac_sha512_is_re_encrypted_by_the_cli_even_when_killed() {
    const LEADS: usize = 3_000;
    let mut sandbox = Sandbox::new();
    let pristine = sandbox.path("pristine.db");
    legacy_replica(&pristine, LEADS);
    let expected = support::open_sqlite_read_only(&pristine)
        .query_row("SELECT count(*) FROM lead", [], |r| r.get::<_, i64>(0))
        .unwrap();
    assert!(expected > 0);
    let restore = |sandbox: &Sandbox| {
        for suffix in [
            "",
            "-wal",
            "-shm",
            "-journal",
            ".encrypting",
            ".encrypting-journal",
        ] {
            let _ = std::fs::remove_file(format!("{}{suffix}", sandbox.db.display()));
        }
        std::fs::copy(&pristine, &sandbox.db).unwrap();
    };
    let open_args = ["leads", "search", "Nobody Whatsoever", "--json"];

    // One undisturbed run sets the span the kills are spread over.
    restore(&sandbox);
    let started = std::time::Instant::now();
    sandbox.run(&open_args).ok();
    let span = started.elapsed().as_micros() as u64 + 1;
    assert!(in_current_format(&sandbox.db));
    assert_eq!(sandbox.count("SELECT count(*) FROM lead"), expected);
    assert_eq!(sandbox.integrity(), "ok");

    let (mut old, mut new) = (0, 0);
    for _ in 0..20 {
        restore(&sandbox);
        let mut running = sandbox
            .command(&open_args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // A random moment (RandomState is seeded from the OS for each instance).
        let random = std::hash::BuildHasher::hash_one(&std::hash::RandomState::new(), 0u8);
        let delay = random % (span + span / 4);
        std::thread::sleep(std::time::Duration::from_micros(delay));
        running.kill().unwrap(); // SIGKILL
        running.wait().unwrap();
        if in_current_format(&sandbox.db) {
            new += 1;
        } else {
            old += 1;
        }
        // Either format: every lead is there (the test's own check opens both).
        assert_eq!(sandbox.count("SELECT count(*) FROM lead"), expected);
        sandbox.run(&open_args).ok();
        assert!(in_current_format(&sandbox.db));
        assert_eq!(sandbox.count("SELECT count(*) FROM lead"), expected);
    }
    eprintln!("killed re-encryptions: {old} left the legacy file, {new} the new one");

    restore(&sandbox);
    let before = std::fs::read(&sandbox.db).unwrap();
    let other = sandbox.write("other.key", "cd".repeat(32));
    std::fs::set_permissions(&other, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    sandbox.set_env("SWITCHBOARD_DB_KEY_FILE", &other.display().to_string());
    let run = sandbox.run(&open_args);
    run.expect(1);
    let (code, message) = run.json_error();
    assert_eq!(code, "wrong_key", "{message}");
    assert!(message.contains("encrypted"), "{message}");
    assert_eq!(
        std::fs::read(&sandbox.db).unwrap(),
        before,
        "a wrong key changed the file"
    );
}

#[test]
fn a_lead_from_registration_to_erasure() {
    let sandbox = Sandbox::init();
    let file = sandbox.write("registrations.csv", support::csv(REGISTRATIONS));

    // Import: Greta's second registration merges, the resent first one is a duplicate.
    let report = import(&sandbox, &file);
    assert_eq!(report["read"], 4);
    assert_eq!(report["created"], 2);
    assert_eq!(report["merged"], 1);
    assert_eq!(report["duplicates"], 1);
    assert_eq!(report["suppressed"], 0);
    assert_eq!(report["rejected"], 0);
    assert_eq!(report["errors"], serde_json::json!([]));

    let leads = sandbox.json(&["leads", "list"]);
    let leads = leads.as_array().unwrap();
    assert_eq!(leads.len(), 2);
    for lead in leads {
        for key in ["id", "name", "company", "email", "phone", "country"] {
            assert!(lead.get(key).is_some(), "lead without {key}: {lead}");
        }
    }
    let greta = show(&sandbox, GRETA);
    let greta_id = greta["lead"]["id"].as_str().unwrap().to_string();
    assert_eq!(greta["lead"]["name"], "Greta Lindqvist");
    assert_eq!(greta["lead"]["phone"], "+49301234567");
    assert_eq!(greta["registrations"].as_array().unwrap().len(), 2);

    // The newest registration comes first, claimed for the rep; another rep gets the other lead.
    let next = sandbox.json(&["queue", "next"]);
    assert_eq!(next["lead"]["id"], greta_id.as_str());
    assert!(!next["reasons"].as_array().unwrap().is_empty());
    let channels = next["channels"].as_array().unwrap();
    assert_eq!(channels.len(), 3);
    let other = sandbox.json(&["queue", "next", "--rep", "rep.bo"]);
    assert_eq!(other["lead"]["email"], "bo@berg.example");
    sandbox
        .run(&["queue", "next", "--rep", "rep.carl"])
        .expect(4);

    // A call at 10:00 Berlin time is inside calling hours.
    sandbox
        .run(&[
            "log",
            GRETA,
            "--channel",
            "phone",
            "--outcome",
            "no_answer",
            "--note",
            "rang twice, no answer",
            "--next",
            "2026-03-04",
        ])
        .ok();
    let greta = show(&sandbox, &greta_id);
    assert_eq!(greta["follow_ups"].as_array().unwrap().len(), 1);
    assert_eq!(greta["lead"]["attempts"], 1);

    // Opt-out of phone: the gate refuses calls with the reason, email stays allowed.
    sandbox.run(&["optout", GRETA, "--channel", "phone"]).ok();
    let refused = sandbox.run(&["can-contact", GRETA, "--channel", "phone", "--json"]);
    refused.expect(3).stderr_mentions(&["opted out"]);
    let decision = refused.json();
    assert_eq!(decision["allowed"], false);
    assert_eq!(decision["reason"]["code"], "opted_out");
    sandbox
        .run(&["can-contact", GRETA, "--channel", "email"])
        .ok();
    sandbox
        .run(&["log", GRETA, "--channel", "phone", "--outcome", "connected"])
        .expect(3)
        .stderr_mentions(&["opted out"]);
    // Inbound contact started by the person is always recorded.
    sandbox
        .run(&[
            "log",
            GRETA,
            "--channel",
            "phone",
            "--outcome",
            "connected",
            "--inbound",
        ])
        .ok();
    // Outside calling hours (22:30 in Berlin) a call is refused for that reason.
    sandbox
        .run(&[
            "can-contact",
            "bo@berg.example",
            "--channel",
            "phone",
            "--at",
            "2026-03-02T21:30:00Z",
        ])
        .expect(3)
        .stderr_mentions(&["calling hours"]);

    // Correction: a bad value changes nothing; good values are applied and locked.
    sandbox
        .run(&["correct", GRETA, "name=Greta Lind", "email=not-an-email"])
        .expect(2)
        .stderr_mentions(&["email"]);
    assert_eq!(show(&sandbox, GRETA)["lead"]["name"], "Greta Lindqvist");
    sandbox
        .run(&["correct", GRETA, "name=Greta Lind", "phone=040 987654"])
        .ok();
    let greta = show(&sandbox, &greta_id);
    assert_eq!(greta["lead"]["name"], "Greta Lind");
    assert_eq!(greta["lead"]["phone"], "+4940987654");

    // The access report holds everything: web metadata, follow-ups, consent, requests.
    let out = sandbox.path("access.json");
    sandbox
        .run(&["dsar", &greta_id, "--out", out.to_str().unwrap()])
        .ok();
    let access: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let registrations = access["registrations"].as_array().unwrap();
    assert_eq!(registrations.len(), 2);
    let first = &registrations[0];
    assert_eq!(first["ip"], "203.0.113.77");
    assert_eq!(first["user_agent"], "Mozilla/5.0 (X11; Quokka)");
    assert_eq!(first["referrer"], "https://search.example/?q=widgets");
    assert_eq!(first["pages_visited"].as_array().unwrap().len(), 2);
    assert_eq!(access["follow_ups"].as_array().unwrap().len(), 2);
    assert_eq!(access["consent"]["events"].as_array().unwrap().len(), 1);
    let kinds: Vec<&str> = access["subscriber_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    for kind in ["opt_out", "correct", "access"] {
        assert!(kinds.contains(&kind), "no {kind} request in {kinds:?}");
    }
    assert!(!access["audit"].as_array().unwrap().is_empty());

    // The requests inbox lists what was done, and a done request cannot be handled again.
    let inbox = sandbox.json(&["requests", "list"]);
    let inbox = inbox.as_array().unwrap();
    assert!(inbox.len() >= 3, "{inbox:?}");
    assert!(inbox.iter().all(|r| r["overdue"] == false));
    let done = inbox[0]["id"].as_str().unwrap();
    sandbox.run(&["requests", "handle", done]).expect(5);

    // The manager's history sees both follow-ups.
    let history = sandbox.json(&["history", "--lead", &greta_id]);
    assert_eq!(history["summary"]["total"], 2);

    // Erasure needs confirmation off a terminal, then leaves no trace in the database files
    // (which held every one of those strings before: the scan can see them).
    for needle in ["Greta Lind", GRETA, "+4940987654", "203.0.113.77", "Quokka"] {
        assert!(
            !sandbox.files_containing(needle).is_empty(),
            "{needle} not stored?"
        );
    }
    sandbox
        .run(&["erase", &greta_id])
        .expect(2)
        .stderr_mentions(&["--yes"]);
    assert_eq!(show(&sandbox, &greta_id)["lead"]["name"], "Greta Lind");
    sandbox.run(&["erase", &greta_id, "--yes"]).ok();
    assert_pii_gone(&sandbox);
    sandbox.run(&["leads", "show", GRETA]).expect(4);
    assert_eq!(
        sandbox.json(&["leads", "search", "Greta"]),
        serde_json::json!([])
    );
    sandbox
        .run(&["can-contact", &greta_id, "--channel", "email"])
        .expect(3)
        .stderr_mentions(&["erased"]);

    // Re-importing the same file: Greta's rows are suppressed, Bo's is a duplicate.
    let again = import(&sandbox, &file);
    assert_eq!(again["suppressed"], 3);
    assert_eq!(again["duplicates"], 1);
    assert_eq!(again["created"], 0);
    assert_eq!(
        sandbox.json(&["leads", "list"]).as_array().unwrap().len(),
        2
    );
    assert_pii_gone(&sandbox);

    // What is left of Greta is a skeleton without personal information.
    let skeleton = sandbox.run(&["dsar", &greta_id]);
    skeleton.ok();
    for needle in GRETA_PII {
        assert!(
            !skeleton.stdout.contains(needle),
            "{needle} in {}",
            skeleton.stdout
        );
    }
    assert_eq!(sandbox.integrity(), "ok");
}

fn assert_pii_gone(sandbox: &Sandbox) {
    for needle in GRETA_PII {
        let files = sandbox.files_containing(needle);
        assert!(files.is_empty(), "{needle:?} is still in {files:?}");
    }
}

#[test]
fn exports_neutralise_formulas_and_history_counts() {
    let sandbox = Sandbox::init();
    let file = sandbox.write("registrations.csv", support::csv(REGISTRATIONS));
    import(&sandbox, &file);
    sandbox
        .run(&[
            "log",
            "bo@berg.example",
            "--channel",
            "email",
            "--outcome",
            "sent",
        ])
        .ok();
    let leads_csv = sandbox.path("leads.csv");
    sandbox
        .run(&["export", "leads", leads_csv.to_str().unwrap()])
        .ok();
    let text = std::fs::read_to_string(&leads_csv).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("'=SUM(A1:A9) Consulting"), "{text}");
    assert!(!text.contains(",=SUM"), "{text}");

    let history_csv = sandbox.path("history.csv");
    sandbox
        .run(&[
            "export",
            "history",
            history_csv.to_str().unwrap(),
            "--rep",
            "rep.anna",
        ])
        .ok();
    let text = std::fs::read_to_string(&history_csv).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(!sandbox.path("history.csv.partial").exists());

    let history = sandbox.json(&["history", "--channel", "email", "--since", "2026-03-01"]);
    assert_eq!(history["summary"]["total"], 1);
    let none = sandbox.json(&["history", "--until", "2026-03-01"]);
    assert_eq!(none["summary"]["total"], 0);
}

#[test]
fn the_account_signed_in_on_the_replica_acts_unless_someone_is_named() {
    let mut sandbox = Sandbox::init();
    let file = sandbox.write("registrations.csv", support::csv(REGISTRATIONS));
    import(&sandbox, &file);
    sandbox
        .sql()
        .execute(
            "UPDATE sync_state SET user = 'mona', role = 'manager' WHERE id = 1",
            [],
        )
        .unwrap();
    let email = [
        "log",
        "bo@berg.example",
        "--channel",
        "email",
        "--outcome",
        "sent",
    ];

    sandbox.run(&email).ok();
    sandbox.unset_env("SWITCHBOARD_USER");
    sandbox.set_env("USER", "jsmith");
    sandbox.run(&email).ok();
    sandbox.run(&[&email[..], &["--as", "sam"]].concat()).ok();

    let reps = sandbox.count("SELECT count(*) FROM follow_up WHERE rep = 'rep.anna'");
    assert_eq!(reps, 1, "SWITCHBOARD_USER names the user on purpose");
    assert_eq!(
        sandbox.count("SELECT count(*) FROM follow_up WHERE rep = 'mona'"),
        1
    );
    assert_eq!(
        sandbox.count("SELECT count(*) FROM follow_up WHERE rep = 'sam'"),
        1
    );
    assert_eq!(
        sandbox.count("SELECT count(*) FROM follow_up WHERE rep = 'jsmith'"),
        0
    );
}
