#!/usr/bin/env bash
# Writes the CycloneDX SBOMs of what `make bundle` ships into DIR (beside the .deb):
#   switchboard-rust.cdx.json  the desktop binary's Rust dependencies (cargo-cyclonedx; Linux
#                              target, no dev-dependencies)
#   switchboard-ui.cdx.json    the UI's production npm dependencies (npm's own `npm sbom`)
# See docs/SUPPLY_CHAIN.md.
#   scripts/write-sbom.sh DIR
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:?usage: scripts/write-sbom.sh DIR}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
TARGET="$(rustc -vV | sed -n 's/^host: //p')"

# cargo-cyclonedx writes one file beside every workspace member's Cargo.toml; a name of our own
# lets us keep the root package's (the desktop binary) and remove the rest.
name="sbom-$$"
trap 'find "$ROOT" -path "$ROOT/target" -prune -o -name "$name.json" -type f -exec rm -f {} +' EXIT
cargo cyclonedx --manifest-path "$ROOT/Cargo.toml" --format json --spec-version 1.5 \
  --target "$TARGET" --override-filename "$name" --quiet
mv "$ROOT/$name.json" "$OUT/switchboard-rust.cdx.json"

# From the lock file: npm's tree check trips over node_modules entries the UI never uses.
(cd "$ROOT/ui" && npm sbom --sbom-format cyclonedx --omit dev --package-lock-only) \
  >"$OUT/switchboard-ui.cdx.json"

count() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).components.length)' "$1"; }
echo "==> SBOMs in $OUT: switchboard-rust.cdx.json ($(count "$OUT/switchboard-rust.cdx.json") crates)," \
  "switchboard-ui.cdx.json ($(count "$OUT/switchboard-ui.cdx.json") npm packages)"
