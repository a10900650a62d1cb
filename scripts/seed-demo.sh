#!/usr/bin/env bash
# Fills the database `make run` opens ($SWITCHBOARD_DB, else the OS default) with demo data,
# only when it holds no lead yet, so a real database is never touched.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cli() { cargo run --quiet -p switchboard-cli --bin switchboard -- "$@"; }

cli init
leads="$(cli --json leads list --limit 1)" || { echo "seed-demo: 'switchboard leads list' failed" >&2; exit 1; }
if [ "$(tr -d '[:space:]' <<<"$leads")" = "[]" ]; then
  echo "==> demo data: the database is empty, importing 500 demo registrations of the last four weeks"
  csv="$(mktemp --suffix=.csv)"
  trap 'rm -f "$csv"' EXIT
  cli demo-data --registrations 500 --end now --out "$csv"
  cli import "$csv"
  # Follow-ups by you and two colleagues, so the review, the due queue and your day have data.
  cli demo-activity
else
  echo "==> demo data: the database already has leads, leaving it alone"
fi
