//! Commands for the sync screens (filled in by the desktop issue's work on them).
