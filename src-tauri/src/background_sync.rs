//! Sign-in and background sync for the window live in the application layer
//! (`switchboard_app::sync_service`); the shell hands it the runtime and relays its events.

pub use switchboard_app::sync_service::*;
