//! Mock-runtime plumbing shared by the desktop test binaries: build the app with its real
//! configuration, open a window, invoke a command the way the webview does.

// Each test binary compiles its own copy of this module and uses only part of it.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::Arc;
use switchboard_core::{FixedClock, Store};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, Builder, WebviewWindow, WebviewWindowBuilder};

/// A store in `file` of `dir` whose clock stands still at `now`.
pub fn store_at(dir: &tempfile::TempDir, file: &str, now: DateTime<Utc>) -> Store {
    Store::open_with_clock(&dir.path().join(file), None, Arc::new(FixedClock::at(now))).unwrap()
}

/// Builds `builder` with the app's real configuration and capabilities.
pub fn build(builder: Builder<MockRuntime>) -> App<MockRuntime> {
    builder
        .build(tauri::generate_context!())
        .expect("the app builds with its real configuration")
}

/// Opens a window labelled `label` (capabilities are granted per label).
pub fn window(app: &App<MockRuntime>, label: &str) -> WebviewWindow<MockRuntime> {
    WebviewWindowBuilder::new(app, label, Default::default())
        .build()
        .unwrap()
}

/// Invokes `cmd` from `window` as the webview would; `Err` holds the rejected value.
pub fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            // What the window's own pages are served from on Linux.
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}
