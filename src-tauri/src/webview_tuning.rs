//! Keeps the WebKitGTK webview's idle memory down. Switchboard's window is one local page of
//! forms, lists and small SVG charts; it needs no GPU compositing, which under software GL (as on
//! machines without a usable GPU, and under Xvfb) keeps ~90 MB of layer buffers in the WebKit
//! web process. docs/BENCHMARKS.md ("Desktop window") has the measurements, including the
//! per-webview settings that were tried and dropped because they saved nothing measurable.
//!
//! `SWITCHBOARD_WEBVIEW_TUNING=off` keeps WebKit's defaults, for comparison.

/// The environment variable that turns the tuning off (`off`) for comparison.
pub const TUNING_ENV: &str = "SWITCHBOARD_WEBVIEW_TUNING";

/// WebKit's switch for rendering without compositing; `0` keeps compositing.
const NO_COMPOSITING: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";

/// Before any webview exists: render without compositing, unless turned off or the user set
/// WebKit's own variable (to `0` to keep compositing), whose choice is obeyed.
pub fn prepare_environment() {
    if std::env::var(TUNING_ENV).as_deref() == Ok("off")
        || std::env::var_os(NO_COMPOSITING).is_some()
    {
        return;
    }
    // Called from `run()` before the runtime starts any thread, so no reader races this.
    std::env::set_var(NO_COMPOSITING, "1");
}
