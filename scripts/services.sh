#!/usr/bin/env bash
# Private services for the tests: a PostgreSQL 15 cluster and a Redis 7 server owned by this checkout.
#
#   bash scripts/services.sh [start]       # PostgreSQL: install (Debian package) if missing, initdb once, start; prints the URL
#   bash scripts/services.sh url           # prints the SQLAlchemy URL of the running cluster
#   bash scripts/services.sh status        # exit 0 when PostgreSQL is running
#   bash scripts/services.sh redis         # Redis: install (Debian package redis-server) if missing, start; prints its URL
#   bash scripts/services.sh redis-url     # prints the URL of the running Redis (redis://:PASSWORD@127.0.0.1:PORT/0)
#   bash scripts/services.sh redis-status  # exit 0 when Redis is running
#   bash scripts/services.sh stop          # stops both (data stays; `start` / `redis` again reuse it)
#
# The cluster lives in $DOLISA_SERVICES_DIR (default <project>/.services/, git-ignored): data in
# pg/data, its Unix socket in pg/run, its log in pg/postgresql.log. It listens on 127.0.0.1 only,
# on $DOLISA_PG_PORT (default: the first free port from 55432 on, remembered in pg/port), and
# never touches the system's own cluster (no pg_createcluster, no /etc/postgresql).
# A role `dolisa` (password in pg/password, random, mode 600) with CREATEDB owns database `airflow`;
# tests create their own throw-away databases with it. Idempotent: a second `start` only prints the URL.
#
# Redis (the Celery broker of the CeleryExecutor test) lives in $DOLISA_SERVICES_DIR/redis: its
# generated redis.conf (0600: it holds the password), its data, its log, its Unix socket in redis/run
# (0700). It listens on 127.0.0.1 only, on $DOLISA_REDIS_PORT (default: the first free port from
# 56379 on, remembered in redis/port), with a random password (redis/password, mode 600) and
# protected mode; it never touches the system's own redis-server service. As root it runs as the
# `redis` user of the Debian package, as PostgreSQL runs as `postgres`.
#
# stdout carries only the URL (`start`, `url`, `redis`, `redis-url`); progress goes to stderr. Exit 3:
# the server is not installed and cannot be installed here (not root / no apt-get) — callers may skip on that.
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
REDIS_DIR="$SERVICES_DIR/redis"
REDIS_RUN="$REDIS_DIR/run"
REDIS_SOCK="$REDIS_RUN/redis.sock"

say() { echo "services: $*" >&2; }

pg_bin() {
  local d
  for d in "/usr/lib/postgresql/$PG_MAJOR/bin" /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  local p; p="$(command -v initdb 2>/dev/null)" && { dirname "$p"; return 0; }
  return 1
}

apt_install() {  # apt_install WHAT PACKAGE: exit 3 when it cannot be installed here
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "$1 is not installed and cannot be installed here (needs root and apt-get)"
    exit 3
  fi
  say "installing $1 (Debian package $2)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q "$2" >"$SERVICES_DIR/apt.log" 2>&1; then
    apt-get update -q >>"$SERVICES_DIR/apt.log" 2>&1 || true
    apt-get install -y -q "$2" >>"$SERVICES_DIR/apt.log" 2>&1 || { tail -20 "$SERVICES_DIR/apt.log" >&2; exit 3; }
  fi
}

ensure_installed() {
  pg_bin >/dev/null && return 0
  apt_install PostgreSQL postgresql
  pg_bin >/dev/null || { say "postgresql installed but no initdb found"; exit 3; }
}

# Run a command as a server's owner when we are root: `postgres` (PostgreSQL refuses root), `redis`.
as_user() {
  local user="$1"; shift
  if [ "$(id -u)" = 0 ]; then
    if command -v runuser >/dev/null; then runuser -u "$user" -- "$@"; else su "$user" -s /bin/sh -c "$(printf '%q ' "$@")"; fi
  else
    "$@"
  fi
}
as_owner() { as_user postgres "$@"; }

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
      -o "-p $port -k $RUN -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null 9>&- \
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

# ------------------------------------------------------------------------------------------ Redis
redis_user() {  # the Debian package's service user when we are root, else ourselves
  if [ "$(id -u)" = 0 ] && id redis >/dev/null 2>&1; then echo redis; else id -un; fi
}

redis_cli() {  # redis-cli over the private socket; the password through the environment, not argv
  REDISCLI_AUTH="$(cat "$REDIS_DIR/password")" redis-cli -s "$REDIS_SOCK" --no-auth-warning "$@"
}

redis_running() {
  [ -S "$REDIS_SOCK" ] && [ -f "$REDIS_DIR/password" ] && command -v redis-cli >/dev/null \
    && [ "$(redis_cli ping 2>/dev/null)" = PONG ]
}

redis_url() {
  echo "redis://:$(cat "$REDIS_DIR/password")@127.0.0.1:$(cat "$REDIS_DIR/port")/0"
}

redis_start() {
  mkdir -p "$SERVICES_DIR"
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null || apt_install Redis redis-server
  command -v redis-server >/dev/null || { say "redis-server installed but not found"; exit 3; }
  if ! redis_running; then
    local user; user="$(redis_user)"
    (umask 077; mkdir -p "$REDIS_DIR/data" "$REDIS_RUN")
    if [ ! -f "$REDIS_DIR/password" ]; then
      (umask 077; od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$REDIS_DIR/password")
    fi
    local port="${DOLISA_REDIS_PORT:-}"
    if [ -z "$port" ]; then
      port="$(cat "$REDIS_DIR/port" 2>/dev/null || echo 56379)"
      local tries=0
      until port_free "$port"; do
        port=$((port + 1)); tries=$((tries + 1))
        [ $tries -lt 100 ] || { say "no free port from 56379 on"; exit 1; }
      done
    fi
    echo "$port" >"$REDIS_DIR/port"
    rm -f "$REDIS_SOCK"
    (umask 077; cat >"$REDIS_DIR/redis.conf" <<CONF
# generated by scripts/services.sh: a private Redis for the tests (the Celery broker)
bind 127.0.0.1
port $port
protected-mode yes
requirepass $(cat "$REDIS_DIR/password")
unixsocket $REDIS_SOCK
unixsocketperm 700
dir $REDIS_DIR/data
appendonly yes
save ""
daemonize yes
pidfile $REDIS_DIR/redis.pid
logfile $REDIS_DIR/redis.log
CONF
    )
    if [ "$(id -u)" = 0 ]; then chown -R "$user" "$REDIS_DIR/data" "$REDIS_RUN" "$REDIS_DIR/redis.conf"; chmod 700 "$REDIS_DIR"; chown "$user" "$REDIS_DIR"; fi
    : >"$REDIS_DIR/redis.log"; [ "$(id -u)" = 0 ] && chown "$user" "$REDIS_DIR/redis.log"
    say "starting Redis $(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p') on 127.0.0.1:$port (socket $REDIS_SOCK)"
    as_user "$user" redis-server "$REDIS_DIR/redis.conf" >/dev/null 9>&- \
      || { tail -30 "$REDIS_DIR/redis.log" >&2; exit 1; }
    local t=0
    until redis_running; do
      t=$((t + 1)); [ $t -lt 100 ] || { say "Redis did not answer in 20 s"; tail -30 "$REDIS_DIR/redis.log" >&2; exit 1; }
      sleep 0.2
    done
  fi
  redis_url
}

redis_stop() {
  if redis_running; then
    say "stopping Redis ($REDIS_DIR)"
    redis_cli shutdown nosave >/dev/null 2>&1 || true
    local t=0
    while [ -S "$REDIS_SOCK" ] && [ $t -lt 50 ]; do t=$((t + 1)); sleep 0.2; done
  else
    say "Redis is not running"
  fi
}

# One caller at a time (two pytest-xdist workers may ask for the same server at once).
locked() {
  mkdir -p "$SERVICES_DIR"
  exec 9>"$SERVICES_DIR/.lock"
  if command -v flock >/dev/null; then flock -w 300 9 || { say "timed out waiting for $SERVICES_DIR/.lock"; exit 1; }; fi
  "$@"
}

case "${1:-start}" in
  start) locked start ;;
  url) running || { say "not running (bash scripts/services.sh start)"; exit 1; }; url ;;
  status) running ;;
  redis) locked redis_start ;;
  redis-url) redis_running || { say "Redis not running (bash scripts/services.sh redis)"; exit 1; }; redis_url ;;
  redis-status) redis_running ;;
  stop) locked stop; redis_stop ;;
  *) echo "usage: $0 [start|url|status|redis|redis-url|redis-status|stop]" >&2; exit 2 ;;
esac
