//! Updates served by the office, on SQLite and PostgreSQL: a package published through one
//! instance is served whole (several pieces, streamed) by a second instance on the same store,
//! only to signed-in devices; an unknown or malformed version is 404.

use crate::support;

use switchboard_protocol::updates::UpdateManifest;
use switchboard_protocol::Role;
use switchboard_server::updates::{self, Publish, CHUNK_BYTES};
use switchboard_test_support::{TestOptions, TestServer};

/// A Tauri signature naming version 0.2.0 (`tauri signer sign --app-version 0.2.0`); the server
/// reads the version from it but cannot check it (the key is the office's build setting).
const SIG_FOR_0_2_0: &str = "dW50cnVzdGVkIGNvbW1lbnQ6IHNpZ25hdHVyZSBmcm9tIHRhdXJpIHNlY3JldCBrZXkKUlVUcEVTeUlDcUt5SDhpSTRtZWtCaFJ4eFJNa1o0WGRsNVdDNEJYcVBLdEVGc3dGb0RNUmlWcWk3eVV3M1JaVW9mbHhqVFhnWkI5c2dLdHo3bjNEMTlDcVFhamxpbVVGWEFNPQp0cnVzdGVkIGNvbW1lbnQ6IHRpbWVzdGFtcDoxNzk2NDg0NTY2CWZpbGU6Zi5kZWIJdmVyc2lvbjowLjIuMAp0SkJSSjFyYzBDd1hqOHRBd0tuYlpFZ3d0RGE3YjNuenZyQTZ0eXdDMzhtMmV4QkRpcmRSM0hPN3NGZXIwY3duTSs3djdVUlI2QXpFMlkySjl2ZnJEUT09Cg==";

async fn served_by_every_instance(options: TestOptions) {
    let first = TestServer::start(options).await.unwrap();
    first.add_office("BER", "DE").await.unwrap();
    first
        .add_user("rita", Role::Rep, Some("BER"), support::PASSWORD)
        .await
        .unwrap();
    let second = first
        .start_sibling(std::sync::Arc::new(switchboard_domain::SystemClock))
        .await
        .unwrap();
    let rita = second.login("rita", support::PASSWORD).await.unwrap();
    let latest = format!("{}/v1/updates/latest", second.url);

    // None published yet.
    let r = rita
        .http
        .get(&latest)
        .bearer_auth(rita.token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::NO_CONTENT);

    // Published through the first instance's store: three pieces.
    let mut package = b"!<arch>\ndebian-binary   ".to_vec();
    package.extend((0..2 * CHUNK_BYTES + 4321).map(|i| (i * 7 % 256) as u8));
    let stored = package.clone();
    let now = chrono::Utc::now();
    first
        .admin(move |tx| {
            updates::publish(
                tx,
                &Publish {
                    package: &stored,
                    signature: SIG_FOR_0_2_0,
                    version: "0.2.0",
                    notes: "Faster call queue",
                },
                now,
            )
        })
        .await
        .unwrap();

    // The second instance serves it.
    let manifest: UpdateManifest = rita
        .http
        .get(&latest)
        .bearer_auth(rita.token.expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(manifest.version, "0.2.0");
    assert_eq!(manifest.notes, "Faster call queue");
    assert_eq!(manifest.size, package.len() as u64);
    assert_eq!(manifest.signature, SIG_FOR_0_2_0);
    let r = rita
        .http
        .get(format!("{}{}", second.url, manifest.url))
        .bearer_auth(rita.token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.debian.binary-package"
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), package.as_slice());

    // Only to signed-in devices; unknown and malformed versions are 404.
    let r = rita
        .http
        .get(format!("{}{}", second.url, manifest.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
    for version in ["0.3.0", "banana", "0.2.0.0"] {
        let r = rita
            .http
            .get(format!("{}/v1/updates/{version}/artifact", second.url))
            .bearer_auth(rita.token.expose())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::NOT_FOUND, "{version}");
    }
}
both_backends!(
    a_published_update_is_served_by_every_instance,
    served_by_every_instance
);
