"""Re-issuing a commune half-year across the 2025 reform, after 32 source unit-months were
revised (contract §6 and §7): 2026-H1 as of D = 2026-07-10.

The case is the benchmark's (dolisa_demo.reissue_bench.build_store): the demo store
2025-01..2026-06 (ten districts to 2025-06, 56 communes and wards from 2025-07) and, after D,
24 revised commune-months of 2026-H1 (two dataset files left out), 2 commune-months of 2026-H1
whose first version came after D (March, and June: a stock with no data as of D), and 6
revised district-months of 2025-H1, the same period a year before (contract §7: they move
the province's same-period value only, never a `value`, so they have no revisions rows).

Everything expected is computed here, independently of the project's dbt models: the plain
reference parser of tests/unit/test_hub_generator.py (csv + openpyxl, from the contract text)
over the hub's files, each unit-month's latest accepted version counted as of D (submitted
before 00:00 of the next day, Asia/Ho_Chi_Minh) or now, and, per changed unit-month, the
figures with only that unit-month moved to its current version.

Real demo hub (HTTP), real pipeline stages, real DuckDB and dbt, in-process. Slow (minutes).
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from dolisa import contract, dbt, pipeline, reissue
from dolisa.extract import HubConfig
from dolisa.settings import Paths
from dolisa_demo import reissue_bench
from dolisa_demo.hub.server import start_server

try:
    from ..unit.test_hub_generator import load_accepted
    from ..unit.test_hub_generator import indicators as reference_indicators
except ImportError:  # pragma: no cover - run as a plain module
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
    from test_hub_generator import load_accepted  # type: ignore
    from test_hub_generator import indicators as reference_indicators  # type: ignore

pytestmark = pytest.mark.slow

TZ = dt.timezone(dt.timedelta(hours=7))
TOKEN = "reissue-reform-token"
RP = reissue_bench.REPORT_PERIOD
D = reissue_bench.AS_OF
HALF = contract.half_year_periods(RP)
SAME = contract.half_year_periods("2025-H1")
PERIODS = contract.period_range(reissue_bench.FIRST, reissue_bench.LAST)
COMMUNES = [u.unit_code for u in contract.reporting_units(HALF[-1])]
# the cut-off of D: a version counts when submitted before 00:00 of the next day (UTC+7)
CUTOFF = dt.datetime(D.year, D.month, D.day, 23, 59, 59, 999999, tzinfo=TZ)
STOCKS = ("SP_ALLOWANCE_ACTIVE", "CH_SPECIAL_ACTIVE", "CH_SPECIAL_SUPPORTED_PCT")
PCT = "CH_SPECIAL_SUPPORTED_PCT"
# indicators that add up over months and units (flows and amounts): contributions sum to delta
FLOWS = (
    "LAB_VOC_NEW_SOCAP LAB_VOC_NEW_ALL LAB_JOB_PLACEMENTS LAB_JOB_PLACEMENTS_DOMESTIC LAB_JOB_PLACEMENTS_ABROAD "
    "LAB_OVERSEAS_DEPARTURES LAB_FUND_JOBS LAB_UI_DECISIONS LAB_UI_AMOUNT_VND SP_FUNERAL_CASES SP_FUNERAL_AMOUNT_VND "
    "SP_EMERGENCY_CASES SP_EMERGENCY_AMOUNT_VND SP_CENTENARIAN_GIFTS SP_RICE_KG MER_TET_GIFT_AMOUNT_VND "
    "MER_NEW_DECISIONS MER_ONE_TIME_DECISIONS MER_MONTHLY_DECISIONS MER_CONVALESCENCE_CENTRAL "
    "MER_CONVALESCENCE_HOME CH_SCHOLARSHIPS CH_SCHOLARSHIP_AMOUNT_VND CH_EMERGENCY_AMOUNT_VND"
).split()


# --------------------------------------------------------------------------- the reference


def load_accepted_at(store_root: Path, periods: list[str], available_at: dt.datetime | None) -> dict:
    """{(unit, period): (version, {dataset: rows})}: each unit-month's highest accepted version
    submitted by `available_at` (None: every version), parsed by the reference parser."""
    return load_accepted(store_root, periods, available_at, key="version")


def round_1(x: Fraction) -> Decimal:
    """One decimal, half away from zero (indicators.md), on the exact fraction."""
    q = Decimal(x.numerator) / Decimal(x.denominator)
    return q.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def ref_values(loaded: dict, half: str, units: list[str] | None) -> dict[str, Decimal | None]:
    """The reference figures of `half` over the unit-months of `units` (None: all, the province),
    rounded as the report rounds them; None where the contract says empty (no accepted data in
    the half, or in its last month for a stock; a percentage of 0)."""
    months = contract.half_year_periods(half)
    sub = {k: v for k, v in loaded.items() if k[1] in months and (units is None or k[0] in units)}
    v = reference_indicators(sub, half)
    if not sub:
        return dict.fromkeys(v)
    out: dict[str, Decimal | None] = {k: (None if x is None else Decimal(int(x))) for k, x in v.items() if k != PCT}
    active = [
        r
        for (_, p), (_, t) in sub.items()
        if p == months[-1]
        for r in t.get("child_protection_register", [])
        if r["status"] == "ACTIVE"
    ]
    supported = sum(bool(r["is_receiving_support"]) for r in active)
    out[PCT] = round_1(Fraction(100 * supported, len(active))) if active else None
    if not any(p == months[-1] for _, p in sub):
        out.update(dict.fromkeys(STOCKS))
    return out


def dec(text: str) -> Decimal | None:
    return None if text == "" else Decimal(text)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# --------------------------------------------------------------------------- the run


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> dict:
    """The store with its revisions; one DOLISA_HOME that loads everything (now), writes the
    current 2026-H1 report and re-issues it as of D (dbt invocations of the re-issue counted)."""
    tmp = tmp_path_factory.mktemp("reissue_reform")
    store = tmp / "store"
    revised = reissue_bench.build_store(store)
    home = tmp / "home"
    p = Paths(home)
    calls: list[list[str]] = []
    real_run_dbt = dbt.run_dbt

    def counting(args, **kw):
        calls.append(list(args))
        return real_run_dbt(args, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DOLISA_HOME", str(home))
        mp.setenv("DOLISA_PSEUDONYM_KEY", "reissue-reform-test-key-not-a-secret")
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        with start_server(store, token=TOKEN) as hub:
            pipeline.extract(PERIODS, HubConfig.from_uri(f"http://:{TOKEN}@127.0.0.1:{hub.port}"), p)
        pipeline.load(PERIODS, p)
        pipeline.transform(p)
        pipeline.report(RP, allow_incomplete=True, p=p)
        mp.setattr(dbt, "run_dbt", counting)
        result = reissue.reissue(RP, D, allow_incomplete=True, p=p)
    then = load_accepted_at(store, SAME + HALF, CUTOFF)
    now = load_accepted_at(store, SAME + HALF, None)
    return {
        "store": store,
        "revised": revised,
        "result": result,
        "dbt_calls": calls,
        "folder": home / "reports" / RP / f"as_of_{D.isoformat()}",
        "current": home / "reports" / RP / "indicators.csv",
        "then": then,
        "now": now,
    }


def changed_unit_months(case) -> dict[tuple[str, str], tuple[int | None, int]]:
    """(unit, month) of the half -> (version as of D, version now), where they differ."""
    then, now = case["then"], case["now"]
    return {
        k: (then[k][0] if k in then else None, now[k][0])
        for k in now
        if k[1] in HALF and (k not in then or then[k][0] != now[k][0])
    }


def test_the_case_revises_at_least_30_unit_months_some_of_last_years_same_period(case):
    revised = {(r["unit_code"], r["period"]) for r in case["revised"]}
    assert len(revised) >= 30
    assert sum(1 for _, m in revised if m in SAME) >= 6  # 2025-H1: the districts, before the reform
    assert sum(1 for r in case["revised"] if r["kind"] == "late_first") == 2
    # every revision is dated after D: as of D the hub shows the earlier state
    assert len(changed_unit_months(case)) >= 24


def test_revisions_take_a_constant_number_of_dbt_invocations(case):
    result = case["result"]
    assert result["scenarios"] == len(changed_unit_months(case)) >= 24
    # the as-of build, ONE run of the scenario models for every changed unit-month, the rpt_ phase
    assert len(case["dbt_calls"]) <= 3, [c[:3] for c in case["dbt_calls"]]
    runs = [c for c in case["dbt_calls"] if c[0] == "run"]
    assert len(runs) == 1 and "reissue_scenario_values" in runs[0]


def test_as_of_indicators_match_the_reference_as_of_d(case):
    got = {(r["indicator_code"], r["unit_code"]): r for r in read_csv(case["folder"] / "indicators.csv")}
    assert {u for _, u in got} == {"04", *COMMUNES} and len(COMMUNES) == 56
    then = case["then"]
    province, same = ref_values(then, RP, None), ref_values(then, "2025-H1", None)
    for code, want in province.items():
        row = got[(code, "04")]
        assert dec(row["value"]) == want, (code, row["value"], want)
        # the province's same period: the ten districts' 2025-H1 as of D (the 6 revisions not in force)
        assert dec(row["same_period_value"]) == same[code], (code, row["same_period_value"], same[code])
    for unit in COMMUNES:
        mine = ref_values(then, RP, [unit])
        for code, want in mine.items():
            row = got[(code, unit)]
            assert dec(row["value"]) == want, (unit, code, row["value"], want)
            # a commune did not exist in 2025-H1: no same-period value (contract §7)
            assert row["same_period_value"] == "" and row["pct_of_same_period"] == ""
    # the 2025-H1 revisions moved the province's same period: as of D it is not the current one
    current = {(r["indicator_code"], r["unit_code"]): r for r in read_csv(case["current"])}
    assert any(current[(c, "04")]["same_period_value"] != got[(c, "04")]["same_period_value"] for c in province)


def expected_revisions(case) -> dict[tuple[str, str, str, str], dict]:
    """(indicator, unit, source unit, source month) -> the revisions.csv row, from the reference."""
    if "expected" not in case:
        case["expected"] = _expected_revisions(case)
    return case["expected"]


def _expected_revisions(case) -> dict[tuple[str, str, str, str], dict]:
    then, now = case["then"], case["now"]
    changed = changed_unit_months(case)
    units = {u: [u] for u in COMMUNES} | {"04": None}
    before = {u: ref_values(then, RP, sel) for u, sel in units.items()}
    after = {u: ref_values(now, RP, sel) for u, sel in units.items()}
    out = {}
    for (su, sp), (v_then, v_now) in sorted(changed.items()):
        moved_state = {k: v for k, v in then.items() if k != (su, sp)} | {(su, sp): now[(su, sp)]}
        for unit in (su, "04"):  # only its own unit and the province can move
            moved = ref_values(moved_state, RP, units[unit])
            for code, value in moved.items():
                b, n = before[unit][code], after[unit][code]
                if b == n or value == b:
                    continue
                out[(code, unit, su, sp)] = {
                    "value_as_of": b,
                    "value_now": n,
                    "delta": None if b is None or n is None else n - b,
                    "version_as_of": "" if v_then is None else str(v_then),
                    "version_now": str(v_now),
                    "contribution": None if value is None or b is None else value - b,
                }
    return out


def test_revisions_match_the_reference(case):
    rows = read_csv(case["folder"] / "revisions.csv")
    assert rows and list(rows[0]) == reissue.REVISIONS_HEADER
    got = {(r["indicator_code"], r["unit_code"], r["source_unit_code"], r["source_period"]): r for r in rows}
    assert len(got) == len(rows)  # one row per indicator, unit and source unit-month
    want = expected_revisions(case)
    assert set(got) == set(want), (sorted(set(got) - set(want))[:5], sorted(set(want) - set(got))[:5])
    for key, w in want.items():
        r = got[key]
        for col in ("value_as_of", "value_now", "delta", "contribution"):
            assert dec(r[col]) == w[col], (key, col, r[col], w[col])
        assert (r["version_as_of"], r["version_now"]) == (w["version_as_of"], w["version_now"]), key
    # every indicator and unit whose value moved has rows, and only those
    then = {(r["indicator_code"], r["unit_code"]): r["value"] for r in read_csv(case["folder"] / "indicators.csv")}
    current = {(r["indicator_code"], r["unit_code"]): r["value"] for r in read_csv(case["current"])}
    assert {(i, u) for i, u, _, _ in got} == {k for k in then if dec(then[k]) != dec(current[k])}


def test_every_changed_unit_month_is_named_and_last_years_months_move_no_value(case):
    rows = read_csv(case["folder"] / "revisions.csv")
    named = {(r["source_unit_code"], r["source_period"]) for r in rows}
    changed = changed_unit_months(case)
    # each changed unit-month that moves a figure (by the reference) is named; nothing else is
    assert named == {(su, sp) for _, _, su, sp in expected_revisions(case)}
    assert named <= set(changed)
    # every revision of the half made by the case moves a figure: each is named
    assert {(r["unit_code"], r["period"]) for r in case["revised"] if r["period"] in HALF} <= named
    # the late first submissions: no version as of D
    for r in case["revised"]:
        if r["kind"] == "late_first":
            mine = [x for x in rows if (x["source_unit_code"], x["source_period"]) == (r["unit_code"], r["period"])]
            assert mine and all(x["version_as_of"] == "" for x in mine), r
        # the same period a year before (pre-reform districts) moves no `value`: no rows
        if r["period"] in SAME:
            assert (r["unit_code"], r["period"]) not in named


def test_flow_contributions_add_up_to_the_delta(case):
    rows = read_csv(case["folder"] / "revisions.csv")
    by_figure: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        by_figure.setdefault((r["indicator_code"], r["unit_code"]), []).append(r)
    checked = 0
    for (code, _), group in by_figure.items():
        if code in FLOWS and group[0]["delta"] != "":
            assert sum(dec(r["contribution"]) for r in group) == dec(group[0]["delta"]), group
            checked += 1
    assert checked >= 10
