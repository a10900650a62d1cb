#!/usr/bin/env bash
# Warns, before `make test` builds, when the disk under target/ is nearly full: a build that runs
# out of space fails at a link step with an opaque `linking with cc failed`, minutes in. A fresh
# checkout's test build took 6.4 GB of target/ at its peak in CI (2026-12-07: without cargo's
# incremental caches, one integration test binary per package; it was about 14 GB before both).
set -euo pipefail
mkdir -p target
free_kb=$(df -Pk target | awk 'NR == 2 { print $4 }')
if [ -d target/debug/deps ]; then need_gb=5; else need_gb=8; fi
if [ "$free_kb" -lt $((need_gb * 1024 * 1024)) ]; then
  echo "warning: $((free_kb / 1024 / 1024)) GB free under target/; make test needs about" \
    "$need_gb GB more here. A build that runs out fails at a link step (\"linking with cc failed\")." >&2
fi
