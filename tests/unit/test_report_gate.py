"""Each report-gate rule fed a passing and a failing warehouse (small, hand-made DuckDB)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from dolisa import contract, warehouse
from dolisa.quality import load_expectations
from dolisa.quality.report_gate import BLOCKING, WARNING, run_report_gate

HALF = "2021-H1"
MONTHS = contract.half_year_periods(HALF)
DISTRICTS = [u.unit_code for u in contract.district_units("2021-06")]
TZ = dt.timezone(dt.timedelta(hours=7))


def submit(con, unit, period, *, late=False, status="accepted", version=1):
    sid = f"{unit}-{period}-v{version}"
    y, m = contract.parse_period(period)
    at = dt.datetime(y + (m == 12), m % 12 + 1, 20 if late else 3, tzinfo=TZ)
    con.execute("insert into meta.submissions values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [sid, unit, period, version, at, at, status, None if status == "accepted" else "bad file", late, 1])
    return sid


@pytest.fixture
def con():
    c = duckdb.connect()
    warehouse.create_all(c)
    c.execute("create schema marts")
    c.execute("create schema reports")
    c.execute("""create table reports.rpt_indicators (report_period varchar, indicator_code varchar,
                 unit_code varchar, value decimal(38, 1), kind varchar, denominator bigint)""")
    c.execute("create table marts.fct_job_placements (placement_id varchar, person_key varchar, unit_code varchar)")
    for period in MONTHS:
        for unit in DISTRICTS:
            submit(c, unit, period)
    for unit in ["04", *DISTRICTS]:
        c.execute("insert into reports.rpt_indicators values (?, 'LAB_JOB_PLACEMENTS', ?, 5, 'flow', null)", [HALF, unit])
        c.execute("insert into reports.rpt_indicators values (?, 'CH_SPECIAL_SUPPORTED_PCT', ?, 96.5, 'ratio', 200)",
                  [HALF, unit])
    c.execute("insert into raw.job_placements (placement_id, citizen_id, full_name, sex, birth_date, placed_on, "
              "destination, submission_id, unit_code, period, version, source_row) values "
              "('P1', '012345678901', 'Nguyễn Văn An', 'M', '1990-01-01', '2021-06-02', 'DOMESTIC', "
              "'040-2021-06-v1', '040', '2021-06', 1, 1)")
    c.execute("insert into marts.fct_job_placements values ('P1', 'a3f9…pseudonym', '040')")
    yield c
    c.close()


def rules(result, severity=None):
    return {f.rule for f in result.findings if severity is None or f.severity == severity}


def test_severities_are_declared_in_expectations():
    declared = {r.name: r.severity for r in load_expectations("report_gate").RULES}
    assert declared["completeness"] == BLOCKING and declared["no_personal_data"] == BLOCKING
    assert declared["late_submission"] == WARNING and declared["outlier"] == WARNING


def test_complete_clean_half_year_passes(con):
    result = run_report_gate(con, HALF)
    assert result.passed and rules(result, BLOCKING) == set()


def test_missing_district_month_blocks_and_names_it(con):
    con.execute("delete from meta.submissions where unit_code = '053' and period = '2021-05'")
    result = run_report_gate(con, HALF)
    assert not result.passed
    (f,) = result.blocking
    assert (f.rule, f.unit_code, f.period) == ("completeness", "053", "2021-05")
    assert "053" in f.message and "2021-05" in f.message


def test_rejected_only_version_counts_as_missing(con):
    con.execute("delete from meta.submissions where unit_code = '040' and period = '2021-02'")
    submit(con, "040", "2021-02", status="rejected")
    result = run_report_gate(con, HALF)
    assert [(f.unit_code, f.period) for f in result.blocking] == [("040", "2021-02")]
    assert "rejected_version" in rules(result, WARNING)


def test_allow_incomplete_waives_only_completeness_and_indicators(con):
    con.execute("delete from meta.submissions where unit_code = '053' and period = '2021-05'")
    con.execute("update reports.rpt_indicators set value = null where unit_code = '053'")
    result = run_report_gate(con, HALF, allow_incomplete=True)
    assert result.passed and {f.rule for f in result.waived} == {"completeness", "indicators_present"}
    con.execute("alter table marts.fct_job_placements add column citizen_id varchar")
    assert not run_report_gate(con, HALF, allow_incomplete=True).passed  # personal data is never waived


def test_missing_indicator_value_blocks(con):
    con.execute("update reports.rpt_indicators set value = null where unit_code = '047' and kind = 'flow'")
    result = run_report_gate(con, HALF)
    assert [(f.rule, f.unit_code) for f in result.blocking] == [("indicators_present", "047")]


def test_ratio_with_zero_denominator_may_be_empty(con):
    con.execute("update reports.rpt_indicators set value = null, denominator = 0 where unit_code = '047' and kind = 'ratio'")
    assert run_report_gate(con, HALF).passed


def test_personal_column_name_blocks(con):
    con.execute("alter table marts.fct_job_placements add column full_name varchar")
    result = run_report_gate(con, HALF)
    assert rules(result, BLOCKING) == {"no_personal_data"}


def test_raw_citizen_id_value_in_a_mart_blocks(con):
    con.execute("update marts.fct_job_placements set person_key = '012345678901'")
    result = run_report_gate(con, HALF)
    assert [f.rule for f in result.blocking] == ["no_personal_data"]
    assert "person_key" in result.blocking[0].message


def test_late_submission_and_quarantine_warn_but_do_not_block(con):
    con.execute("delete from meta.submissions where unit_code = '042' and period = '2021-03'")
    sid = submit(con, "042", "2021-03", late=True)
    con.execute("insert into meta.quarantined_rows values (?, '042', '2021-03', 1, 'job_placements', "
                "'job_placements.csv', 4, 'destination: unknown code ''X''', '{}')", [sid])
    result = run_report_gate(con, HALF)
    assert result.passed
    assert {"late_submission", "quarantined_rows"} <= rules(result, WARNING)
    assert any(f.unit_code == "042" and f.period == "2021-03" for f in result.warnings if f.rule == "late_submission")


def _placements(con, unit, period, n):
    sid = f"{unit}-{period}-v1"
    con.execute("insert or replace into meta.submissions values (?, ?, ?, 1, null, null, 'accepted', null, false, 1)",
                [sid, unit, period])
    y, m = contract.parse_period(period)
    for i in range(n):
        con.execute("insert into raw.job_placements (placement_id, citizen_id, full_name, sex, birth_date, placed_on, "
                    "destination, submission_id, unit_code, period, version, source_row) values "
                    "(?, '012345678902', 'B', 'F', '1990-01-01', ?, 'DOMESTIC', ?, ?, ?, 1, ?)",
                    [f"X{i}", dt.date(y, m, 1), sid, unit, period, i + 1])


@pytest.mark.parametrize("june_rows,flagged", [(31, True), (30, False)])
def test_outlier_against_the_districts_own_history(con, june_rows, flagged):
    con.execute("delete from meta.submissions where unit_code = '043'")
    for period in contract.period_range("2020-06", "2021-05"):
        _placements(con, "043", period, 10)
    _placements(con, "043", "2021-06", june_rows)
    result = run_report_gate(con, HALF)
    outliers = [f for f in result.findings if f.rule == "outlier" and f.unit_code == "043"]
    assert bool(outliers) is flagged
    if flagged:
        assert outliers[0].period == "2021-06" and "job_placements" in outliers[0].message
    assert result.passed  # an outlier is a warning
