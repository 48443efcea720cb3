"""Load landed submission versions into the DuckDB raw tables, idempotently.

One landed version is loaded in one transaction: its earlier rows (if any) are
deleted and its rows inserted again, so loading any version twice leaves the same
tables. Which version of a unit and month is in force is decided downstream from
the ledger (`meta.submissions.status`): the highest accepted version.

Per file the ledger records rows_in = rows_loaded + rows_quarantined.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import duckdb

from dolisa import contract
from dolisa.extract import landed_versions
from dolisa.parse import FileDefect, ParsedFile, parse_file

log = logging.getLogger(__name__)


class DoorGate(Protocol):
    """Validates one parsed file; may reject the file or add row reasons (see dolisa.quality)."""

    def __call__(self, con: duckdb.DuckDBPyConnection, parsed: ParsedFile, period: str,
                 declared_rows: int, batch_name: str) -> "GateVerdict": ...


@dataclass
class GateVerdict:
    file_reasons: list[str] = field(default_factory=list)
    row_reasons: dict[int, list[str]] = field(default_factory=dict)
    success: bool = True
    suite: str = ""
    n_expectations: int = 0
    n_failed: int = 0
    result_path: str | None = None


@dataclass
class VersionResult:
    submission_id: str
    status: str  # accepted | rejected
    reason: str | None
    files: list[dict]

    @property
    def rows_loaded(self) -> int:
        return sum(f.get("rows_loaded") or 0 for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.get("rows_quarantined") or 0 for f in self.files)


def _ts(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def load_version(
    con: duckdb.DuckDBPyConnection,
    vdir: Path,
    manifest: dict,
    *,
    gate: DoorGate | None = None,
    quarantine_root: Path | None = None,
) -> VersionResult:
    sid, unit, period, version = manifest["submission_id"], manifest["unit_code"], manifest["period"], int(manifest["version"])
    files_meta: list[dict] = []
    defects: list[str] = []
    parsed: list[tuple[ParsedFile, dict]] = []
    verdicts: list[tuple[ParsedFile, GateVerdict]] = []
    if manifest.get("download_error"):
        defects.append(manifest["download_error"])
    seen: set[str] = set()
    for i, f in enumerate(manifest.get("files", [])):
        meta = {
            "dataset": f.get("dataset"), "file_name": f.get("name"), "media_type": f.get("media_type"),
            "bytes": f.get("bytes"), "rows_declared": f.get("rows"), "sha256": f.get("sha256"),
            "landed_path": str(vdir / f["name"]) if not manifest.get("download_error") else None,
            "status": "not_loaded", "reason": None, "rows_in": None, "rows_loaded": None, "rows_quarantined": None,
        }
        files_meta.append(meta)
        if manifest.get("download_error"):
            continue
        ds = f.get("dataset")
        if ds not in contract.datasets():
            meta["status"], meta["reason"] = "ignored", f"unknown dataset {ds!r} (kept in the raw zone, not loaded)"
            continue
        if ds in seen:
            meta["status"] = "rejected"
            meta["reason"] = f"{f['name']}: a second file for dataset {ds} in one version"
            defects.append(meta["reason"])
            continue
        seen.add(ds)
        try:
            pf = parse_file(con, vdir / f["name"], ds, period, file_name=f["name"],
                            declared_rows=f.get("rows"), table=f"parsed_{i}")
        except FileDefect as e:
            meta["status"], meta["reason"] = "rejected", str(e)
            defects.append(str(e))
            continue
        if gate is not None:
            verdict = gate(con, pf, period, f.get("rows"), batch_name=f"{sid}/{f['name']}")
            verdicts.append((pf, verdict))
            if verdict.file_reasons:
                meta["status"], meta["reason"] = "rejected", "; ".join(verdict.file_reasons)
                defects.extend(verdict.file_reasons)
                continue
            if verdict.row_reasons:
                _add_row_reasons(con, pf.table, verdict.row_reasons)
        meta["rows_in"] = pf.rows_in
        parsed.append((pf, meta))

    status = "rejected" if defects else "accepted"
    reason = "; ".join(defects) if defects else None
    submitted_at = _ts(manifest.get("submitted_at"))
    is_late = submitted_at is not None and submitted_at > contract.due_at(period)

    con.execute("begin transaction")
    try:
        for ds in contract.datasets():
            con.execute(f"delete from raw.{ds} where submission_id = ?", [sid])
        con.execute("delete from meta.quarantined_rows where submission_id = ?", [sid])
        con.execute("delete from meta.files where submission_id = ?", [sid])
        con.execute("delete from meta.validations where submission_id = ?", [sid])
        con.execute("delete from meta.submissions where submission_id = ?", [sid])
        if status == "accepted":
            for pf, meta in parsed:
                _move_rows(con, pf, sid, unit, period, version)
                loaded, quarantined = con.execute(
                    f"select count(*) filter (where len(reasons) = 0), count(*) filter (where len(reasons) > 0) from {pf.table}"
                ).fetchone()
                meta.update(status="accepted", rows_loaded=loaded, rows_quarantined=quarantined)
                if loaded + quarantined != meta["rows_in"]:  # cannot happen; a broken invariant must stop the run
                    raise AssertionError(f"{sid}/{pf.file_name}: rows in {meta['rows_in']} != {loaded} + {quarantined}")
        for meta in files_meta:
            con.execute(
                "insert into meta.files values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [sid, meta["dataset"], meta["file_name"], meta["media_type"], meta["bytes"], meta["rows_declared"],
                 meta["sha256"], meta["landed_path"], meta["status"], meta["reason"], meta["rows_in"],
                 meta["rows_loaded"], meta["rows_quarantined"]],
            )
        now = dt.datetime.now(dt.timezone.utc)
        for pf, v in verdicts:
            con.execute(
                "insert into meta.validations values (?, ?, ?, ?, ?, ?, ?, ?)",
                [sid, pf.dataset, v.suite, v.success, v.n_expectations, v.n_failed, v.result_path, now],
            )
        con.execute(
            "insert into meta.submissions values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [sid, unit, period, version, submitted_at, _ts(manifest.get("landed_at")), status, reason, is_late,
             len(files_meta)],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        for pf, _ in parsed:
            con.execute(f"drop table if exists {pf.table}")
    if status == "rejected" and quarantine_root is not None:
        q = quarantine_root / unit / period
        q.mkdir(parents=True, exist_ok=True)
        (q / f"{sid}.rejected.json").write_text(
            json.dumps({"submission_id": sid, "reason": reason, "files": files_meta}, ensure_ascii=False, indent=2),
            encoding="utf-8",
        )
    log.info("%s: %s%s", sid, status, f" ({reason})" if reason else "")
    return VersionResult(sid, status, reason, files_meta)


def _add_row_reasons(con: duckdb.DuckDBPyConnection, table: str, row_reasons: dict[int, list[str]]) -> None:
    import pandas as pd

    long = pd.DataFrame(
        [(row, reason) for row, reasons in row_reasons.items() for reason in reasons],
        columns=["source_row", "reason"],
    ).astype({"source_row": "int64", "reason": "object"})
    con.register("_gate_reasons", long)
    try:
        con.execute(f"""
            update {table} t set reasons = list_distinct(list_concat(t.reasons, g.more))
            from (select source_row, list(cast(reason as varchar) order by reason) as more
                  from _gate_reasons group by source_row) g
            where g.source_row = t.source_row
        """)
    finally:
        con.unregister("_gate_reasons")


def _move_rows(con: duckdb.DuckDBPyConnection, pf: ParsedFile, sid: str, unit: str, period: str, version: int) -> None:
    ds = contract.dataset(pf.dataset)
    cols = ", ".join(ds.column_names)
    con.execute(
        f"""insert into raw.{ds.name} ({cols}, submission_id, unit_code, period, version, source_row)
            select {cols}, ?, ?, ?, ?, source_row from {pf.table} where len(reasons) = 0 order by source_row""",
        [sid, unit, period, version],
    )
    raw_struct = ", ".join(f"{c!r}: {c}__raw" for c in ds.column_names)
    con.execute(
        f"""insert into meta.quarantined_rows
            select ?, ?, ?, ?, ?, ?, source_row, array_to_string(reasons, '; '), to_json({{{raw_struct}}})
            from {pf.table} where len(reasons) > 0 order by source_row""",
        [sid, unit, period, version, ds.name, pf.file_name],
    )


def load_landed(
    con: duckdb.DuckDBPyConnection,
    raw_root: Path,
    *,
    periods: list[str] | None = None,
    only_new: bool = True,
    gate: DoorGate | None = None,
    quarantine_root: Path | None = None,
    on_version: Callable[[VersionResult], None] | None = None,
) -> list[VersionResult]:
    """Load landed versions (of `periods`, or all); with only_new, skip versions already in the ledger."""
    done: set[str] = set()
    if only_new:
        done = {r[0] for r in con.execute("select submission_id from meta.submissions").fetchall()}
    wanted = set(periods) if periods else None
    results = []
    for vdir, manifest in landed_versions(raw_root):
        if wanted is not None and manifest["period"] not in wanted:
            continue
        if manifest["submission_id"] in done:
            continue
        r = load_version(con, vdir, manifest, gate=gate, quarantine_root=quarantine_root)
        results.append(r)
        if on_version:
            on_version(r)
    return results


def load_plan_targets(con: duckdb.DuckDBPyConnection, csv_path: Path) -> int:
    """Replace meta.plan_targets with the CSV (header year,indicator_code,unit_code,target_value)."""
    import csv

    with open(csv_path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        want = ["year", "indicator_code", "unit_code", "target_value"]
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        if header[:4] != want and set(want) - set(header):
            raise ValueError(f"{csv_path}: header must be {','.join(want)}, got {','.join(header)}")
        rows = []
        for i, r in enumerate(reader, start=2):
            r = {k.strip().lower(): (v or "").strip() for k, v in r.items() if k}
            try:
                rows.append((int(r["year"]), r["indicator_code"].upper(), r["unit_code"],
                             int(r["target_value"].replace(".", ""))))
            except (ValueError, KeyError) as e:
                raise ValueError(f"{csv_path}:{i}: bad plan target row {r} ({e})") from None
    con.execute("begin transaction")
    con.execute("delete from meta.plan_targets")
    if rows:
        con.executemany("insert into meta.plan_targets values (?, ?, ?, ?)", rows)
    con.execute("commit")
    return len(rows)
