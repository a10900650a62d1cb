#!/usr/bin/env bash
# What the desktop .deb installs besides the window (tauri.conf.json bundle.linux.deb.files): the
# release `switchboard` CLI, and the manual pages and changelog gzipped into
# target/release/deb-inputs/ (Tauri's own `changelog` setting files it under the product name,
# /usr/share/doc/Switchboard, where Debian tools do not look). switchboard(1)
# is generated from the CLI's own clap definition (`switchboard manpage`), so it matches --help.
# CARGO (default cargo) is the cargo to build with; SKIP_CARGO_BUILD=1 uses the binary as is.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$TARGET_DIR/release/deb-inputs"

if [ "${SKIP_CARGO_BUILD:-0}" != 1 ]; then
  echo "==> cargo build --release -p switchboard-cli"
  CARGO_INCREMENTAL=0 "${CARGO:-cargo}" build --release --locked -p switchboard-cli
fi
mkdir -p "$OUT"
"$TARGET_DIR/release/switchboard" manpage | gzip -9n >"$OUT/switchboard.1.gz"
gzip -9n <"$ROOT/packaging/desktop/switchboard-desktop.1" >"$OUT/switchboard-desktop.1.gz"
gzip -9n <"$ROOT/packaging/desktop/changelog" >"$OUT/changelog.gz"
echo "==> $OUT: switchboard.1.gz, switchboard-desktop.1.gz, changelog.gz"
