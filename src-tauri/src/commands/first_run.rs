//! Commands of the welcome screen: which screen the window opens on, and the demo database
//! (`switchboard_app::first_run`), marked in the window's title while it runs.

use super::Desk;
use crate::error::error_body;
use switchboard_app::first_run::{FirstRun, FirstRunControl, Stage};
use switchboard_core::protocol::ErrorBody;
use tauri::{Runtime, State, WebviewWindow};

/// The window's title for the stage: a demo says so in the title bar too.
fn title_for(view: &FirstRun) -> &'static str {
    match view.stage {
        Stage::Demo => "Switchboard — DEMO (made-up data, thrown away on exit)",
        Stage::Welcome | Stage::Ready => "Switchboard",
    }
}

fn titled<R: Runtime>(window: &WebviewWindow<R>, view: FirstRun) -> FirstRun {
    // A title that cannot be set leaves the banner in the window to say it.
    let _ = window.set_title(title_for(&view));
    view
}

/// Welcome, demo or ready, where the real database is, and the line on personal data.
#[tauri::command(async)]
pub fn first_run_state(
    desk: State<'_, Desk>,
    first_run: State<'_, FirstRunControl>,
) -> Result<FirstRun, ErrorBody> {
    first_run.view(&desk).map_err(error_body)
}

/// Opens a seeded demo database beside the real one and works on it until `demo_end`.
#[tauri::command(async)]
pub fn demo_start<R: Runtime>(
    window: WebviewWindow<R>,
    desk: State<'_, Desk>,
    first_run: State<'_, FirstRunControl>,
) -> Result<FirstRun, ErrorBody> {
    let view = first_run.start_demo(&desk).map_err(error_body)?;
    Ok(titled(&window, view))
}

/// Throws the demo away and returns to the real (untouched) database.
#[tauri::command(async)]
pub fn demo_end<R: Runtime>(
    window: WebviewWindow<R>,
    desk: State<'_, Desk>,
    first_run: State<'_, FirstRunControl>,
) -> Result<FirstRun, ErrorBody> {
    let view = first_run.end_demo(&desk).map_err(error_body)?;
    Ok(titled(&window, view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_demo_is_titled_a_demo() {
        let view = |stage| FirstRun {
            stage,
            database: None,
            data_note: String::new(),
            leads: 0,
        };
        assert!(title_for(&view(Stage::Demo)).contains("DEMO"));
        assert_eq!(title_for(&view(Stage::Welcome)), "Switchboard");
        assert_eq!(title_for(&view(Stage::Ready)), "Switchboard");
    }
}
