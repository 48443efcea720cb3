"""The Celery deployment's settings, read from docker-compose.yml: one source of the values.

`tests/integration/test_celery_deployment.py` runs the deployment (two Celery workers, one of
them SIGKILLed mid-task) with exactly these values, read here from the compose file's
`x-airflow-env`; `tests/integration/test_compose.py` checks that every Airflow service of the
rendered compose file carries them, that `.env.example` lists them with the same values, and
that the compose file sets no other Celery, worker or heartbeat setting the test did not run with.

Not a test module: imported by both tests, and by the test's Celery workers as their
`[core] hostname_callable` (`worker_hostname`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"

# What a lost worker needs and what Celery does with it (docker-compose.yml says why each).
PROVEN = (
    "AIRFLOW__CELERY__WORKER_CONCURRENCY",
    "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER",
    "AIRFLOW__CELERY__TASK_ACKS_LATE",
    "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT",
    "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL",
    "AIRFLOW__WORKERS__MAX_FAILED_HEARTBEATS",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL",
    "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY",
)
# Settings of these sections in the compose file must be in PROVEN (the broker and result
# backend URLs are the deployment's addresses, not tunables).
GOVERNED = re.compile(r"^AIRFLOW__(CELERY|CELERY_BROKER_TRANSPORT_OPTIONS|WORKERS)__|HEARTBEAT|RETRY")
NOT_GOVERNED = {"AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CELERY__RESULT_BACKEND"}
_WITH_DEFAULT = re.compile(r"^\$\{(?P<name>\w+):-(?P<value>[^}]*)\}$")


def compose_settings() -> dict[str, str]:
    """PROVEN's values as docker-compose.yml sets them when .env does not (`${NAME:-value}`)."""
    import yaml

    env = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["x-airflow-env"]
    out = {}
    for name in PROVEN:
        raw = str(env[name])
        m = _WITH_DEFAULT.match(raw)
        assert m and m["name"] == name, f"docker-compose.yml: {name} must be \"${{{name}:-value}}\", is {raw!r}"
        out[name] = m["value"]
    return out


def worker_hostname() -> str:
    """`[core] hostname_callable` of the test's workers: two workers on one machine, two hostnames
    in `task_instance.hostname` (in the compose deployment each container has its own)."""
    return os.environ["DOLISA_TEST_WORKER_HOSTNAME"]
