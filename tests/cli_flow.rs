//! The life of one lead through the real binary: import, dedup, queue, log, opt-out, the gate's
//! refusal, correction, erasure (with the database bytes scanned), suppression and access.

mod support;

use support::Sandbox;

#[test]
fn init_creates_the_database_and_an_empty_list() {
    let sandbox = Sandbox::new();
    sandbox.run(&["init"]).ok();
    assert!(sandbox.db.exists());
    let leads = sandbox.json(&["leads", "list"]);
    assert_eq!(leads, serde_json::json!([]));
    assert_eq!(sandbox.integrity(), "ok");
}
