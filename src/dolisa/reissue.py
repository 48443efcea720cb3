"""Re-issue a half-year report exactly as it stood on a date, and explain every revision since
(contract §6; docs/operations.md, "Re-issuing a report").

Nothing here defines "in force": the version in force as of a date is the dbt macro
``in_force_submissions()`` (var ``as_of``), read through
``staging.stg_district_export__submissions``. The as-of report is
built by the SAME dbt project (the same ``rpt_`` models, the same catalogue) in a scratch
DuckDB file that holds a copy of the warehouse's ``raw`` and ``meta`` schemas only, so the
live marts are never touched; then the same report gate and the same report writers run.

Phases (each a function; ``reissue`` strings them together):

1. ``prepare_scratch``   copy raw + meta of the live warehouse into the scratch file;
2. ``build_as_of``       dbt build (full refresh) with ``--vars {as_of: D}``;
3. ``scenario_values``   every source unit-month whose version in force differs between D
                         and now is a scenario: that one unit-month moved to its current
                         version. ONE ``dbt run`` of the two models of ``models/reissue``
                         computes every scenario's report values (each scenario a group of
                         one query), from the as-of report and the changed unit-months' rows
                         as of D and now; the number of dbt invocations does not grow with
                         the number of revisions;
4. ``revisions_frame``   ``revisions.csv`` rows from the as-of, scenario and current values;
5. ``write_as_of_report`` gate + report files into ``reports/<period>/as_of_<D>/``.

``issue_copy`` keeps every published report: an immutable copy under
``reports/<period>/issued/<timestamp>/`` with a manifest of the versions in force and the
checksums of the files.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import logging
import os
import shutil
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from dolisa import contract, pipeline, warehouse
from dolisa.run_conf import parse_as_of
from dolisa.settings import Paths, share
from dolisa.settings import paths as default_paths

log = logging.getLogger(__name__)

HCM = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")
REVISIONS_HEADER = [
    "indicator_code",
    "unit_code",
    "value_as_of",
    "value_now",
    "delta",
    "source_unit_code",
    "source_period",
    "version_as_of",
    "version_now",
    "contribution",
]
COPIED_SCHEMAS = ("raw", "meta")
# The as-of build is the whole project (every mart the gate and the report frames read),
# with its data tests; the revisions need only the two re-issue models (models/reissue),
# built once over every scenario.
SCENARIO_SELECT = ["reissue_scenario_unit_halves", "reissue_scenario_values"]
SCENARIO_SCHEMA = "reissue"  # the dbt models' schema
NOW_SCHEMA = "reissue_now"  # the scenarios and the current rows, written by copy_scenario_rows
ISSUED_DIR = "issued"
READ_ONLY = 0o444


def today_hcm(now: dt.datetime | None = None) -> dt.date:
    return (now or dt.datetime.now(dt.timezone.utc)).astimezone(HCM).date()


def as_of_dir(p: Paths, report_period: str, as_of: dt.date) -> Path:
    return p.report_dir(report_period) / f"as_of_{as_of.isoformat()}"


def report_months(report_period: str) -> list[str]:
    """The months a half-year report reads: its six months and the same six a year before."""
    months = contract.half_year_periods(report_period)
    return [contract.add_months(m, -12) for m in months] + months


# ---------------------------------------------------------------------------
# reading the dbt models
# ---------------------------------------------------------------------------


def in_force_versions(con, periods: list[str]) -> dict[tuple[str, str], tuple[int, str]]:
    """(unit_code, period) -> (version, submission_id) in force, read from the dbt staging model."""
    rows = con.execute(
        """select unit_code, period, version, submission_id
           from staging.stg_district_export__submissions
           where is_in_force and period in (select unnest(?))""",
        [list(periods)],
    ).fetchall()
    return {(u, pr): (int(v), s) for u, pr, v, s in rows}


def indicator_values(con, report_period: str) -> dict[tuple[str, str], Decimal | None]:
    """(indicator_code, unit_code) -> value of the report model (already rounded as published)."""
    rows = con.execute(
        "select indicator_code, unit_code, value from reports.rpt_indicators where report_period = ?",
        [report_period],
    ).fetchall()
    return {(i, u): (None if v is None else Decimal(str(v))) for i, u, v in rows}


def indicator_meta(con) -> dict[str, dict[str, Any]]:
    rows = con.execute(
        "select distinct indicator_code, sort_order, label_vi, unit_vi, kind from reports.rpt_indicators"
    ).fetchall()
    return {i: {"sort_order": s, "label_vi": lab, "unit_vi": u, "kind": k} for i, s, lab, u, k in rows}


# ---------------------------------------------------------------------------
# phases
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Scratch:
    """A scratch DOLISA_HOME inside the live one (restricted zone): its own warehouse file,
    dbt target, Data Docs and lock; no raw zone. Removed at the end of the re-issue."""

    paths: Paths

    @property
    def warehouse(self) -> Path:
        return self.paths.warehouse

    @property
    def target(self) -> Path:
        return self.paths.dbt_target

    def remove(self) -> None:
        shutil.rmtree(self.paths.home, ignore_errors=True)


def prepare_scratch(p: Paths, report_period: str, as_of: dt.date) -> Scratch:
    """A scratch warehouse holding a copy of the live warehouse's raw and meta schemas."""
    # a new name every time: dbt's DuckDB adapter may keep an earlier scratch file open in-process
    home = p.warehouse.parent / f"reissue-{report_period}-{as_of.isoformat()}-{uuid.uuid4().hex[:12]}"
    scratch = Scratch(Paths(home))
    scratch.remove()
    scratch.paths.ensure()
    with warehouse.connect(p.warehouse) as con:
        con.execute(f"attach '{scratch.warehouse}' as scratch")
        try:
            tables = con.execute(
                f"""select table_schema, table_name from information_schema.tables
                    where table_catalog = current_database() and table_schema in {COPIED_SCHEMAS}
                    and table_type = 'BASE TABLE' order by 1, 2"""
            ).fetchall()
            for schema in COPIED_SCHEMAS:
                con.execute(f"create schema if not exists scratch.{schema}")
            for schema, table in tables:
                con.execute(f'create table scratch.{schema}."{table}" as select * from {schema}."{table}"')
        finally:
            con.execute("detach scratch")
    return scratch


def _dbt(args: list[str], scratch: Scratch, vars: dict[str, Any]) -> None:
    from dolisa import dbt

    dbt.run_dbt(args, warehouse=scratch.warehouse, target_path=scratch.target, vars=vars)


def build_as_of(scratch: Scratch, as_of: dt.date) -> None:
    """The same dbt project, as of D: every model the report reads, with its tests."""
    # unit tests check the SQL, not the data, and were run by the nightly build; their
    # given rows carry no submitted_at, so they would not hold under an as_of var.
    _dbt(["build", "--full-refresh", "--exclude", "test_type:unit"], scratch, {"as_of": as_of.isoformat()})


def changed_unit_months(as_of_versions: dict, now_versions: dict, months: list[str]) -> list[dict[str, Any]]:
    """Source unit-months of `months` whose version in force differs between D and now."""
    out = []
    for key in sorted(set(as_of_versions) | set(now_versions)):
        if key[1] not in months:
            continue
        before = as_of_versions.get(key, (None, None))[0]
        now = now_versions.get(key, (None, None))[0]
        if before != now:
            out.append({"unit_code": key[0], "period": key[1], "version_as_of": before, "version_now": now})
    return out


def scenario_values(
    p: Paths, scratch: Scratch, report_period: str, as_of: dt.date, changed: list[dict[str, Any]]
) -> dict[tuple[str, str], dict]:
    """For each changed source unit-month: the report values with only it moved to its current
    version, all in ONE `dbt run` whatever their number (models/reissue).

    The scratch keeps the report as of D. Copied into its schema `reissue_now`: the scenarios
    (the changed unit-months) and, from the live warehouse, the rows of those unit-months in
    their current version, for every fact an indicator reads. The dbt models recompute each
    scenario unit's half-year figures with only that month replaced (one group per scenario,
    the catalogue macro) and apply the change to the as-of report's numerators and
    denominators (the report's rounding)."""
    out: dict[tuple[str, str], dict] = {}
    if not changed:
        return out
    copy_scenario_rows(p, scratch, changed)
    _dbt(["run", "--select", *SCENARIO_SELECT], scratch, {"as_of": as_of.isoformat()})
    with warehouse.connect(scratch.warehouse) as con:
        rows = con.execute(
            f"""select scenario_unit_code, scenario_period, indicator_code, unit_code, value
                from {SCENARIO_SCHEMA}.reissue_scenario_values where report_period = ?""",
            [report_period],
        ).fetchall()
    for c in changed:
        out[(c["unit_code"], c["period"])] = {}
    for su, sp, ind, unit, v in rows:
        out[(su, sp)][(ind, unit)] = None if v is None else Decimal(str(v))
    return out


def copy_scenario_rows(p: Paths, scratch: Scratch, changed: list[dict[str, Any]]) -> None:
    """Write `reissue_now` in the scratch file: the scenarios, and the live warehouse's rows of
    the changed unit-months (their current version) of every fact an indicator reads."""
    with warehouse.connect(p.warehouse) as con:
        con.execute(f"attach '{scratch.warehouse}' as scratch")
        try:
            con.execute(f"create schema if not exists scratch.{NOW_SCHEMA}")
            con.execute(
                f"create or replace table scratch.{NOW_SCHEMA}.scenarios "
                "(unit_code varchar not null, period varchar not null, version_as_of integer, version_now integer)"
            )
            con.executemany(
                f"insert into scratch.{NOW_SCHEMA}.scenarios values (?, ?, ?, ?)",
                [(c["unit_code"], c["period"], c["version_as_of"], c["version_now"]) for c in changed],
            )
            facts = [
                t
                for (t,) in con.execute(
                    """select table_name from information_schema.tables
                       where table_catalog = current_database() and table_schema = 'marts'
                       and table_name in (select source_model from reference.indicator_catalogue)
                       order by 1"""
                ).fetchall()
            ]
            for table in facts:
                con.execute(
                    f"""create or replace table scratch.{NOW_SCHEMA}."{table}" as
                        select held.* from marts."{table}" as held
                        inner join scratch.{NOW_SCHEMA}.scenarios as s
                            on held.origin_unit_code = s.unit_code and held.period = s.period"""
                )
        finally:
            con.execute("detach scratch")


def _fmt(value: Decimal | None, pct: bool) -> str:
    from dolisa.report.csv_writer import plain_1dp, plain_int

    if value is None:
        return ""
    return plain_1dp(value) if pct else plain_int(value)


def revisions_frame(value_as_of: dict, value_now: dict, changed: list[dict], scenarios: dict, meta: dict[str, dict]):
    """The rows of revisions.csv (contract §6) as a DataFrame, in report order.

    One row per indicator, reporting unit and changed source unit-month whose one-at-a-time
    move changes that figure, for every indicator and unit whose value changed. A value that
    is empty on one side (no data) has an empty delta; a contribution is empty when the
    scenario value or the as-of value is empty."""
    import pandas as pd

    from dolisa.report._common import unit_sort_key

    rows = []
    keys = sorted(
        set(value_as_of) | set(value_now),
        key=lambda k: (meta.get(k[0], {}).get("sort_order") or 0, k[0], unit_sort_key(k[1])),
    )
    for ind, unit in keys:
        before, now = value_as_of.get((ind, unit)), value_now.get((ind, unit))
        if before == now:
            continue  # an indicator whose value did not change has no rows
        pct = (meta.get(ind, {}).get("unit_vi") or "").strip() == "%"
        delta = now - before if before is not None and now is not None else None
        for c in changed:
            moved = scenarios[(c["unit_code"], c["period"])].get((ind, unit))
            if moved == before:
                continue  # moving this unit-month alone does not move the figure
            contribution = moved - before if moved is not None and before is not None else None
            rows.append(
                {
                    "indicator_code": ind,
                    "unit_code": unit,
                    "value_as_of": _fmt(before, pct),
                    "value_now": _fmt(now, pct),
                    "delta": _fmt(delta, pct),
                    "source_unit_code": c["unit_code"],
                    "source_period": c["period"],
                    "version_as_of": "" if c["version_as_of"] is None else str(c["version_as_of"]),
                    "version_now": "" if c["version_now"] is None else str(c["version_now"]),
                    "contribution": _fmt(contribution, pct),
                    # for the human-facing section (not in the csv)
                    "label_vi": meta.get(ind, {}).get("label_vi", ind),
                    "unit_vi": meta.get(ind, {}).get("unit_vi", ""),
                    "contribution_value": contribution,
                }
            )
    return pd.DataFrame(rows, columns=[*REVISIONS_HEADER, "label_vi", "unit_vi", "contribution_value"])


def revisions_csv_text(revisions) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(REVISIONS_HEADER)
    for r in revisions[REVISIONS_HEADER].itertuples(index=False):
        w.writerow(list(r))
    return buf.getvalue()


LEDGER_TABLES = ("submissions", "files", "quarantined_rows")


def _set_aside_later_versions(con) -> None:
    """Set aside from the scratch ledger the versions that did not exist as of D (as the dbt
    staging model, built with the var, says), so every check of the gate sees the ledger as
    it stood; `_put_back_later_versions` restores them for the scenario runs."""
    keep = "(select submission_id from staging.stg_district_export__submissions)"
    tables = {
        t
        for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'meta'"
        ).fetchall()
    }
    for table in LEDGER_TABLES:
        if table in tables:
            con.execute(
                f"create or replace table meta._later_{table} as "
                f"select * from meta.{table} where submission_id not in {keep}"
            )
            con.execute(f"delete from meta.{table} where submission_id not in {keep}")


def _put_back_later_versions(con) -> None:
    for table in LEDGER_TABLES:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'meta' and table_name = ?",
            [f"_later_{table}"],
        ).fetchone()[0]
        if exists:
            con.execute(f"insert into meta.{table} select * from meta._later_{table}")
            con.execute(f"drop table meta._later_{table}")


def gate_as_of(
    scratch: Scratch,
    out_dir: Path,
    report_period: str,
    as_of: dt.date,
    *,
    allow_incomplete: bool = False,
    docs_dir: Path | None = None,
):
    """The report gate of the current report (pipeline.gate), over the as-of marts and ledger.
    Returns the GateResult, or None when it blocked (quality_gate.json in `out_dir` says why)."""
    from dolisa.quality.report_gate import ReportGateBlocked

    with warehouse.connect(scratch.warehouse) as con:
        _set_aside_later_versions(con)
    try:
        result = pipeline.gate(report_period, allow_incomplete=allow_incomplete, p=scratch.paths, out_dir=out_dir)
    except ReportGateBlocked as blocked:
        result = None
        log.warning("as-of %s report of %s blocked by the gate (the run goes on): %s", as_of, report_period, blocked)
    finally:
        with warehouse.connect(scratch.warehouse) as con:
            _put_back_later_versions(con)
    gate_file = out_dir / pipeline.GATE_FILE
    if gate_file.exists():  # say on its face which date the verdict is for
        verdict = json.loads(gate_file.read_text(encoding="utf-8"))
        verdict["as_of"] = as_of.isoformat()
        if docs_dir is not None and scratch.paths.data_docs.is_dir():  # keep the Data Docs of this gate
            shutil.rmtree(docs_dir, ignore_errors=True)
            shutil.copytree(scratch.paths.data_docs, docs_dir)
            verdict["data_docs"] = str(docs_dir / "index.html")
        gate_file.write_text(json.dumps(verdict, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    if result is None:
        for name in ("revisions.csv", "AS_OF.txt"):
            (out_dir / name).unlink(missing_ok=True)
    return result


def write_as_of_report(scratch: Scratch, out_dir: Path, report_period: str, as_of: dt.date, revisions) -> dict:
    """The report files of a gated as-of report, by the same writers as the current report
    (pipeline.write_report's frames and files), each stating the as-of date, plus revisions.csv."""
    from dolisa import report as writers
    from dolisa.report.frames import report_frames
    from dolisa.report.messages_vi import incomplete_note_vi

    decided = json.loads((out_dir / pipeline.GATE_FILE).read_text(encoding="utf-8"))
    with warehouse.connect(scratch.warehouse) as con:
        indicators, units, quality, reasons = report_frames(con, report_period)
    note = incomplete_note_vi(decided.get("waived"))  # the waived findings, in Vietnamese (one wording)
    files = _write_human(
        writers,
        out_dir,
        report_period,
        indicators,
        units,
        quality,
        reasons,
        decided.get("warnings") or [],
        note,
        as_of,
        revisions,
    )
    csv_path = writers.write_indicators_csv(out_dir / "indicators.csv", indicators)
    writers.write_quarantine_reasons(out_dir / writers.QUARANTINE_REASONS_FILE, reasons)
    (out_dir / "revisions.csv").write_text(revisions_csv_text(revisions), encoding="utf-8")
    (out_dir / "AS_OF.txt").write_text(as_of_note(as_of) + "\n", encoding="utf-8")
    if note:
        (out_dir / "INCOMPLETE.txt").write_text(note + "\n", encoding="utf-8")
    else:
        (out_dir / "INCOMPLETE.txt").unlink(missing_ok=True)
    share(out_dir)
    return {
        "as_of": as_of.isoformat(),
        "report": str(out_dir),
        "indicators_csv": str(csv_path),
        "revisions": len(revisions),
        "files": sorted(str(v) for v in files.values()),
        "incomplete": bool(note),
    }


def as_of_note(as_of: dt.date) -> str:
    return (
        f"SỐ LIỆU TẠI NGÀY {as_of.strftime('%d/%m/%Y')} — báo cáo phát hành lại theo các phiên bản "
        f"số liệu đã nhận đến hết ngày {as_of.strftime('%d/%m/%Y')} (giờ Việt Nam)"
    )


def _write_human(
    writers, out_dir, report_period, indicators, units, quality, reasons, warnings, note, as_of: dt.date, revisions
) -> dict:
    """The human-facing files, stating the as-of date on their face, with the revisions section."""
    return writers.write_human_report(
        out_dir,
        report_period,
        indicators,
        units,
        quality,
        reasons,
        warnings=warnings,
        incomplete_note=note,
        as_of=as_of,
        revisions=section_rows(revisions),
    )


def section_rows(revisions):
    """The revisions the 'Điều chỉnh số liệu' section lists: one per indicator, reporting unit
    and source unit-month (the province row repeats its unit's, so it is listed only when no
    unit row explains that source), with the contribution as a number."""
    if revisions is None or len(revisions) == 0:
        return revisions
    df = revisions.copy()
    units = df[df["unit_code"] != contract.PROVINCE_CODE]
    explained = set(zip(units["indicator_code"], units["source_unit_code"], units["source_period"], strict=False))
    keep = [
        u == contract.PROVINCE_CODE and (i, su, sp) not in explained
        for i, u, su, sp in zip(
            df["indicator_code"], df["unit_code"], df["source_unit_code"], df["source_period"], strict=False
        )
    ]
    province = df[keep]
    import pandas as pd

    out = pd.concat([units, province], ignore_index=True)
    out["contribution"] = [None if v is None else float(v) for v in out["contribution_value"]]
    for c in ("version_as_of", "version_now"):  # "" (no version) -> None for the writers
        out[c] = out[c].map(lambda v: int(v) if str(v).strip() else None).astype(object)
    return out.drop(columns=["contribution_value"])


# ---------------------------------------------------------------------------
# the whole re-issue
# ---------------------------------------------------------------------------


def reissue(
    report_period: str, as_of: str | dt.date, *, allow_incomplete: bool = False, p: Paths | None = None
) -> dict:
    """Write `reports/<period>/as_of_<D>/` (indicators.csv, human-facing files, revisions.csv).

    Reads the live warehouse (its current report model and versions in force: run after the
    current report's dbt build) and never writes it. Never raises for a blocked gate."""
    from dolisa.lock import writer_lock
    from dolisa.settings import reader_dir

    contract.half_year_periods(report_period)
    day = parse_as_of(as_of)
    p = (p or default_paths()).ensure()
    out_dir = as_of_dir(p, report_period, day)
    t0 = time.monotonic()
    timings: dict[str, float] = {}
    changed: list[dict[str, Any]] = []
    with writer_lock(p, "reissue"):
        with warehouse.connect(p.warehouse) as con:
            now_versions = in_force_versions(con, report_months(report_period))
            value_now = indicator_values(con, report_period)
        out_dir = reader_dir(out_dir)
        scratch = prepare_scratch(p, report_period, day)
        timings["copy"] = time.monotonic() - t0
        try:
            build_as_of(scratch, day)
            timings["build_as_of"] = time.monotonic() - t0 - sum(timings.values())
            with warehouse.connect(scratch.warehouse) as con:
                as_of_versions = in_force_versions(con, report_months(report_period))
                value_as_of = indicator_values(con, report_period)
                meta = indicator_meta(con)
            gate = gate_as_of(
                scratch,
                out_dir,
                report_period,
                day,
                allow_incomplete=allow_incomplete,
                # beside the live site (its rebuild clears its own folder); owner-only
                docs_dir=p.home / "data_docs_as_of" / f"{report_period}_{day.isoformat()}",
            )
            timings["gate"] = time.monotonic() - t0 - sum(timings.values())
            if gate is None:
                result = {"as_of": day.isoformat(), "report": None, "dir": str(out_dir), "blocked": True}
            else:
                # Only the half's own months can move a `value` (the same half a year before
                # feeds same_period_value only): every indicator groups records by their half.
                changed = changed_unit_months(as_of_versions, now_versions, contract.half_year_periods(report_period))
                scenarios = scenario_values(p, scratch, report_period, day, changed)
                timings["scenarios"] = time.monotonic() - t0 - sum(timings.values())
                revisions = revisions_frame(value_as_of, value_now, changed, scenarios, meta)
                pipeline.build_reports(report_period, scratch.paths)  # the same rpt_ phase
                result = write_as_of_report(scratch, out_dir, report_period, day, revisions)
                timings["write"] = time.monotonic() - t0 - sum(timings.values())
        finally:
            scratch.remove()
    result.update(
        report_period=report_period, scenarios=len(changed), seconds={k: round(v, 1) for k, v in timings.items()}
    )
    log.info("as-of report %s %s: %s", report_period, day, result)
    return result


# ---------------------------------------------------------------------------
# every published report is kept
# ---------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def issue_copy(report_period: str, *, p: Paths | None = None, issued_at: dt.datetime | None = None) -> Path:
    """Keep an immutable copy of the report just written for `report_period`.

    Copies the report folder's files (not its sub-folders) to
    `reports/<period>/issued/<timestamp>/` with `manifest.json`: the issue time, the
    submission versions in force for the months the report reads (from the live dbt
    staging model) and the sha256 of every file. Files are made read-only (0444).
    `issued_at` (default now) names the folder; the as-of run for its date (Asia/Ho_Chi_Minh)
    reproduces the copy's indicators.csv as long as no version submitted by then arrived later.
    """
    p = p or default_paths()
    src = p.report_dir(report_period)
    when = (issued_at or dt.datetime.now(dt.timezone.utc)).astimezone(HCM)
    stamp = when.strftime("%Y%m%dT%H%M%S%z")
    dest = src / ISSUED_DIR / stamp
    n = 1
    while dest.exists():
        n += 1
        dest = src / ISSUED_DIR / f"{stamp}-{n}"
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    files = {}
    for f in sorted(src.iterdir()):
        if f.is_file() and not f.name.startswith("."):
            shutil.copy2(f, tmp / f.name)
            files[f.name] = _sha256(tmp / f.name)
    with warehouse.connect(p.warehouse, read_only=False) as con:
        versions = in_force_versions(con, report_months(report_period))
    manifest = {
        "report_period": report_period,
        "issued_at": when.isoformat(timespec="seconds"),
        "issue_date": when.date().isoformat(),
        "submissions_in_force": [
            {"unit_code": u, "period": pr, "version": v, "submission_id": s}
            for (u, pr), (v, s) in sorted(versions.items())
        ],
        "files": files,
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, dest)
    share(src / ISSUED_DIR)
    for f in dest.iterdir():
        os.chmod(f, READ_ONLY)
    log.info("report %s issued: immutable copy in %s", report_period, dest)
    return dest


def issued_copies(report_period: str, p: Paths | None = None) -> list[Path]:
    p = p or default_paths()
    root = p.report_dir(report_period) / ISSUED_DIR
    return sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")) if root.exists() else []


def report_with_as_of(
    report_period: str,
    as_of: str | dt.date | None = None,
    *,
    allow_incomplete: bool = False,
    skip_if_incomplete: bool = False,
    p: Paths | None = None,
    issued_at: dt.datetime | None = None,
) -> dict:
    """The report task: the current report (pipeline.report; raises when its gate blocks),
    its issued copy, and, with `as_of`, the as-of report and revisions (never raises for a
    blocked as-of gate)."""
    p = p or default_paths()
    out = pipeline.report(report_period, allow_incomplete=allow_incomplete, skip_if_incomplete=skip_if_incomplete, p=p)
    if out.get("report"):
        out["issued"] = str(issue_copy(report_period, p=p, issued_at=issued_at))
        if as_of:  # explained against the current report, so only when there is one
            out["as_of"] = reissue(report_period, as_of, allow_incomplete=allow_incomplete, p=p)
    return out
