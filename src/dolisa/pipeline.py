"""The pipeline's stages, each callable from an Airflow task or the CLI.

Every stage is keyed on explicit periods (never on "now") and is idempotent.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from importlib import resources
from pathlib import Path
from typing import Any

from dolisa import contract, warehouse
from dolisa.faults import crash_point
from dolisa.memory import releases_memory
from dolisa.run_conf import RUN_PARAMS, parse_as_of  # the DAG's Params and the as_of option, declared once
from dolisa.settings import Paths, reader_dir
from dolisa.settings import paths as default_paths

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
    if periods is not None:  # an explicit empty list pulls nothing (a report-only run)
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


def plan_run(conf: dict | None, run_date: dt.datetime | dt.date) -> dict:
    """What a run does, from its conf (RUN_PARAMS) and its date. A malformed conf raises
    ValueError naming the key; keys the conf does not know are refused too."""
    conf = dict(conf or {})
    unknown = sorted(set(conf) - set(RUN_PARAMS))
    if unknown:
        raise ValueError(f"run conf: unknown key(s) {', '.join(map(repr, unknown))}; known: {', '.join(RUN_PARAMS)}")
    conf = {k: v for k, v in conf.items() if v is not None}  # a Param left empty in the form is absent

    def check(key, fn):
        try:
            return fn()
        except (ValueError, TypeError) as e:
            raise ValueError(f"run conf {key!r}: {e}") from None

    if "periods" in conf and not isinstance(conf["periods"], (list, str)):
        raise ValueError(f"run conf 'periods': a list of YYYY-MM, got {type(conf['periods']).__name__}")
    periods = check("periods", lambda: resolve_periods(conf, run_date))
    report_period = check("report_period", lambda: resolve_report_period(conf))
    allow = conf.get("allow_incomplete", False)
    if not isinstance(allow, bool):
        raise ValueError(f"run conf 'allow_incomplete': true or false, got {allow!r}")
    as_of = check("as_of", lambda: parse_as_of(conf["as_of"]).isoformat()) if "as_of" in conf else None
    if as_of and not report_period:
        raise ValueError("run conf 'as_of': needs 'report_period' (the half-year to re-issue)")
    auto = report_period is None and "periods" not in conf
    return {
        "periods": periods,
        "report_period": report_period or auto_report_period(periods),
        "report_is_auto": auto,
        "allow_incomplete": allow,
        "as_of": as_of,
    }


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


@releases_memory
def extract(periods: list[str], hub: "Any", p: Paths | None = None, policy: "Any" = None) -> dict:
    from dolisa.extract import ExportApiClient, land_periods

    p = (p or default_paths()).ensure()
    client = ExportApiClient(hub, policy=policy)  # DOLISA_EXTRACT_CONCURRENCY requests at once (default 8)
    # failed: landed as rejected; deferred: not fetched (transient), fetched again next run (raw/_deferred.json)
    summary = {
        "periods": periods,
        "listed": 0,
        "landed": 0,
        "already": 0,
        "failed": [],
        "deferred": [],
        "concurrency": client.concurrency,
    }
    # the periods in turn, as land_period would, with requests in flight across them; raises
    # AuthError (401/403): the task fails loudly, what landed before it (in order) stays landed
    for r in land_periods(client, p.raw, periods):
        summary["listed"] += r.listed
        summary["landed"] += len(r.landed)
        summary["already"] += r.already
        summary["failed"] += r.failed
        summary["deferred"] += r.deferred
    summary.update(client.stats)
    log.info("extract: %s", summary)
    return summary


# ---------------------------------------------------------------------------
# parse + load (the vectorised SQL of dolisa.parse decides rejections and quarantine)
# ---------------------------------------------------------------------------


def plan_targets_path() -> Path:
    override = os.environ.get("DOLISA_PLAN_TARGETS")
    if override:
        return Path(override)
    return Path(str(resources.files("dolisa").joinpath("reference/plan_targets.csv")))


@releases_memory
def load(
    periods: list[str] | None, p: Paths | None = None, *, only_new: bool = True, pseudonym_key: str | None = None
) -> dict:
    from dolisa import pseudonym
    from dolisa.load import load_landed, load_plan_targets
    from dolisa.lock import writer_lock

    p = (p or default_paths()).ensure()
    with writer_lock(p, "load"), warehouse.connect(p.warehouse) as con:
        pseudonym.bind(con, p, pseudonym_key)
        results = load_landed(con, p.raw, periods=periods, only_new=only_new, quarantine_root=p.quarantine)
        n_targets = load_plan_targets(con, plan_targets_path())
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


def rebuild_from_raw(p: Paths | None = None, *, pseudonym_key: str | None = None) -> dict:
    """Rebuild the warehouse from the raw zone alone, beside the live one, and swap it in.

    The new warehouse (`warehouse/dolisa.rebuild.duckdb`) is loaded from every landed
    version and built by dbt in full; the report gate's decisions (the one thing not in
    the raw zone) are carried over from the live warehouse, and the report models of the
    periods they allow are built again. Only when all of that succeeded is the new file
    renamed over the live one (one atomic rename): a crash at any point leaves the old
    warehouse intact. The whole rebuild holds the writer lock.
    """
    import dataclasses

    from dolisa import dbt
    from dolisa.lock import writer_lock
    from dolisa.quality import decisions

    p = (p or default_paths()).ensure()
    scratch = p.warehouse.with_name("dolisa.rebuild.duckdb")
    with writer_lock(p, "rebuild"):
        for f in (scratch, scratch.with_name(scratch.name + ".wal")):
            f.unlink(missing_ok=True)
        # The scratch warehouse shares the home (raw zone, key store, dbt target) but not the file.
        sp = dataclasses.replace(p, warehouse_file=scratch)
        loaded = load(None, sp, only_new=False, pseudonym_key=pseudonym_key)
        built = transform(sp, full_refresh=True)
        with warehouse.connect(scratch) as con:
            decisions.ensure(con)
            if p.warehouse.exists():
                con.execute(f"attach '{p.warehouse}' as live (read_only)")
                try:
                    if con.execute(
                        "select count(*) from information_schema.tables where table_catalog = 'live' "
                        "and table_schema = 'meta' and table_name = 'report_gate_decisions'"
                    ).fetchone()[0]:
                        con.execute(f"insert into {decisions.TABLE} select * from live.{decisions.TABLE}")
                finally:
                    con.execute("detach live")
            gated = decisions.published_periods(con)
        if gated:
            dbt.build(warehouse=scratch, target_path=p.dbt_target, select=[REPORT_SELECTOR], full_refresh=True)
            with warehouse.connect(scratch) as con:
                decisions.restrict_reports(con)
        _swap_in(scratch, p.warehouse)
    return {"load": loaded, "transform": built, "report_periods": gated, "warehouse": str(p.warehouse)}


def rotate_key(p: Paths | None = None, *, pseudonym_key: str | None = None) -> dict:
    """Re-key every citizen-id pseudonym, then rebuild every model that holds one and republish.

    One command, under the writer lock: the raw rows are re-keyed in one transaction
    (dolisa.pseudonym.rotate), dbt rebuilds every model in full (forced until it has
    succeeded, so an interruption never leaves old and new pseudonyms side by side),
    and the published snapshot is replaced.
    """
    from dolisa import pseudonym
    from dolisa.lock import writer_lock

    p = (p or default_paths()).ensure()
    with writer_lock(p, "rotate-key"):
        with warehouse.connect(p.warehouse) as con:
            out = pseudonym.rotate(con, p, pseudonym_key)
        out["transform"] = transform(p)
        out["publish"] = publish(p)
    return out


def _swap_in(new: Path, live: Path) -> None:
    """Rename a complete, checkpointed warehouse file over the live one."""
    con = warehouse.open_duckdb(new)
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    if live.exists():  # the live file's own WAL must not be replayed onto the new file
        con = warehouse.open_duckdb(live)
        try:
            con.execute("checkpoint")
        finally:
            con.close()
    crash_point("rebuild:swap")
    os.replace(new, live)
    live.with_name(live.name + ".wal").unlink(missing_ok=True)


# ---------------------------------------------------------------------------
# dbt
# ---------------------------------------------------------------------------


@releases_memory
def transform(p: Paths | None = None, *, docs: bool = False, full_refresh: bool = False) -> dict:
    """dbt build through the marts (seeds, staging, intermediate, marts and their tests).
    `full_refresh` rebuilds every model from the ledger (what any incremental
    build must equal); it is forced after a pseudonym-key rotation until it has succeeded."""
    from dolisa import dbt, pseudonym
    from dolisa.lock import writer_lock

    p = (p or default_paths()).ensure()
    with writer_lock(p, "transform"):
        with warehouse.connect(p.warehouse) as con:
            forced = pseudonym.marts_stale(con)
        # through the marts only: the rpt_ models are built after the report gate (build_reports);
        # "cautious": a test is run once all its parents are built (some also read rpt_ models)
        result = dbt.run_dbt(
            [
                "build",
                "--select",
                *MARTS_SELECTOR,
                "--indirect-selection",
                "cautious",
                *(["--full-refresh"] if full_refresh or forced else []),
            ],
            warehouse=p.warehouse,
            target_path=p.dbt_target,
        )
        if forced:
            with warehouse.connect(p.warehouse) as con:
                pseudonym.mark_marts_fresh(con)
    dbt_warnings = dbt.warnings(result)  # data tests that warn: shown, never failing the night
    for w in dbt_warnings:
        log.warning("dbt test warned: %s: %s", w["node"], w["message"])
    out = {"dbt": "ok", "full_refresh": full_refresh or forced, "dbt_warnings": dbt_warnings}
    if docs:  # only when the project changed (a build's manifest.json does not touch the docs' files)
        out["docs_generated"] = dbt.docs_generate_if_changed(warehouse=p.warehouse, target_path=p.dbt_target)
        out["docs"] = str(p.dbt_target / "index.html")
    return out


# ---------------------------------------------------------------------------
# publish: the read-only snapshot for the reporting team (dolisa.snapshot)
# ---------------------------------------------------------------------------

# dbt selections: everything through the marts (before the gate), then the rpt_ models (after it).
MARTS_SELECTOR = ["path:seeds", "path:models/staging", "path:models/intermediate", "path:models/marts"]
REPORT_SELECTOR = "path:models/reports"


@releases_memory
def publish(p: Paths | None = None) -> dict:
    """Write `published/warehouse.duckdb` anew, figures only: see dolisa.snapshot.publish."""
    from dolisa import snapshot

    return snapshot.publish(p)


@releases_memory
def feedback(run_at: dt.datetime | dt.date, p: Paths | None = None, *, send: Any = True) -> dict:
    """Every reporting unit's Vietnamese feedback of the night `run_at` (written under
    reports/feedback/<unit>/<date>/ and sent when addresses and SMTP are configured): see
    dolisa.feedback. Reads the marts, so it runs after they are built."""
    from dolisa import feedback as fb

    if not isinstance(run_at, dt.datetime):  # a date: the start of that day in Asia/Ho_Chi_Minh
        run_at = dt.datetime.combine(run_at, dt.time(0, 0), tzinfo=HCM)
    return fb.run(run_at, p, send=send)


# ---------------------------------------------------------------------------
# the report, one function per phase:
#   transform (marts) -> gate -> build_reports (rpt_ models) -> write_report (files) -> publish
# ---------------------------------------------------------------------------

GATE_FILE = "quality_gate.json"


def _dbt_warning_findings(p: Paths) -> list:
    """The data tests that warned in the last dbt build (run_results.json), as gate warnings."""
    from dolisa.quality import load_expectations
    from dolisa.quality.report_gate import Finding

    rule = load_expectations("report_gate").DBT_TEST_WARNING
    try:
        results = json.loads((p.dbt_target / "run_results.json").read_text(encoding="utf-8")).get("results", [])
    except (OSError, ValueError):
        return []
    out = []
    for r in results:
        if r.get("status") == "warn":
            item = str(r.get("unique_id"))
            out.append(
                Finding(
                    rule.name,
                    rule.severity,
                    load_expectations("report_gate").message(rule.name, item=item),
                    item=item,
                    values={"failures": r.get("failures")},
                )
            )
    return out


def _deferred_findings(p: Paths, report_period: str) -> list:
    """Versions the extract could not fetch yet (raw/_deferred.json), as gate findings."""
    from dolisa.extract import read_deferred
    from dolisa.quality import load_expectations
    from dolisa.quality.report_gate import Finding

    declared = load_expectations("report_gate")
    rule = declared.DEFERRED_VERSION
    months = set(contract.half_year_periods(report_period))
    out = []
    for d in read_deferred(p.raw):
        if d.get("period") not in months:
            continue
        item = d.get("submission_id") or "(listing)"
        values = {k: d.get(k) for k in ("reason", "first_deferred_at", "runs") if d.get(k) is not None}
        out.append(
            Finding(
                rule.name,
                rule.severity,
                declared.message(rule.name, unit_code=d.get("unit_code"), period=d.get("period"), item=item),
                unit_code=d.get("unit_code"),
                period=d.get("period"),
                item=item,
                values=values,
            )
        )
    return out


@releases_memory
def gate(
    report_period: str,
    *,
    allow_incomplete: bool = False,
    skip_if_incomplete: bool = False,
    p: Paths | None = None,
    out_dir: Path | None = None,
) -> "Any":
    """The report gate (Great Expectations over the built marts), before any rpt_ model.

    Writes `quality_gate.json` and the data-quality outputs into the report folder,
    rebuilds the Data Docs for this run and records the decision in the warehouse. A
    blocked gate removes the period's rows from every report table (and the report files),
    and raises ReportGateBlocked. Returns the GateResult when it passed, or None when
    `skip_if_incomplete` (the nightly automatic draft) and reporting units or months are missing.
    """
    import json

    from dolisa import report as writers
    from dolisa.lock import writer_lock
    from dolisa.quality import decisions
    from dolisa.quality.report_gate import ReportGateBlocked, import_gx, run_report_gate
    from dolisa.report.frames import quality_frames
    from dolisa.settings import share

    p = (p or default_paths()).ensure()
    out_dir = reader_dir(Path(out_dir) if out_dir else p.report_dir(report_period))
    import_gx()  # before the connection: its memory_limit counts GX in the process's RSS
    with writer_lock(p, "report_gate"), warehouse.connect(p.warehouse) as con:
        result = run_report_gate(
            con,
            report_period,
            allow_incomplete=allow_incomplete,
            data_docs_dir=p.data_docs,
            work_dir=p.home,
            extra_findings=_deferred_findings(p, report_period) + _dbt_warning_findings(p),
        )
        decisions.record(con, result)
        if not result.passed:
            decisions.remove_period(con, report_period)
        units, quality, _ = quality_frames(con, report_period)
    (out_dir / GATE_FILE).write_text(
        json.dumps(result.as_dict(), ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    writers.write_data_quality_csv(out_dir / "data_quality.csv", quality)
    writers.quality_heatmap(out_dir / "data_quality_heatmap.png", quality, units, report_period=report_period)
    log.info(
        "report gate %s: %s, %d blocking, %d waived, %d warning(s); Data Docs: file://%s",
        report_period,
        "passed" if result.passed else "BLOCKED",
        len(result.blocking),
        len(result.waived),
        len(result.warnings),
        result.data_docs,
    )
    for f in result.warnings:
        log.warning("report gate warning [%s] %s", f.rule, f.message)
    if not result.passed:
        _remove_report_files(out_dir)
        share(out_dir)
        if skip_if_incomplete and any(f.rule == "completeness" for f in result.blocking):
            log.info(
                "%s: not complete yet, no automatic draft (%d unit-month(s) missing)",
                report_period,
                sum(f.rule == "completeness" for f in result.blocking),
            )
            return None
        err = ReportGateBlocked(result)
        log.error("%s", err)
        raise err
    share(out_dir)
    return result


def _remove_report_files(out_dir: Path) -> None:
    from dolisa import report as writers

    for name in ("indicators.csv", "INCOMPLETE.txt", writers.QUARANTINE_REASONS_FILE, *writers.HUMAN_FILES):
        if name not in ("data_quality.csv", "data_quality_heatmap.png"):
            (out_dir / name).unlink(missing_ok=True)


@releases_memory
def build_reports(report_period: str, p: Paths | None = None) -> dict:
    """Build the rpt_ models (dbt), after the gate passed for `report_period`.

    The report tables keep only the periods whose gate passed or was overridden."""
    from dolisa import dbt
    from dolisa.lock import writer_lock
    from dolisa.quality import decisions

    p = (p or default_paths()).ensure()
    with writer_lock(p, "build_reports"):
        with warehouse.connect(p.warehouse) as con:
            decisions.require_published(con, report_period)
        dbt.build(warehouse=p.warehouse, target_path=p.dbt_target, select=[REPORT_SELECTOR])
        with warehouse.connect(p.warehouse) as con:
            kept = decisions.restrict_reports(con)
    return {"report_period": report_period, "rpt": "ok", "report_periods": kept}


@releases_memory
def write_report(
    report_period: str, p: Paths | None = None, *, out_dir: Path | None = None, warehouse_path: Path | None = None
) -> dict:
    """Write the report files of a gated period from the rpt_ models.

    Reads the gate's decision from `quality_gate.json` in the report folder (warnings and
    waived findings go on the report's face); refuses a period whose gate did not pass."""
    import json

    from dolisa import report as writers
    from dolisa.lock import writer_lock
    from dolisa.report.frames import report_frames
    from dolisa.settings import share

    p = (p or default_paths()).ensure()
    out_dir = reader_dir(Path(out_dir) if out_dir else p.report_dir(report_period))
    gate_file = out_dir / GATE_FILE
    decided = json.loads(gate_file.read_text(encoding="utf-8")) if gate_file.exists() else None
    if not decided or not decided.get("passed"):
        raise RuntimeError(f"{report_period}: no passed report gate in {gate_file}; run the gate first")
    # (not read_only: in one process DuckDB refuses a second, differently configured handle;
    # so under the writer lock, as any handle that may write)
    with writer_lock(p, "write_report"), warehouse.connect(warehouse_path or p.warehouse) as con:
        indicators, units, quality, reasons = report_frames(con, report_period)
    from dolisa.report.messages_vi import incomplete_note_vi

    note = incomplete_note_vi(decided.get("waived"))  # the waived findings, in Vietnamese (one wording)
    files = writers.write_human_report(
        out_dir,
        report_period,
        indicators,
        units,
        quality,
        reasons,
        warnings=decided.get("warnings") or [],
        incomplete_note=note,
    )
    csv_path = writers.write_indicators_csv(out_dir / "indicators.csv", indicators)
    writers.write_quarantine_reasons(out_dir / writers.QUARANTINE_REASONS_FILE, reasons)
    if note:
        (out_dir / "INCOMPLETE.txt").write_text(note + "\n", encoding="utf-8")
    else:
        (out_dir / "INCOMPLETE.txt").unlink(missing_ok=True)
    share(out_dir)
    log.info("report %s written to %s", report_period, out_dir)
    return {
        "report_period": report_period,
        "report": str(out_dir),
        "indicators_csv": str(csv_path),
        "files": sorted(str(v) for v in files.values()),
        "warnings": len(decided.get("warnings") or []),
        "incomplete": bool(note),
    }


def report(
    report_period: str,
    *,
    allow_incomplete: bool = False,
    skip_if_incomplete: bool = False,
    p: Paths | None = None,
) -> dict:
    """Gate, report models and report files for `report_period` (the CLI's `dolisa report`).

    When the gate blocks, no rpt_ rows and no report files are left for that period,
    `quality_gate.json` and the Data Docs say why, and ReportGateBlocked is raised.
    `skip_if_incomplete` (the nightly automatic draft) skips quietly when reporting units or
    months are missing."""
    result = gate(report_period, allow_incomplete=allow_incomplete, skip_if_incomplete=skip_if_incomplete, p=p)
    if result is None:
        return {"report_period": report_period, "report": None, "skipped": "incomplete"}
    built = build_reports(report_period, p)
    out = write_report(report_period, p)
    out.update(gate={"passed": result.passed, "overridden": result.overridden}, report_periods=built["report_periods"])
    return out
