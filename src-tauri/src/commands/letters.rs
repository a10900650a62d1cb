//! Commands for the letters screens (filled in by the desktop issue's work on them).
