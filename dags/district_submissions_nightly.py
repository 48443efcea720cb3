"""
### District submissions, nightly

Pulls every district's monthly submissions from the District Export API
(connection `district_export_api`), lands them raw and immutable under
`DOLISA_HOME`, validates them at the door (Great Expectations suites generated
from the contract), loads the DuckDB warehouse, builds the dbt models and, when
asked (`report_period`) or when a half-year's last month has just been pulled,
runs the report gate and writes the semi-annual report.

**Run conf** (all optional):

| key | meaning |
|---|---|
| `periods` | list of `YYYY-MM` to pull instead of the default revision window (the 3 months before the run's month) |
| `report_period` | `YYYY-H1` / `YYYY-H2` to build after the load; the run fails if the report gate blocks |
| `allow_incomplete` | `true` publishes a report despite missing districts/months; the report says so on its face |

Every task is keyed on the run's logical date or conf, never on "now", and is
idempotent: rerunning a run leaves the same warehouse. One DuckDB file has one
writer, so `max_active_runs=1` and every writing task uses the `duckdb_writer` pool
(1 slot, created by the set-up script).
"""

from __future__ import annotations

import datetime as dt
import os

import pendulum
from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task

TZ = "Asia/Ho_Chi_Minh"
WRITER_POOL = "duckdb_writer"

default_args = {
    "owner": "dolisa-data",
    # DOLISA_TASK_RETRIES=0 lets `airflow dags test` (demo, tests) fail fast instead of waiting.
    "retries": int(os.environ.get("DOLISA_TASK_RETRIES", "2")),
    "retry_delay": dt.timedelta(minutes=5),
    "retry_exponential_backoff": True,
}


def _conf() -> dict:
    ctx = get_current_context()
    dag_run = ctx.get("dag_run")
    return dict(getattr(dag_run, "conf", None) or {})


def _configured_pseudonym_key() -> str | None:
    """The pseudonym key configured in Airflow, if any (Variable or secrets backend).

    The Variable's name holds "secret", so Airflow masks it; it is also registered with
    the masker explicitly. None means: the package's own key store (created on first use).
    """
    from airflow.sdk import Variable
    from airflow.sdk.log import mask_secret

    key = Variable.get("dolisa_pseudonym_secret", default=None)
    if key:
        mask_secret(key)
    return key or None


def _run_date() -> dt.datetime:
    ctx = get_current_context()
    return ctx.get("logical_date") or ctx["data_interval_end"]


@dag(
    dag_id="district_submissions_nightly",
    doc_md=__doc__,
    schedule=CronTriggerTimetable("30 2 * * *", timezone=TZ),
    start_date=pendulum.datetime(2020, 2, 1, tz=TZ),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["dolisa", "nightly"],
    params={},
)
def district_submissions_nightly():
    @task
    def plan() -> dict:
        from dolisa import pipeline

        conf = _conf()
        periods = pipeline.resolve_periods(conf, _run_date())
        report_period = pipeline.resolve_report_period(conf)
        auto = report_period is None and "periods" not in conf
        return {
            "periods": periods,
            "report_period": report_period or pipeline.auto_report_period(periods),
            "report_is_auto": auto and report_period is None,
            "allow_incomplete": bool(conf.get("allow_incomplete", False)),
        }

    @task(pool=WRITER_POOL)
    def extract_and_land(plan: dict) -> dict:
        from airflow.sdk import Connection

        from dolisa import pipeline
        from dolisa.extract import CONN_ID, HubConfig

        c = Connection.get(CONN_ID)
        hub = HubConfig.from_parts(c.host, c.port, c.schema, c.password)
        return pipeline.extract(plan["periods"], hub)

    @task(pool=WRITER_POOL)
    def validate_and_load(plan: dict, landed: dict) -> dict:
        from dolisa import pipeline

        return pipeline.load(plan["periods"], pseudonym_key=_configured_pseudonym_key())

    @task(pool=WRITER_POOL)
    def build_models(loaded: dict) -> dict:
        from dolisa import pipeline

        return pipeline.transform(docs=True)

    @task(pool=WRITER_POOL)
    def report(plan: dict, built: dict) -> dict:
        from dolisa import pipeline

        if not plan["report_period"]:
            return {"report": None}
        return pipeline.report(
            plan["report_period"],
            allow_incomplete=plan["allow_incomplete"],
            skip_if_incomplete=plan["report_is_auto"],
        )

    @task(pool=WRITER_POOL)
    def publish(built: dict) -> dict:
        from dolisa import pipeline

        return pipeline.publish()

    p = plan()
    landed = extract_and_land(p)
    loaded = validate_and_load(p, landed)
    built = build_models(loaded)
    published = publish(built)
    report(p, published)


district_submissions_nightly()
