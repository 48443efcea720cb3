"""End to end through Airflow: the real DAG (`airflow dags test`) against the real demo hub.

Slow (minutes): marked `slow`. Each test gets its own DOLISA_HOME and AIRFLOW_HOME
(SQLite), its own hub store and server on an ephemeral port.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dolisa_demo.hub.generator import generate
from dolisa_demo.hub.server import start_server
from dolisa_demo.hub.store import HubStore
from reader_zone import persons_in_reader_zone

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAG_ID = "district_submissions_nightly"
TOKEN = "e2e-token-4f9a"

# The department's H1 2021 report (indicators.md, "The catalogue"): province values,
# plan and same-period percentages as the reference report states them.
REFERENCE_2021_H1 = {
    "LAB_VOC_NEW_SOCAP": (1700, 5500, 30.9, 130.0),
    "LAB_JOB_PLACEMENTS": (198, 600, 33.0, None),
    "LAB_JOB_PLACEMENTS_DOMESTIC": (191, None, None, None),
    "LAB_JOB_PLACEMENTS_ABROAD": (7, None, None, None),
    "LAB_OVERSEAS_DEPARTURES": (18, 100, 18.0, None),
    "LAB_FUND_JOBS": (675, 1200, 56.3, None),
    "LAB_UI_DECISIONS": (871, None, None, None),
    "LAB_UI_AMOUNT_VND": (11_000_000_000, None, None, None),
    "SP_ALLOWANCE_NEW": (728, None, None, None),
    "SP_ALLOWANCE_ACTIVE": (16_835, None, None, None),
    "SP_FUNERAL_CASES": (296, None, None, None),
    "SP_FUNERAL_AMOUNT_VND": (1_600_000_000, None, None, None),
    "SP_EMERGENCY_CASES": (16, None, None, None),
    "SP_EMERGENCY_AMOUNT_VND": (406_000_000, None, None, None),
    "SP_CENTENARIAN_GIFTS": (28, None, None, None),
    "SP_RICE_KG": (1_440_060, None, None, None),
    "SP_RICE_HOUSEHOLDS": (23_141, None, None, None),
    "SP_RICE_PERSONS": (96_004, None, None, None),
    "MER_TET_GIFT_PERSONS": (17_568, None, None, None),
    "MER_TET_GIFT_AMOUNT_VND": (5_721_000_000, None, None, None),
    "MER_NEW_DECISIONS": (701, None, None, None),
    "MER_ONE_TIME_DECISIONS": (675, None, None, None),
    "MER_MONTHLY_DECISIONS": (26, None, None, None),
    "MER_CONVALESCENCE_CENTRAL": (626, None, None, None),
    "MER_CONVALESCENCE_HOME": (865, None, None, None),
    "CH_SCREENED": (450, None, None, None),
    "CH_SURGERY_REFERRALS": (47, None, None, None),
    "CH_MILK_FUND": (861, None, None, None),
    "CH_SCHOLARSHIPS": (70, None, None, None),
    "CH_SCHOLARSHIP_AMOUNT_VND": (50_000_000, None, None, None),
    "CH_EMERGENCY_CHILDREN": (6, None, None, None),
    "CH_EMERGENCY_AMOUNT_VND": (18_000_000, None, None, None),
}


def airflow_env(tmp: Path, hub_port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DOLISA_HOME": str(tmp / "dolisa_home"),
        "AIRFLOW_HOME": str(tmp / "airflow_home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp / 'airflow_home' / 'airflow.db'}",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "AIRFLOW_CONN_DISTRICT_EXPORT_API": f"http://:{TOKEN}@127.0.0.1:{hub_port}",
        "DOLISA_PSEUDONYM_KEY": "e2e-test-key-not-a-secret",
        "DOLISA_TASK_RETRIES": "0",
        "NO_PROXY": "127.0.0.1,localhost",
        "PATH": f"{BIN}:{env.get('PATH', '')}",
    })
    return env


def run_dag(env: dict[str, str], conf: dict, logical_date: str = "2021-07-10T02:30:00+07:00") -> subprocess.CompletedProcess:
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    if not (Path(env["AIRFLOW_HOME"]) / "airflow.db").exists():
        subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True)
    return subprocess.run(
        [str(BIN / "airflow"), "dags", "test", DAG_ID, logical_date, "-c", json.dumps(conf)],
        env=env, capture_output=True, text=True, timeout=1800,
    )


CHAIN = ["plan", "extract_and_land", "validate_and_load", "build_marts", "report_gate",
         "build_report_models", "write_report_files", "publish"]


def task_states(env: dict[str, str]) -> list[tuple[str, str]]:
    """(task_id, state) of the DAG's task instances, in the order they started (never-started last)."""
    import sqlite3

    con = sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db")
    try:
        return con.execute("select task_id, state from task_instance where dag_id = ? "
                           "order by start_date is null, start_date", [DAG_ID]).fetchall()
    finally:
        con.close()


def rpt_tables(db: Path) -> list[str]:
    if not db.exists():
        return []
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [r[0] for r in con.execute("select table_name from information_schema.tables "
                                          "where table_schema = 'reports' and table_name like 'rpt_%'").fetchall()]
    finally:
        con.close()


def dag_failed(proc: subprocess.CompletedProcess) -> bool:
    out = proc.stdout + proc.stderr
    return proc.returncode != 0 or "state=failed" in out or "DagRunState.FAILED" in out


def mart_digest(warehouse: Path) -> dict[str, str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        for schema, table in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'reports') order by 1, 2"
        ).fetchall():
            rows = con.execute(f'select * from {schema}."{table}" order by all').fetchall()
            out[f"{schema}.{table}"] = hashlib.sha256(repr(rows).encode()).hexdigest()
        return out
    finally:
        con.close()


def read_indicators(path: Path) -> dict[tuple[str, str], dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return {(r["indicator_code"], r["unit_code"]): r for r in csv.DictReader(fh)}


def num(text: str):
    return None if text == "" else float(text)


@pytest.fixture(scope="module")
def full_store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hub") / "store"
    generate(root)
    return root


def test_demo_run_through_airflow_matches_the_reference_report(full_store, tmp_path):
    periods = [f"{y}-{m:02d}" for y in (2020, 2021) for m in range(1, 13)][:18]
    # (faults are tested in tests/integration/test_extract_load.py: one per URL here would add
    # a backoff sleep to each of the ~2 000 requests)
    with start_server(full_store, token=TOKEN) as hub:
        env = airflow_env(tmp_path, hub.port)
        proc = run_dag(env, {"periods": periods, "report_period": "2021-H1"})
    assert not dag_failed(proc), proc.stdout[-5000:] + proc.stderr[-5000:]
    # one task per phase, in order: the gate before the report models, publish last
    states = task_states(env)
    assert [s for s in states if s[0] != "deliver_feedback"] == [(t, "success") for t in CHAIN]
    assert ("deliver_feedback", "success") in states  # each unit's feedback, beside the report
    home = Path(env["DOLISA_HOME"])
    csv_path = home / "reports" / "2021-H1" / "indicators.csv"
    assert csv_path.read_text(encoding="utf-8").splitlines()[0] == (
        "report_period,indicator_code,unit_code,value,plan_value,pct_of_plan,same_period_value,pct_of_same_period")
    got = read_indicators(csv_path)
    for code, (value, plan, pct_plan, pct_same) in REFERENCE_2021_H1.items():
        row = got[(code, "04")]
        assert num(row["value"]) == value, code
        if plan is not None:
            assert num(row["plan_value"]) == plan and num(row["pct_of_plan"]) == pct_plan, code
        if pct_same is not None:
            assert num(row["pct_of_same_period"]) == pct_same, code
    assert float(got[("CH_SPECIAL_SUPPORTED_PCT", "04")]["value"]) > 95
    # one row per indicator for the province and each of the 10 current districts
    assert len(got) == len({c for c, _ in got}) * 11
    for name in ("indicators.xlsx", "indicators_annex.docx", "data_quality_heatmap.png"):
        assert (home / "reports" / "2021-H1" / name).stat().st_size > 1000
    assert (home / "data_docs" / "index.html").exists()
    assert (home / "published" / "warehouse.duckdb").exists()

    # the injected defects were all caught, with the right reasons
    con = duckdb.connect(str(home / "warehouse" / "dolisa.duckdb"), read_only=True)
    try:
        rejected = dict(con.execute("select submission_id, reason from meta.submissions where status = 'rejected'").fetchall())
        assert "missing required column(s): destination" in rejected["045-2021-04-v2"]
        assert "not valid UTF-8 at byte offset" in rejected["051-2020-09-v2"]
        manifest = json.loads((full_store / "demo_manifest.json").read_text(encoding="utf-8"))
        quarantined = {(sid, ds): n for sid, ds, n in con.execute(
            "select submission_id, dataset, count(*) from meta.quarantined_rows group by all").fetchall()}
        injected = [d for d in manifest["defects"] if d["expect"] == "quarantined"]
        assert len(injected) >= 10
        for d in injected:
            assert quarantined.get((d["submission_id"], d["dataset"]), 0) >= d["rows"], d
        unbalanced = con.execute(
            "select count(*) from meta.files where status = 'accepted' and rows_in <> rows_loaded + rows_quarantined"
        ).fetchall()[0][0]
        assert unbalanced == 0
        # one defect, one reason text: the same words in the quarantine, the mart and the report
        sid, dataset, reason = con.execute(
            "select q.submission_id, q.dataset, q.reasons from meta.quarantined_rows q "
            "join marts.fct_submission_status s on s.in_force_submission_id = q.submission_id "
            "where q.period between '2021-01' and '2021-06' and q.reasons not like '%; %' "
            "order by q.submission_id, q.source_row limit 1").fetchall()[0]
        assert con.execute("select count(*) from marts.fct_quarantine_reasons where submission_id = ? "
                           "and dataset = ? and reason = ?", [sid, dataset, reason]).fetchall()[0][0] == 1
        gate = json.loads((home / "reports" / "2021-H1" / "quality_gate.json").read_text(encoding="utf-8"))
        assert gate["passed"] and (home / "data_docs" / "index.html").is_file()
        # every defective version is in its unit's Vietnamese feedback of the night, with the fix
        sheets = {p.parents[1].name: json.loads(p.read_text(encoding="utf-8"))
                  for p in (home / "reports" / "feedback").glob("*/2021-07-10/feedback.json")}
        assert len(sheets) >= 10
        v = next(v for v in sheets["045"]["versions"] if v["submission_id"] == "045-2021-04-v2")
        assert v["status"] == "rejected" and "thiếu cột bắt buộc destination" in v["reason_vi"]
        assert v["fix_vi"].startswith("Thêm cột destination")
        for d in injected:
            rows = {r["row"] for r in sheets[d["submission_id"].split("-")[0]]["rows"]
                    if r["submission_id"] == d["submission_id"] and r["dataset"] == d["dataset"]}
            assert len(rows) >= d["rows"], d
    finally:
        con.close()
    with open(home / "reports" / "2021-H1" / "quarantine_reasons.csv", encoding="utf-8", newline="") as fh:
        assert any(r["dataset"] == dataset and r["reason"] == reason for r in csv.DictReader(fh))
    assert rpt_tables(home / "published" / "warehouse.duckdb") == ["rpt_indicators"]

    # nobody in what the reporting team reads: no record id of the hub's files, no pseudonym,
    # no birth date in the published snapshot or anywhere under reports/
    findings, looked_for = persons_in_reader_zone(home)
    assert looked_for > 100_000 and findings == [], findings[:10]

    # a rerun of the same run leaves the same warehouse
    before = mart_digest(home / "warehouse" / "dolisa.duckdb")
    with start_server(full_store, token=TOKEN) as hub:
        env = airflow_env(tmp_path, hub.port)
        proc = run_dag(env, {"periods": periods, "report_period": "2021-H1"})
    assert not dag_failed(proc), proc.stdout[-3000:]
    assert mart_digest(home / "warehouse" / "dolisa.duckdb") == before


def test_missing_district_month_blocks_the_report(tmp_path):
    store_root = tmp_path / "store"
    generate(store_root, first="2021-01", last="2021-06")
    store = HubStore(store_root)
    store._units["053"].pop("2021-05")  # Thạch An never submitted May 2021
    store.save()
    home = tmp_path / "dolisa_home" / "reports" / "2021-H1"
    home.mkdir(parents=True)
    (home / "indicators.csv").write_text("stale file from an earlier run\n", encoding="utf-8")
    with start_server(store_root, token=TOKEN) as hub:
        env = airflow_env(tmp_path, hub.port)
        proc = run_dag(env, {"periods": [f"2021-{m:02d}" for m in range(1, 7)], "report_period": "2021-H1"})
    out = proc.stdout + proc.stderr
    assert dag_failed(proc)
    assert "053" in out and "2021-05" in out and "report gate blocked" in out
    assert not (home / "indicators.csv").exists()  # no stale file left looking current
    gate = json.loads((home / "quality_gate.json").read_text(encoding="utf-8"))
    assert not gate["passed"]
    assert any(f["unit_code"] == "053" and f["period"] == "2021-05" for f in gate["blocking"])
    assert (home / "data_quality_heatmap.png").exists()
    # the run stopped at the gate (no retries): no report models, no report files, nothing published
    states = dict(task_states(env))
    assert states["report_gate"] == "failed" and states["build_marts"] == "success"
    assert {states[t] for t in ("build_report_models", "write_report_files", "publish")} == {"upstream_failed"}
    dolisa_home = Path(env["DOLISA_HOME"])
    assert rpt_tables(dolisa_home / "warehouse" / "dolisa.duckdb") == []
    assert rpt_tables(dolisa_home / "published" / "warehouse.duckdb") == []

    # an operator may publish anyway, only explicitly; the report then says so on its face
    proc = subprocess.run([str(BIN / "dolisa"), "report", "2021-H1", "--allow-incomplete"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (home / "indicators.csv").exists()
    assert rpt_tables(dolisa_home / "warehouse" / "dolisa.duckdb") == ["rpt_indicators"]
    note = (home / "INCOMPLETE.txt").read_text(encoding="utf-8")
    # in Vietnamese, as on the report's face: the district by its name, the month as tháng 5/2021
    assert "CHƯA ĐẦY ĐỦ" in note and "Thạch An" in note and "tháng 5/2021" in note
    import openpyxl

    wb = openpyxl.load_workbook(home / "indicators.xlsx", read_only=True)
    for ws in wb.worksheets:  # the banner sits under each sheet's title
        top = [c for row in ws.iter_rows(min_row=1, max_row=4, values_only=True) for c in row if c]
        assert any("CHƯA ĐẦY ĐỦ" in str(c) for c in top), ws.title
