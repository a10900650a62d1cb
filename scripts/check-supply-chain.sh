#!/usr/bin/env bash
# The supply-chain check `make test` runs (docs/SUPPLY_CHAIN.md): cargo-deny over the Rust
# dependencies (advisories, licences, bans, sources) against the committed RustSec snapshot,
# then `npm audit` over the UI's production dependencies. Needs no access to GitHub.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SNAPSHOT="$ROOT/supply-chain/advisory-db"
# Where cargo-deny looks for the database named in deny.toml's db-urls under its db-path: the
# URL's last segment and cargo-deny's hash of the URL (fixed for the pinned cargo-deny).
DB_DIR="$ROOT/target/advisory-dbs/advisory-db-3157b0e258782691"

snapshot_field() { sed -n "s/^$1=//p" "$SNAPSHOT/SNAPSHOT"; }

# cargo-deny reads crates/**/*.md and takes the database's age from .git/FETCH_HEAD's mtime;
# stamping it with the snapshot's commit date keeps deny.toml's maximum-db-staleness honest.
stage_advisory_db() {
  local date
  date="$(snapshot_field date)"
  [ -n "$date" ] || { echo "check-supply-chain: no date in $SNAPSHOT/SNAPSHOT" >&2; exit 1; }
  mkdir -p "$DB_DIR/.git"
  ln -sfn "$SNAPSHOT/crates" "$DB_DIR/crates"
  touch -d "$date" "$DB_DIR/.git/FETCH_HEAD"
  echo "==> RustSec advisory snapshot $(snapshot_field commit | cut -c1-12) of $date"
}

cd "$ROOT"
stage_advisory_db
# cargo-deny runs offline; the crates it reads must be here (a no-op once anything was built).
cargo fetch --locked --quiet
# The inclusion graphs of the duplicate-version warnings would fill the log; run the same
# command without --hide-inclusion-graph to see who pulls a reported crate in.
cargo deny --locked --offline check --hide-inclusion-graph advisories bans licenses sources
node scripts/npm-audit.mjs
