"""The report phases around the gate: a blocked gate leaves no rpt_ table behind, in the
warehouse's report schema or in the published snapshot; a passed or overridden one is
recorded and published; deferred versions become findings.

The warehouse is a real DuckDB file in a temporary DOLISA_HOME holding the hand-made marts
of test_report_gate plus a report table as the rpt_ model would have left it.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from dolisa import pipeline
from dolisa.quality.report_gate import ReportGateBlocked
from dolisa.settings import paths

from test_report_gate import HALF, healthy_marts  # tests/unit is on sys.path (rootdir conftest)


def rpt_tables(db) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'reports' "
            "and table_name like 'rpt_%'").fetchall()]
    finally:
        con.close()


@pytest.fixture
def home(dolisa_home):
    p = paths(dolisa_home).ensure()
    con = duckdb.connect(str(p.warehouse))
    healthy_marts(con)
    con.execute("""create table marts.fct_quarantine_reasons (submission_id varchar, unit_code varchar,
        period varchar, version integer, dataset varchar, reason varchar, rows bigint, current_unit_code varchar,
        submission_status varchar, is_in_force boolean)""")
    con.execute("create schema reports")
    # what an earlier build of the rpt_ models left: rows for the half-year
    con.execute("create table reports.rpt_indicators (report_period varchar, indicator_code varchar, "
                "unit_code varchar, value decimal(38, 1))")
    con.execute(f"insert into reports.rpt_indicators values ('{HALF}', 'LAB_JOB_PLACEMENTS', '04', 1200)")
    con.close()
    return p


def break_completeness(p):
    con = duckdb.connect(str(p.warehouse))
    con.execute("update marts.fct_unit_month_completeness set timeliness = 'missing' "
                "where unit_code = '042' and period = '2021-05'")
    con.close()


def test_blocked_gate_leaves_no_rpt_table_in_the_warehouse_or_the_snapshot(home):
    break_completeness(home)
    out = home.report_dir(HALF)
    out.mkdir(parents=True)
    (out / "indicators.csv").write_text("stale\n", encoding="utf-8")
    with pytest.raises(ReportGateBlocked) as e:
        pipeline.gate(HALF, p=home)
    assert "042" in str(e.value) and "2021-05" in str(e.value) and "Data Docs" in str(e.value)
    assert rpt_tables(home.warehouse) == []
    assert not (out / "indicators.csv").exists()
    gate = json.loads((out / "quality_gate.json").read_text(encoding="utf-8"))
    assert not gate["passed"] and gate["blocking"][0]["rule"] == "completeness"
    assert (home.data_docs / "index.html").is_file()
    with pytest.raises(RuntimeError):  # the report models are never built for a blocked period
        pipeline.build_reports(HALF, home)
    pipeline.publish(home)
    snapshot = home.published / "warehouse.duckdb"
    assert rpt_tables(snapshot) == []
    con = duckdb.connect(str(snapshot), read_only=True)
    assert con.execute("select count(*) from reports.report_gate_decisions").fetchall() == [(0,)]
    con.close()


def test_snapshot_holds_only_periods_whose_gate_passed_and_records_an_override(home):
    break_completeness(home)
    con = duckdb.connect(str(home.warehouse))  # an ungated half-year the rpt_ model also computed
    con.execute("insert into reports.rpt_indicators values ('2020-H2', 'LAB_JOB_PLACEMENTS', '04', 900)")
    con.close()
    result = pipeline.gate(HALF, allow_incomplete=True, p=home)
    assert result.passed and result.overridden
    pipeline.publish(home)
    con = duckdb.connect(str(home.published / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("select distinct report_period from reports.rpt_indicators").fetchall() == [(HALF,)]
        assert con.execute("select report_period, passed, overridden from reports.report_gate_decisions"
                           ).fetchall() == [(HALF, True, True)]
    finally:
        con.close()
    # a later blocked run of the same half-year takes it out of the next snapshot
    with pytest.raises(ReportGateBlocked):
        pipeline.gate(HALF, p=home)
    pipeline.publish(home)
    assert rpt_tables(home.published / "warehouse.duckdb") == []


def test_write_report_refuses_a_period_without_a_passed_gate(home):
    with pytest.raises(RuntimeError, match="no passed report gate"):
        pipeline.write_report(HALF, home)


def test_a_deferred_version_of_the_half_year_is_a_finding(home):
    (home.raw / "_deferred.json").write_text(json.dumps({"format": 1, "deferred": [
        {"unit_code": "040", "period": "2021-04", "submission_id": "040-2021-04-v2", "reason": "HTTP 503"},
        {"unit_code": "040", "period": "2020-12", "submission_id": "040-2020-12-v3", "reason": "HTTP 503"},
    ]}), encoding="utf-8")
    result = pipeline.gate(HALF, p=home)
    assert [(f.rule, f.unit_code, f.period, f.item) for f in result.findings] == [
        ("deferred_version", "040", "2021-04", "040-2021-04-v2")]
    assert result.findings[0].values["reason"] == "HTTP 503" and result.passed
