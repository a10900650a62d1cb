#!/usr/bin/env bash
# Renews the committed RustSec advisory snapshot (supply-chain/advisory-db) from GitHub, on a
# machine that reaches github.com; commit the result. `make test` itself never fetches it.
#   scripts/refresh-advisory-db.sh [REPOSITORY-URL-OR-PATH]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SOURCE="${1:-https://github.com/rustsec/advisory-db}"
DEST="$ROOT/supply-chain/advisory-db"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

git clone --quiet --depth 1 "$SOURCE" "$work/db"
commit="$(git -C "$work/db" rev-parse HEAD)"
date="$(git -C "$work/db" show -s --format=%cI HEAD)"
rm -rf "$DEST/crates"
cp -R "$work/db/crates" "$DEST/crates"
cp "$work/db/LICENSE.txt" "$DEST/LICENSE.txt"
cat >"$DEST/SNAPSHOT" <<SNAPSHOT
# The \`crates/\` part of the RustSec advisory database that cargo-deny checks against
# (scripts/check-supply-chain.sh); renewed by scripts/refresh-advisory-db.sh.
source=https://github.com/rustsec/advisory-db
commit=$commit
date=$date
SNAPSHOT
echo "advisory snapshot: $commit of $date ($(find "$DEST/crates" -name '*.md' | wc -l) advisories)"
echo "next: scripts/check-supply-chain.sh, then commit supply-chain/advisory-db"
