"""The pipeline's stages, each callable from an Airflow task or the CLI.

Every stage is keyed on explicit periods (never on "now") and is idempotent.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from dolisa import contract, warehouse
from dolisa.settings import Paths, paths as default_paths

log = logging.getLogger(__name__)

REVISION_WINDOW_MONTHS = 3
HCM = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")


def revision_window(run_date: dt.datetime | dt.date, months: int = REVISION_WINDOW_MONTHS) -> list[str]:
    """The `months` complete months before the month of `run_date` (in Asia/Ho_Chi_Minh)."""
    if isinstance(run_date, dt.datetime):
        if run_date.tzinfo is not None:
            run_date = run_date.astimezone(HCM)
        run_date = run_date.date()
    current = f"{run_date.year:04d}-{run_date.month:02d}"
    return [contract.add_months(current, -k) for k in range(months, 0, -1)]


def resolve_periods(conf: dict | None, run_date: dt.datetime | dt.date) -> list[str]:
    """Run conf `periods` (list of YYYY-MM) wins over the default revision window."""
    conf = conf or {}
    periods = conf.get("periods")
    if periods:
        if isinstance(periods, str):
            periods = [p.strip() for p in periods.split(",") if p.strip()]
        for p in periods:
            contract.parse_period(p)
        return sorted(set(periods))
    return revision_window(run_date)


def resolve_report_period(conf: dict | None) -> str | None:
    rp = (conf or {}).get("report_period")
    if rp:
        contract.half_year_periods(rp)  # validates
    return rp or None


def auto_report_period(periods: list[str]) -> str | None:
    """The half-year whose last month is the latest period pulled, if any (the nightly draft)."""
    if not periods:
        return None
    last = max(periods)
    y, m = contract.parse_period(last)
    if m in (6, 12):
        return f"{y}-H{1 if m == 6 else 2}"
    return None


# ---------------------------------------------------------------------------
# extract + land
# ---------------------------------------------------------------------------


def extract(periods: list[str], hub: "Any", p: Paths | None = None, policy: "Any" = None) -> dict:
    from dolisa.extract import ExportApiClient, land_period

    p = (p or default_paths()).ensure()
    client = ExportApiClient(hub, policy=policy)
    summary = {"periods": periods, "listed": 0, "landed": 0, "already": 0, "failed": []}
    for period in periods:
        r = land_period(client, p.raw, period)
        summary["listed"] += r.listed
        summary["landed"] += len(r.landed)
        summary["already"] += r.already
        summary["failed"] += r.failed
    summary.update(client.stats)
    log.info("extract: %s", summary)
    return summary


# ---------------------------------------------------------------------------
# parse + door gate + load
# ---------------------------------------------------------------------------


def plan_targets_path() -> Path:
    override = os.environ.get("DOLISA_PLAN_TARGETS")
    if override:
        return Path(override)
    return Path(str(resources.files("dolisa").joinpath("reference/plan_targets.csv")))


def door_gate():
    """The Great Expectations door gate, or None when disabled (DOLISA_DOOR_GATE=off)."""
    if os.environ.get("DOLISA_DOOR_GATE", "on").lower() in ("off", "0", "false"):
        return None
    try:
        from dolisa.quality.door_gate import gate_for_loader
    except ImportError:  # pragma: no cover - the gate module ships with the package
        return None
    return gate_for_loader()


def load(periods: list[str] | None, p: Paths | None = None, *, only_new: bool = True) -> dict:
    from dolisa.load import load_landed, load_plan_targets

    p = (p or default_paths()).ensure()
    gate = door_gate()
    with warehouse.connect(p.warehouse) as con:
        results = load_landed(con, p.raw, periods=periods, only_new=only_new, gate=gate, quarantine_root=p.quarantine)
        n_targets = load_plan_targets(con, plan_targets_path())
    if gate is not None and hasattr(gate, "flush"):
        gate.flush(p)
    summary = {
        "versions": len(results),
        "accepted": sum(r.status == "accepted" for r in results),
        "rejected": [(r.submission_id, r.reason) for r in results if r.status == "rejected"],
        "rows_loaded": sum(r.rows_loaded for r in results),
        "rows_quarantined": sum(r.rows_quarantined for r in results),
        "plan_targets": n_targets,
    }
    log.info("load: %s", summary)
    return summary


def rebuild_from_raw(p: Paths | None = None) -> dict:
    """Drop the warehouse and rebuild it from the raw zone (manifests + files) alone."""
    p = p or default_paths()
    for f in (p.warehouse, p.warehouse.with_suffix(".duckdb.wal")):
        if f.exists():
            f.unlink()
    return load(None, p, only_new=False)


# ---------------------------------------------------------------------------
# dbt
# ---------------------------------------------------------------------------


def transform(p: Paths | None = None, *, docs: bool = False) -> dict:
    from dolisa import dbt

    p = (p or default_paths()).ensure()
    res = dbt.build(warehouse=p.warehouse, target_path=p.dbt_target)
    out = {"dbt": "ok"}
    if docs:
        dbt.docs_generate(warehouse=p.warehouse, target_path=p.dbt_target)
        out["docs"] = str(p.dbt_target / "index.html")
    _ = res
    return out


@dataclass
class StageSummary:
    stage: str
    detail: dict

    def as_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------
# publish: a read-only snapshot for the reporting team
# ---------------------------------------------------------------------------

PUBLISHED_SCHEMAS = ("marts", "reports")


def publish(p: Paths | None = None) -> dict:
    """Copy the marts and reports into `published/warehouse.duckdb`, atomically.

    The snapshot holds no raw zone and no personal data. It is written to a temp
    file and renamed over the previous one, so a reader always opens a complete
    snapshot (a reader that has the old file open keeps reading the old one).
    """
    import duckdb

    p = (p or default_paths()).ensure()
    target = p.published / "warehouse.duckdb"
    tmp = p.published / f".warehouse.{os.getpid()}.tmp.duckdb"
    if tmp.exists():
        tmp.unlink()
    con = duckdb.connect(str(p.warehouse), read_only=True)
    tables = []
    try:
        con.execute(f"attach '{tmp}' as pub")
        rels = con.execute(
            f"""select table_schema, table_name from information_schema.tables
                where table_catalog = current_database() and table_schema in {PUBLISHED_SCHEMAS}
                order by 1, 2"""
        ).fetchall()
        for schema, table in rels:
            con.execute(f"create schema if not exists pub.{schema}")
            con.execute(f'create table pub.{schema}."{table}" as select * from {schema}."{table}"')
            tables.append(f"{schema}.{table}")
        con.execute("detach pub")
    finally:
        con.close()
    os.replace(tmp, target)
    log.info("published %d tables to %s", len(tables), target)
    return {"published": str(target), "tables": len(tables)}
