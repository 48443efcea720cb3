"""The report gate on the dbt models it reads, built by dbt from the tiny hand-made warehouse
of tests/integration/dbt_fixtures.py (the build the nightly does before the gate: through
the marts, no rpt_ model).

Hand count from the fixture: 2021-H1 expects the 10 current districts in each of its six
months; accepted are 040 and 045 in 2021-01 and 040, 045, 049 in 2021-06, so 55 unit-months
are missing; 045's 2021-06 version came at 00:30 on the 6th of July (late); 040's 2021-01 v3
was rejected. January 2020 expects 13 units (before the mergers), June 2021 ten.
"""

from __future__ import annotations

import pytest

from dolisa import dbt, pipeline, warehouse as dolisa_warehouse
from dolisa.quality.report_gate import BLOCKING, run_report_gate

try:  # tests/integration as a package or as a plain directory (pytest rootdir import)
    from . import dbt_fixtures as fx
except ImportError:
    import dbt_fixtures as fx  # type: ignore[no-redef]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    home = tmp_path_factory.mktemp("dolisa_home")
    wh = home / "warehouse" / "dolisa.duckdb"
    fx.make_warehouse(wh)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DOLISA_HOME", str(home))
        dbt.run_dbt(["build", "--select", *pipeline.MARTS_SELECTOR, "--indirect-selection", "cautious"],
                    warehouse=wh, target_path=home / "dbt" / "target")
    return wh


@pytest.fixture
def con(warehouse):
    # the project's own connection settings: dbt ran in this process and DuckDB refuses a
    # second, differently configured handle on one file
    with dolisa_warehouse.connect(warehouse) as c:
        yield c


def test_marts_build_leaves_the_report_models_for_after_the_gate(con):
    assert con.execute("select count(*) from information_schema.tables where table_schema = 'reports'"
                       ).fetchall() == [(0,)]


def test_expected_unit_months_follow_the_admin_units(con):
    counts = dict(con.execute("select period, count(*) from marts.fct_expected_submissions "
                              "where period in ('2020-01', '2021-06') group by period").fetchall())
    assert counts == {"2020-01": 13, "2021-06": 10}
    # fct_submission_status reads the same definition over the ledger's months
    assert con.execute("""select count(*) from marts.fct_submission_status s
                          anti join marts.fct_expected_submissions e using (unit_code, period)""").fetchall() == [(0,)]


def test_the_gate_on_the_built_models(con):
    result = run_report_gate(con, "2021-H1")
    by_rule: dict[str, list] = {}
    for f in result.findings:
        by_rule.setdefault(f.rule, []).append((f.unit_code, f.period))
    missing = by_rule["completeness"]
    assert len(missing) == 55 and ("042", "2021-06") in missing and ("045", "2021-06") not in missing
    assert by_rule["late_submission"] == [("045", "2021-06")]
    assert by_rule["rejected_version"] == [("040", "2021-01")]
    assert "row_conservation" not in by_rule and "no_personal_data" not in by_rule
    assert {f.severity for f in result.findings if f.rule == "completeness"} == {BLOCKING}
    assert not result.passed
    # the same period a year before: 2020-H1 had gaps (only five units sent January 2020)
    assert ("042", "2020-01") in by_rule["same_period_gap"]
    assert ("040", "2020-01") not in by_rule["same_period_gap"]
