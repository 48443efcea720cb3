"""
### District submissions, nightly

Pulls every reporting unit's monthly submissions (a district's; since 2025-07 a
commune's or ward's) from the District Export API
(connection `district_export_api`), lands them raw and immutable under
`DOLISA_HOME`, parses and checks them (the contract's file and row rules, in SQL),
loads the DuckDB warehouse and builds the dbt models through the marts. When asked
(`report_period`) or when a half-year's last month has just been pulled, the
**report gate** (Great Expectations over the marts, Data Docs) runs before the
report models are built and the report files written; `publish` comes last, so the
reporting team's snapshot only holds report tables of periods whose gate passed (or
was explicitly overridden with `allow_incomplete`).

Tasks: plan → extract_and_land → validate_and_load → build_marts → report_gate →
build_report_models → write_report_files → publish; and, once the marts are built,
`deliver_feedback`: every reporting unit with something new gets a Vietnamese feedback
sheet (`reports/feedback/<unit>/<date>/`: versions received, rejections and quarantined
rows with the fix, months missing with their deadlines), e-mailed to the unit's address
(`DOLISA_FEEDBACK_ADDRESSES`) over the SMTP connection `dolisa_alerts` when both are
configured. A failed send never fails the run; it is retried the next night. A blocked gate fails
`report_gate` without retries; the grid shows where the run stopped. A failed run
notifies (`dolisa.notify.RunFailureNotifier`: SMTP connection `dolisa_alerts` when
configured, else the log).

**Run conf** (all optional):

| key | meaning |
|---|---|
| `periods` | list of `YYYY-MM` to pull instead of the default revision window (the 3 months before the run's month) |
| `report_period` | `YYYY-H1` / `YYYY-H2` to build after the load; the run fails at `report_gate` if the gate blocks |
| `allow_incomplete` | `true` publishes a report despite missing reporting units or months; the report says so on its face |
| `as_of` | `YYYY-MM-DD` (with `report_period`): also `reports/<period>/as_of_<D>/`, the report as it stood that day, with `revisions.csv` (contract §6); a blocked as-of gate does not fail the run |

Every task is keyed on the run's logical date or conf, never on "now", and is
idempotent: rerunning a run leaves the same warehouse. One DuckDB file has one
writer, so `max_active_runs=1` and every writing task uses the `duckdb_writer` pool
(1 slot, created by the set-up script).
"""

from __future__ import annotations

import datetime as dt
import os

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from dolisa.notify import RunFailureNotifier, record_task_failure
from dolisa.run_conf import RUN_PARAMS

TZ = "Asia/Ho_Chi_Minh"
WRITER_POOL = "duckdb_writer"

default_args = {
    "owner": "dolisa-data",
    # DOLISA_TASK_RETRIES=0 lets `airflow dags test` (demo, tests) fail fast instead of waiting.
    "retries": int(os.environ.get("DOLISA_TASK_RETRIES", "2")),
    # The delay between tries is the deployment's `[core] default_task_retry_delay` (Airflow's
    # default 300 s; docker-compose.yml sets 30 s): a task whose worker was lost is retried on a
    # live worker that soon (docs/deployment.md, "A worker lost mid-night").
    "retry_exponential_backoff": True,
    "on_failure_callback": record_task_failure,  # keeps the exception for the run's notifier
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
    params={
        name: Param(spec["default"], **{k: v for k, v in spec.items() if k != "default"})
        for name, spec in RUN_PARAMS.items()
    },
    on_failure_callback=RunFailureNotifier(),
)
def district_submissions_nightly():
    @task  # a malformed conf raises AirflowFailException: not retried
    def plan() -> dict:
        from dolisa import pipeline

        try:
            return pipeline.plan_run(_conf(), _run_date())
        except ValueError as e:  # a malformed conf: the message names the key; retrying cannot help
            raise AirflowFailException(str(e)) from None

    @task(pool=WRITER_POOL)
    def extract_and_land(plan: dict) -> dict:
        from airflow.sdk import Connection

        from dolisa import pipeline
        from dolisa.extract import CONN_ID, AuthError, HubConfig

        c = Connection.get(CONN_ID)
        hub = HubConfig.from_parts(c.host, c.port, c.schema, c.password)
        try:
            return pipeline.extract(plan["periods"], hub)
        except AuthError as e:  # a refused token: retrying cannot help; nothing was marked
            raise AirflowFailException(str(e)) from None

    @task(pool=WRITER_POOL)
    def validate_and_load(plan: dict, landed: dict) -> dict:
        from dolisa import pipeline

        return pipeline.load(plan["periods"], pseudonym_key=_configured_pseudonym_key())

    @task(pool=WRITER_POOL)
    def build_marts(loaded: dict) -> dict:
        from dolisa import pipeline

        return pipeline.transform(docs=True)

    @task(pool=WRITER_POOL, retries=0)
    def report_gate(plan: dict, built: dict) -> dict:
        from dolisa import pipeline
        from dolisa.quality.report_gate import ReportGateBlocked

        if not plan["report_period"]:
            raise AirflowSkipException("no report period in this run")
        try:
            result = pipeline.gate(
                plan["report_period"],
                allow_incomplete=plan["allow_incomplete"],
                skip_if_incomplete=plan["report_is_auto"],
            )
        except ReportGateBlocked as e:
            raise AirflowFailException(str(e)) from None  # a blocked gate is not retried
        if result is None:
            raise AirflowSkipException(f"{plan['report_period']}: not complete yet, no automatic draft")
        return {
            "report_period": result.report_period,
            "passed": result.passed,
            "overridden": result.overridden,
            "warnings": len(result.warnings),
            "data_docs": result.data_docs,
        }

    @task(pool=WRITER_POOL)
    def build_report_models(gated: dict) -> dict:
        from dolisa import pipeline

        return pipeline.build_reports(gated["report_period"])

    @task(pool=WRITER_POOL)
    def write_report_files(plan: dict, gated: dict, rpt: dict) -> dict:
        from dolisa import pipeline, reissue

        out = pipeline.write_report(gated["report_period"])
        out["issued"] = str(reissue.issue_copy(gated["report_period"]))  # every published report is kept
        if plan.get("as_of"):  # the report as it stood on that day, and what moved since
            out["as_of"] = reissue.reissue(
                gated["report_period"], plan["as_of"], allow_incomplete=plan["allow_incomplete"]
            )
        return out

    @task(pool=WRITER_POOL)
    def deliver_feedback(loaded: dict, built: dict) -> dict:
        from dolisa import pipeline

        return pipeline.feedback(_run_date())  # a failed send is recorded and retried next night, never raised

    @task(pool=WRITER_POOL, trigger_rule="none_failed")  # also when there is no report this run
    def publish(built: dict) -> dict:
        from dolisa import pipeline

        return pipeline.publish()

    p = plan()
    landed = extract_and_land(p)
    loaded = validate_and_load(p, landed)
    built = build_marts(loaded)
    gated = report_gate(p, built)
    rpt = build_report_models(gated)
    written = write_report_files(p, gated, rpt)
    published = publish(built)
    written >> published
    deliver_feedback(loaded, built)


district_submissions_nightly()
