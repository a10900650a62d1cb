#!/usr/bin/env bash
# Regenerates the UI's TypeScript types from the Rust records (ts-rs) and fails when they differ
# from what is committed: the UI must never drift from the wire types.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

GENERATED=ui/src/lib/generated
echo "==> regenerating $GENERATED"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# ts-rs writes each exported type from a test named export_bindings_<type>.
if ! cargo test --workspace --quiet -- export_bindings >"$log" 2>&1; then
  cat "$log" >&2
  echo "check-generated-types: generating the types failed" >&2
  exit 1
fi
changes="$(git status --porcelain -- "$GENERATED")"
if [ -n "$changes" ]; then
  echo "check-generated-types: $GENERATED is out of date with the Rust types:" >&2
  printf '%s\n' "$changes" >&2
  git --no-pager diff -- "$GENERATED" >&2
  echo "Commit the regenerated files (cargo test -p switchboard-protocol writes them)." >&2
  exit 1
fi
echo "==> $GENERATED matches the Rust types"
