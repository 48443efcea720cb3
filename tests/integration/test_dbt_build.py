"""The dbt project on a tiny hand-made warehouse (tests/integration/dbt_fixtures.py).

Two `dolisa.dbt.build` runs (about 15 s each): the first on the first batch, the
second after adding a new month and a revision. Everything a build produces is
read into Python right after it, and the tests assert on those snapshots.
Every expected value below is computed by hand from the fixture rows.
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dolisa import dbt

try:  # tests/integration as a package or as a plain directory (pytest rootdir import)
    from . import dbt_fixtures as fx
except ImportError:
    import dbt_fixtures as fx  # type: ignore[no-redef]

MART_SCHEMAS = ("staging", "intermediate", "marts", "reports")
PERSONAL_COLUMNS = {"full_name", "citizen_id", "borrower_citizen_id", "record"}


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _indicator_values(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (r["report_period"], r["indicator_code"], r["unit_code"]): r
        for r in _rows(con, "select * from reports.rpt_indicators")
    }


def _personal_leaks(con: duckdb.DuckDBPyConnection, secrets: list[str]) -> list[str]:
    """Columns named like personal data, and text cells equal to a raw name or citizen id."""
    leaks = []
    cols = _rows(
        con,
        "select table_schema, table_name, column_name, data_type from information_schema.columns "
        f"where table_schema in {MART_SCHEMAS}",
    )
    for c in cols:
        if c["column_name"].lower() in PERSONAL_COLUMNS:
            leaks.append(f"{c['table_schema']}.{c['table_name']}.{c['column_name']}")
        elif c["data_type"] == "VARCHAR":
            n = con.execute(
                f'select count(*) from "{c["table_schema"]}"."{c["table_name"]}" '
                f'where "{c["column_name"]}" in (select unnest(?))',
                [secrets],
            ).fetchone()[0]
            if n:
                leaks.append(f"{c['table_schema']}.{c['table_name']}.{c['column_name']} holds raw values")
    return leaks


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("dolisa_home")
    wh = home / "warehouse" / "dolisa.duckdb"
    target = home / "dbt" / "target"
    fx.make_warehouse(wh)
    out: dict[str, Any] = {"home": home, "warehouse": wh}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DOLISA_HOME", str(home))

        # ---------- first build ----------
        dbt.build(warehouse=wh, target_path=target)
        with duckdb.connect(str(wh)) as con:
            secrets = [
                v
                for (v,) in con.execute(
                    "select citizen_id from raw.job_placements union select full_name from raw.job_placements "
                    "union select citizen_id from raw.meritorious_benefits "
                    "union select borrower_citizen_id from raw.employment_fund_loans"
                ).fetchall()
            ]
            out["first"] = {
                "placements": _rows(con, "select * from marts.fct_job_placements order by submission_id, placement_id"),
                "rice": _rows(con, "select * from marts.fct_rice_relief_allocations"),
                "meritorious": _rows(con, "select * from marts.fct_meritorious_benefits"),
                "rpt": _indicator_values(con),
                "status": _rows(con, "select * from marts.fct_submission_status"),
                "quarantine": _rows(con, "select * from marts.fct_quarantine_reasons"),
                "movements": _rows(con, "select * from marts.fct_social_allowance_movements"),
                "leaks": _personal_leaks(con, secrets),
                "rpt_columns": [d[0] for d in con.execute("select * from reports.rpt_indicators limit 0").description],
            }
            # Sentinel: if the next build rebuilt history, this edit would vanish.
            con.execute(
                "update marts.fct_job_placements set employer_name = 'SENTINEL' "
                "where submission_id = '044-2020-01-v1' and placement_id = 'P1'"
            )

        # ---------- second build: a new month + a revision without job_placements ----------
        fx.add_second_batch(wh)
        dbt.build(warehouse=wh, target_path=target)
        with duckdb.connect(str(wh)) as con:
            out["second"] = {
                "placements": _rows(con, "select * from marts.fct_job_placements order by submission_id, placement_id"),
                "rice": _rows(con, "select * from marts.fct_rice_relief_allocations"),
                "rpt": _indicator_values(con),
            }

        # ---------- a failing dbt call raises DbtError naming the problem ----------
        with pytest.raises(dbt.DbtError) as err:
            dbt.run_dbt(["run-operation", "no_such_macro"], warehouse=wh, target_path=target)
        out["error"] = str(err.value)
    return out


# ---------------------------------------------------------------- versions and units

def test_latest_accepted_version_is_in_force(builds):
    subs = {r["submission_id"] for r in builds["first"]["placements"]}
    assert "040-2021-01-v2" in subs
    assert "040-2021-01-v1" not in subs  # replaced by v2
    assert "040-2021-01-v3" not in subs  # rejected
    v2 = [r for r in builds["first"]["placements"] if r["submission_id"] == "040-2021-01-v2"]
    assert sorted(r["placement_id"] for r in v2) == ["P1", "P2"]
    assert all(r["version"] == 2 for r in v2)


def test_january_2020_old_units_attach_to_successors(builds):
    jan = {r["origin_unit_code"]: r for r in builds["first"]["placements"] if r["period"] == "2020-01"}
    mapped = {
        (r["origin_unit_code"], r["current_unit_code"])
        for r in builds["first"]["placements"]
        if r["period"] == "2020-01"
    }
    assert mapped == {("040", "040"), ("044", "045"), ("045", "045"), ("049", "049"), ("050", "049")}
    # the January 2020 049 is Quảng Uyên (valid from 1900), not Quảng Hòa
    assert str(jan["049"]["origin_unit_valid_from"]) == "1900-01-01"
    june = [r for r in builds["first"]["placements"] if r["submission_id"] == "049-2020-06-v1"]
    assert str(june[0]["origin_unit_valid_from"]) == "2020-02-01"


def test_no_personal_data_in_marts(builds):
    assert builds["first"]["leaks"] == []
    row = next(r for r in builds["first"]["meritorious"] if r["case_id"] == "M1")
    # the loader's HMAC-SHA256 of the citizen id, passed through unchanged (dbt never sees the key)
    expected = hmac.new(fx.PSEUDONYM_KEY.encode(), f"{21:012d}".encode(), hashlib.sha256).hexdigest()
    assert row["person_key"] == expected


# ---------------------------------------------------------------- incremental facts

def test_incremental_run_adds_new_month_and_keeps_history(builds):
    second = builds["second"]["placements"]
    first_keys = {(r["submission_id"], r["placement_id"]) for r in builds["first"]["placements"]}
    second_keys = {(r["submission_id"], r["placement_id"]) for r in second}
    # new month added
    assert ("040-2021-07-v1", "P1") in second_keys
    # untouched history not rebuilt: the sentinel edit survived
    sentinel = [r for r in second if r["submission_id"] == "044-2020-01-v1" and r["placement_id"] == "P1"]
    assert sentinel[0]["employer_name"] == "SENTINEL"
    # revised 045-2021-01 (v2 has no job_placements): v1's placements are gone
    assert not any(r["submission_id"].startswith("045-2021-01") for r in second)
    removed = {k for k in first_keys if k[0] == "045-2021-01-v1"}
    assert removed == first_keys - second_keys
    # ... and its rice allocations now come from v2
    rice_045 = {r["submission_id"] for r in builds["second"]["rice"] if r["origin_unit_code"] == "045"}
    assert rice_045 == {"045-2021-01-v2"}


# ---------------------------------------------------------------- report values (by hand)

def _v(rpt, period, code, unit, col="value"):
    return rpt[(period, code, unit)][col]


def test_rpt_indicators_columns_and_grid(builds):
    cols = builds["first"]["rpt_columns"]
    assert cols[:8] == [
        "report_period", "indicator_code", "unit_code", "value", "plan_value",
        "pct_of_plan", "same_period_value", "pct_of_same_period",
    ]
    rpt = builds["first"]["rpt"]
    assert {k[0] for k in rpt} == {"2020-H1", "2021-H1"}
    assert len({k[1] for k in rpt}) == 35
    assert {k[2] for k in rpt} == {"04", "040", "042", "043", "045", "047", "048", "049", "051", "052", "053"}
    assert len(rpt) == 2 * 35 * 11


def test_rpt_flow_values(builds):
    rpt = builds["first"]["rpt"]
    # 2020-H1: 040 = 1; 045 = 2 (044) + 1 + 1 (June); 049 = 1 (old 049) + 2 (050) + 1 (June)
    assert [_v(rpt, "2020-H1", "LAB_JOB_PLACEMENTS", u) for u in ("040", "045", "049", "04")] == [1, 4, 4, 9]
    # 2021-H1: 040 = 2 (v2, not v1's 3 nor rejected v3's 10); 045 = 2 + 1; 049 = 3
    assert [_v(rpt, "2021-H1", "LAB_JOB_PLACEMENTS", u) for u in ("040", "045", "049", "04")] == [2, 3, 3, 8]
    # nothing accepted -> empty; accepted without records -> 0
    assert _v(rpt, "2021-H1", "LAB_JOB_PLACEMENTS", "042") is None
    assert _v(rpt, "2021-H1", "LAB_JOB_PLACEMENTS_ABROAD", "049") == 0
    assert _v(rpt, "2020-H1", "LAB_JOB_PLACEMENTS_ABROAD", "045") == 1  # from Thông Nông (044)
    # same period and percentages: 8 / 9 = 88.888..% -> 88.9; 3 / 4 -> 75.0; 2 / 1 -> 200.0
    assert _v(rpt, "2021-H1", "LAB_JOB_PLACEMENTS", "04", "same_period_value") == 9
    assert _v(rpt, "2021-H1", "LAB_JOB_PLACEMENTS", "04", "pct_of_same_period") == Decimal("88.9")
    assert _v(rpt, "2021-H1", "LAB_JOB_PLACEMENTS", "045", "pct_of_same_period") == Decimal("75.0")
    assert _v(rpt, "2021-H1", "LAB_JOB_PLACEMENTS", "040", "pct_of_same_period") == Decimal("200.0")
    # plan: 675 jobs of a 1 200 target = 56.25% -> 56.3 (half away from zero)
    assert _v(rpt, "2021-H1", "LAB_FUND_JOBS", "04") == 675
    assert _v(rpt, "2021-H1", "LAB_FUND_JOBS", "04", "plan_value") == 1200
    assert _v(rpt, "2021-H1", "LAB_FUND_JOBS", "04", "pct_of_plan") == Decimal("56.3")
    assert _v(rpt, "2021-H1", "LAB_FUND_JOBS", "040", "pct_of_plan") == Decimal("56.3")
    assert _v(rpt, "2021-H1", "LAB_JOB_PLACEMENTS", "04", "pct_of_plan") == Decimal("1.3")  # 8 / 600
    assert _v(rpt, "2021-H1", "LAB_JOB_PLACEMENTS", "045", "plan_value") is None
    assert _v(rpt, "2021-H1", "LAB_JOB_PLACEMENTS", "045", "pct_of_plan") is None


def test_rpt_stock_values(builds):
    rpt = builds["first"]["rpt"]
    # June snapshot only: 040 C1, C2, C3 ACTIVE (C4 CLOSED; January's snapshot not added)
    assert [_v(rpt, "2021-H1", "CH_SPECIAL_ACTIVE", u) for u in ("040", "045", "049", "04")] == [3, 1, 0, 4]
    assert [_v(rpt, "2021-H1", "SP_ALLOWANCE_ACTIVE", u) for u in ("040", "045", "04")] == [3, 0, 3]
    assert _v(rpt, "2020-H1", "CH_SPECIAL_ACTIVE", "040") == 2
    assert _v(rpt, "2021-H1", "CH_SPECIAL_ACTIVE", "04", "pct_of_same_period") == Decimal("200.0")


def test_rpt_distinct_and_household_values(builds):
    rpt = builds["first"]["rpt"]
    # B1 (approved March), B3 (Feb, stopped June), B4 (Jan, in two snapshots) -> 3; B2 approved 2019
    assert _v(rpt, "2021-H1", "SP_ALLOWANCE_NEW", "040") == 3
    # two TET_GIFT rows of person 21, one of person 22 -> 2 persons, 3 gifts
    assert _v(rpt, "2021-H1", "MER_TET_GIFT_PERSONS", "040") == 2
    assert _v(rpt, "2021-H1", "MER_TET_GIFT_AMOUNT_VND", "040") == 1_500_000
    # households: 040 {H1, H2}, 045 {H1} (another unit's H1) -> 3
    assert [_v(rpt, "2021-H1", "SP_RICE_HOUSEHOLDS", u) for u in ("040", "045", "04")] == [2, 1, 3]
    # persons: 040 H1 latest 06-02 tie (5, 2) -> 5; H2 latest 06-15 tie (3, 6) -> 6; 045 H1 -> 2
    assert [_v(rpt, "2021-H1", "SP_RICE_PERSONS", u) for u in ("040", "045", "04")] == [11, 2, 13]
    assert _v(rpt, "2021-H1", "SP_RICE_KG", "040") == 60


def test_rpt_ratio_values(builds):
    rpt = builds["first"]["rpt"]
    code = "CH_SPECIAL_SUPPORTED_PCT"
    # 040: 2 of 3 -> 66.7; 045: 1 of 1 -> 100.0; 049: 0 of 0 -> empty; province 3 of 4 -> 75.0
    assert _v(rpt, "2021-H1", code, "040") == Decimal("66.7")
    assert _v(rpt, "2021-H1", code, "045") == Decimal("100.0")
    assert _v(rpt, "2021-H1", code, "049") is None
    assert _v(rpt, "2021-H1", code, "04") == Decimal("75.0")
    assert (_v(rpt, "2021-H1", code, "04", "numerator"), _v(rpt, "2021-H1", code, "04", "denominator")) == (3, 4)
    # same period from unrounded ratios: 66.666.../50 -> 133.3 (not 66.7/50 = 133.4)
    assert _v(rpt, "2021-H1", code, "040", "same_period_value") == Decimal("50.0")
    assert _v(rpt, "2021-H1", code, "040", "pct_of_same_period") == Decimal("133.3")
    assert _v(rpt, "2021-H1", code, "04", "pct_of_same_period") == Decimal("150.0")
    assert abs(_v(rpt, "2021-H1", code, "040", "value_unrounded") - 200 / 3) < 1e-9


def test_rpt_after_revision_and_new_half(builds):
    rpt = builds["second"]["rpt"]
    # 045-2021-01-v2 dropped its two placements: 045 = 1 (June), province 2 + 1 + 3
    assert _v(rpt, "2021-H1", "LAB_JOB_PLACEMENTS", "045") == 1
    assert _v(rpt, "2021-H1", "LAB_JOB_PLACEMENTS", "04") == 6
    # the new month opens 2021-H2: only 040 has data
    assert _v(rpt, "2021-H2", "LAB_JOB_PLACEMENTS", "040") == 1
    assert _v(rpt, "2021-H2", "LAB_JOB_PLACEMENTS", "045") is None
    assert _v(rpt, "2021-H2", "LAB_JOB_PLACEMENTS", "04") == 1


# ---------------------------------------------------------------- data quality

def test_submission_status(builds):
    status = {(r["unit_code"], r["period"]): r for r in builds["first"]["status"]}
    # 2020-01 .. 2021-06: 13 units in January 2020, 10 in each of the 17 later months
    assert len(status) == 13 + 17 * 10
    assert sum(1 for k in status if k[1] == "2020-01") == 13
    assert ("044", "2020-02") not in status
    r = status[("040", "2021-01")]
    assert (r["versions_received"], r["versions_accepted"], r["versions_rejected"]) == (3, 2, 1)
    assert (r["in_force_version"], r["in_force_submission_id"]) == (2, "040-2021-01-v2")
    assert r["timeliness"] == "on_time"  # v1 at 2021-02-05 23:00 +07
    assert status[("040", "2021-06")]["timeliness"] == "on_time"  # 2021-07-05 23:59 +07
    assert status[("045", "2021-06")]["timeliness"] == "late"  # 2021-07-06 00:30 +07
    assert status[("042", "2021-06")]["timeliness"] == "missing"
    assert status[("040", "2021-01")]["rows_loaded"] == 2 + 2 + 2 + 2 + 3 + 1
    assert status[("040", "2021-01")]["rows_quarantined"] == 2


def test_quarantine_reasons(builds):
    got = {(r["submission_id"], r["dataset"], r["reason"]): r["rows"] for r in builds["first"]["quarantine"]}
    assert got == {
        ("040-2021-01-v2", "job_placements", "citizen_id: malformed"): 2,
        ("040-2021-01-v2", "job_placements", "sex: unknown"): 1,
    }
    assert "record" not in builds["first"]["quarantine"][0]


def test_social_allowance_movements(builds):
    got = {(r["period"], r["beneficiary_id"], r["movement_type"]) for r in builds["first"]["movements"]}
    assert got == {("2021-01", "B4", "NEW_APPROVAL"), ("2021-06", "B3", "STOPPED")}


def test_dbt_failure_raises_with_details(builds):
    assert "run-operation" in builds["error"]


def test_project_dir_override(monkeypatch, tmp_path: Path):
    assert (dbt.project_dir() / "dbt_project.yml").is_file()
    monkeypatch.setenv(dbt.PROJECT_DIR_ENV, str(tmp_path))
    with pytest.raises(dbt.DbtError):
        dbt.project_dir()


def test_seeds_follow_the_contract():
    root = dbt.project_dir()
    contract_units = Path(__file__).resolve().parents[2] / "src" / "dolisa" / "contract" / "admin_units.csv"
    assert (root / "seeds" / "admin_units.csv").read_bytes() == contract_units.read_bytes()
    import csv

    from dolisa import contract

    rows = list(csv.DictReader((root / "seeds" / "indicator_catalogue.csv").open(encoding="utf-8")))
    published = [r for r in rows if r["is_published"] == "true"]
    assert len(published) == 35
    assert len({r["indicator_code"] for r in rows}) == len(rows)
    labels = {(r["dataset"], r["column_name"], r["code"]) for r in csv.DictReader(
        (root / "seeds" / "code_labels.csv").open(encoding="utf-8"))}
    for ds in contract.datasets().values():
        for c in ds.columns:
            for code in c.codes:
                assert (ds.name, c.name, code) in labels
