#!/usr/bin/env bash
# Runs a command with a private, throw-away PostgreSQL cluster on a free port:
#   scripts/with-test-postgres.sh cargo test --workspace
# The command sees SWITCHBOARD_TEST_PG_URL, and SWITCHBOARD_TEST_PG_DATA / SWITCHBOARD_TEST_PG_LOG
# (the cluster's data directory and server log, for forensic tests that read its files); the
# cluster is stopped and deleted on every exit.
set -euo pipefail

[ "$#" -gt 0 ] || { echo "usage: $0 COMMAND [ARGS…]" >&2; exit 2; }

PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -x "$PG_BIN/initdb" ] || { echo "with-test-postgres: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

DIR="$(mktemp -d /tmp/switchboard-pg.XXXXXX)"
# Debian's server refuses to run as root: run it as the postgres user when we are root.
if [ "$(id -u)" -eq 0 ]; then
  chown postgres:postgres "$DIR"
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi

stop_cluster() {
  local status=$?
  if [ -f "$DIR/data/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$DIR"
  exit "$status"
}
trap stop_cluster EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"

as_pg "$PG_BIN/initdb" -D "$DIR/data" -U switchboard -A trust -E UTF8 --no-sync >"$DIR/initdb.log" 2>&1 \
  || { cat "$DIR/initdb.log" >&2; echo "with-test-postgres: initdb failed" >&2; exit 1; }
as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
  -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
  || { cat "$DIR/server.log" >&2; echo "with-test-postgres: the server did not start" >&2; exit 1; }
as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PORT" -U switchboard switchboard_test

export SWITCHBOARD_TEST_PG_URL="postgres://switchboard@127.0.0.1:$PORT/switchboard_test"
export SWITCHBOARD_TEST_PG_DATA="$DIR/data"
export SWITCHBOARD_TEST_PG_LOG="$DIR/server.log"
echo "==> PostgreSQL test cluster on port $PORT (SWITCHBOARD_TEST_PG_URL=$SWITCHBOARD_TEST_PG_URL)"
"$@"
