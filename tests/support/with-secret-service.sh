#!/bin/sh
# Runs the shell command in "$1" inside a private D-Bus session with an unlocked gnome-keyring
# Secret Service, as the keychain test needs:  sh tests/support/with-secret-service.sh 'cmd'
# Needs the Debian packages dbus (dbus-run-session) and gnome-keyring.
set -e
exec dbus-run-session -- sh -c '
  echo -n switchboard-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  sh -c "$0"
' "$1"
