#!/usr/bin/env bash
# Regenerates the UI's TypeScript types from the Rust records (ts-rs), and the desktop commands'
# typed calls and capability files from src-tauri/commands.txt (src-tauri/build.rs), and fails
# when they differ from what is committed: the UI must never drift from the wire types.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

GENERATED=ui/src/lib/generated
CAPABILITIES=src-tauri/capabilities
echo "==> regenerating $GENERATED"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# ts-rs writes each exported type from a test named export_bindings_<type>; building the desktop
# crate for those tests runs its build script, which writes the commands' files.
if ! cargo test --workspace --quiet -- export_bindings >"$log" 2>&1; then
  cat "$log" >&2
  echo "check-generated-types: generating the types failed" >&2
  exit 1
fi
changes="$(git status --porcelain -- "$GENERATED" "$CAPABILITIES")"
if [ -n "$changes" ]; then
  echo "check-generated-types: $GENERATED or $CAPABILITIES is out of date with the Rust types or src-tauri/commands.txt:" >&2
  printf '%s\n' "$changes" >&2
  git --no-pager diff -- "$GENERATED" "$CAPABILITIES" >&2
  echo "Commit the regenerated files (cargo test -p switchboard-protocol and cargo build -p switchboard-desktop write them)." >&2
  exit 1
fi
echo "==> $GENERATED and $CAPABILITIES match the Rust types and src-tauri/commands.txt"
