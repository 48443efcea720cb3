"""Every DAG file imports cleanly, fast, with retries, no cycles, and no heavy imports at parse time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import copy

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    os.environ.pop("DOLISA_TASK_RETRIES", None)  # the production default, not the demo's fail-fast

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_nightly_dag_shape(dagbag):
    dag = dagbag.get_dag("district_submissions_nightly")
    assert dag is not None
    assert dag.max_active_runs == 1
    assert not dag.catchup
    assert dag.doc_md and "periods" in dag.doc_md and "report_period" in dag.doc_md
    # nightly at 02:30 in the department's time zone (deadlines are in Asia/Ho_Chi_Minh too)
    assert dag.timetable.expression == "30 2 * * *"
    assert str(dag.timetable.timezone) == "Asia/Ho_Chi_Minh"
    # one task per phase, in this order: the gate before the report models, publish last
    chain = ["plan", "extract_and_land", "validate_and_load", "build_marts", "report_gate",
             "build_report_models", "write_report_files", "publish"]
    assert set(dag.task_ids) == set(chain) | {"deliver_feedback"}
    # each unit's feedback once the load is done and the marts are built; no report depends on it
    assert dag.get_task("deliver_feedback").upstream_task_ids == {"validate_and_load", "build_marts"}
    assert not dag.get_task("deliver_feedback").downstream_task_ids
    for before, after in zip(chain[1:], chain[2:]):
        assert before in dag.get_task(after).upstream_task_ids, (before, after)
    order = [t.task_id for t in dag.topological_sort()]
    assert [t for t in order if t in chain] == chain
    # publish also runs when a run has no report (gate skipped), never after a failed gate
    assert dag.get_task("publish").trigger_rule == "none_failed"
    # a failed run notifies through Airflow's notifier mechanism; tasks keep their exception for it
    from dolisa.notify import RunFailureNotifier, record_task_failure

    assert isinstance(dag.on_failure_callback, RunFailureNotifier)
    assert all(record_task_failure in (t.on_failure_callback or []) for t in dag.tasks)


def test_every_task_retries_but_the_gate_and_writers_share_one_pool(dagbag):
    for dag in dagbag.dags.values():
        for t in dag.tasks:
            if t.task_id == "report_gate":
                assert t.retries == 0  # a blocked gate is not retried: nothing would change
            else:
                assert t.retries >= 1, t.task_id
        writers = [t for t in dag.tasks if t.task_id != "plan"]
        assert {t.pool for t in writers} == {"duckdb_writer"}


def test_the_run_conf_is_declared_as_params_the_trigger_form_validates(dagbag):
    from airflow.sdk.definitions.param import ParamValidationError

    from dolisa.run_conf import RUN_PARAMS

    params = dagbag.dags["district_submissions_nightly"].params
    assert set(params) == set(RUN_PARAMS)
    for name in RUN_PARAMS:
        p = params.get_param(name)
        assert p.description and p.schema.get("type"), name
    params.validate()  # the defaults are valid
    for key, value in (("periods", ["2021-13"]), ("report_period", "2021-H3"), ("as_of", "10/07/2021")):
        bad = copy.deepcopy(params)
        with pytest.raises(ParamValidationError, match=key):
            bad[key] = value  # the form's value is checked against the param's schema
            bad.validate()


def test_no_cycles(dagbag):
    for dag in dagbag.dags.values():
        order = dag.topological_sort()
        assert len(order) == len(dag.tasks)


def test_dag_file_parses_without_heavy_imports():
    """Parsing the DAG file must not import pandas, duckdb, dbt or great_expectations."""
    code = (
        "import sys, runpy; runpy.run_path(sys.argv[1]); "
        "heavy = [m for m in ('pandas', 'duckdb', 'dbt', 'great_expectations', 'dolisa.load') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(DAGS / "district_submissions_nightly.py")],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
