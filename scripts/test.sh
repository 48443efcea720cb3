#!/usr/bin/env bash
# The whole test suite on a fresh machine: set-up, Python lint (ruff), SQL lint (sqlfluff), pytest.
#
#   bash scripts/test.sh              # everything (unit, integration, DAG, end-to-end)
#   bash scripts/test.sh -m "not slow"  # extra arguments go to pytest
#   DOLISA_TEST_WORKERS=1 bash scripts/test.sh   # one process (default 2: pytest-xdist, a test file per worker)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash "$DOLISA_ROOT/scripts/bootstrap.sh"
cd "$DOLISA_ROOT"

# Debian's docker-compose validates docker-compose.yml without an engine; PostgreSQL is for
# the real-scheduler test (scripts/services.sh starts a private server when the test asks);
# chromium is the real browser of the desk's test (Playwright launches it by its path); caddy
# is the desk's TLS proxy of the compose deployment, run for real by test_desk_proxy.py.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
   && { ! command -v docker-compose >/dev/null || [ ! -x /usr/lib/postgresql/15/bin/initdb ] \
        || ! command -v chromium >/dev/null || ! command -v caddy >/dev/null; }; then
  echo "test: installing docker-compose, postgresql, chromium and caddy (Debian packages)"
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose postgresql chromium caddy >/dev/null
fi

echo "test: ruff check and ruff format --check (src dags expectations demo)"
"$VENV/bin/ruff" check src dags expectations demo --no-cache --output-format concise
"$VENV/bin/ruff" format --check src dags expectations demo --no-cache

if [ -f .sqlfluff ]; then
  echo "test: sqlfluff lint dbt_project/models"
  "$VENV/bin/sqlfluff" lint dbt_project/models --disable-progress-bar --nocolor
fi

# Two workers by default (pytest-xdist): most of the suite's time is single-threaded Python
# (Airflow, dbt) and the machine has two cores. A test file stays on one worker (--dist
# loadfile), so a module's fixtures (a backfill, a browser) are built once.
workers="${DOLISA_TEST_WORKERS:-2}"
xdist=()
[ "$workers" -gt 1 ] && xdist=(-n "$workers" --dist loadfile)
echo "test: pytest (${workers} worker(s))"
set +e
"$VENV/bin/python" -m pytest -ra --durations=30 "${xdist[@]}" "$@"
rc=$?
set -e
bash "$DOLISA_ROOT/scripts/services.sh" stop >/dev/null 2>&1 || true
if [ $rc -eq 5 ]; then
  echo "test: pytest collected no tests" >&2
  exit 1
fi
exit $rc
