#!/usr/bin/env bash
# The reporting team's desk on this machine: a read-only web page over the demo's
# DOLISA_HOME (published/warehouse.duckdb and reports/), with its own login.
#
#   bash scripts/desk.sh                 # http://127.0.0.1:8800/
#   DESK_PORT=8810 bash scripts/desk.sh
#
# Password: DOLISA_DESK_PASSWORD if set, otherwise $DOLISA_HOME/secrets/desk_password
# (created on first start, owner-only); this script prints where it is.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash "$DOLISA_ROOT/scripts/bootstrap.sh"
cd "$DOLISA_ROOT"
if [ ! -f "$DOLISA_HOME/published/warehouse.duckdb" ]; then
  echo "desk: no published snapshot in $DOLISA_HOME yet; run: bash scripts/demo.sh" >&2
  exit 1
fi
exec "$VENV/bin/python" -m dolisa.desk --host "${DESK_HOST:-127.0.0.1}" --port "${DESK_PORT:-8800}"
