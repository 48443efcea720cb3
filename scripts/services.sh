#!/usr/bin/env bash
# Private services for the tests: a PostgreSQL 15 cluster owned by this checkout.
#
#   bash scripts/services.sh [start]   # install (Debian package) if missing, initdb once, start; prints the URL
#   bash scripts/services.sh url       # prints the SQLAlchemy URL of the running cluster
#   bash scripts/services.sh status    # exit 0 when running
#   bash scripts/services.sh stop      # stops the cluster (data stays; `start` again reuses it)
#
# The cluster lives in $DOLISA_SERVICES_DIR (default <project>/.services/, git-ignored): data in
# pg/data, its Unix socket in pg/run, its log in pg/postgresql.log. It listens on 127.0.0.1 only,
# on $DOLISA_PG_PORT (default: the first free port from 55432 on, remembered in pg/port), and
# never touches the system's own cluster (no pg_createcluster, no /etc/postgresql).
# A role `dolisa` (password in pg/password, random, mode 600) with CREATEDB owns database `airflow`;
# tests create their own throw-away databases with it. Idempotent: a second `start` only prints the URL.
#
# stdout carries only the URL (`start`, `url`); progress goes to stderr. Exit 3: PostgreSQL is not
# installed and cannot be installed here (not root / no apt-get) — callers may skip on that.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The callers run under umask 077 (the restricted zone, scripts/env.sh); the PostgreSQL server
# runs as the postgres user and must reach its folders. Secrets here set their own umask.
umask 022
SERVICES_DIR="${DOLISA_SERVICES_DIR:-$ROOT/.services}"
PG_DIR="$SERVICES_DIR/pg"
DATA="$PG_DIR/data"
RUN="$PG_DIR/run"
LOG="$PG_DIR/postgresql.log"
PG_MAJOR="${DOLISA_PG_MAJOR:-15}"
DB_USER=dolisa
DB_NAME=airflow

say() { echo "services: $*" >&2; }

pg_bin() {
  local d
  for d in "/usr/lib/postgresql/$PG_MAJOR/bin" /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  local p; p="$(command -v initdb 2>/dev/null)" && { dirname "$p"; return 0; }
  return 1
}

ensure_installed() {
  pg_bin >/dev/null && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "PostgreSQL is not installed and cannot be installed here (needs root and apt-get)"
    exit 3
  fi
  say "installing PostgreSQL (Debian package postgresql)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q postgresql >"$SERVICES_DIR/apt.log" 2>&1; then
    apt-get update -q >>"$SERVICES_DIR/apt.log" 2>&1 || true
    apt-get install -y -q postgresql >>"$SERVICES_DIR/apt.log" 2>&1 || { tail -20 "$SERVICES_DIR/apt.log" >&2; exit 3; }
  fi
  pg_bin >/dev/null || { say "postgresql installed but no initdb found"; exit 3; }
}

# Run a command as the cluster's owner: `postgres` when we are root (PostgreSQL refuses root).
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    if command -v runuser >/dev/null; then runuser -u postgres -- "$@"; else su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; fi
  else
    "$@"
  fi
}

port_free() {
  python3 - "$1" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
EOF
}

running() {
  local bin; bin="$(pg_bin)" || return 1
  [ -f "$DATA/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

url() {
  local port pw
  port="$(cat "$PG_DIR/port")"
  pw="$(cat "$PG_DIR/password")"
  echo "postgresql+psycopg2://$DB_USER:$pw@127.0.0.1:$port/$DB_NAME"
}

psql_owner() {  # psql as the superuser over the private socket
  as_owner "$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN" -p "$(cat "$PG_DIR/port")" -d postgres "$@"
}

start() {
  mkdir -p "$SERVICES_DIR"
  ensure_installed
  local bin; bin="$(pg_bin)"
  mkdir -p "$PG_DIR" "$RUN"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DIR" "$RUN"
  if [ ! -f "$PG_DIR/password" ]; then
    (umask 077; od -An -N12 -tx1 /dev/urandom | tr -d ' \n' >"$PG_DIR/password")
  fi
  if [ ! -f "$DATA/PG_VERSION" ]; then
    say "initdb $DATA"
    rm -rf "$DATA"
    as_owner "$bin/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 \
      || as_owner "$bin/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C \
           --auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 \
      || { cat "$PG_DIR/initdb.log" >&2; exit 1; }
    rm -f "$PG_DIR/.provisioned"
  fi
  if ! running; then
    local port="${DOLISA_PG_PORT:-}"
    if [ -z "$port" ]; then
      port="$(cat "$PG_DIR/port" 2>/dev/null || echo 55432)"
      local tries=0
      until port_free "$port"; do
        port=$((port + 1)); tries=$((tries + 1))
        [ $tries -lt 100 ] || { say "no free port from 55432 on"; exit 1; }
      done
    fi
    echo "$port" >"$PG_DIR/port"
    say "starting PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (socket dir $RUN)"
    [ "$(id -u)" = 0 ] && { touch "$LOG"; chown postgres:postgres "$LOG"; }
    as_owner "$bin/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
      -o "-p $port -k $RUN -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null \
      || { tail -30 "$LOG" >&2; exit 1; }
  fi
  if [ ! -f "$PG_DIR/.provisioned" ]; then
    local pw; pw="$(cat "$PG_DIR/password")"
    psql_owner <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$pw';
  ELSE
    ALTER ROLE $DB_USER LOGIN CREATEDB PASSWORD '$pw';
  END IF;
END \$\$;
SQL
    if [ "$(psql_owner -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]; then
      psql_owner -c "CREATE DATABASE $DB_NAME OWNER $DB_USER"
    fi
    touch "$PG_DIR/.provisioned"
  fi
  url
}

stop() {
  if running; then
    say "stopping PostgreSQL ($DATA)"
    as_owner "$(pg_bin)/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
  else
    say "PostgreSQL is not running"
  fi
}

case "${1:-start}" in
  start) start ;;
  url) running || { say "not running (bash scripts/services.sh start)"; exit 1; }; url ;;
  status) running ;;
  stop) stop ;;
  *) echo "usage: $0 [start|url|status|stop]" >&2; exit 2 ;;
esac
