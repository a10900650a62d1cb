//! The workspace's layering, checked on `cargo metadata`: each crate may depend only on the
//! crates below it in the map written in docs/ARCHITECTURE.md. A server that links the SQLite
//! replica, or a front end that grows its own copy of a rule because it reached around the
//! application layer, starts as one new line in a Cargo.toml; this test is where it stops.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// What each workspace crate may use as a normal (shipped) dependency. Test-only crates
/// (`switchboard-test-support`, `switchboard-fuzz`, `switchboard-tests`) are free to use anything
/// and are checked only for not being shipped.
fn allowed() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        ("switchboard-protocol", &[][..]),
        ("switchboard-pinning", &[][..]),
        // SQLCipher's page crypto, shared by the replica and the server's SQLite store.
        ("switchboard-page-crypto", &[][..]),
        ("switchboard-domain", &["switchboard-protocol"][..]),
        (
            "switchboard-core",
            &[
                "switchboard-protocol",
                "switchboard-domain",
                "switchboard-page-crypto",
            ][..],
        ),
        (
            "switchboard-sync",
            &[
                "switchboard-protocol",
                "switchboard-domain",
                "switchboard-core",
                "switchboard-pinning",
            ][..],
        ),
        // The window's email (compose, send, connection test) goes through mail's transport.
        (
            "switchboard-app",
            &[
                "switchboard-protocol",
                "switchboard-domain",
                "switchboard-core",
                "switchboard-sync",
                "switchboard-mail",
            ][..],
        ),
        // Mail transport: SMTP/IMAP beside the replica, the keychain through sync's.
        (
            "switchboard-mail",
            &[
                "switchboard-protocol",
                "switchboard-core",
                "switchboard-sync",
            ][..],
        ),
        (
            "switchboard-cli",
            &[
                "switchboard-mail",
                "switchboard-app",
                "switchboard-core",
                "switchboard-sync",
                "switchboard-protocol",
                "switchboard-domain",
            ][..],
        ),
        (
            "switchboard-desktop",
            &[
                "switchboard-app",
                "switchboard-core",
                "switchboard-sync",
                "switchboard-protocol",
                "switchboard-domain",
            ][..],
        ),
        // The central server shares only the pure crates with the client: never the replica.
        (
            "switchboard-server",
            &[
                "switchboard-protocol",
                "switchboard-domain",
                "switchboard-pinning",
                "switchboard-page-crypto",
            ][..],
        ),
    ])
}

/// Crates that exist for tests and benchmarks only.
const TEST_ONLY: [&str; 3] = [
    "switchboard-test-support",
    "switchboard-fuzz",
    "switchboard-tests",
];

/// Each workspace package with its workspace dependencies of the given kind (`None`: normal).
fn workspace_edges(kind: Option<&str>) -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(&root)
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let names: BTreeSet<String> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    packages
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].as_str() == kind)
                .map(|d| d["name"].as_str().unwrap().to_string())
                .filter(|n| names.contains(n))
                .collect();
            (p["name"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

#[test]
fn every_crate_depends_only_on_the_layers_below_it() {
    let allowed = allowed();
    let mut offences = Vec::new();
    for (package, deps) in workspace_edges(None) {
        if TEST_ONLY.contains(&package.as_str()) {
            continue;
        }
        let Some(may) = allowed.get(package.as_str()) else {
            offences.push(format!(
                "{package} is not in the layer map: add it to this test and to docs/ARCHITECTURE.md"
            ));
            continue;
        };
        for dep in deps {
            if !may.contains(&dep.as_str()) {
                offences.push(format!("{package} depends on {dep}, which it may not"));
            }
        }
    }
    assert!(offences.is_empty(), "{}", offences.join("\n"));
}

#[test]
fn no_shipped_crate_links_test_support() {
    let mut offences = Vec::new();
    for kind in [None, Some("build")] {
        for (package, deps) in workspace_edges(kind) {
            if TEST_ONLY.contains(&package.as_str()) {
                continue;
            }
            for dep in deps.iter().filter(|d| TEST_ONLY.contains(&d.as_str())) {
                offences.push(format!("{package} ships with {dep}"));
            }
        }
    }
    assert!(offences.is_empty(), "{}", offences.join("\n"));
}

#[test]
fn the_layer_map_names_only_real_crates() {
    let real = workspace_edges(None);
    for (package, deps) in allowed() {
        for name in deps.iter().chain([&package]) {
            assert!(
                real.contains_key(*name),
                "{name} is in the layer map but not in the workspace"
            );
        }
    }
}
