#!/usr/bin/env bash
# Builds the switchboard-server .deb (docs/PACKAGING.md) from a staged tree: the release binary,
# the systemd unit, the settings under /etc, the init helper, the manual pages and the maintainer
# scripts in packaging/server/. Output: target/release/bundle/deb/switchboard-server_V_ARCH.deb.
# CARGO (default cargo) is the cargo to build with; SKIP_CARGO_BUILD=1 packages the binary as is.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
PACKAGING="$ROOT/packaging"
OUT="$TARGET_DIR/release/bundle/deb"
STAGE="$TARGET_DIR/release/deb-stage/switchboard-server"
MAINTAINER="${DEB_MAINTAINER:-Switchboard packagers <packaging@switchboard.example>}"

say() { printf '==> %s\n' "$*"; }

if [ "${SKIP_CARGO_BUILD:-0}" != 1 ]; then
  say "cargo build --release -p switchboard-server"
  CARGO_INCREMENTAL=0 "${CARGO:-cargo}" build --release --locked -p switchboard-server
fi
BINARY="$TARGET_DIR/release/switchboard-server"
VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/crates/server/Cargo.toml" | head -n1)"
ARCH="$(dpkg --print-architecture)"
# Reproducible: every timestamp is the last commit's.
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}"
export SOURCE_DATE_EPOCH

rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$OUT"
doc="$STAGE/usr/share/doc/switchboard-server"
install -D -m 0755 "$BINARY" "$STAGE/usr/bin/switchboard-server"
install -D -m 0755 "$PACKAGING/server/switchboard-server-init" "$STAGE/usr/sbin/switchboard-server-init"
# Debian 12 keeps package units in /lib/systemd/system.
install -D -m 0644 "$PACKAGING/server/switchboard-server.service" \
  "$STAGE/lib/systemd/system/switchboard-server.service"
install -D -m 0644 "$PACKAGING/server/switchboard-server@.service" \
  "$STAGE/lib/systemd/system/switchboard-server@.service"
install -D -m 0644 "$PACKAGING/server/server.conf" "$STAGE/etc/switchboard-server/server.conf"
install -D -m 0644 "$PACKAGING/copyright" "$doc/copyright"
install -D -m 0644 "$PACKAGING/server/README.Debian" "$doc/README.Debian"
for page in switchboard-server.8 switchboard-server-init.8; do
  install -D -m 0644 "$PACKAGING/server/$page" "$STAGE/usr/share/man/man8/$page"
  gzip -9n "$STAGE/usr/share/man/man8/$page"
done
changelog_date="$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
printf 'switchboard-server (%s) stable; urgency=medium\n\n  * Release %s.\n\n -- %s  %s\n' \
  "$VERSION" "$VERSION" "$MAINTAINER" "$changelog_date" | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

# The libraries the binary links, as Debian package names and versions.
shlibs_dir="$(mktemp -d)"
trap 'rm -rf "$shlibs_dir"' EXIT
mkdir "$shlibs_dir/debian"
printf 'Source: switchboard-server\n\nPackage: switchboard-server\nArchitecture: any\n' \
  >"$shlibs_dir/debian/control"
shlibs="$(cd "$shlibs_dir" && dpkg-shlibdeps -O "$STAGE/usr/bin/switchboard-server" 2>/dev/null \
  | sed -n 's/^shlibs:Depends=//p')"
[ -n "$shlibs" ] || { echo "build-server-deb: dpkg-shlibdeps found no libraries" >&2; exit 1; }

install -m 0755 "$PACKAGING/server/postinst" "$PACKAGING/server/prerm" \
  "$PACKAGING/server/postrm" "$STAGE/DEBIAN/"
install -m 0644 "$PACKAGING/server/conffiles" "$STAGE/DEBIAN/conffiles"
cat >"$STAGE/DEBIAN/control" <<CONTROL
Package: switchboard-server
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
Depends: $shlibs, adduser
Suggests: postgresql
Section: net
Priority: optional
Description: Switchboard central server (sync and registration intake)
 The office's central store for Switchboard, the local-first CRM for follow-up
 sales outreach: laptops sync their lead queues, follow-up history and consent
 with it over HTTPS, and the website posts registrations to it. The store is
 SQLite in the data folder or PostgreSQL.
 .
 Runs as a hardened systemd service under its own system user; set it up with
 switchboard-server-init (see README.Debian).
CONTROL
(cd "$STAGE" && find . -type f ! -path './DEBIAN/*' -printf '%P\n' | LC_ALL=C sort \
  | xargs md5sum >DEBIAN/md5sums)
chmod 0644 "$STAGE/DEBIAN/md5sums"
find "$STAGE" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

DEB="$OUT/switchboard-server_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >/dev/null
say "$DEB"
