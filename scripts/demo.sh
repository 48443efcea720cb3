#!/usr/bin/env bash
# The main job on the embedded defaults: demo export hub + DuckDB + Airflow on SQLite.
#
#   bash scripts/demo.sh            # pulls 2020-01..2021-06, builds the warehouse and the 2021-H1 report
#   DEMO_PERIODS=2024-07..2026-06 DEMO_REPORT_PERIOD=2026-H1 bash scripts/demo.sh
#                                   # across the 2025 reform: districts until 2025-06, the 56 communes
#                                   # and wards after; the 2026-H1 report (same period: 2025-H1's districts)
#
# Starts the demo hub on 127.0.0.1:$DEMO_HUB_PORT, runs the district_submissions_nightly
# DAG through Airflow (`airflow dags test`), stops the hub and prints where everything is.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash "$DOLISA_ROOT/scripts/bootstrap.sh"
cd "$DOLISA_ROOT"

PORT="${DEMO_HUB_PORT:-8765}"
TOKEN="${DEMO_HUB_TOKEN:-demo-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}"
PERIODS="${DEMO_PERIODS:-2020-01..2021-06}"
REPORT_PERIOD="${DEMO_REPORT_PERIOD:-2021-H1}"
# the hub's store covers the pulled months (the default range keeps its historical folder)
read -r FIRST LAST < <("$VENV/bin/python" -c 'import sys; from dolisa.cli import _periods; p = _periods(sys.argv[1]); print(p[0], p[-1])' "$PERIODS")
if [ "$FIRST..$LAST" = "2020-01..2021-06" ]; then default_store="$DOLISA_HOME/demo_hub_store"
else default_store="$DOLISA_HOME/demo_hub_store_${FIRST}_${LAST}"; fi
STORE="${DEMO_HUB_STORE:-$default_store}"
# the nightly that builds a half-year's report runs on the 10th of the month after it
default_date="$("$VENV/bin/python" -c 'import sys; y, h = sys.argv[1].split("-H"); print(f"{y}-07-10" if h == "1" else f"{int(y) + 1}-01-10")' "$REPORT_PERIOD")"
LOGICAL_DATE="${DEMO_LOGICAL_DATE:-${default_date}T02:30:00+07:00}"

mkdir -p "$DOLISA_HOME/logs"
if [ ! -f "$STORE/index.json" ]; then
  echo "demo: generating the demo hub's submissions ($FIRST..$LAST) into $STORE"
  "$VENV/bin/python" -m dolisa_demo.hub generate --store "$STORE" --first "$FIRST" --last "$LAST"
fi

echo "demo: starting the demo export hub on 127.0.0.1:$PORT"
"$VENV/bin/python" -m dolisa_demo.hub serve --store "$STORE" --host 127.0.0.1 --port "$PORT" --token "$TOKEN" \
  >"$DOLISA_HOME/logs/demo_hub.log" 2>&1 &
HUB_PID=$!
trap 'kill $HUB_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
  kill -0 $HUB_PID 2>/dev/null || { cat "$DOLISA_HOME/logs/demo_hub.log"; exit 1; }
  sleep 0.2
done

# The token travels only in the connection (never in the DAG or the logs).
export AIRFLOW_CONN_DISTRICT_EXPORT_API="http://:${TOKEN}@127.0.0.1:${PORT}"
export DOLISA_TASK_RETRIES="${DOLISA_TASK_RETRIES:-0}"  # a demo run fails fast instead of waiting for retries

periods_json="$("$VENV/bin/python" -c 'import json,sys; from dolisa.cli import _periods; print(json.dumps(_periods(sys.argv[1])))' "$PERIODS")"
conf="{\"periods\": $periods_json, \"report_period\": \"$REPORT_PERIOD\"}"
echo "demo: airflow dags test district_submissions_nightly $LOGICAL_DATE (conf: periods $PERIODS, report_period $REPORT_PERIOD)"
# A rerun of the demo re-runs the same logical date: clear the earlier run's metadata first
# (the warehouse itself is idempotent and keeps what it has).
"$VENV/bin/airflow" dags delete district_submissions_nightly -y >/dev/null 2>&1 || true
set +e
"$VENV/bin/airflow" dags test district_submissions_nightly "$LOGICAL_DATE" -c "$conf" >"$DOLISA_HOME/logs/demo_dag_run.log" 2>&1
rc=$?
set -e
grep -a -E "report gate blocked|\[error" "$DOLISA_HOME/logs/demo_dag_run.log" | cut -c1-300 | tail -20 || true
if [ $rc -ne 0 ] || grep -a -q "new_state=failed\|state=failed\|DagRunState.FAILED" "$DOLISA_HOME/logs/demo_dag_run.log"; then
  echo "demo: the DAG run FAILED; full log: $DOLISA_HOME/logs/demo_dag_run.log" >&2
  exit 1
fi
echo "demo: DAG run succeeded (log: $DOLISA_HOME/logs/demo_dag_run.log)"
"$VENV/bin/python" -m dolisa.summary "$REPORT_PERIOD"
echo "demo: the reporting team's desk: bash scripts/desk.sh  → http://127.0.0.1:${DESK_PORT:-8800}/  (password: \$DOLISA_DESK_PASSWORD or $DOLISA_HOME/secrets/desk_password, created on first start)"
