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
# Restricted zone by default: everything the scripts, Airflow and the pipeline create is
# owner-only (the pipeline also sets this itself); task log folders and files too.
umask 077
export AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FOLDER_PERMISSIONS="${AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FOLDER_PERMISSIONS:-0o700}"
export AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FILE_PERMISSIONS="${AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FILE_PERMISSIONS:-0o600}"
# No pseudonym key is set here: with none configured the pipeline creates a random one in
# $DOLISA_HOME/secrets/pseudonym.key (0600) on first use (docs/operations.md, "Pseudonym key").
