//! Devices on both stores: every sign-in is a device with its name, version and syncs; a
//! revoked device (or every device of a revoked user) is refused with `device_revoked`, even
//! when it signs in again; tokens slide while in use and expire when idle past the office's
//! limit, by the server's clock.

use crate::support;

use chrono::Duration;
use reqwest::StatusCode;
use std::sync::Arc;
use support::*;
use switchboard_domain::{Clock, FixedClock};
use switchboard_protocol::*;
use switchboard_server::{accounts, admin, roles};
use switchboard_test_support::TestOptions;

/// A login with device details; returns the status and the answer or error body.
async fn login(
    w: &World,
    user: &str,
    device_id: Option<&str>,
    name: &str,
) -> Result<LoginResponse, (StatusCode, ErrorBody)> {
    let mut request = LoginRequest::new(user, Secret::new(PASSWORD));
    request.device_id = device_id.map(str::to_string);
    request.device_name = Some(name.into());
    request.app_version = Some("9.8.7".into());
    let r = w
        .server
        .http()
        .post(format!("{}/v1/login", w.server.url))
        .json(&request)
        .send()
        .await
        .unwrap();
    let status = r.status();
    if status.is_success() {
        Ok(r.json().await.unwrap())
    } else {
        Err((status, r.json().await.unwrap()))
    }
}

async fn call(
    w: &World,
    token: &Secret,
    method: reqwest::Method,
    path: &str,
) -> (StatusCode, String) {
    let r = w
        .server
        .http()
        .request(method, format!("{}{path}", w.server.url))
        .bearer_auth(token.expose())
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.text().await.unwrap())
}

async fn pull(w: &World, token: &Secret) -> (StatusCode, String) {
    call(w, token, reqwest::Method::GET, "/v1/changes?after=0").await
}

fn code(body: &str) -> String {
    serde_json::from_str::<ErrorBody>(body)
        .map(|b| b.code)
        .unwrap_or_default()
}

async fn devices_of(w: &World, token: &Secret) -> Vec<Device> {
    let (status, body) = call(w, token, reqwest::Method::GET, "/v1/devices").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

async fn devices(options: TestOptions) {
    let clock = FixedClock::at(chrono::Utc::now());
    let w = World::start(TestOptions {
        clock: Arc::new(clock.clone()),
        ..options
    })
    .await;
    let t_login = clock.now();

    // A sign-in is a device with its name and version; signing in again with its id keeps it.
    let laptop = login(&w, "rep_a", None, "rita-laptop").await.unwrap();
    let device = laptop.device_id.clone().expect("a device id");
    let again = login(&w, "rep_a", Some(&device), "rita-laptop-renamed")
        .await
        .unwrap();
    assert_eq!(again.device_id.as_deref(), Some(device.as_str()));
    // Another account cannot sign in as that device: it gets its own.
    let other = login(&w, "rep_b", Some(&device), "bea-laptop")
        .await
        .unwrap();
    assert_ne!(other.device_id.as_deref(), Some(device.as_str()));

    clock.advance(Duration::minutes(5));
    assert_eq!(pull(&w, &laptop.token).await.0, StatusCode::OK);
    let t_first = clock.now();
    clock.advance(Duration::minutes(5));
    assert_eq!(pull(&w, &again.token).await.0, StatusCode::OK);
    let t_last = clock.now();

    // The manager of A sees A's devices only, with their syncs; B's manager and reps do not.
    let listed = devices_of(&w, &w.mgr_a.token).await;
    let mine = listed
        .iter()
        .find(|d| d.id == device)
        .expect("rita's laptop is listed");
    assert_eq!(mine.name, "rita-laptop-renamed");
    assert_eq!(mine.app_version.as_deref(), Some("9.8.7"));
    assert_eq!(mine.user, "rep_a");
    assert_eq!(mine.office.as_deref(), Some("A"));
    assert_eq!(mine.signed_in_at.timestamp(), t_login.timestamp());
    assert_eq!(
        mine.first_sync.map(|t| t.timestamp()),
        Some(t_first.timestamp())
    );
    assert_eq!(
        mine.last_sync.map(|t| t.timestamp()),
        Some(t_last.timestamp())
    );
    assert!(listed.iter().all(|d| d.office.as_deref() == Some("A")));
    assert!(devices_of(&w, &w.mgr_b.token)
        .await
        .iter()
        .all(|d| d.id != device));
    assert!(devices_of(&w, &w.admin.token)
        .await
        .iter()
        .any(|d| d.id == device));
    let (status, body) = call(&w, &w.rep_a.token, reqwest::Method::GET, "/v1/devices").await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );

    // B's manager cannot revoke A's device; A's manager can, and both its tokens die at once.
    let revoke = format!("/v1/devices/{device}/revoke");
    let (status, body) = call(&w, &w.mgr_b.token, reqwest::Method::POST, &revoke).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let (status, body) = call(&w, &w.mgr_a.token, reqwest::Method::POST, &revoke).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let revoked: Device = serde_json::from_str(&body).unwrap();
    assert_eq!(revoked.revoked_by.as_deref(), Some("mgr_a"));
    for token in [&laptop.token, &again.token] {
        let (status, body) = pull(&w, token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(code(&body), DEVICE_REVOKED);
        assert!(
            body.contains("by mgr_a") && body.contains("erased"),
            "{body}"
        );
        let (status, body) = call(&w, token, reqwest::Method::POST, "/v1/push").await;
        assert_eq!(
            (status, code(&body).as_str()),
            (StatusCode::UNAUTHORIZED, DEVICE_REVOKED)
        );
    }
    // The revoked device cannot sign in again as itself; a new device (a wiped laptop) can.
    let (status, body) = login(&w, "rep_a", Some(&device), "rita-laptop")
        .await
        .unwrap_err();
    assert_eq!(
        (status, body.code.as_str()),
        (StatusCode::UNAUTHORIZED, DEVICE_REVOKED)
    );
    let fresh = login(&w, "rep_a", None, "rita-new-laptop").await.unwrap();
    assert_eq!(pull(&w, &fresh.token).await.0, StatusCode::OK);
    // The rep's other sessions are untouched.
    assert_eq!(pull(&w, &w.rep_a.token).await.0, StatusCode::OK);

    // A revoked user has every device revoked.
    let now = clock.now();
    w.server
        .admin(move |tx| accounts::revoke_user(tx, "rep_a", now))
        .await
        .unwrap();
    for token in [&fresh.token, &w.rep_a.token] {
        let (status, body) = pull(&w, token).await;
        assert_eq!(
            (status, code(&body).as_str()),
            (StatusCode::UNAUTHORIZED, DEVICE_REVOKED)
        );
    }
    assert!(devices_of(&w, &w.admin.token)
        .await
        .iter()
        .filter(|d| d.user == "rep_a")
        .all(|d| d.revoked_at.is_some()));
}
both_backends!(devices_are_listed_revoked_and_refused, devices);

/// Moving a user to another office revokes every device they signed in on (those laptops hold
/// the old office's people); a new role in the same office revokes none.
async fn office_move(options: TestOptions) {
    let w = World::start(options).await;
    let laptop = login(&w, "rep_a", None, "rita-laptop").await.unwrap();
    assert_eq!(pull(&w, &laptop.token).await.0, StatusCode::OK);
    let now = chrono::Utc::now();
    let same_office = w
        .server
        .admin(move |tx| roles::set_role(tx, "rep_a", Role::Privacy, Some("A"), now))
        .await
        .unwrap();
    assert_eq!(same_office, 0);
    assert_eq!(pull(&w, &laptop.token).await.0, StatusCode::OK);

    let moved = w
        .server
        .admin(move |tx| roles::set_role(tx, "rep_a", Role::Rep, Some("B"), now))
        .await
        .unwrap();
    assert!(
        moved >= 2,
        "the laptop and the world's own session: {moved}"
    );
    for token in [&laptop.token, &w.rep_a.token] {
        let (status, body) = pull(&w, token).await;
        assert_eq!(
            (status, code(&body).as_str()),
            (StatusCode::UNAUTHORIZED, DEVICE_REVOKED),
            "{body}"
        );
        assert!(body.contains("moved from office A"), "{body}");
    }
    // Signing in again gives a device of the new office.
    let fresh = login(&w, "rep_a", None, "rita-laptop").await.unwrap();
    assert_eq!(fresh.office.as_deref(), Some("B"));
    assert_eq!(pull(&w, &fresh.token).await.0, StatusCode::OK);
}
both_backends!(
    moving_a_user_to_another_office_revokes_their_devices,
    office_move
);

async fn expiry(options: TestOptions) {
    let clock = FixedClock::at(chrono::Utc::now());
    let w = World::start(TestOptions {
        clock: Arc::new(clock.clone()),
        ..options
    })
    .await;
    let busy = login(&w, "rep_b", None, "busy").await.unwrap();
    let idle = login(&w, "rep_b", None, "idle").await.unwrap();
    assert_eq!(busy.expires_at, clock.now() + Duration::days(30));
    // In use, the token slides: 20 + 20 days is past the first expiry.
    for _ in 0..2 {
        clock.advance(Duration::days(20));
        assert_eq!(pull(&w, &busy.token).await.0, StatusCode::OK);
    }
    // Idle for 40 days: expired, with a message that says to sign in again.
    let (status, body) = pull(&w, &idle.token).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, TOKEN_EXPIRED)
    );
    assert!(
        body.contains("sign in again") && body.contains("30 days"),
        "{body}"
    );
    // Signing in again keeps the device.
    let back = login(&w, "rep_b", idle.device_id.as_deref(), "idle")
        .await
        .unwrap();
    assert_eq!(back.device_id, idle.device_id);

    // An office's own limit applies at once, also to tokens renewed under the longer one.
    w.server
        .admin(|tx| admin::set_idle_limit(tx, "B", Some(3)))
        .await
        .unwrap();
    clock.advance(Duration::days(2));
    assert_eq!(pull(&w, &busy.token).await.0, StatusCode::OK);
    assert_eq!(pull(&w, &back.token).await.0, StatusCode::OK);
    // Every two days the busy device syncs; the other stays idle for four.
    for _ in 0..2 {
        clock.advance(Duration::days(2));
        assert_eq!(pull(&w, &busy.token).await.0, StatusCode::OK);
    }
    let (status, body) = pull(&w, &back.token).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, TOKEN_EXPIRED)
    );
    assert!(body.contains("3 days"), "{body}");
    // Office A keeps the server's default.
    let a = login(&w, "rep_a", None, "a").await.unwrap();
    assert_eq!(a.expires_at, clock.now() + Duration::days(30));
}
both_backends!(tokens_slide_in_use_and_expire_when_idle, expiry);
