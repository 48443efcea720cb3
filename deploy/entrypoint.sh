#!/usr/bin/env bash
# Entrypoint of the dolisa image: writes the SimpleAuthManager password file from the
# secret AIRFLOW_ADMIN_PASSWORD (from .env), then runs the command.
set -euo pipefail
pwfile="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-}"
if [ -n "$pwfile" ] && [ -n "${AIRFLOW_ADMIN_PASSWORD:-}" ]; then
  mkdir -p "$(dirname "$pwfile")"
  (umask 077; python - "$pwfile" <<'PY'
import json, os, sys
json.dump({os.environ.get("AIRFLOW_ADMIN_USER", "admin"): os.environ["AIRFLOW_ADMIN_PASSWORD"]},
          open(sys.argv[1], "w"))
PY
  )
fi
exec "$@"
