#!/usr/bin/env bash
# The whole test suite on a fresh machine: set-up, SQL lint, pytest.
#
#   bash scripts/test.sh              # everything (unit, integration, DAG, end-to-end)
#   bash scripts/test.sh -m "not slow"  # extra arguments go to pytest
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
bash "$DOLISA_ROOT/scripts/bootstrap.sh"
cd "$DOLISA_ROOT"

if [ -f .sqlfluff ]; then
  echo "test: sqlfluff lint dbt_project/models"
  "$VENV/bin/sqlfluff" lint dbt_project/models --disable-progress-bar --nocolor
fi

echo "test: pytest"
set +e
"$VENV/bin/python" -m pytest -ra "$@"
rc=$?
set -e
if [ $rc -eq 5 ]; then
  echo "test: pytest collected no tests" >&2
  exit 1
fi
exit $rc
