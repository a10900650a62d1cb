//! Each table has one owner module that writes it: every INSERT, UPDATE and DELETE of a table in
//! the core's library code sits in that module's file, and every other module calls the owner's
//! named functions. A second writer of a table is how two copies of one rule drift apart (the
//! replica's own inserts of follow-ups once missed what `followup.rs` did). Owners are named by
//! file stem, so moving a file into another folder changes nothing here.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use switchboard_test_support::source::{is_test_file, library_code, rust_files};

/// Table → the module that alone writes it: its file stem, or the end of its path where a stem
/// alone is ambiguous (`mail/outbox` is not the sync `outbox`).
const OWNERS: &[(&str, &str)] = &[
    ("audience_export", "audience"),
    ("audience_member", "audience"),
    ("audit", "audit"),
    // Cadences (issue 12). Migration 0011's triggers also write `cadence_enrollment` (stops
    // where consent and lead rows change, enrolment by intake rule); they are SQL, not module
    // code.
    ("cadence", "definition"),
    ("cadence_enrollment", "enrollment"),
    ("cadence_rule", "definition"),
    ("cadence_version", "definition"),
    ("consent_event", "consent"),
    ("disclosure", "disclosure"),
    ("email_template", "mail/templates"),
    ("erasure", "erase"),
    ("feedback_import", "feedback"),
    ("follow_up", "followup"),
    ("note_search", "followup"),
    ("lead", "leads"),
    ("lead_lease", "lease"),
    ("lead_search", "leads"),
    ("mail_inbound", "mail/inbound"),
    ("mail_outbox", "mail/outbox"),
    ("letter_batch", "letters"),
    ("letter_template", "letters"),
    ("office", "search"),
    ("outbox", "store/outbox"),
    ("partner", "registry"),
    ("partner_notice", "notices"),
    ("queue", "queue"),
    // The import benchmark's scratch table, in its own throw-away database.
    ("raw_registration", "bench_import"),
    ("registration", "registration"),
    ("registration_text", "registration"),
    ("reminder_sent", "reminders"),
    ("setting", "settings"),
    ("subscriber_request", "requests"),
    ("suppression", "suppression"),
    ("sync_rejected", "materialize"),
    // Set while a pulled page is applied, so migration 0013's triggers tell pulled from local.
    ("sync_applying", "apply"),
    ("sync_state", "sync_state"),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The tables `code` writes, by literal name: `INSERT [OR …] INTO t`, `UPDATE t SET`,
/// `DELETE FROM t`. SQL keywords are upper case in this code base, table names lower case, so an
/// upsert's `DO UPDATE SET` is not a write of a table named `SET`.
fn written_tables(code: &str) -> Vec<String> {
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '{' || c == '}'))
        .filter(|w| !w.is_empty())
        .collect();
    let is_table = |w: &str| {
        w.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && w.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    let mut tables = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let candidate = match *w {
            "INTO"
                if i > 0 && (words[i - 1] == "INSERT" || words.get(i - 2) == Some(&"INSERT")) =>
            {
                words.get(i + 1)
            }
            "UPDATE" if words.get(i + 2) == Some(&"SET") => words.get(i + 1),
            "FROM" if i > 0 && words[i - 1] == "DELETE" => words.get(i + 1),
            _ => None,
        };
        if let Some(t) = candidate.filter(|t| is_table(t)) {
            tables.push(t.to_string());
        }
    }
    tables
}

/// Every write of a table outside its owner: "file: writes table (owner: stem)".
fn stray_writes(files: &[(String, String)]) -> Vec<String> {
    let owners: BTreeMap<&str, &str> = OWNERS.iter().copied().collect();
    let mut found = Vec::new();
    for (rel, text) in files {
        let module = rel.trim_end_matches(".rs");
        for table in written_tables(&library_code(text)) {
            match owners.get(table.as_str()) {
                Some(owner) if module == *owner || module.ends_with(&format!("/{owner}")) => {}
                Some(owner) => found.push(format!("{rel}: writes {table} (owner: {owner}.rs)")),
                None => found.push(format!(
                    "{rel}: writes {table}, which has no owner in OWNERS"
                )),
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn every_table_is_written_only_by_its_owner_module() {
    let src = src();
    let files: Vec<(String, String)> = rust_files(&src)
        .into_iter()
        .filter(|p| !is_test_file(p.strip_prefix(&src).unwrap()))
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().display().to_string();
            (rel, fs::read_to_string(&p).unwrap())
        })
        .collect();
    assert!(files.len() > 20, "read {} files under {src:?}", files.len());
    let stray = stray_writes(&files);
    assert!(
        stray.is_empty(),
        "tables written outside their owner module:\n{}",
        stray.join("\n")
    );
}

#[test]
fn a_write_outside_the_owner_is_named_with_file_and_table() {
    let files = vec![
        (
            "people/leads.rs".to_string(),
            "fn a(c: &C) { c.execute(\"UPDATE lead SET name = ?1\", []); }".to_string(),
        ),
        (
            "privacy/erase.rs".to_string(),
            "fn b(c: &C) {\n    c.execute(\n        \"UPDATE follow_up\n         SET note = NULL\", []);\n    c.execute(\"INSERT OR IGNORE INTO erasure(x) VALUES (1)\", []);\n    c.execute(\"INSERT INTO audit(x) VALUES (1) ON CONFLICT(x) DO UPDATE SET x = 2\", []);\n}\n#[cfg(test)]\nmod tests {\n    fn t(c: &C) { c.execute(\"DELETE FROM lead\", []); }\n}\n".to_string(),
        ),
        (
            "replica/apply.rs".to_string(),
            "// DELETE FROM lead in a comment is no write\nconst Q: &str = \"DELETE FROM mystery WHERE 1\";".to_string(),
        ),
    ];
    assert_eq!(
        stray_writes(&files),
        vec![
            "privacy/erase.rs: writes audit (owner: audit.rs)",
            "privacy/erase.rs: writes follow_up (owner: followup.rs)",
            "replica/apply.rs: writes mystery, which has no owner in OWNERS",
        ]
    );
}
