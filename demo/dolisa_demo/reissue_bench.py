"""The `reissue56` section of the benchmark: re-issuing a commune half-year across the 2025 reform
after many source unit-months were revised (contract §6 and §7; docs/performance.md, "reissue56").

The case (`build_store`, also used by tests/integration/test_reissue_reform.py): the demo store
2025-01..2026-06 (the ten districts to 2025-06, the 56 communes and wards from 2025-07), and
32 source unit-months revised after D = 2026-07-10, the day the 2026-H1 report was issued:

    24 commune-months of 2026-H1 (8 communes, 3 months each) get a version 2, submitted after D,
       without two of their dataset files (one in turn: a register, child support events, rice
       relief, ...; and one of a flow, so that every revision moves a figure);
     2 commune-months of 2026-H1 (March and June) had no version by D: their only version is
       dated after D (a late first submission);
     6 district-months of 2025-H1, the same period a year before (contract §7: the province's
       same-period value of 2026-H1 is the districts'), get such a version 2.

One fresh DOLISA_HOME, in-process: extract, load and transform the 18 months, then, timed in
the same run, the current report's build (`pipeline.report`: gate, report models, files) and
the re-issue of 2026-H1 as of D (`reissue.reissue`), whose dbt invocations are counted. The
figure is the re-issue's time against the report's, as a ratio.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

FIRST, LAST = "2025-01", "2026-06"
REPORT_PERIOD = "2026-H1"
AS_OF = dt.date(2026, 7, 10)
SCALE = 0.25  # the reform tests' scale (the generator needs more than 0.1 from 2025-01)
TZ = dt.timezone(dt.timedelta(hours=7))
REVISED_FROM = dt.datetime(2026, 7, 20, 9, 0, tzinfo=TZ)  # every revision: after D
TOKEN = "reissue56-bench-token"
# the dataset file a revision leaves out: the first of these the version holds, in turn
DROP_ORDER = (
    "social_allowance_register",
    "child_support_events",
    "rice_relief",
    "job_placements",
    "meritorious_benefits",
    "child_protection_register",
    "social_assistance_payments",
    "vocational_enrolments",
    "employment_fund_loans",
    "unemployment_benefit_decisions",
    "overseas_departures",
)

FLOWS = {
    "job_placements",
    "vocational_enrolments",
    "social_assistance_payments",
    "meritorious_benefits",
    "employment_fund_loans",
    "unemployment_benefit_decisions",
    "overseas_departures",
}


def _single_version(store, unit: str, period: str) -> dict | None:
    listed = store.listing(unit, period)
    return store.submission(unit, listed[0]["submission_id"]) if len(listed) == 1 else None


def _files(store, unit: str, sub: dict) -> tuple[dict[str, bytes], dict[str, str]]:
    files, datasets = {}, {}
    for f in sub["files"]:
        if f.get("_stored_as"):
            files[f["name"]] = store.read_file(unit, sub["submission_id"], f["name"])
            datasets[f["name"]] = f["dataset"]
    return files, datasets


def revise(store_root: Path) -> list[dict[str, Any]]:
    """Add the 32 revisions after D to the store; returns them (unit_code, period, kind, dropped)."""
    from dolisa import contract
    from dolisa_demo.hub.store import HubStore

    store = HubStore(store_root)
    half = contract.half_year_periods(REPORT_PERIOD)
    last_year = contract.half_year_periods("2025-H1")
    communes = [u.unit_code for u in contract.reporting_units(half[0])]
    districts = [u.unit_code for u in contract.reporting_units(last_year[0])]
    plan: list[tuple[str, str, str]] = []  # unit, period, kind
    # 8 communes x 3 months of 2026-H1 whose only version is the generated one
    candidates = [c for c in communes if all(_single_version(store, c, m) for m in half)]
    for k, c in enumerate(candidates[:8]):
        for j in (0, 2, 4):
            plan.append((c, half[(k + j) % 6], "revision"))
    # 2 late first submissions (after D): March and June
    for c, m in zip(candidates[8:10], (half[2], half[5]), strict=True):
        plan.append((c, m, "late_first"))
    # 6 district-months of the same half a year before
    for i, d in enumerate(districts[:6]):
        if _single_version(store, d, last_year[i]):
            plan.append((d, last_year[i], "revision"))
    out = []
    for n, (unit, period, kind) in enumerate(plan):
        sub = _single_version(store, unit, period)
        files, datasets = _files(store, unit, sub)
        at = REVISED_FROM + dt.timedelta(hours=n)
        if kind == "late_first":
            store.add_submission(unit, period, 1, at, files, datasets=datasets)
            out.append({"unit_code": unit, "period": period, "kind": kind, "dropped": None})
            continue
        present = {f["dataset"] for f in sub["files"] if f.get("_stored_as") and f.get("rows")}
        order = DROP_ORDER[n % len(DROP_ORDER) :] + DROP_ORDER[: n % len(DROP_ORDER)]
        # one file in turn (registers, distinct counts, ...) and one of a flow, so that every
        # revision moves at least one figure
        dropped = {next(d for d in order if d in present), next(d for d in order if d in present and d in FLOWS)}
        kept = {name: data for name, data in files.items() if datasets[name] not in dropped}
        store.add_submission(unit, period, 2, at, kept, datasets={k: datasets[k] for k in kept})
        out.append({"unit_code": unit, "period": period, "kind": kind, "dropped": sorted(dropped)})
    store.save()
    return out


def build_store(store_root: Path, scale: float = SCALE) -> list[dict[str, Any]]:
    """Generate the demo store 2025-01..2026-06 and add the revisions after D."""
    from dolisa_demo.hub.generator import generate

    generate(store_root, first=FIRST, last=LAST, scale=scale)
    return revise(store_root)


def run(work: Path, scale: float = SCALE) -> dict[str, Any]:
    """The section: build the case, load it, time the current report and the re-issue."""
    import os
    import shutil

    from dolisa import contract, dbt, pipeline, reissue
    from dolisa.extract import HubConfig
    from dolisa.settings import Paths
    from dolisa_demo.hub.server import start_server

    store = work / "stores" / f"reissue56_{scale:g}"
    shutil.rmtree(store, ignore_errors=True)
    store.parent.mkdir(parents=True, exist_ok=True)
    revised = build_store(store, scale)
    home = work / "home_reissue56"
    shutil.rmtree(home, ignore_errors=True)
    p = Paths(home)
    periods = contract.period_range(FIRST, LAST)
    saved = {k: os.environ.get(k) for k in ("DOLISA_HOME", "DOLISA_PSEUDONYM_KEY")}
    os.environ["DOLISA_HOME"] = str(home)
    os.environ["DOLISA_PSEUDONYM_KEY"] = "reissue56-bench-key-not-a-secret"
    out: dict[str, Any] = {"scale": scale, "revised": len(revised), "as_of": AS_OF.isoformat()}
    calls: list[str] = []
    real_run_dbt = dbt.run_dbt

    def counting(args, **kw):
        calls.append(" ".join(args[:3]))
        return real_run_dbt(args, **kw)

    try:
        t0 = time.perf_counter()
        with start_server(store, token=TOKEN) as hub:
            cfg = HubConfig.from_uri(f"http://:{TOKEN}@127.0.0.1:{hub.port}")
            pipeline.extract(periods, cfg, p)
        pipeline.load(periods, p)
        pipeline.transform(p)
        out["load_wall"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        pipeline.report(REPORT_PERIOD, allow_incomplete=True, p=p)
        out["report_wall"] = time.perf_counter() - t0
        dbt.run_dbt = counting
        try:
            t0 = time.perf_counter()
            result = reissue.reissue(REPORT_PERIOD, AS_OF, allow_incomplete=True, p=p)
            out["reissue_wall"] = time.perf_counter() - t0
        finally:
            dbt.run_dbt = real_run_dbt
        out["scenarios"] = result.get("scenarios")
        out["phases"] = result.get("seconds")
        out["revisions_rows"] = result.get("revisions")
        out["dbt_invocations"] = len(calls)
        out["dbt_calls"] = calls
        out["ratio"] = out["reissue_wall"] / out["report_wall"]
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return out


def render(r: dict[str, Any], table, sec) -> str:
    rows = [
        ["current report (gate, report models, files)", sec(r.get("report_wall")), ""],
        [
            f"re-issue {REPORT_PERIOD} as of {r.get('as_of')} ({r.get('scenarios')} changed unit-months)",
            sec(r.get("reissue_wall")),
            f"{r.get('dbt_invocations')} dbt invocations",
        ],
        ["re-issue / current report", f"{r.get('ratio', float('nan')):.2f}x", "target <= 2x"],
    ]
    phases = ", ".join(f"{k} {v:g} s" for k, v in (r.get("phases") or {}).items())
    return (
        f"scale {r.get('scale'):g}, {r.get('revised')} source unit-months revised after D\n"
        + table(rows, ["what", "wall", "note"])
        + f"\nre-issue phases (cumulative split): {phases}"
    )
