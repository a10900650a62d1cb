#!/usr/bin/env bash
# Installs everything `make run` and `make test` need on a fresh Debian 12 machine that has only
# rustup/cargo, node/npm and apt. Idempotent: each step is skipped when its result is present.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APT_PACKAGES=(
  libwebkit2gtk-4.1-dev libsoup-3.0-dev librsvg2-dev libayatana-appindicator3-dev
  build-essential libssl-dev pkg-config xvfb webkit2gtk-driver postgresql gnome-keyring
  dbus dbus-x11 libglib2.0-bin imagemagick dunst postfix dovecot-imapd dovecot-lmtpd
  debootstrap lintian haproxy
)

say() { printf '==> %s\n' "$*"; }
die() { printf 'install-deps: %s\n' "$*" >&2; exit 1; }

missing_apt_packages() {
  local package
  for package in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q '^install ok installed$'; then
      printf '%s\n' "$package"
    fi
  done
}

install_apt_packages() {
  local missing
  mapfile -t missing < <(missing_apt_packages)
  if [ "${#missing[@]}" -eq 0 ]; then
    say "system packages: all present"
    return
  fi
  say "system packages missing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    die "run as root, or install them yourself: sudo apt-get install ${missing[*]}"
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update || die "apt-get update failed"
  apt-get install -y --no-install-recommends "${missing[@]}" || die "apt-get install failed"
}

# node_modules is stale when package-lock.json changed since the last `npm ci`.
install_ui_packages() {
  local stamp="$ROOT/ui/node_modules/.package-lock.json"
  if [ -f "$stamp" ] && [ ! "$ROOT/ui/package-lock.json" -nt "$stamp" ] \
    && [ ! "$ROOT/ui/package.json" -nt "$stamp" ]; then
    say "ui packages: up to date"
    return
  fi
  say "ui packages: npm ci"
  (cd "$ROOT/ui" && npm ci --no-audit --no-fund) || die "npm ci in ui/ failed"
}

install_tauri_driver() {
  if command -v tauri-driver >/dev/null 2>&1; then
    say "tauri-driver: $(command -v tauri-driver)"
    return
  fi
  say "tauri-driver: cargo install"
  cargo install tauri-driver --locked --version '^2' || die "cargo install tauri-driver failed"
}

# Cargo tools at pinned versions (docs/SUPPLY_CHAIN.md), installed when that version is missing:
# cargo-deny for `make test`; cargo-auditable and cargo-cyclonedx for `make bundle`.
CARGO_DENY_VERSION=0.20.2
CARGO_AUDITABLE_VERSION=0.7.7
CARGO_CYCLONEDX_VERSION=0.5.9

install_cargo_tool() {
  local tool="$1" version="$2"
  if cargo install --list | grep -qx "$tool v$version:"; then
    say "$tool: $version"
    return
  fi
  say "$tool: cargo install $version"
  cargo install "$tool" --locked --version "=$version" || die "cargo install $tool failed"
}

# Only `make fuzz` (libFuzzer) needs these; `make test` runs the fuzz smoke test on stable.
install_fuzz_tools() {
  if rustup run nightly rustc --version >/dev/null 2>&1; then
    say "nightly toolchain: present"
  else
    say "nightly toolchain: rustup toolchain install nightly"
    rustup toolchain install nightly --profile minimal || die "installing the nightly toolchain failed"
  fi
  if command -v cargo-fuzz >/dev/null 2>&1; then
    say "cargo-fuzz: $(command -v cargo-fuzz)"
  else
    say "cargo-fuzz: cargo install"
    cargo install cargo-fuzz --locked || die "cargo install cargo-fuzz failed"
  fi
}

command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup first"
if [ "${1:-}" = "--fuzz" ]; then
  install_fuzz_tools
  exit 0
fi
if [ "${1:-}" = "--bundle" ]; then
  install_cargo_tool cargo-auditable "$CARGO_AUDITABLE_VERSION"
  install_cargo_tool cargo-cyclonedx "$CARGO_CYCLONEDX_VERSION"
fi
command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js 20.19 or newer first"
install_apt_packages
install_ui_packages
install_tauri_driver
install_cargo_tool cargo-deny "$CARGO_DENY_VERSION"
say "dependencies ready"
