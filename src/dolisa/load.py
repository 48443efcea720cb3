"""Load landed submission versions into the DuckDB raw tables, idempotently.

Versions are loaded a month at a time, in one transaction per month: each version's
earlier rows (if any) are deleted and its rows inserted again, so loading any version
twice leaves the same tables, and a crash leaves no partial month. Which version of a
unit and month is in force is decided downstream from
the ledger (`meta.submissions.status`): the highest accepted version.

Per file the ledger records rows_in = rows_loaded + rows_quarantined.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb

from dolisa import contract, pseudonym
from dolisa.extract import landed_file, landed_versions, parse_submitted_at
from dolisa.faults import crash_point
from dolisa.parse import FileRead, apply_rules, create_batch, drop_files, read_files
from dolisa.settings import duckdb_config

log = logging.getLogger(__name__)

LOAD_CHECKPOINT_THRESHOLD = "256MB"  # the loader's DuckDB checkpoint_threshold (default 16MB)


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


ACCEPTED, REJECTED, NOT_LOADED = "accepted", "rejected", "not_loaded"  # ledger.yaml's file statuses


def listing_file_defect(name: str, dataset: str | None, seen: set[str]) -> str | None:
    """The file-level defect of one listed file that its listing alone shows, or None: a
    dataset that is not one of the contract's, a name that is not `<dataset>.csv` or
    `<dataset>.xlsx` (the extension in any case), a second file of a dataset in one version.
    Adds the dataset to `seen`."""
    if dataset not in contract.datasets():
        return contract.reason("unknown_dataset", file=name, dataset=dataset)
    stem, dot, ext = name.rpartition(".")
    if not dot or stem != dataset or ext.lower() not in ("csv", "xlsx"):
        return contract.reason("name_mismatch", file=name, dataset=dataset)
    if dataset in seen:
        return contract.reason("second_file", file=name, dataset=dataset)
    seen.add(dataset)
    return None


def _ts(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _ledger_manifest(manifest: dict) -> dict:
    """A landed manifest (any layout) with the fields the ledger needs typed: version an int,
    submitted_at an ISO date-time with offset or None, files dicts with a ledger name that is
    unique in the version (a malformed listing may repeat one)."""
    m = dict(manifest)
    v = m.get("version")
    m["version"] = v if isinstance(v, int) and not isinstance(v, bool) else 0
    t = parse_submitted_at(m.get("submitted_at"))
    m["submitted_at"] = t.isoformat() if t else None
    files, names = [], set()
    for i, f in enumerate(m.get("files") if isinstance(m.get("files"), list) else [], start=1):
        f = dict(f) if isinstance(f, dict) else {}
        name = f.get("name") if isinstance(f.get("name"), str) else f"#{i}"
        ledger = name if name not in names else f"{name} (#{i})"
        names.add(ledger)
        typed = {k: f.get(k) if isinstance(f.get(k), str) else None for k in ("dataset", "media_type", "sha256")}
        typed.update(
            {
                k: f.get(k) if isinstance(f.get(k), int) and not isinstance(f.get(k), bool) else None
                for k in ("bytes", "rows")
            }
        )
        files.append({**typed, "name": name, "ledger_name": ledger})
    m["files"] = files
    return m


@dataclass
class _File:
    key: int
    version: int  # index into the period's versions
    meta: dict
    read: FileRead | None = None


@dataclass
class PreparedPeriod:
    """A month read and checked, not yet in the warehouse (`prepare_period` -> `commit_period`)."""

    period: str
    versions: list[tuple[Path, dict]]  # (landed folder, ledger manifest)
    files: list[_File]
    version_defects: list[list[str]]
    checked: dict[str, str]  # dataset -> its checked rows (a table of the work catalog)
    counts: dict[int, tuple[int, int]]  # file_key -> (rows loaded, rows quarantined)


def load_period(
    con: duckdb.DuckDBPyConnection,
    period: str,
    versions: list[tuple[Path, dict]],
    *,
    quarantine_root: Path | None = None,
) -> list[VersionResult]:
    """Validate and load every given landed version of one month, in one transaction."""
    prepared = prepare_period(con, period, versions)
    try:
        return commit_period(con, prepared, quarantine_root=quarantine_root)
    finally:
        discard(con, prepared)


def prepare_period(con: duckdb.DuckDBPyConnection, period: str, versions: list[tuple[Path, dict]]) -> PreparedPeriod:
    """Read and check every given landed version of one month; writes nothing to the warehouse.

    1. read every file's records into its dataset's batch (one table per dataset and
       month) and its file-level facts (readable, header, record count);
    2. file-level verdict (the parser's own, `FileRead.defects`) -> a version with any
       file defect is rejected as a whole, and its files leave the batches;
    3. per dataset, all files of the month in one batch: typed values and row rules
       in one SQL statement (dolisa.parse), the one engine that decides quarantine.

    Its tables live in the in-memory work catalog (`WORK`), so it can run on another
    connection of the same database while the previous month commits.
    """
    work = work_catalog(con)
    tag = "".join(ch if ch.isalnum() else "_" for ch in period)
    files: list[_File] = []
    to_read: dict[str, list[tuple[_File, Path, str]]] = {}  # dataset -> its files of the month
    batches: dict[str, str] = {}  # dataset -> its batch of the month (a table of cells)
    version_defects: list[list[str]] = [[] for _ in versions]
    versions = [(vdir, _ledger_manifest(manifest)) for vdir, manifest in versions]
    for vi, (vdir, manifest) in enumerate(versions):
        error = manifest.get("download_error") or manifest.get("listing_error")
        if error:
            version_defects[vi].append(error)
        seen: set[str] = set()
        for f in manifest["files"]:
            meta = {
                "dataset": f["dataset"],
                "file_name": f["ledger_name"],
                "media_type": f["media_type"],
                "bytes": f["bytes"],
                "rows_declared": f["rows"],
                "sha256": f["sha256"],
                "landed_path": None if error else str(landed_file(vdir, manifest, f["name"])),
                "status": NOT_LOADED,
                "reason": None,
                "rows_in": None,
                "rows_loaded": None,
                "rows_quarantined": None,
            }
            if manifest.get("listing_error"):  # the listing entry itself broke the contract
                meta["status"], meta["reason"] = REJECTED, manifest["listing_error"]
            ff = _File(len(files), vi, meta)
            files.append(ff)
            if error:
                continue
            ds = f.get("dataset")
            defect = listing_file_defect(f["name"], ds, seen)
            if defect:  # a file-level defect of the listing: the version is rejected (contract §3)
                meta["status"], meta["reason"] = REJECTED, defect
                version_defects[vi].append(defect)
                continue
            to_read.setdefault(ds, []).append((ff, landed_file(vdir, manifest, f["name"]), f["name"]))
    for ds, members in to_read.items():  # every file of a dataset and month into one batch
        batches[ds] = f"{work}.batch_{ds}_{tag}"
        create_batch(con, ds, batches[ds])
        reads = read_files(con, ds, batches[ds], [(path, name, ff.key) for ff, path, name in members])
        for (ff, _, _), read in zip(members, reads, strict=False):
            ff.read = read

    # -- 2. file level ---------------------------------------------------------------
    readable = [ff for ff in files if ff.read is not None]
    file_reasons: dict[int, list[str]] = {}
    for ff in readable:
        d = ff.read.defects(ff.meta["rows_declared"])
        if d:
            file_reasons[ff.key] = d
    for ff in readable:
        if ff.key in file_reasons:
            ff.meta["status"], ff.meta["reason"] = REJECTED, "; ".join(file_reasons[ff.key])
            version_defects[ff.version].extend(file_reasons[ff.key])

    # -- 3. row level, one batch per dataset -------------------------------------------
    good = [ff for ff in readable if ff.key not in file_reasons and not version_defects[ff.version]]
    good_keys = {ff.key for ff in good}
    checked: dict[str, str] = {}  # dataset -> its checked rows (a table of the work catalog)
    for name, batch in batches.items():  # files of rejected versions are not parsed further
        drop_files(con, batch, [ff.key for ff in readable if ff.meta["dataset"] == name and ff.key not in good_keys])
        if any(ff.meta["dataset"] == name for ff in good):
            checked[name] = f"{work}.checked_{name}_{tag}"
            apply_rules(con, name, period, batch, checked[name])  # one rule pass over every file
        con.execute(f"drop table if exists {batch}")
    counts: dict[int, tuple[int, int]] = {}
    for parsed in checked.values():
        for key, loaded, quarantined in con.execute(
            f"select file_key, count(*) filter (where len(reasons) = 0), count(*) filter (where len(reasons) > 0) "
            f"from {parsed} group by file_key"
        ).fetchall():
            counts[key] = (loaded, quarantined)
    return PreparedPeriod(period, versions, files, version_defects, checked, counts)


def discard(con: duckdb.DuckDBPyConnection, prepared: PreparedPeriod) -> None:
    """Drop a prepared month's tables."""
    for table in prepared.checked.values():
        con.execute(f"drop table if exists {table}")


def commit_period(
    con: duckdb.DuckDBPyConnection, prepared: PreparedPeriod, *, quarantine_root: Path | None = None
) -> list[VersionResult]:
    """4. One transaction for a prepared month: every version's earlier rows out, its rows and
    ledger in (rows in = rows loaded + rows quarantined, per file, or the month stops); then
    each rejected version's reason beside the raw zone (`quarantine_root`)."""
    period, versions, files = prepared.period, prepared.versions, prepared.files
    version_defects, checked, counts = prepared.version_defects, prepared.checked, prepared.counts
    results: list[VersionResult] = []
    loaded_before = {
        r[0] for r in con.execute("select submission_id from meta.submissions where period = ?", [period]).fetchall()
    }
    now = dt.datetime.now(dt.timezone.utc)
    moves: list[tuple[int, str, str, int, str]] = []  # accepted files: (file_key, sid, unit, version, name)
    file_rows: list[list] = []  # meta.files
    submission_rows: list[list] = []  # meta.submissions
    reloaded = sorted(loaded_before & {m["submission_id"] for _, m in versions})
    con.execute("begin transaction")
    try:
        if reloaded:  # a reload replaces what these versions loaded before
            con.execute("create or replace temp table _reloaded (submission_id varchar)")
            insert_rows(con, "_reloaded", [[sid] for sid in reloaded])
            for t in [f"raw.{ds}" for ds in contract.datasets()] + [
                f"meta.{t}" for t in ("quarantined_rows", "files", "submissions")
            ]:
                con.execute(f"delete from {t} where submission_id in (select submission_id from _reloaded)")
        for vi, (_vdir, manifest) in enumerate(versions):
            sid, unit, version = manifest["submission_id"], manifest["unit_code"], int(manifest["version"])
            if manifest["period"] != period:
                raise ValueError(f"{sid}: period {manifest['period']} loaded as {period}")
            vfiles = [ff for ff in files if ff.version == vi]
            status = REJECTED if version_defects[vi] else ACCEPTED
            reason = "; ".join(version_defects[vi]) if version_defects[vi] else None
            if status == ACCEPTED:
                for ff in vfiles:
                    if ff.read is None or ff.meta["status"] != NOT_LOADED:
                        continue
                    moves.append((ff.key, sid, unit, version, ff.meta["file_name"]))
                    loaded, quarantined = counts.get(ff.key, (0, 0))
                    ff.meta.update(
                        status=ACCEPTED, rows_in=ff.read.records, rows_loaded=loaded, rows_quarantined=quarantined
                    )
                    if loaded + quarantined != ff.read.records:  # a broken invariant must stop the run
                        raise AssertionError(
                            f"{sid}/{ff.meta['file_name']}: rows in {ff.read.records} "
                            f"!= {loaded} loaded + {quarantined} quarantined"
                        )
            for ff in vfiles:
                m = ff.meta
                file_rows.append(
                    [
                        sid,
                        m["dataset"],
                        m["file_name"],
                        m["media_type"],
                        m["bytes"],
                        m["rows_declared"],
                        m["sha256"],
                        m["landed_path"],
                        m["status"],
                        m["reason"],
                        m["rows_in"],
                        m["rows_loaded"],
                        m["rows_quarantined"],
                    ]
                )
            # "late" is not decided here: dbt defines it once (dim_months.deadline_at)
            submission_rows.append(
                [
                    sid,
                    unit,
                    period,
                    version,
                    _ts(manifest.get("submitted_at")),
                    _ts(manifest.get("landed_at")),
                    status,
                    reason,
                    len(vfiles),
                    now,
                ]
            )
            results.append(VersionResult(sid, status, reason, [ff.meta for ff in vfiles]))
            crash_point(f"load:{period}:{sid}")
        # the ledger of the month: a few statements, not one per row
        insert_rows(con, "meta.files", file_rows)
        insert_rows(
            con,
            "meta.submissions (submission_id, unit_code, period, version, submitted_at, landed_at, "
            "status, reason, n_files, loaded_at)",
            submission_rows,
        )
        if moves:
            con.execute(
                "create or replace temp table _file_map (file_key integer, submission_id varchar, "
                "unit_code varchar, version integer, file_name varchar)"
            )
            insert_rows(con, "_file_map", [list(m) for m in moves])
            for name, parsed in checked.items():
                moved = [counts.get(key, (0, 0)) for key, *_ in moves if files[key].meta["dataset"] == name]
                _move_rows(
                    con,
                    parsed,
                    name,
                    "_file_map",
                    period,
                    now,
                    loaded=any(n for n, _ in moved),
                    quarantined=any(q for _, q in moved),
                )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:  # the prepared month's tables are its owner's to drop (`discard`)
        con.execute("drop table if exists _file_map")
        con.execute("drop table if exists _reloaded")
    for r, (_vdir, manifest) in zip(results, versions, strict=False):
        log.info("%s: %s%s", r.submission_id, r.status, f" ({r.reason})" if r.reason else "")
        if r.status == REJECTED and quarantine_root is not None:
            q = quarantine_root / manifest["unit_code"] / period
            q.mkdir(parents=True, exist_ok=True)
            doc = {"submission_id": r.submission_id, "reason": r.reason, "files": r.files}
            if manifest.get("listing_entry") is not None:
                doc["listing_entry"] = manifest["listing_entry"]  # the malformed entry as the hub listed it
            (q / f"{r.submission_id}.rejected.json").write_text(
                json.dumps(doc, ensure_ascii=False, indent=2, default=repr), encoding="utf-8"
            )
    return results


def insert_rows(con: duckdb.DuckDBPyConnection, target: str, rows: list[list], chunk: int = 500) -> None:
    """Insert Python rows with bound parameters, `chunk` rows per statement.

    DuckDB runs `executemany` as one statement per row (about a millisecond each on the
    ledger); a multi-row VALUES list with parameters does the same work in one."""
    for i in range(0, len(rows), chunk):
        part = rows[i : i + chunk]
        width = len(part[0])
        values = ", ".join(["(" + ", ".join(["?"] * width) + ")"] * len(part))
        con.execute(f"insert into {target} values {values}", [v for r in part for v in r])


def _move_rows(
    con: duckdb.DuckDBPyConnection,
    parsed: str,
    dataset: str,
    file_map: str,
    period: str,
    loaded_at: dt.datetime,
    *,
    loaded: bool = True,
    quarantined: bool = True,
) -> None:
    """Move a dataset's checked rows of every accepted file (`file_map`: file_key -> version) in one
    statement each: rows that pass into raw.<dataset>, the others into meta.quarantined_rows
    (a statement with no row to move is skipped)."""
    ds = contract.dataset(dataset)
    cols = ", ".join(f"p.{c}" for c in ds.column_names)
    # The pseudonym is computed here, once: dolisa_pseudonym() is registered on this connection
    # by dolisa.pseudonym.bind and holds the key in Python, never in the SQL text.
    # Each distinct id is keyed once (the UDF crosses into Python).
    id_col = pseudonym.person_key_column(ds)
    pk_col, pk_expr, pk_join = "", "", ""
    if id_col:
        pk_col, pk_expr = f", {pseudonym.PERSON_KEY_COLUMN}", f", k.{pseudonym.PERSON_KEY_COLUMN}"
        pk_join = f"""left join (
                select id, {pseudonym.SQL_FUNCTION}(id) as {pseudonym.PERSON_KEY_COLUMN}
                from (select distinct {id_col} as id from {parsed} where len(reasons) = 0 and {id_col} is not null)
            ) k on k.id = p.{id_col}"""
    if loaded:
        con.execute(
            f"""insert into raw.{ds.name} ({", ".join(ds.column_names)}, submission_id, unit_code, period,
                                           version, source_row, loaded_at{pk_col})
                select {cols}, m.submission_id, m.unit_code, ?, m.version, p.source_row, ?{pk_expr}
                from {parsed} p join {file_map} m using (file_key) {pk_join}
                where len(p.reasons) = 0 order by p.file_key, p.source_row""",
            [period, loaded_at],
        )
    if quarantined:
        con.execute(
            f"""insert into meta.quarantined_rows
                select m.submission_id, m.unit_code, ?, m.version, ?, m.file_name, p.source_row,
                       array_to_string(p.reasons, '; '), p.record
                from {parsed} p join {file_map} m using (file_key)
                where len(p.reasons) > 0 order by p.file_key, p.source_row""",
            [period, ds.name],
        )


def load_landed(
    con: duckdb.DuckDBPyConnection,
    raw_root: Path,
    *,
    periods: list[str] | None = None,
    only_new: bool = True,
    quarantine_root: Path | None = None,
    on_version: Callable[[VersionResult], None] | None = None,
) -> list[VersionResult]:
    """Load landed versions (of `periods`, or all), month by month; with only_new, skip
    versions already in the ledger."""
    # DuckDB checkpoints when its write-ahead log passes 16 MB, i.e. after nearly every month,
    # and each checkpoint re-compresses the tables' partly filled row groups again. A larger
    # threshold for the load lets months accumulate; closing the connection checkpoints.
    con.execute(f"set checkpoint_threshold = '{LOAD_CHECKPOINT_THRESHOLD}'")
    done: set[str] = set()
    if only_new:
        done = {r[0] for r in con.execute("select submission_id from meta.submissions").fetchall()}
    wanted = set(periods) if periods is not None else None
    by_period: dict[str, list[tuple[Path, dict]]] = {}
    for vdir, manifest in landed_versions(raw_root):
        if wanted is not None and manifest["period"] not in wanted:
            continue
        if manifest["submission_id"] in done:
            continue
        by_period.setdefault(manifest["period"], []).append((vdir, manifest))
    results = []
    months = [(period, by_period[period]) for period in sorted(by_period)]
    with closing(_prepared_ahead(con, months)) as prepared_months:
        for prepared in prepared_months:
            try:
                month = commit_period(con, prepared, quarantine_root=quarantine_root)
            finally:
                discard(con, prepared)  # committed or not, its work tables go
            for r in month:
                results.append(r)
                if on_version:
                    on_version(r)
    return results


WORK = "dolisa_work"  # the loader's in-memory catalog: batches and checked rows, never on disk


def work_catalog(con: duckdb.DuckDBPyConnection) -> str:
    """Attach the in-memory work catalog to the connection's database (once); returns its name.

    Unlike temp tables, its tables are seen by every connection of the database, so a month
    can be prepared on a second connection while the loader's connection commits another."""
    if not con.execute("select count(*) from duckdb_databases() where database_name = ?", [WORK]).fetchone()[0]:
        con.execute(f"attach ':memory:' as {WORK}")
    return WORK


def prepare_workers() -> int:
    """How many months are prepared ahead, each on its own connection: DuckDB's thread bound
    (`DOLISA_DUCKDB_THREADS`, `dolisa.settings.duckdb_config`), so the load uses the cores it
    is given and no more months than that are held in memory besides the one committing."""
    try:
        return max(1, int(duckdb_config()["threads"]))
    except ValueError:
        return 1


def _prepared_ahead(con: duckdb.DuckDBPyConnection, months: list[tuple[str, list[tuple[Path, dict]]]]):
    """Yield each month prepared, in order, while the next ones are prepared on other connections.

    Reading and checking a month (`prepare_period`) costs about twice as much as writing it
    (`commit_period`), and DuckDB runs a statement over one month's small batch on one core.
    So `prepare_workers()` months are prepared at once, each on its own connection to the
    same database (DuckDB releases the GIL), while the caller commits the month before them.
    Months still commit in order, one transaction each, on the caller's connection."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    if not months:
        return
    work_catalog(con)
    ahead = min(prepare_workers(), len(months))
    workers = [con.cursor() for _ in range(ahead)]  # month i is prepared on workers[i % ahead]
    pending: deque = deque()
    try:
        with ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="dolisa-prepare") as pool:
            for i in range(ahead):
                pending.append(pool.submit(prepare_period, workers[i], *months[i]))
            for i in range(len(months)):
                prepared = pending.popleft().result()
                if i + ahead < len(months):  # month i's connection is free again
                    pending.append(pool.submit(prepare_period, workers[i % ahead], *months[i + ahead]))
                yield prepared
    finally:
        for future in pending:  # the caller stopped (an error): wait for the months in flight, drop them
            try:
                discard(con, future.result())
            except Exception:  # noqa: BLE001 - the caller's error is the one to report
                pass
        for worker in workers:
            worker.close()


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
                rows.append(
                    (
                        int(r["year"]),
                        r["indicator_code"].upper(),
                        r["unit_code"],
                        int(r["target_value"].replace(".", "")),
                    )
                )
            except (ValueError, KeyError) as e:
                raise ValueError(f"{csv_path}:{i}: bad plan target row {r} ({e})") from None
    con.execute("begin transaction")
    con.execute("delete from meta.plan_targets")
    if rows:
        con.executemany("insert into meta.plan_targets values (?, ?, ?, ?)", rows)
    con.execute("commit")
    return len(rows)
