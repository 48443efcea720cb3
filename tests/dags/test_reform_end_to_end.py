"""Across the 2025 reform (contract §7), through the real DAG (`airflow dags test`) against the
real demo hub: the districts report up to 2025-06, the 56 communes and wards from 2025-07.

The expected figures are computed independently of the pipeline, by the plain reference parser
of tests/unit/test_hub_generator.py (csv + openpyxl, written from the contract text) over the
hub's files: each unit-month's latest accepted version, its rows counted as indicators.md says.
A few province figures are also pinned by hand from that parser's output, so that a change of
the generator shows here as well.

Slow (minutes): marked `slow`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from dolisa import contract
from dolisa_demo.hub.generator import generate
from dolisa_demo.hub.server import start_server
from dolisa_demo.hub.store import HubStore

try:
    from .test_end_to_end import CHAIN, TOKEN, airflow_env, dag_failed, run_dag, task_states
except ImportError:  # pragma: no cover - run as a plain module
    from test_end_to_end import CHAIN, TOKEN, airflow_env, dag_failed, run_dag, task_states  # type: ignore
try:
    from ..unit.test_hub_generator import indicators as reference_indicators
    from ..unit.test_hub_generator import load_accepted
except ImportError:  # pragma: no cover
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
    from test_hub_generator import indicators as reference_indicators  # type: ignore
    from test_hub_generator import load_accepted  # type: ignore

pytestmark = pytest.mark.slow

SCALE = 0.25
PERIODS = contract.period_range("2024-07", "2026-06")
COMMUNES = [u.unit_code for u in contract.reporting_units("2025-07")]
NOTE_NEW_UNIT = "Đơn vị hành chính mới thành lập từ 01/7/2025, không có số liệu cùng kỳ"


def contract_round(x: float) -> str:
    """One decimal, half away from zero (indicators.md)."""
    from decimal import ROUND_HALF_UP, Decimal

    return str(Decimal(repr(x)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def read_indicators(path: Path) -> dict[tuple[str, str], dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return {(r["indicator_code"], r["unit_code"]): r for r in csv.DictReader(fh)}


def num(text: str):
    return None if text == "" else float(text)


def matches(got: float | None, want: float | None, code: str) -> bool:
    if want is None or got is None:
        return got is None and want is None
    if code.endswith("_PCT"):  # percentages: one decimal, rounded half away from zero
        return abs(got - want) <= 0.05 + 1e-9
    return got == want


@pytest.fixture(scope="module")
def reform_store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hub_reform") / "store"
    generate(root, first=PERIODS[0], last=PERIODS[-1], scale=SCALE)
    return root


@pytest.fixture(scope="module")
def reference(reform_store) -> dict:
    return load_accepted(reform_store, PERIODS)


@pytest.fixture(scope="module")
def runs(reform_store, tmp_path_factory) -> dict:
    """One DOLISA_HOME: the nightly pulls the 24 months and reports 2025-H2, then 2026-H1 and
    2025-H1 as of 2025-08-31 (before 045's revision of May 2025 arrived in September)."""
    tmp = tmp_path_factory.mktemp("reform_e2e")
    out: dict = {"home": tmp / "dolisa_home"}
    with start_server(reform_store, token=TOKEN) as hub:
        env = airflow_env(tmp, hub.port)
        out["env"] = env
        for name, conf, day in (
            ("2025-H2", {"periods": PERIODS, "report_period": "2025-H2"}, "2026-01-10T02:30:00+07:00"),
            ("2026-H1", {"periods": ["2026-06"], "report_period": "2026-H1"}, "2026-07-10T02:30:00+07:00"),
            ("2025-H1", {"periods": [], "report_period": "2025-H1", "as_of": "2025-08-31"},
             "2026-07-11T02:30:00+07:00"),
        ):
            proc = run_dag(env, conf, logical_date=day)
            out[name] = proc
            out[f"{name}_states"] = task_states(env)
    return out


def _ok(runs, name):
    proc = runs[name]
    assert not dag_failed(proc), proc.stdout[-5000:] + proc.stderr[-5000:]


@pytest.mark.parametrize("half,same", [("2025-H2", "2024-H2"), ("2026-H1", "2025-H1")])
def test_commune_half_years_match_the_reference_parser(runs, reference, half, same):
    _ok(runs, half)
    got = read_indicators(runs["home"] / "reports" / half / "indicators.csv")
    # one row per indicator for the province and each of the 56 communes and wards
    assert {u for _, u in got} == {"04", *COMMUNES} and len(COMMUNES) == 56
    want, want_same = reference_indicators(reference, half), reference_indicators(reference, same)
    for code in want:
        row = got[(code, "04")]
        assert matches(num(row["value"]), want[code], code), (half, code, row["value"], want[code])
        # the province's same period: the sum over the districts a year before, nothing apportioned
        assert matches(num(row["same_period_value"]), want_same[code], code), (half, code, row, want_same[code])
    for unit in COMMUNES:
        mine = reference_indicators({k: v for k, v in reference.items() if k[0] == unit}, half)
        for code, value in mine.items():
            if not code.endswith("_PCT"):
                assert num(got[(code, unit)]["value"]) == value, (half, unit, code)
            # a commune that did not exist a year before has no same-period value (§7)
            assert got[(code, unit)]["same_period_value"] == "" and got[(code, unit)]["pct_of_same_period"] == ""
    # no district is a unit of these reports
    assert ("LAB_JOB_PLACEMENTS", "045") not in got


# 2026-H1 (56 communes and wards) and its same period 2025-H1 (ten districts, 045's May
# revision in force), seed 2021, scale 0.25: the reference parser's figures, pinned.
PINNED_2026_H1 = {
    "LAB_VOC_NEW_SOCAP": (424, 410), "LAB_JOB_PLACEMENTS": (48, 47), "LAB_FUND_JOBS": (163, 178),
    "SP_ALLOWANCE_ACTIVE": (4239, 4252), "SP_RICE_PERSONS": (23628, 23608),
    "MER_TET_GIFT_PERSONS": (4449, 4397), "CH_SPECIAL_ACTIVE": (583, 576),
}


def test_hand_checked_province_figures(runs):
    _ok(runs, "2026-H1")
    got = read_indicators(runs["home"] / "reports" / "2026-H1" / "indicators.csv")
    for code, (value, same) in PINNED_2026_H1.items():
        row = got[(code, "04")]
        assert (num(row["value"]), num(row["same_period_value"])) == (value, same), code
        assert num(row["pct_of_same_period"]) == float(
            contract_round(100 * value / same)), code


def test_the_human_facing_files_say_why_a_commune_has_no_same_period(runs):
    _ok(runs, "2025-H2")
    import openpyxl
    from docx import Document

    folder = runs["home"] / "reports" / "2025-H2"
    wb = openpyxl.load_workbook(folder / "indicators.xlsx", read_only=True)
    texts = [str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c]
    assert any(NOTE_NEW_UNIT in t for t in texts)
    # the communes are grouped under their former district, as a reading aid only
    assert any("Thành phố Cao Bằng (cũ)" in t for t in texts)
    doc = Document(folder / "indicators_annex.docx")
    body = "\n".join(p.text for p in doc.paragraphs) + "\n".join(
        c.text for t in doc.tables for r in t.rows for c in r.cells)
    assert NOTE_NEW_UNIT in body and "Phường Thục Phán" in body


def test_a_late_district_revision_moves_the_half_before_the_reform(runs, reform_store):
    _ok(runs, "2025-H1")
    assert dict(runs["2025-H1_states"]).get("write_report_files") == "success"
    folder = runs["home"] / "reports" / "2025-H1"
    now = read_indicators(folder / "indicators.csv")
    # 2025-H1 keeps its ten districts (a re-issue of a half before the reform keeps its units)
    assert {u for _, u in now} == {"04", *[u.unit_code for u in contract.reporting_units("2025-06")]}
    with open(folder / "as_of_2025-08-31" / "revisions.csv", encoding="utf-8", newline="") as fh:
        revisions = list(csv.DictReader(fh))
    moved = {(r["source_unit_code"], r["source_period"], r["version_as_of"], r["version_now"]) for r in revisions}
    assert moved == {("045", "2025-05", "1", "2")}
    then = read_indicators(folder / "as_of_2025-08-31" / "indicators.csv")
    rows = [r for r in revisions if r["unit_code"] == "04" and r["indicator_code"] == "LAB_VOC_NEW_ALL"]
    assert rows and num(now[("LAB_VOC_NEW_ALL", "04")]["value"]) > num(then[("LAB_VOC_NEW_ALL", "04")]["value"])
    # v2 was submitted in September 2025, after the district level ended, under the district code
    listing = HubStore(reform_store).listing("045", "2025-05")
    assert listing[1]["submitted_at"].startswith("2025-09")


def test_the_gate_expects_all_56_communes_and_allow_incomplete_publishes(tmp_path):
    store_root = tmp_path / "store"
    generate(store_root, first="2026-01", last="2026-06", scale=0.1)
    store = HubStore(store_root)
    store._units["01489"].pop("2026-03")  # one commune never sent March 2026
    store.save()
    conf = {"periods": contract.period_range("2026-01", "2026-06"), "report_period": "2026-H1"}
    report = tmp_path / "dolisa_home" / "reports" / "2026-H1"
    with start_server(store_root, token=TOKEN) as hub:
        env = airflow_env(tmp_path, hub.port)
        proc = run_dag(env, conf, logical_date="2026-07-10T02:30:00+07:00")
        out = proc.stdout + proc.stderr
        assert dag_failed(proc) and "report gate blocked" in out and "01489" in out and "2026-03" in out
        assert dict(task_states(env))["report_gate"] == "failed"
        assert not (report / "indicators.csv").exists()
        gate = json.loads((report / "quality_gate.json").read_text(encoding="utf-8"))
        assert [(f["unit_code"], f["period"]) for f in gate["blocking"]] == [("01489", "2026-03")]

        proc = run_dag(env, {**conf, "allow_incomplete": True}, logical_date="2026-07-11T02:30:00+07:00")
    assert not dag_failed(proc), proc.stdout[-3000:]
    last = task_states(env)[-(len(CHAIN) + 1):]  # this run's: the chain and the units' feedback
    assert [s for s in last if s[0] != "deliver_feedback"] == [(t, "success") for t in CHAIN]
    assert ("deliver_feedback", "success") in last
    # the commune whose March never came is told so, with the deadline that passed
    sheets = sorted((tmp_path / "dolisa_home" / "reports" / "feedback" / "01489").glob("*/feedback.json"))
    missing = [m for s in sheets for m in json.loads(s.read_text(encoding="utf-8"))["missing"]]
    assert {"period": "2026-03", "deadline": "2026-04-05", "overdue": True} in missing
    got = read_indicators(report / "indicators.csv")
    assert {u for _, u in got} == {"04", *COMMUNES}
    note = (report / "INCOMPLETE.txt").read_text(encoding="utf-8")
    assert "CHƯA ĐẦY ĐỦ" in note and "tháng 3/2026" in note
