//! Intake: how people arrive — one website registration at a time (`submission`, in bulk too) or
//! from a CSV / JSON-lines file (`import`).

pub mod import;
pub mod submission;

pub use submission::*;
