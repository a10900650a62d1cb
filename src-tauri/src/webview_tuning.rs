//! Keeps the WebKitGTK webview's idle memory down. Switchboard's window is one local page of
//! forms, lists and small SVG charts: it needs no GPU compositing, WebGL, Web Audio,
//! back/forward page cache or browser-sized memory caches, and each of them costs memory in the
//! WebKit web process. docs/BENCHMARKS.md ("Desktop window") has the measured effect of each.
//!
//! `SWITCHBOARD_WEBVIEW_TUNING` chooses: `off` (WebKit's defaults), `env` (only the environment
//! setting below), anything else or unset: everything.

use tauri::plugin::{Builder, TauriPlugin};
use tauri::Runtime;

/// The environment variable that turns the tuning off for comparison (`off`, `env`).
pub const TUNING_ENV: &str = "SWITCHBOARD_WEBVIEW_TUNING";

/// How much of the tuning applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tuning {
    Off,
    EnvironmentOnly,
    All,
}

impl Tuning {
    /// The level `SWITCHBOARD_WEBVIEW_TUNING` asks for.
    pub fn from_env() -> Self {
        match std::env::var(TUNING_ENV).as_deref() {
            Ok("off") => Tuning::Off,
            Ok("env") => Tuning::EnvironmentOnly,
            _ => Tuning::All,
        }
    }
}

/// Before any webview exists: render without GPU compositing. Under software GL (llvmpipe, as on
/// machines without a usable GPU) compositing keeps ~60 MB of layer buffers in the web process;
/// a page this simple paints as fast without it. A user who sets the variable (to `0` to keep
/// compositing) is obeyed.
pub fn prepare_environment(tuning: Tuning) {
    const VAR: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
    if tuning != Tuning::Off && std::env::var_os(VAR).is_none() {
        // Called from `run()` before the runtime starts any thread, so no reader races this.
        std::env::set_var(VAR, "1");
    }
}

/// A plugin that applies the per-webview settings as each webview is created.
pub fn plugin<R: Runtime>(tuning: Tuning) -> TauriPlugin<R> {
    Builder::new("webview-tuning")
        .on_webview_ready(move |webview| {
            if tuning == Tuning::All {
                // Best effort: an old webview without these settings still works, only heavier.
                let _ = webview.with_webview(apply_settings);
            }
        })
        .build()
}

#[cfg(target_os = "linux")]
fn apply_settings(webview: tauri::webview::PlatformWebview) {
    use webkit2gtk::{
        CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebViewExt,
    };
    let view = webview.inner();
    if let Some(settings) = WebViewExt::settings(&view) {
        settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        // wry turns these on for every app; nothing here uses them.
        settings.set_enable_webgl(false);
        settings.set_enable_webaudio(false);
        // One page, never navigated away from: nothing for a back/forward cache to keep.
        settings.set_enable_page_cache(false);
        settings.set_enable_developer_extras(false);
    }
    if let Some(context) = view.context() {
        // Smallest in-memory caches: every resource is a local file served by the app.
        context.set_cache_model(CacheModel::DocumentViewer);
    }
}

#[cfg(not(target_os = "linux"))]
fn apply_settings(_webview: tauri::webview::PlatformWebview) {}
