# Environment shared by the project's scripts (sourced, not executed).
# Everything defaults to folders inside the project that git ignores.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOLISA_ROOT="$ROOT"
export VENV="${VENV:-$ROOT/.venv}"
export DOLISA_HOME="${DOLISA_HOME:-$ROOT/.dolisa_home}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/.airflow_home}"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DEFAULT_TIMEZONE="${AIRFLOW__CORE__DEFAULT_TIMEZONE:-Asia/Ho_Chi_Minh}"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-sqlite:///$AIRFLOW_HOME/airflow.db}"
export AIRFLOW__LOGGING__BASE_LOG_FOLDER="$AIRFLOW_HOME/logs"
export AIRFLOW__CORE__DAG_DISCOVERY_SAFE_MODE=False
export NO_PROXY="127.0.0.1,localhost"
export no_proxy="$NO_PROXY"
export PYTHONUNBUFFERED=1
# dev-only pseudonym key; production sets DOLISA_PSEUDONYM_KEY from a secret (see docs/operations.md)
export DOLISA_PSEUDONYM_KEY="${DOLISA_PSEUDONYM_KEY:-dev-only-not-a-secret}"
