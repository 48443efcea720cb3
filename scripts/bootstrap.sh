#!/usr/bin/env bash
# Set-up for a fresh machine: virtualenv with the locked dependencies, the project
# installed, an Airflow home on SQLite. Idempotent and quick when nothing changed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$DOLISA_ROOT"

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then PY="$cand"; break; fi
  done
fi
[ -n "$PY" ] || { echo "bootstrap: Python 3.11 is required" >&2; exit 1; }

stamp="$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.dolisa-stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "bootstrap: creating $VENV from requirements.lock (a few minutes the first time)"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade "pip<27"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r requirements.lock
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps -e .
  echo "$stamp" > "$VENV/.dolisa-stamp"
fi
# The demo package beside the product (demo hub + generator, benchmark, report samples;
# demo/dolisa_demo), installed as an editable path: not part of the `dolisa` wheel or image.
site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
[ "$(cat "$site/dolisa_demo.pth" 2>/dev/null)" = "$DOLISA_ROOT/demo" ] || echo "$DOLISA_ROOT/demo" > "$site/dolisa_demo.pth"

mkdir -p "$AIRFLOW_HOME" "$DOLISA_HOME"
if [ ! -f "$AIRFLOW_HOME/.migrated-$stamp" ]; then
  echo "bootstrap: initialising the Airflow metadata database ($AIRFLOW__DATABASE__SQL_ALCHEMY_CONN)"
  "$VENV/bin/airflow" db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || { tail -50 "$AIRFLOW_HOME/db-migrate.log"; exit 1; }
  "$VENV/bin/airflow" pools set duckdb_writer 1 "DuckDB has one writer: every task that writes the warehouse takes this slot" >/dev/null
  touch "$AIRFLOW_HOME/.migrated-$stamp"
fi
