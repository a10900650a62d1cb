//! The sign-in probe against a real server on 127.0.0.1:0 with real TLS: it reads the
//! fingerprint `switchboard-server init` printed, and a client pinned to what it read gets
//! through the handshake (the login is then refused on its merits, not on the certificate).

use switchboard_protocol::Secret;
use switchboard_sync::{probe, Client, TrustAnchor};
use switchboard_test_support::{TestOptions, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_reads_the_printed_fingerprint_and_a_pin_to_it_gets_through() {
    let server = TestServer::start(TestOptions::default()).await.unwrap();
    let probed = probe::server_fingerprint(&server.url).await.unwrap();
    assert_eq!(probed, server.fingerprint);
    // The same again with a trailing slash and spaces, as people paste it.
    let pasted = probe::server_fingerprint(&format!(" {}/ ", server.url))
        .await
        .unwrap();
    assert_eq!(pasted, server.fingerprint);

    let pinned = Client::new(&server.url, &TrustAnchor::fingerprint(&probed).unwrap()).unwrap();
    let refused = pinned
        .login("nobody", &Secret::new("not a password"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "unauthorized", "{refused}");
    server.stop().await;
}
