"""What a run pulls and reports: revision window, run conf, automatic half-year draft, plan targets."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from dolisa import pipeline, warehouse
from dolisa.load import load_plan_targets

HCM = dt.timezone(dt.timedelta(hours=7))


def test_revision_window_is_the_three_months_before_the_run_month_in_vietnam_time():
    assert pipeline.revision_window(dt.date(2021, 7, 10)) == ["2021-04", "2021-05", "2021-06"]
    assert pipeline.revision_window(dt.date(2021, 1, 2)) == ["2020-10", "2020-11", "2020-12"]
    # 2021-06-30 19:30 UTC is already 1 July 02:30 in Cao Bằng
    utc = dt.datetime(2021, 6, 30, 19, 30, tzinfo=dt.timezone.utc)
    assert pipeline.revision_window(utc) == ["2021-04", "2021-05", "2021-06"]


def test_conf_periods_override_and_are_validated():
    run = dt.datetime(2021, 7, 10, 2, 30, tzinfo=HCM)
    assert pipeline.resolve_periods({"periods": ["2020-02", "2020-01", "2020-02"]}, run) == ["2020-01", "2020-02"]
    assert pipeline.resolve_periods({"periods": []}, run) == []  # report-only run
    assert pipeline.resolve_periods({}, run) == ["2021-04", "2021-05", "2021-06"]
    with pytest.raises(ValueError):
        pipeline.resolve_periods({"periods": ["2021-13"]}, run)
    with pytest.raises(ValueError):
        pipeline.resolve_report_period({"report_period": "2021-H3"})


def test_the_nightly_draft_starts_when_a_half_years_last_month_is_pulled():
    assert pipeline.auto_report_period(["2021-04", "2021-05", "2021-06"]) == "2021-H1"
    assert pipeline.auto_report_period(["2021-10", "2021-11", "2021-12"]) == "2021-H2"
    assert pipeline.auto_report_period(["2021-05", "2021-06", "2021-07"]) is None
    assert pipeline.auto_report_period([]) is None


def test_plan_targets_override_replaces_the_shipped_ones(tmp_path, monkeypatch):
    con = duckdb.connect()
    warehouse.create_all(con)
    shipped = pipeline.plan_targets_path()
    assert load_plan_targets(con, shipped) == 4
    assert con.execute("select target_value from meta.plan_targets where indicator_code = 'LAB_VOC_NEW_SOCAP'"
                       ).fetchall() == [(5500,)]
    override = tmp_path / "targets.csv"
    override.write_text("year,indicator_code,unit_code,target_value\n2021,LAB_VOC_NEW_SOCAP,04,6000\n"
                        "2021,LAB_VOC_NEW_SOCAP,040,900\n", encoding="utf-8")
    monkeypatch.setenv("DOLISA_PLAN_TARGETS", str(override))
    assert pipeline.plan_targets_path() == override
    assert load_plan_targets(con, pipeline.plan_targets_path()) == 2
    assert sorted(con.execute("select unit_code, target_value from meta.plan_targets").fetchall()) == [
        ("04", 6000), ("040", 900)]


def test_bad_plan_targets_file_is_refused(tmp_path):
    con = duckdb.connect()
    warehouse.create_all(con)
    bad = tmp_path / "bad.csv"
    bad.write_text("year,code,value\n2021,X,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header must be"):
        load_plan_targets(con, bad)


@pytest.mark.parametrize("conf, key", [
    ({"periods": ["2021-13"]}, "'periods'"),
    ({"periods": "2021-05,2021/06"}, "'periods'"),
    ({"periods": 202105}, "'periods'"),
    ({"report_period": "2021-H3"}, "'report_period'"),
    ({"report_period": "2021-H1", "as_of": "10/07/2021"}, "'as_of'"),
    ({"as_of": "2021-07-10"}, "'as_of'"),
    ({"allow_incomplete": "yes"}, "'allow_incomplete'"),
    ({"report_periode": "2021-H1"}, "'report_periode'"),
])
def test_a_malformed_run_conf_fails_the_plan_naming_its_key(conf, key):
    with pytest.raises(ValueError, match=key):
        pipeline.plan_run(conf, dt.datetime(2021, 7, 10, 2, 30, tzinfo=HCM))


def test_run_conf_params_are_what_the_plan_reads():
    from dolisa.run_conf import RUN_PARAMS

    run = dt.datetime(2021, 7, 10, 2, 30, tzinfo=HCM)
    defaults = {k: spec["default"] for k, spec in RUN_PARAMS.items()}  # the trigger form left as it is
    assert pipeline.plan_run(defaults, run) == pipeline.plan_run({}, run) == {
        "periods": ["2021-04", "2021-05", "2021-06"], "report_period": "2021-H1", "report_is_auto": True,
        "allow_incomplete": False, "as_of": None}
    plan = pipeline.plan_run({"periods": [], "report_period": "2021-H1", "as_of": "2021-07-10",
                              "allow_incomplete": True}, run)
    assert plan == {"periods": [], "report_period": "2021-H1", "report_is_auto": False, "allow_incomplete": True,
                    "as_of": "2021-07-10"}
