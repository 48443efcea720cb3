"""The `warnings` section of the benchmark: what the report gate's outlier and missing-dataset
rules flag, measured on the demo (docs/warnings.md).

Four runs of the whole pipeline through the CLI (extract, load, transform, report), each on a
fresh DOLISA_HOME against the demo hub:

    clean 2021-H1      the default store 2020-01..2021-06 (ten districts; the same month of 2020 exists)
    clean 2026-H1      2024-07..2026-06 (the 56 communes and wards from 2025-07: 6..11 months of history)
    injected 2021-H1   the default store with the generator's true anomalies (--inject-anomalies)
    injected 2025-H2 and 2026-H1   the reform store with its anomalies (one in a commune with 4 months)

and, for each report, from its own files:

* the outlier warnings it published (the gate's findings: one per unit, dataset and month; and the
  lines of warnings.csv, grouped by unit and dataset);
* on the injected runs, precision (flagged unit-dataset-months that are injected anomalies) and
  recall (injected anomalies flagged, each in its direction);
* the same figures for the rule before issue 31 (a month above 3 x the median of its previous 12,
  with 3 months of history), recomputed here on the same warehouse for comparison;
* on the clean runs, the share of every unit-dataset-month of the half that the rule would flag
  if it were inflated x3, doubled, cut to 5% or missing (one month at a time, the other units held
  as they are): recall beyond the handful of planted anomalies.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

VARIANTS = (
    # name, first, last, inject, reports
    ("clean 2021-H1", "2020-01", "2021-06", False, ("2021-H1",)),
    ("clean 2026-H1", "2024-07", "2026-06", False, ("2026-H1",)),
    ("injected 2021-H1", "2020-01", "2021-06", True, ("2021-H1",)),
    ("injected 2025-H2 + 2026-H1", "2024-07", "2026-06", True, ("2025-H2", "2026-H1")),
)
OUTLIER_RULES = ("outlier", "missing_dataset")
SWEEP = (("x3", 3.0, True), ("x2", 2.0, True), ("5%", 0.05, True), ("missing file", 0.0, False))

# The rule before issue 31, for comparison only (it is not the product's rule any more).
OLD_RULE_SQL = """
with in_force as (
    select unit_code, period, dataset, cast(strptime(period, '%Y-%m') as date) as month_start_on,
           sum(rows_loaded) as rows_loaded
    from marts.fct_file_row_conservation where is_in_force and file_status = 'accepted' group by all
),
history as (
    select t.unit_code, t.period, t.dataset, t.rows_loaded, median(h.rows_loaded) as med, count(h.rows_loaded) as n
    from in_force t left join in_force h
      on t.unit_code = h.unit_code and t.dataset = h.dataset and t.month_start_on > h.month_start_on
         and t.month_start_on - interval 12 month <= h.month_start_on
    group by all
)
select unit_code, period, dataset from history
where n >= 3 and med > 0 and rows_loaded / med > 3 and period between ? and ?
"""


def _declared():
    from dolisa.quality import load_expectations

    return load_expectations("report_gate")


def run_variant(
    work: Path,
    name: str,
    first: str,
    last: str,
    inject: bool,
    reports: tuple[str, ...],
    stage,
    base_env,
    dolisa_cmd,
    hub,
    rmtree,
    run_tree,
) -> dict:
    """Generate (or reuse) the store, run the pipeline on a fresh home, read what the reports say."""
    import sys

    slug = name.replace(" ", "_").replace("+", "and")
    store = work / "stores" / f"warnings_{first}_{last}{'_injected' if inject else ''}"
    if not (store / "index.json").exists():
        rmtree(store)
        store.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "dolisa_demo.hub",
            "generate",
            "--store",
            str(store),
            "--first",
            first,
            "--last",
            last,
        ] + (["--inject-anomalies"] if inject else [])
        m = run_tree(cmd, log=work / "logs" / f"generate_{slug}.log")
        if m["rc"] != 0:
            raise RuntimeError(f"generate {name}: rc {m['rc']}")
    home = work / f"home_warnings_{slug}"
    rmtree(home)
    stages: list = []
    with hub(store) as url:
        env = base_env(home, url)
        stage(stages, f"{name} extract", dolisa_cmd("extract", "--periods", f"{first}..{last}"), env, work)
        stage(stages, f"{name} load", dolisa_cmd("load"), env, work)
        stage(stages, f"{name} transform", dolisa_cmd("transform"), env, work)
        for period in reports:
            stage(stages, f"{name} report {period}", dolisa_cmd("report", period), env, work)
    manifest = json.loads((store / "demo_manifest.json").read_text(encoding="utf-8"))
    out: dict[str, Any] = {"name": name, "inject": inject, "wall": sum(s["wall"] for s in stages), "reports": {}}
    import duckdb

    con = duckdb.connect(str(home / "warehouse" / "dolisa.duckdb"), read_only=True)
    try:
        for period in reports:
            out["reports"][period] = measure(
                home, con, period, manifest.get("anomalies") if inject else None, sweep=not inject
            )
    finally:
        con.close()
    return out


def _months(period: str) -> tuple[str, str]:
    from dolisa import contract

    months = contract.half_year_periods(period)
    return months[0], months[-1]


def measure(home: Path, con, period: str, anomalies: list[dict] | None, *, sweep: bool) -> dict:
    gate = json.loads((home / "reports" / period / "quality_gate.json").read_text(encoding="utf-8"))
    findings = [f for f in gate["warnings"] if f["rule"] in OUTLIER_RULES]
    with open(home / "reports" / period / "warnings.csv", encoding="utf-8", newline="") as fh:
        lines = list(csv.DictReader(fh))
    first, last = _months(period)
    old = {tuple(r) for r in con.execute(OLD_RULE_SQL, [first, last]).fetchall()}
    out: dict[str, Any] = {
        "findings": len(findings),
        "lines": sum(r["kind"] in OUTLIER_RULES for r in lines),
        "all_lines": len(lines),
        "old_rule": len(old),
    }
    if anomalies is not None:
        mine = [a for a in anomalies if first <= a["period"] <= last]
        out.update(score(findings, mine, old))
    if sweep:
        out["sweep"] = sweep_detection(con, period)
    return out


def score(findings: list[dict], anomalies: list[dict], old: set[tuple]) -> dict:
    """Precision over the flagged unit-dataset-months; recall over the planted anomalies (a
    near_zero anomaly is one, found when any of its datasets is flagged down)."""
    flagged = {(f["unit_code"], f["period"], f["item"]): f for f in findings}
    truth: dict[tuple, dict] = {}
    for a in anomalies:
        if a["rows_after"] != a["rows_before"]:
            truth[(a["unit_code"], a["period"], a["dataset"])] = a

    def right(key, f) -> bool:
        a = truth.get(key)
        return a is not None and (f["values"]["ratio_to_expected"] > 1) == (a["rows_after"] > a["rows_before"])

    tp = sum(right(k, f) for k, f in flagged.items())
    plans: dict[tuple, list] = {}
    for a in anomalies:
        plans.setdefault((a["unit_code"], a["period"], a["plan"], a["kind"]), []).append(a)
    found = {
        p: any(
            right((a["unit_code"], a["period"], a["dataset"]), flagged[(a["unit_code"], a["period"], a["dataset"])])
            for a in members
            if (a["unit_code"], a["period"], a["dataset"]) in flagged
        )
        for p, members in plans.items()
    }
    old_found = {
        p: any((a["unit_code"], a["period"], a["dataset"]) in old for a in members) for p, members in plans.items()
    }
    old_tp = sum(k in truth for k in old)
    return {
        "anomalies": len(plans),
        "anomalies_flagged": sum(found.values()),
        "missed": sorted(" ".join(p) for p, ok in found.items() if not ok),
        "true_positives": tp,
        "false_positives": len(flagged) - tp,
        "precision": tp / len(flagged) if flagged else None,
        "recall": sum(found.values()) / len(plans) if plans else None,
        "datasets_changed": len(truth),
        "datasets_flagged": tp,
        "old_precision": old_tp / len(old) if old else None,
        "old_recall": sum(old_found.values()) / len(plans) if plans else None,
        "old_false_positives": len(old) - old_tp,
    }


def sweep_detection(con, period: str) -> dict:
    """For every judged unit-dataset-month of the half with at least 20 rows: would the rule flag
    it inflated x3, doubled, cut to 5%, or without its file? Computed from the model's columns with
    the other units held as they are (the peers' centre and spread do not move for one unit)."""
    d = _declared()
    rows = con.execute(
        """select rows_loaded, basis_rows, peer_centre, extra_variance, basis, basis_months
           from marts.fct_dataset_month_rows where half_year = ? and deviation_score is not null
             and rows_loaded >= 20""",
        [period],
    ).fetchall()
    out: dict[str, Any] = {"months": 0}
    judged = [r for r in rows if r[4] == "same_month" or r[5] >= d.OUTLIER_MIN_HISTORY]
    out["months"] = len(judged)
    for label, factor, _present in SWEEP:
        hits = 0
        for x, basis_rows, centre, extra, *_ in judged:
            x2 = math.floor(x * factor) if factor < 1 else x * factor
            d_log = math.log((x2 + 0.5) / (basis_rows + 0.5)) - centre
            score_ = d_log / math.sqrt(extra + 1.0 / ((x2 + basis_rows) / 2 + 0.5))
            ratio = math.exp(d_log)
            if abs(score_) >= d.OUTLIER_MIN_SCORE and (
                ratio >= d.OUTLIER_MIN_RATIO or ratio <= 1 / d.OUTLIER_MIN_RATIO
            ):
                hits += 1
        out[label] = hits / len(judged) if judged else None
    return out


def render(results: list[dict], table, sec) -> str:
    d = _declared()
    out = [
        f"rule: |deviation_score| >= {d.OUTLIER_MIN_SCORE} and x{d.OUTLIER_MIN_RATIO} either way "
        f"(>= {d.OUTLIER_MIN_HISTORY} recent months or the same month of an earlier year)"
    ]
    rows = []
    for r in results:
        for period, m in r["reports"].items():
            rows.append(
                [
                    f"{r['name']}: {period}",
                    str(m["findings"]),
                    str(m["lines"]),
                    str(m["all_lines"]),
                    f"{m['anomalies_flagged']}/{m['anomalies']}" if "anomalies" in m else "-",
                    _p(m.get("precision")),
                    _p(m.get("recall")),
                    str(m["old_rule"]),
                    _p(m.get("old_precision")) if "anomalies" in m else "-",
                    _p(m.get("old_recall")) if "anomalies" in m else "-",
                ]
            )
    out.append(
        table(
            rows,
            [
                "report",
                "outlier findings",
                "outlier lines",
                "all lines",
                "anomalies flagged",
                "precision",
                "recall",
                "old rule: flags",
                "old precision",
                "old recall",
            ],
        )
    )
    for r in results:
        for period, m in r["reports"].items():
            if m.get("missed"):
                out.append(f"MISSED in {r['name']} {period}: {', '.join(m['missed'])}")
    sweeps = [(r["name"], p, m["sweep"]) for r in results for p, m in r["reports"].items() if m.get("sweep")]
    if sweeps:
        out.append(
            "\nwould it be flagged? every judged unit-dataset-month of the clean half with >= 20 rows, "
            "changed one at a time:"
        )
        out.append(
            table(
                [[f"{n}: {p}", str(s["months"])] + [_p(s[label]) for label, *_ in SWEEP] for n, p, s in sweeps],
                ["report", "months", *(label for label, *_ in SWEEP)],
            )
        )
    out.append("pipeline wall per variant: " + "; ".join(f"{r['name']} {sec(r['wall'])}" for r in results))
    return "\n".join(out)


def _p(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"
