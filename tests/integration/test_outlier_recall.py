"""Recall of the report gate's outlier and missing-dataset rules on the demo's true anomalies.

The demo generator injects ANOMALY_PLAN (dolisa_demo.hub.generator, `--inject-anomalies`): an
inflated file (x3), a file uploaded twice, a dataset missing from a month, a unit whose volume
drops to near zero, among the ten districts of 2021-H1 and among the 56 communes and wards of
2025-H2/2026-H1 (one of them in a commune with four months of history). Every one must be
flagged by the gate: this pins recall on the injected set. How many warnings the clean reports
get (precision) is a benchmark figure, not asserted here (`python -m dolisa_demo.bench
--sections warnings`, docs/warnings.md).

What the rules read is the ledger (rows loaded per file of the version in force), so the
warehouse here holds the ledger of the generated stores as the loader would record it (the
listed records, less the rows the generator's defect plan makes the door quarantine), and no
raw rows; dbt builds the gate's models over it, then the gate runs as in the nightly.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import pytest

from dolisa import dbt, pipeline, warehouse as dolisa_warehouse
from dolisa.quality.report_gate import run_report_gate
from dolisa_demo.hub.generator import ANOMALY_PLAN, generate

RANGES = {"districts": ("2020-01", "2021-06"), "communes": ("2025-07", "2026-06")}
HALVES = ("2021-H1", "2025-H2", "2026-H1")


def ledger_of(store: Path) -> tuple[list[tuple], list[tuple]]:
    """meta.submissions and meta.files rows of a generated store, as the loader records them."""
    index = json.loads((store / "index.json").read_text(encoding="utf-8"))
    manifest = json.loads((store / "demo_manifest.json").read_text(encoding="utf-8"))
    rejected = {d["submission_id"] for d in manifest["file_defects"]}
    quarantined: dict[tuple[str, str], int] = defaultdict(int)
    for d in manifest["defects"]:
        quarantined[(d["submission_id"], d["dataset"])] += d["rows"]
    submissions, files = [], []
    for unit, months in index["units"].items():
        for period, versions in months.items():
            for v in versions:
                sid, status = v["submission_id"], "rejected" if v["submission_id"] in rejected else "accepted"
                at = dt.datetime.fromisoformat(v["submitted_at"])
                submissions.append((sid, unit, period, v["version"], at, at, status, None, len(v["files"]), at))
                for f in v["files"]:
                    q = quarantined[(sid, f["dataset"])] if status == "accepted" else 0
                    loaded = f["rows"] - q if status == "accepted" else 0
                    files.append((sid, f["dataset"], f["name"], f["media_type"], f["bytes"], f["rows"], f["sha256"],
                                  f"raw/{sid}/{f['name']}", "accepted" if status == "accepted" else "not_loaded",
                                  None, f["rows"] if status == "accepted" else None,
                                  loaded if status == "accepted" else None, q if status == "accepted" else None))
    return submissions, files


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    home = tmp_path_factory.mktemp("recall_home")
    wh = home / "warehouse" / "dolisa.duckdb"
    anomalies = []
    with dolisa_warehouse.connect(wh) as con:
        for name, (first, last) in RANGES.items():
            store = home / name
            generate(store, first=first, last=last, anomalies=True)
            subs, files = ledger_of(store)
            con.executemany(f"insert into meta.submissions values ({', '.join('?' * 10)})", subs)
            con.executemany(f"insert into meta.files values ({', '.join('?' * 13)})", files)
            anomalies += json.loads((store / "demo_manifest.json").read_text(encoding="utf-8"))["anomalies"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DOLISA_HOME", str(home))
        dbt.run_dbt(["build", "--select", *pipeline.MARTS_SELECTOR, "--resource-type", "seed", "--resource-type",
                     "model"], warehouse=wh, target_path=home / "dbt" / "target")
    out = []
    with dolisa_warehouse.connect(wh) as con:
        for half in HALVES:
            out += [f for f in run_report_gate(con, half).findings if f.rule in ("outlier", "missing_dataset")]
    return out, anomalies


def test_every_injected_anomaly_is_flagged(findings):
    flagged, anomalies = findings
    by_key = {(f.unit_code, f.period, f.item): f for f in flagged}
    planned = {(unit, period, ds, kind) for unit, period, ds, kind in ANOMALY_PLAN}
    assert len(planned) == 9 and {a["plan"] for a in anomalies} >= {"*"}
    missed = []
    for unit, period, ds, kind in sorted(planned):
        mine = [a for a in anomalies if (a["unit_code"], a["period"], a["plan"]) == (unit, period, ds)]
        assert mine, f"{unit} {period} {ds}: not injected"
        hits = [by_key.get((a["unit_code"], a["period"], a["dataset"])) for a in mine]
        hits = [(a, f) for a, f in zip(mine, hits) if f is not None and f.rule == a["expect"]]
        # the direction is the injected one: up for more records, down for fewer
        hits = [(a, f) for a, f in hits if (f.values["ratio_to_expected"] > 1) == (a["rows_after"] > a["rows_before"])]
        if not hits:
            missed.append((unit, period, ds, kind))
    assert missed == []


def test_a_unit_whose_volume_drops_is_flagged_on_its_sizeable_datasets(findings):
    """near_zero keeps 5% of every file: each dataset it had 30 rows or more of is flagged."""
    flagged, anomalies = findings
    keys = {(f.unit_code, f.period, f.item) for f in flagged if f.rule == "outlier"}
    for a in anomalies:
        if a["kind"] == "near_zero" and a["rows_before"] >= 30:
            assert (a["unit_code"], a["period"], a["dataset"]) in keys, a


def test_the_commune_anomaly_had_four_months_of_history(findings):
    flagged, _ = findings
    (f,) = [f for f in flagged if (f.unit_code, f.period) == ("01594", "2025-11")]
    assert f.values["basis"] == "recent_months" and f.values["basis_months"] == 4


def test_tet_is_no_outlier(findings):
    """Issue 31: every district and commune was flagged each Tết for the gifts to people with
    meritorious service and the rice relief. Here no Jan/Feb month of those datasets is (the
    injected anomalies are elsewhere), neither the districts' (same month of 2020 known) nor the
    communes' first Tết (no same month at all)."""
    flagged, _ = findings
    tet = [(f.unit_code, f.period, f.item) for f in flagged
           if f.item in ("meritorious_benefits", "rice_relief") and f.period[5:] in ("01", "02")]
    assert tet == []
