#!/usr/bin/env bash
# One-shot set-up run by the airflow-init service before anything else starts:
# refuses placeholder secrets, migrates the metadata database, creates the
# `duckdb_writer` pool (1 slot: DuckDB has one writer) and the DOLISA_HOME layout.
# Idempotent: every `docker-compose up` runs it again (also after an upgrade: db migrate).
set -euo pipefail

fail() { echo "airflow-init: $*" >&2; exit 1; }
for v in POSTGRES_PASSWORD REDIS_PASSWORD AIRFLOW__CORE__FERNET_KEY AIRFLOW__API_AUTH__JWT_SECRET \
         AIRFLOW__API__SECRET_KEY AIRFLOW_ADMIN_PASSWORD AIRFLOW_CONN_DISTRICT_EXPORT_API; do
  val="${!v:-}"
  [ -n "$val" ] || fail "$v is not set (copy .env.example to .env and fill it in)"
  case "$val" in *CHANGE_ME*) fail "$v still has the placeholder of .env.example" ;; esac
done
# The pseudonym key is optional: unset, the pipeline creates one in $DOLISA_HOME/secrets (0600).
if [ -n "${DOLISA_PSEUDONYM_KEY:-}" ]; then
  case "$DOLISA_PSEUDONYM_KEY" in *CHANGE_ME*) fail "DOLISA_PSEUDONYM_KEY still has the placeholder of .env.example" ;; esac
  [ "${#DOLISA_PSEUDONYM_KEY}" -ge 16 ] || fail "DOLISA_PSEUDONYM_KEY must be at least 16 characters"
fi
python -c 'import os; from cryptography.fernet import Fernet; Fernet(os.environ["AIRFLOW__CORE__FERNET_KEY"].encode())' \
  || fail "AIRFLOW__CORE__FERNET_KEY is not a Fernet key (see .env.example for how to make one)"

echo "airflow-init: DOLISA_HOME=$DOLISA_HOME"
umask 077
mkdir -p "$DOLISA_HOME"/{raw,quarantine,warehouse,secrets,logs} "$DOLISA_HOME"/{published,reports}
chmod 700 "$DOLISA_HOME"/{raw,quarantine,warehouse,secrets,logs}; chmod 755 "$DOLISA_HOME"/{published,reports}
touch "$DOLISA_HOME/.write-test" && rm "$DOLISA_HOME/.write-test" || fail "$DOLISA_HOME is not writable by uid $(id -u)"

echo "airflow-init: airflow db migrate"
airflow db migrate
echo "airflow-init: pool duckdb_writer (1 slot)"
airflow pools set duckdb_writer 1 "DuckDB has one writer: every task that writes the warehouse takes this slot"
echo "airflow-init: admin user '${AIRFLOW_ADMIN_USER:-admin}' (SimpleAuthManager, password from AIRFLOW_ADMIN_PASSWORD)"
airflow version
