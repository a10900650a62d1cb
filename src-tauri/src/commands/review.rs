//! Commands for the review screens (filled in by the desktop issue's work on them).
