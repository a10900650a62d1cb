#!/usr/bin/env bash
# `make package-test`: the packages `make bundle` built, installed as an office would, into a clean
# Debian 12 chroot (docs/PACKAGING.md).
#
#   switchboard-server: apt installs it (dependencies from Debian's mirror), the post-install
#   message, user, folders and modes are checked; switchboard-server-init creates the data folder;
#   the service starts the way its unit's ExecStart does (systemd cannot be PID 1 in a chroot;
#   the unit itself goes through `systemd-analyze verify` and `security`); the host's real
#   `switchboard` CLI signs in with the printed fingerprint and syncs two replicas over HTTPS; a
#   SIGTERM stops the server cleanly.
#   Desktop: apt installs the .deb; every library the window and the CLI link resolves; `switchboard
#   --version` is the package's version; `man switchboard` shows the generated page.
#   Both: lintian, no error and no warning (the informational tags left: docs/PACKAGING.md).
#
# Needs root (chroot, mounts) and network access to deb.debian.org (or DEBIAN_MIRROR). The
# debootstrap result is cached as a tarball, and downloaded .debs in an apt cache, under
# SWITCHBOARD_CACHE_DIR (default ~/.cache/switchboard), so a rerun takes about a minute.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
DEB_DIR="$TARGET_DIR/release/bundle/deb"
CLI="$TARGET_DIR/release/switchboard"
CACHE="${SWITCHBOARD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard}"
TARBALL="$CACHE/debian-12-minbase.tar.gz"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PASSWORD="package-test-password"

say() { printf '==> %s\n' "$*"; }
die() {
  printf 'package-test: FAIL: %s\n' "$*" >&2
  exit 1
}
expect_in() { # expect_in NEEDLE TEXT WHAT
  grep -qF -- "$1" <<<"$2" || die "$3: expected '$1' in:
$2"
}

[ "$(id -u)" -eq 0 ] || die "run as root (chroot and mounts need it)"
for tool in debootstrap lintian systemd-analyze curl; do
  command -v "$tool" >/dev/null || die "$tool is missing: scripts/install-deps.sh installs it"
done
server_deb="" desktop_deb=""
for deb in "$DEB_DIR"/switchboard-server_*.deb; do [ -e "$deb" ] && server_deb="$deb"; done
for deb in "$DEB_DIR"/[Ss]witchboard_*.deb; do [ -e "$deb" ] && desktop_deb="$deb"; done
[ -f "$server_deb" ] && [ -f "$desktop_deb" ] && [ -x "$CLI" ] \
  || die "no packages in $DEB_DIR or no $CLI: run make bundle first"

# --- The chroot: a cached minimal Debian 12, unpacked fresh for every run ---------------------
mkdir -p "$CACHE/apt-archives/partial"
if [ ! -f "$TARBALL" ]; then
  say "debootstrap Debian 12 (once; cached as $TARBALL)"
  fresh="$(mktemp -d)"
  debootstrap --variant=minbase bookworm "$fresh" "$MIRROR" >"$CACHE/debootstrap.log" \
    || die "debootstrap failed: $CACHE/debootstrap.log"
  tar -C "$fresh" -czf "$TARBALL.part" . && mv "$TARBALL.part" "$TARBALL"
  rm -rf "$fresh"
fi
WORK="$(mktemp -d /tmp/switchboard-package-test.XXXXXX)"
CHROOT="$WORK/root"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill "$server_pid"; fi
  for mount in var/cache/apt/archives dev/pts dev proc; do
    if mountpoint -q "$CHROOT/$mount"; then umount -l "$CHROOT/$mount"; fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$CHROOT"
tar -C "$CHROOT" -xzf "$TARBALL"
mount -t proc proc "$CHROOT/proc"
mount --bind /dev "$CHROOT/dev"
mount --bind /dev/pts "$CHROOT/dev/pts"
mount --bind "$CACHE/apt-archives" "$CHROOT/var/cache/apt/archives"
cp /etc/resolv.conf "$CHROOT/etc/resolv.conf"
# No daemons start inside (Debian's policy-rc.d convention), and apt keeps what it downloads.
printf '#!/bin/sh\nexit 101\n' >"$CHROOT/usr/sbin/policy-rc.d"
chmod 755 "$CHROOT/usr/sbin/policy-rc.d"
rm -f "$CHROOT/etc/apt/apt.conf.d/docker-clean"
echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' >"$CHROOT/etc/apt/apt.conf.d/90keep"
in_chroot() { chroot "$CHROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }
cp "$server_deb" "$desktop_deb" "$CHROOT/tmp/"
say "apt-get update in the chroot"
in_chroot apt-get update -qq >/dev/null

# --- The server package -----------------------------------------------------------------------
say "apt-get install ./$(basename "$server_deb")"
# systemd installed (not running) for `systemd-analyze`, man-db for the manual pages.
installed="$(in_chroot apt-get install -y --no-install-recommends man-db systemd \
  "/tmp/$(basename "$server_deb")" 2>&1)" \
  || die "installing the server package failed:
$installed"
expect_in "switchboard-server-init" "$installed" "post-install message"
expect_in "fingerprint" "$installed" "post-install message"
expect_in "systemctl enable --now switchboard-server" "$installed" "post-install message"
in_chroot getent passwd switchboard-server | grep -q ':/var/lib/switchboard-server:' \
  || die "no system user switchboard-server with home /var/lib/switchboard-server"
[ "$(in_chroot stat -c '%a %U' /var/lib/switchboard-server)" = "700 switchboard-server" ] \
  || die "/var/lib/switchboard-server is not 0700 switchboard-server"
[ "$(in_chroot stat -c '%a %U %G' /etc/switchboard-server/server.conf)" \
  = "640 root switchboard-server" ] || die "server.conf is not 0640 root:switchboard-server"

page="$(in_chroot sh -c 'MANWIDTH=200 man -P cat switchboard-server 2>/dev/null')"
[ "$(in_chroot switchboard-server --help | grep -c '^  [a-z]')" -gt 5 ] \
  || die "switchboard-server --help lists no commands to check the manual page against"
for command in $(in_chroot switchboard-server --help | sed -n '/^Commands:/,/^$/p' \
  | awk '/^  [a-z]/ && $1 != "help" {print $1}'); do
  expect_in "$command" "$page" "man switchboard-server lists every command of --help"
done
in_chroot sh -c 'man -P cat switchboard-server-init >/dev/null 2>&1' \
  || die "no man switchboard-server-init"

UNIT="$CHROOT/lib/systemd/system/switchboard-server.service"
say "systemd-analyze verify (and security) of the installed unit"
verify="$(in_chroot systemd-analyze verify /lib/systemd/system/switchboard-server.service 2>&1)" \
  || die "systemd-analyze verify: $verify"
[ -z "$verify" ] || die "systemd-analyze verify complained: $verify"
exposure="$(in_chroot systemd-analyze security --offline=true \
  /lib/systemd/system/switchboard-server.service 2>&1 | tail -n1)"
say "  $exposure"
for setting in 'StateDirectoryMode=0700' 'ProtectSystem=strict' 'NoNewPrivileges=yes' \
  'Restart=on-failure' 'User=switchboard-server' 'KillSignal=SIGTERM' \
  'EnvironmentFile=/etc/switchboard-server/server.conf'; do
  grep -qx -- "$setting" "$UNIT" || die "the unit lacks $setting"
done

say "switchboard-server-init on a free port of 127.0.0.1"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
sed -i "s|^SWITCHBOARD_LISTEN=.*|SWITCHBOARD_LISTEN=127.0.0.1:$port|" \
  "$CHROOT/etc/switchboard-server/server.conf"
printed="$(in_chroot switchboard-server-init 2>&1)" || die "switchboard-server-init: $printed"
fingerprint="$(sed -n 's/^certificate SHA-256 fingerprint: //p' <<<"$printed")"
[ -n "$fingerprint" ] || die "switchboard-server-init printed no fingerprint: $printed"
[ "$(in_chroot stat -c '%a %U' /var/lib/switchboard-server/master.key)" = "600 switchboard-server" ] \
  || die "the data folder's files are not the service user's, 0600"

admin() { in_chroot runuser -u switchboard-server -- switchboard-server "$@" \
  --data /var/lib/switchboard-server; }
admin office add BER --name Berlin --country DE >/dev/null
admin route add DE BER >/dev/null
printf '%s\n' "$PASSWORD" | admin user add rita --role rep --office BER >/dev/null
printf '%s\n' "$PASSWORD" | admin user add mona --role manager --office BER >/dev/null
intake_key="$(admin intake-key create | tail -n1 | awk '{print $NF}')"

# The unit's own ExecStart line, expanded from the same settings file as systemd would, under
# the unit's user, umask and no-new-privileges. Every step execs, so $! is the server itself and
# gets the SIGTERM directly, as from systemd.
exec_start="$(sed -n 's/^ExecStart=//p' "$UNIT")"
say "serve as the unit's ExecStart: $exec_start"
: >"$WORK/server.log"
chroot "$CHROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin setpriv --reuid=switchboard-server \
  --regid=switchboard-server --init-groups --no-new-privs -- sh -c \
  'umask 0077; set -a; . /etc/switchboard-server/server.conf; set +a; eval "exec $1"' \
  sh "$exec_start" >"$WORK/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q "serving https://" "$WORK/server.log" && break
  kill -0 "$server_pid" 2>/dev/null || die "the server exited: $(cat "$WORK/server.log")"
  sleep 0.1
done
expect_in "serving https://127.0.0.1:$port" "$(cat "$WORK/server.log")" "server start"
expect_in "certificate SHA-256 fingerprint: $fingerprint" "$(cat "$WORK/server.log")" \
  "the fingerprint at start (journalctl shows this line)"
URL="https://127.0.0.1:$port"

say "a registration through the intake, then two replicas sync with the host's switchboard CLI"
status="$(curl -sS -o "$WORK/intake.json" -w '%{http_code}' --cacert \
  "$CHROOT/var/lib/switchboard-server/cert.pem" -H "Authorization: Bearer $intake_key" \
  -H 'Content-Type: application/json' -X POST "$URL/v1/registrations" --data \
  '{"submission_id":"pkg-1","kind":"trial","submitted_at":"2026-03-01T10:00:00Z",
    "name":"Paula Package","email":"paula@package.example","phone":"+49 30 1234567",
    "country":"DE"}')"
[ "${status:0:1}" = 2 ] || die "intake answered $status: $(cat "$WORK/intake.json")"
replica() { # replica USER ARGS...: the host CLI on USER's own database, key and token
  local user="$1"
  shift
  SWITCHBOARD_DB="$WORK/$user.db" SWITCHBOARD_DB_KEY_FILE="$WORK/$user.key" \
    SWITCHBOARD_TOKEN="$(cat "$WORK/$user.token" 2>/dev/null)" \
    SWITCHBOARD_USER="$user" "$CLI" "$@"
}
for user in rita mona; do
  # No keychain here: each replica's SQLCipher key comes from a 0600 key file, the documented
  # headless way.
  (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$WORK/$user.key")
  replica "$user" init >/dev/null
  printf '%s\n' "$PASSWORD" | replica "$user" login --server "$URL" --user "$user" \
    --fingerprint "$fingerprint" --print-token --password-stdin >"$WORK/$user.token"
done
replica rita sync >/dev/null
lead="$(replica rita --json leads search paula | python3 -c \
  'import json,sys; print(json.load(sys.stdin)[0]["lead"]["id"])')" \
  || die "rita's replica did not receive the registration"
replica rita log "$lead" --channel phone --outcome no_answer --note "package test call" \
  >/dev/null
replica rita sync >/dev/null
replica mona sync >/dev/null
history="$(replica mona --json history --lead "$lead")"
expect_in "package test call" "$history" "mona's replica after sync"
status="$(replica rita status)"
grep -q "^Pending: *0 " <<<"$status" || die "rita still has changes to push: $status"

say "SIGTERM: the server stops cleanly"
kill -TERM "$server_pid"
stopped=no
for _ in $(seq 1 100); do
  if ! kill -0 "$server_pid" 2>/dev/null; then stopped=yes; break; fi
  sleep 0.1
done
[ "$stopped" = yes ] || die "the server did not stop within 10 s of SIGTERM"
wait "$server_pid" && code=0 || code=$?
server_pid=""
[ "$code" = 0 ] || die "the server exited $code on SIGTERM: $(tail -n5 "$WORK/server.log")"

# --- The desktop package ----------------------------------------------------------------------
say "apt-get install ./$(basename "$desktop_deb") (dependencies from the mirror)"
installed="$(in_chroot apt-get install -y --no-install-recommends \
  "/tmp/$(basename "$desktop_deb")" 2>&1)" || die "installing the desktop package failed:
$installed"
for binary in /usr/bin/switchboard-desktop /usr/bin/switchboard; do
  missing="$(in_chroot ldd "$binary" | grep 'not found' || true)"
  [ -z "$missing" ] || die "$binary needs libraries its package does not depend on: $missing"
done
package_version="$(dpkg-deb -f "$desktop_deb" Version)"
[ "$(in_chroot switchboard --version)" = "switchboard $package_version" ] \
  || die "switchboard --version is not the package's $package_version"
page="$(in_chroot sh -c 'MANWIDTH=200 man -P cat switchboard 2>/dev/null')"
expect_in "switchboard - Switchboard" "$page" "man switchboard"
[ "$(in_chroot switchboard --help | grep -c '^  [a-z]')" -gt 20 ] \
  || die "switchboard --help lists no commands to check the manual page against"
for command in $(in_chroot switchboard --help | sed -n '/^Commands:/,/^$/p' \
  | awk '/^  [a-z]/ && $1 != "help" {print $1}'); do
  expect_in "$command" "$page" "man switchboard lists every command of --help"
done
in_chroot sh -c 'man -P cat switchboard-desktop >/dev/null 2>&1' || die "no man switchboard-desktop"
desktop_file="$(in_chroot sh -c 'ls /usr/share/applications/*.desktop')"
grep -q '^Exec=switchboard-desktop' "$CHROOT$desktop_file" || die "$desktop_file: no Exec line"

say "lintian"
for deb in "$server_deb" "$desktop_deb"; do
  lintian --fail-on error,warning "$deb" \
    || die "lintian found errors or warnings in $(basename "$deb") (docs/PACKAGING.md)"
done
say "package-test: all checks passed"
